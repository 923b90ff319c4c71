//! `vitals config`: validate, apply and list configuration versions.

use clap::Args;

use crate::context::Context;

#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {}

pub async fn run(
    global: &crate::cli::GlobalArgs,
    ctx: &Context,
    args: &ConfigArgs,
) -> anyhow::Result<()> {
    let _ = (args,);
    anyhow::bail!("not available yet")
}
