//! `vitals config`: validate a configuration file, apply it as a new stored version, and look at
//! the versions (who applied what, when).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use vitals_core::clock::SystemClock;
use vitals_core::config::{apply_config, ApplyError, VitalsConfig};

use crate::cli::GlobalArgs;
use crate::context::Context;

#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ConfigCommand {
    /// Check a configuration file; lists every problem by key.
    Validate { file: PathBuf },
    /// Validate and store a configuration file as the next version.
    Apply {
        file: PathBuf,
        /// Who applies it (default: $USER).
        #[arg(long)]
        author: Option<String>,
    },
    /// Print the configuration in force (or one version) as TOML.
    Show {
        #[arg(long)]
        version: Option<u64>,
    },
    /// List stored versions, newest first.
    List {
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Print the default configuration, a starting point for your own file.
    Default,
}

/// The subcommands that need no store (`validate`, `default`), run without opening one so
/// they write nothing; `None` for the others.
pub fn without_store(args: &ConfigArgs) -> Option<anyhow::Result<()>> {
    match &args.command {
        ConfigCommand::Validate { file } => Some(validate(file)),
        ConfigCommand::Default => {
            print!("{}", VitalsConfig::default_toml());
            Some(Ok(()))
        }
        _ => None,
    }
}

fn validate(file: &PathBuf) -> anyhow::Result<()> {
    let text = read(file)?;
    VitalsConfig::parse(&text).with_context(|| format!("{} is not valid", file.display()))?;
    println!("{} is valid", file.display());
    Ok(())
}

pub async fn run(_global: &GlobalArgs, ctx: &Context, args: &ConfigArgs) -> anyhow::Result<()> {
    match &args.command {
        ConfigCommand::Validate { file } => validate(file),
        ConfigCommand::Apply { file, author } => {
            let text = read(file)?;
            let author = author
                .clone()
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "cli".into());
            match apply_config(ctx.backend.storage.as_ref(), &SystemClock, &text, &author).await {
                Ok(v) => {
                    println!(
                        "Applied {} as version {} ({}) by {}",
                        file.display(),
                        v.version,
                        v.summary,
                        v.author
                    );
                    println!("Running `vitals serve` processes pick it up when restarted; scoring runs use it from the next run.");
                    Ok(())
                }
                Err(ApplyError::Unchanged(v)) => {
                    println!(
                        "Nothing to apply: {} is identical to version {v}",
                        file.display()
                    );
                    Ok(())
                }
                Err(e) => {
                    Err(anyhow::Error::new(e).context(format!("cannot apply {}", file.display())))
                }
            }
        }
        ConfigCommand::Show { version } => {
            let stored = match version {
                Some(n) => Some(
                    ctx.backend
                        .storage
                        .get_config_version(*n)
                        .await?
                        .with_context(|| format!("no configuration version {n}"))?,
                ),
                None => ctx.backend.storage.latest_config().await?,
            };
            match stored {
                Some(v) => {
                    println!(
                        "# version {} by {} at {}: {}",
                        v.version, v.author, v.created_at, v.summary
                    );
                    print!("{}", v.body);
                }
                None => {
                    println!("# no configuration applied: the defaults are in force");
                    print!("{}", VitalsConfig::default_toml());
                }
            }
            Ok(())
        }
        ConfigCommand::List { limit } => {
            let versions = ctx.backend.storage.list_config_versions(*limit).await?;
            if versions.is_empty() {
                println!("No configuration applied yet: the defaults are in force.");
            }
            for v in versions {
                println!(
                    "{:>5}  {}  {:<24}  {}",
                    v.version,
                    v.created_at.format("%Y-%m-%d %H:%M"),
                    v.author,
                    v.summary
                );
            }
            Ok(())
        }
        ConfigCommand::Default => {
            print!("{}", VitalsConfig::default_toml());
            Ok(())
        }
    }
}

fn read(file: &PathBuf) -> anyhow::Result<String> {
    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
}
