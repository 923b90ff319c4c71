//! Scoring benchmarks against BRIEF §5, printed as one table:
//! - the scoring kernel in account-days per second on one core, and the same computations in
//!   DuckDB (installed from PyPI into `.tools/venv` on first use) on the same accounts, with the
//!   ratios (see `scoring/kernel.rs` for what is compared with what);
//! - read and write units per account scored by the daily run, as DynamoDB Local reports them
//!   (needs `VITALS_TEST_DYNAMODB_ENDPOINT`; `scripts/bench.sh` starts the emulator);
//! - the wall time of a daily run over 100,000 accounts on the embedded store.
//!
//! Run: `bash scripts/bench.sh` (or `cargo bench -p vitals-tests --bench scoring -- [--accounts N]
//! [--kernel-accounts N] [--kernel-only]`; `--kernel-only` prints the kernel rows alone).

use std::sync::Arc;
use std::time::Instant;

use chrono::{Days, NaiveDate, TimeZone, Utc};
use vitals_core::clock::FixedClock;
use vitals_core::config::VitalsConfig;
use vitals_core::model::{
    AccountId, AccountProfile, AccountRecord, EventChunk, EventKind, StoredEvent,
};
use vitals_core::ports::Storage;
use vitals_core::run::DailyRun;
use vitals_embedded::{QueueSettings, SqliteQueue, SqliteStore};
use vitals_scoring::{AccountFacts, DayActivity, UsageWindow};

/// The kernel rows: Rust against DuckDB.
#[path = "scoring/kernel.rs"]
mod kernel;

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 30).unwrap_or_default()
}

/// A small deterministic generator, so every run measures the same data.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// An account's window over the 120 days up to the day before `as_of`, with a usage pattern
/// drawn from `seed`: steady, declining or growing, with weekly rhythm.
fn window(seed: u64) -> (UsageWindow, u32) {
    let mut rng = Lcg(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let seats = 3 + rng.below(60) as u32;
    let pattern = rng.below(3);
    let mut w = UsageWindow::default();
    let users: Vec<String> = (0..seats).map(|u| format!("u{u}")).collect();
    let features = [
        "Report Built",
        "Dashboard Viewed",
        "Export Created",
        "Alert Configured",
        "Invite Sent",
    ];
    for d in 0..120u64 {
        let day = as_of() - Days::new(121 - d);
        let level = match pattern {
            0 => 0.7,
            1 if d > 100 => 0.15,
            1 => 0.7,
            _ => 0.2 + 0.6 * d as f64 / 120.0,
        };
        let weekend = d % 7 >= 5;
        let active = ((f64::from(seats) * level * if weekend { 0.2 } else { 1.0 }) as usize)
            .min(users.len());
        let activity = DayActivity {
            active_users: users[..active].to_vec(),
            sessions: active as u32,
            session_seconds: active as u32 * (300 + rng.below(1200) as u32),
            api_calls: rng.below(20) as u32,
            events: active as u32 * (2 + rng.below(6) as u32),
            features: features[..1 + rng.below(features.len() as u64) as usize]
                .iter()
                .map(|f| f.to_string())
                .collect(),
            ..Default::default()
        };
        w.roll(day, &activity);
    }
    (w, seats)
}

fn facts(seats: u32) -> AccountFacts {
    AccountFacts {
        tier: Some("Growth".into()),
        seats_licensed: Some(seats),
        mrr: Some(f64::from(seats) * 50.0),
        renewal_date: Some(as_of() + Days::new(90)),
        contract_start: Some(as_of() - Days::new(400)),
        ..Default::default()
    }
}

struct Row {
    what: &'static str,
    figure: String,
    budget: &'static str,
}

/// Fills a store with `accounts` scored-yesterday accounts and today's events for each.
async fn populate<S: Storage + ?Sized>(store: &S, accounts: u64) {
    let day = as_of();
    let mut records = Vec::new();
    let mut chunks = Vec::new();
    for i in 0..accounts {
        let id =
            AccountId::new(format!("acct-{i:07}")).unwrap_or_else(|_| AccountId::unattributed());
        let (window, seats) = window(i % 512);
        let profile = AccountProfile {
            name: Some(format!("Account {i}")),
            tier: Some("Growth".into()),
            seats: Some(seats),
            mrr: Some(f64::from(seats) * 50.0),
            renewal_date: Some(day + Days::new(90)),
            owner: Some(format!("csm{}@vendor.example", i % 7)),
            started_on: Some(day - Days::new(400)),
            ..Default::default()
        };
        store
            .put_profile(&id, &profile)
            .await
            .unwrap_or_else(|e| panic!("put_profile: {e}"));
        let events = (0..10)
            .map(|k| StoredEvent {
                message_id: format!("{i}-{k}"),
                kind: EventKind::Track,
                name: Some("Report Built".into()),
                user_id: Some(format!("u{}", k % seats.max(1))),
                timestamp: Utc.from_utc_datetime(&day.and_hms_opt(10, k, 0).unwrap_or_default()),
                properties: Default::default(),
            })
            .collect();
        chunks.push(EventChunk::new(id.clone(), day, events));
        records.push(AccountRecord {
            account_id: id,
            profile,
            window,
            score: None,
            trail: Default::default(),
            provisional: None,
        });
        if records.len() == 1000 {
            store
                .put_scoring_states(&records)
                .await
                .unwrap_or_else(|e| panic!("put_scoring_states: {e}"));
            store
                .put_chunks(&chunks)
                .await
                .unwrap_or_else(|e| panic!("put_chunks: {e}"));
            records.clear();
            chunks.clear();
        }
    }
    store
        .put_scoring_states(&records)
        .await
        .unwrap_or_else(|e| panic!("put_scoring_states: {e}"));
    store
        .put_chunks(&chunks)
        .await
        .unwrap_or_else(|e| panic!("put_chunks: {e}"));
}

async fn run_io_units(rows: &mut Vec<Row>) {
    let endpoint = match std::env::var("VITALS_TEST_DYNAMODB_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => {
            rows.push(Row {
                what: "daily run I/O per account (DynamoDB)",
                figure: "not run: set VITALS_TEST_DYNAMODB_ENDPOINT (scripts/bench.sh does)".into(),
                budget: "<= 0.5 RU, <= 4 WU",
            });
            return;
        }
    };
    let sdk = vitals_aws::sdk_config(Some(&endpoint)).await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let table = vitals_tests::support::unique_name("bench");
    if let Err(e) = vitals_aws::create_table(&client, &table).await {
        rows.push(Row {
            what: "daily run I/O per account (DynamoDB)",
            figure: format!("not run: {e}"),
            budget: "",
        });
        return;
    }
    let meter = Arc::new(vitals_aws::CapacityMeter::default());
    let store = vitals_aws::DynamoStore::new(client, table).with_capacity_meter(meter.clone());
    let accounts = 2000;
    populate(&store, accounts).await;
    meter.take();
    let queue = SqliteQueue::open_in_memory("alerts", QueueSettings::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let config = VitalsConfig::default();
    let clock = FixedClock(Utc::now());
    DailyRun::new(&store, &queue, &config, &clock)
        .run_day(as_of(), &mut |_| {})
        .await
        .unwrap_or_else(|e| panic!("run: {e}"));
    let used = meter.take();
    let n = accounts as f64;
    rows.push(Row {
        what: "daily run read units per account (DynamoDB Local)",
        figure: format!(
            "{:.3} RU ({accounts} accounts, 10 events each)",
            used.read_units / n
        ),
        budget: "<= 0.5",
    });
    rows.push(Row {
        what: "daily run write units per account (DynamoDB Local)",
        figure: format!("{:.3} WU", used.write_units / n),
        budget: "<= 4",
    });
    rows.push(Row {
        what: "daily run requests per account",
        figure: format!("{:.3}", used.requests as f64 / n),
        budget: "",
    });
}

async fn embedded_run(rows: &mut Vec<Row>, accounts: u64) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = SqliteStore::open(&dir.path().join("vitals.db"))
        .and_then(SqliteStore::for_batch_work)
        .unwrap_or_else(|e| panic!("{e}"));
    let start = Instant::now();
    populate(&store, accounts).await;
    let populated = start.elapsed();
    let queue = SqliteQueue::open(
        &dir.path().join("queue.db"),
        "alerts",
        QueueSettings::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let config = VitalsConfig::default();
    let clock = FixedClock(Utc::now());
    let start = Instant::now();
    let report = DailyRun::new(&store, &queue, &config, &clock)
        .run_day(as_of(), &mut |_| {})
        .await
        .unwrap_or_else(|e| panic!("run: {e}"));
    let took = start.elapsed();
    rows.push(Row {
        what: "daily run wall time, embedded store",
        figure: format!(
            "{:.1} s for {} accounts ({:.0} accounts/s; setup {:.0} s)",
            took.as_secs_f64(),
            report.accounts_scored,
            report.accounts_scored as f64 / took.as_secs_f64(),
            populated.as_secs_f64()
        ),
        budget: "(100k accounts)",
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let kernel_accounts = flag("--kernel-accounts", 20_000);
    let run_accounts = flag("--accounts", 100_000);
    let kernel_only = args.iter().any(|a| a == "--kernel-only");
    let mut rows = Vec::new();
    eprintln!("kernel: {kernel_accounts} accounts ...");
    kernel::kernel(&mut rows, kernel_accounts);
    if kernel_only {
        print_table(rows);
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("daily run I/O on DynamoDB Local ...");
    runtime.block_on(run_io_units(&mut rows));
    eprintln!("daily run over {run_accounts} accounts on the embedded store ...");
    runtime.block_on(embedded_run(&mut rows, run_accounts));
    print_table(rows);
}

fn print_table(rows: Vec<Row>) {
    println!();
    println!(
        "{:<52} | {:<70} | budget (BRIEF §5)",
        "scoring benchmark", "measured"
    );
    println!("{}", "-".repeat(150));
    for r in rows {
        println!("{:<52} | {:<70} | {}", r.what, r.figure, r.budget);
    }
}
