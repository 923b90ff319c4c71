//! `vitals dlq`: list and replay the alert dead-letter queue.

use clap::Args;

use crate::context::Context;

#[derive(Debug, Clone, Args)]
pub struct DlqArgs {}

pub async fn run(ctx: &Context, args: &DlqArgs) -> anyhow::Result<()> {
    let _ = (args,);
    anyhow::bail!("not available yet")
}
