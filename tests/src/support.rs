//! What the contract suites and the per-backend test files share: a backend handle that keeps
//! its temporary files alive, unique resource names, emulator endpoints, and readable failures.

use std::fmt::Display;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// A port under test plus whatever must live as long as it (a temporary directory).
pub struct Backend<T> {
    pub port: T,
    _keep: Option<tempfile::TempDir>,
}

impl<T> Backend<T> {
    pub fn new(port: T) -> Self {
        Backend { port, _keep: None }
    }

    /// Keeps `dir` until the backend is dropped.
    pub fn keeping(port: T, dir: tempfile::TempDir) -> Self {
        Backend {
            port,
            _keep: Some(dir),
        }
    }
}

/// A name no other test (in this process or another) uses: tests run in parallel against one
/// emulator, each with its own table or queue. Only `[a-z0-9-]`, at most 60 characters, so it
/// is valid as a DynamoDB table and an SQS queue name.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let prefix: String = prefix
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(20)
        .collect();
    format!(
        "{prefix}-{}-{:x}-{n}",
        std::process::id(),
        nanos % 0xffff_ffff_ffff
    )
}

/// The emulator endpoint in `var`, or `None` when the test should be skipped.
///
/// Unset (or empty) outside CI: prints `skipped: set VAR ...` once per test binary and returns
/// `None`. Unset with `CI=true`: panics, so CI never passes without running the suite.
pub fn emulator_endpoint(var: &str) -> Option<String> {
    if let Ok(v) = std::env::var(var) {
        if !v.trim().is_empty() {
            return Some(v);
        }
    }
    if std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1") {
        panic!(
            "{var} is not set but CI=true: the contract tests must run against an emulator in CI \
             (scripts/test.sh starts DynamoDB Local and moto and exports it)"
        );
    }
    static REPORTED: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut reported = REPORTED.lock().unwrap_or_else(|p| p.into_inner());
    if !reported.iter().any(|r| r == var) {
        reported.push(var.to_string());
        // Straight to stderr: libtest captures `eprintln!` of passing tests.
        let mut err = std::io::stderr();
        let written = writeln!(
            err,
            "skipped: set {var} to an emulator endpoint (scripts/test.sh does) to run these tests"
        )
        .and_then(|()| err.flush());
        // Nothing useful to do if stderr is gone.
        drop(written);
    }
    None
}

/// Unwraps a port result, or fails the test naming the call that failed and its error.
pub trait Must<T> {
    fn must(self, what: &str) -> T;
}

impl<T, E: Display> Must<T> for Result<T, E> {
    #[track_caller]
    fn must(self, what: &str) -> T {
        match self {
            Ok(v) => v,
            Err(e) => panic!("{what} failed: {e}"),
        }
    }
}

/// SDK configuration for an emulator: its endpoint, a region, and dummy static credentials, so
/// the tests never reach for real AWS credentials.
pub async fn emulator_sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    let region = std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|_| "us-east-1".to_string());
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(region))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test",
            "test",
            None,
            None,
            "vitals-tests",
        ))
        .load()
        .await
}

/// An expansion signal for `account` on 2026-03-01, found by the daily run the morning after:
/// recent enough to notify. What the dispatch tests send through their queues.
pub fn expansion_signal(account: &str) -> vitals_core::score_event::ScoreEvent {
    use chrono::{DateTime, NaiveDate, Utc};
    use vitals_core::score_event::{ScoreEvent, ScoreEventKind};
    let a = vitals_core::model::AccountId::new(account).must("account id");
    let as_of: NaiveDate = "2026-03-01".parse().must("day");
    ScoreEvent {
        id: ScoreEvent::id_for(&a, as_of, ScoreEventKind::ExpansionSignal, ""),
        account_id: a,
        as_of,
        kind: ScoreEventKind::ExpansionSignal,
        score: 90.0,
        band: vitals_scoring::Band::Healthy,
        previous_score: Some(85.0),
        previous_band: Some(vitals_scoring::Band::Healthy),
        summary: "expansion candidate".into(),
        detail: serde_json::json!({}),
        scored_at: Some("2026-03-02T06:00:00Z".parse::<DateTime<Utc>>().must("time")),
    }
}

/// Alerts that send every expansion signal to the webhook channel `hook` at `url` (a loopback
/// receiver, so private destinations are allowed for 127.0.0.1): the dispatch queue tests'
/// configuration.
pub fn expansion_webhook_alerts(url: String) -> vitals_core::config::AlertsConfig {
    use vitals_core::alerts::rules::{Action, Condition, Trigger, Workflow};
    let mut alerts = vitals_core::config::AlertsConfig {
        allow_private_destinations: vec!["127.0.0.1".into()],
        ..Default::default()
    };
    alerts
        .channels
        .insert("hook".into(), webhook_channel(url, None));
    alerts.workflows = vec![Workflow {
        name: "expansion-hook".into(),
        enabled: true,
        trigger: Trigger::ExpansionSignal,
        when: Some(Condition {
            field: Some("account_id".into()),
            present: Some(true),
            ..Condition::default()
        }),
        actions: vec![Action::Webhook {
            channel: "hook".into(),
        }],
    }];
    alerts
}

/// Serves `app` on a free loopback port until the test ends; its base URL.
pub async fn serve_loopback(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .must("bind a loopback server");
    let addr = listener.local_addr().must("loopback address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// A webhook channel to `url` (a loopback receiver), signed with `secret` when given.
pub fn webhook_channel(
    url: String,
    secret: Option<&str>,
) -> vitals_core::alerts::rules::ChannelConfig {
    vitals_core::alerts::rules::ChannelConfig::Webhook {
        url,
        secret: secret.map(vitals_core::notify::Secret::new),
        secret_env: None,
        template: None,
        headers: Default::default(),
    }
}
