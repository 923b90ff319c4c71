//! `vitals`: the whole product on one machine (embedded store), or admin commands against a
//! deployment (`--backend dynamodb`). Runs the same use cases and HTTP routes as the Lambdas.

mod backtest_cmd;
mod calibrate_cmd;
mod cli;
mod config_cmd;
mod context;
mod demo;
mod dispatcher;
mod dlq;
mod fresh;
mod import;
mod jobs;
mod secret_file;
mod serve;
mod token;

use clap::Parser;

use cli::{Cli, Command};
use context::{Context, StoreUse};
use vitals_runtime::backend::Durability;

/// The allocator the ingest Lambda runs with (see functions/ingest), for `vitals serve` too.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Interactive commands print their own progress; logs are for warnings unless serving.
    let default_filter = match cli.command {
        Command::Serve(_) => "info",
        _ => "warn",
    };
    vitals_runtime::init_logging(cli.global.log_json, default_filter);
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Config(args) = &cli.command {
        // `config validate` and `config default` read no store, so they open none.
        if let Some(result) = config_cmd::without_store(args) {
            return result;
        }
    }
    let durability = match cli.command {
        Command::Serve(_) => Durability::Full,
        _ => Durability::Batch,
    };
    let store = match cli.command {
        Command::Serve(_) | Command::Demo(_) | Command::Init => StoreUse::MayCreate,
        _ => StoreUse::MustExist,
    };
    let ctx = Context::open(&cli.global, durability, store).await?;
    match &cli.command {
        Command::Serve(args) => serve::serve(&cli.global, ctx, args).await,
        Command::Init => {
            let data = cli.global.data.display();
            println!(
                "A Vitals store is ready in {data}. Next: `vitals --data {data} import accounts FILE`, \
                 `vitals --data {data} import events FILE`, `vitals --data {data} serve`."
            );
            Ok(())
        }
        Command::Demo(args) => demo::demo(&cli.global, ctx, args).await,
        Command::Score(args) => {
            let yesterday =
                vitals_core::run::last_scorable_day(chrono::Utc::now(), &ctx.config.schedule);
            let (from, to) = match (args.from, args.to, args.as_of) {
                (Some(from), Some(to), _) => (from, to),
                (_, _, Some(day)) => (day, day),
                _ => (yesterday, yesterday),
            };
            if args.rescore {
                jobs::rescore(&ctx, from, to).await
            } else {
                jobs::backfill(&ctx, from, to).await
            }
        }
        Command::Refresh => fresh::refresh_now(&ctx).await,
        Command::Import(args) => import::run(&ctx, args).await,
        Command::Config(args) => config_cmd::run(&cli.global, &ctx, args).await,
        Command::Token(args) => token::run(&cli.global, &ctx, args).await,
        Command::Dlq(args) => dlq::run(&ctx, args).await,
        Command::Backtest(args) => backtest_cmd::run(&ctx, args).await,
        Command::Calibrate(args) => calibrate_cmd::run(&ctx, args).await,
    }
}
