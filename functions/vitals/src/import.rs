//! `vitals import`: bulk import of accounts and events.

use clap::Args;

use crate::context::Context;

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {}

pub async fn run(ctx: &Context, args: &ImportArgs) -> anyhow::Result<()> {
    let _ = (args,);
    anyhow::bail!("not available yet")
}
