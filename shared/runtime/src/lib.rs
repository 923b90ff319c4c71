//! Start-up wiring shared by the Lambda functions and the `vitals` binary: typed configuration
//! from the environment, JSON logging, and opening a storage/queue backend. Everything here runs
//! once per process, before the first request.

pub mod backend;
pub mod env;
pub mod lambda;

/// Logs to stderr, JSON lines (Lambda) or compact text (a terminal), filtered by `RUST_LOG`,
/// else by `default_filter` (e.g. `info`).
pub fn init_logging(json: bool, default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests) is harmless: the first subscriber stays.
    let installed = if json {
        // The current span's fields (request id, SQS message and account ids) on every line.
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.compact().try_init()
    };
    if installed.is_err() {
        tracing::debug!("logging was already initialised");
    }
}
