//! `vitals token`: mint API tokens for `vitals serve`.

use clap::Args;

use crate::context::Context;

#[derive(Debug, Clone, Args)]
pub struct TokenArgs {}

pub async fn run(
    global: &crate::cli::GlobalArgs,
    ctx: &Context,
    args: &TokenArgs,
) -> anyhow::Result<()> {
    let _ = (args,);
    anyhow::bail!("not available yet")
}
