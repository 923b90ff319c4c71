//! Command-line interface of the `vitals` binary: every subcommand and flag, in one place.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "vitals",
    version,
    about = "Customer health scoring on one machine or in your AWS account"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Data directory of the embedded backend.
    #[arg(
        long,
        global = true,
        env = "VITALS_DATA",
        default_value = "./vitals-data"
    )]
    pub data: PathBuf,
    /// Configuration file (TOML). Without it, the latest applied configuration or the defaults.
    #[arg(long, global = true, env = "VITALS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where state lives: the embedded store in --data, or DynamoDB + SQS.
    #[arg(long, global = true, env = "VITALS_BACKEND", value_enum, default_value_t = BackendKind::Embedded)]
    pub backend: BackendKind,
    /// DynamoDB table (with --backend dynamodb).
    #[arg(long, global = true, env = "VITALS_TABLE")]
    pub table: Option<String>,
    /// Alert queue URL (with --backend dynamodb).
    #[arg(long, global = true, env = "VITALS_ALERT_QUEUE_URL")]
    pub alert_queue_url: Option<String>,
    /// Alert dead-letter queue URL (with --backend dynamodb).
    #[arg(long, global = true, env = "VITALS_ALERT_DLQ_URL")]
    pub alert_dlq_url: Option<String>,
    /// One endpoint for DynamoDB and SQS, e.g. an emulator (with --backend dynamodb). Without
    /// it the AWS SDK reads `AWS_ENDPOINT_URL` and the per-service `AWS_ENDPOINT_URL_DYNAMODB` /
    /// `AWS_ENDPOINT_URL_SQS` itself (not read here: the flag would override the per-service
    /// ones).
    #[arg(long, global = true)]
    pub endpoint_url: Option<String>,
    /// Log as JSON lines instead of text.
    #[arg(long, global = true, env = "VITALS_LOG_JSON")]
    pub log_json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    Embedded,
    Dynamodb,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve ingestion, queries and the dashboard; score daily and dispatch alerts in-process.
    Serve(ServeArgs),
    /// Create an empty store in --data (what other commands than serve and demo need first).
    Init,
    /// Generate a realistic demo data set through the ingest path, score it, then serve it.
    Demo(DemoArgs),
    /// Run the daily scoring for one day (default: yesterday) or a range (backfill).
    Score(ScoreArgs),
    /// Score the accounts that received events recently: provisional "today so far" scores
    /// (what `vitals serve` does every [freshness] interval); no alert, daily scores untouched.
    Refresh,
    /// Import accounts (CSV/NDJSON from a CRM export) or events (NDJSON of Segment messages).
    Import(crate::import::ImportArgs),
    /// Validate, apply and list configuration versions.
    Config(crate::config_cmd::ConfigArgs),
    /// Mint an API token that `vitals serve` on the same data directory accepts.
    Token(crate::token::TokenArgs),
    /// Inspect and replay the alert dead-letter queue.
    Dlq(crate::dlq::DlqArgs),
    Backtest(crate::backtest_cmd::BacktestArgs),
    Calibrate(crate::calibrate_cmd::CalibrateArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "VITALS_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// Do not run the daily scoring schedule in this process.
    #[arg(long)]
    pub no_schedule: bool,
    /// Seconds a client has to send a request's headers; an idle kept-alive connection is
    /// closed after as long.
    #[arg(long, env = "VITALS_HEADER_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout_secs: u64,
    /// Longest pause, in seconds, between two pieces of a request body.
    #[arg(long, env = "VITALS_BODY_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_timeout_secs: u64,
    /// Seconds a request may take in all before it is answered 408.
    #[arg(long, env = "VITALS_REQUEST_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout_secs: u64,
    /// Open connections at once; more are closed as they arrive.
    #[arg(long, env = "VITALS_MAX_CONNECTIONS", default_value_t = 2048, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,
}

impl ServeArgs {
    pub fn limits(&self) -> vitals_http::ServerLimits {
        use std::time::Duration;
        vitals_http::ServerLimits {
            header_read: Duration::from_secs(self.header_timeout_secs),
            body_read: Duration::from_secs(self.body_timeout_secs),
            request: Duration::from_secs(self.request_timeout_secs),
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Number of demo accounts.
    #[arg(long, default_value_t = 300)]
    pub accounts: u32,
    /// Days of history to generate, ending yesterday.
    #[arg(long, default_value_t = 180)]
    pub days: u32,
    /// Random seed: the same seed gives the same data set.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Generate and score, then exit instead of serving.
    #[arg(long)]
    pub no_serve: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ScoreArgs {
    /// Score as of this day (the day whose events are rolled in). Default: yesterday in the
    /// configured time zone (`[schedule] timezone`). A day is scored only once it has ended.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub as_of: Option<chrono::NaiveDate>,
    /// First day of a backfill.
    #[arg(long, requires = "to")]
    pub from: Option<chrono::NaiveDate>,
    /// Last day of a backfill (inclusive).
    #[arg(long, requires = "from")]
    pub to: Option<chrono::NaiveDate>,
    /// Recompute days already scored with the current configuration (history, trails,
    /// summaries, listings), without notifying anyone about past days.
    #[arg(long)]
    pub rescore: bool,
}
