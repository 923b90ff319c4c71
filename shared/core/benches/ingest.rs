//! Ingest benchmark (BRIEF §5): events/s per core for parse + validate + coalesce of 500 KB
//! Segment batches. (DynamoDB write units per 1,000 events are measured on DynamoDB Local by
//! `bash scripts/bench.sh ingest-writes`, from the items the adapter really writes.)
//!
//!     cargo bench -p vitals-core --bench ingest
//!     cargo bench -p vitals-core --bench ingest -- browser   # one event profile
//!
//! It runs with mimalloc as the global allocator, as the binaries that ingest do
//! (functions/ingest, functions/vitals): allocation is a large part of this path, so it measures
//! what production runs.
//!
//! Arguments narrow the run (for profilers): `server` or `browser` picks an event profile;
//! `INGEST_BENCH_ROUNDS` sets the timed rounds (default 12), so
//! `valgrind --tool=callgrind --toggle-collect='*ingest_cpu*'` can count instructions per event.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use vitals_core::ingest::message::ParseContext;
use vitals_core::ingest::{coalesce, explicit_accounts, segment, MAX_BATCH_BYTES};
use vitals_core::model::{AccountId, EventChunk};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Deterministic pseudo-random numbers (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Zipf(s) over `n` ranks, sampled through its cumulative distribution.
struct Zipf(Vec<f64>);

impl Zipf {
    fn new(n: usize, s: f64) -> Self {
        let mut cdf = Vec::with_capacity(n);
        let mut total = 0.0;
        for k in 1..=n {
            total += 1.0 / (k as f64).powf(s);
            cdf.push(total);
        }
        Zipf(cdf.into_iter().map(|c| c / total).collect())
    }
    fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.unit();
        self.0.partition_point(|c| *c < u).min(self.0.len() - 1)
    }
}

const EVENTS: &[&str] = &[
    "Report Built",
    "Dashboard Viewed",
    "Export Created",
    "Integration Connected",
    "Alert Configured",
    "Comment Added",
    "Invite Sent",
    "Workflow Automated",
    "Session Started",
    "API Call",
];

#[derive(Clone, Copy)]
enum Profile {
    /// analytics-python / analytics-node: small context.
    Server,
    /// analytics.js in a browser: page, user agent, campaign in context.
    Browser,
}

fn event(rng: &mut Rng, account: usize, now: DateTime<Utc>, profile: Profile) -> Value {
    let id = uuid::Uuid::from_u64_pair(rng.next(), rng.next()).to_string();
    let user = format!("user-{account}-{}", rng.below(25));
    let name = EVENTS[rng.below(EVENTS.len())];
    let ts = (now - Duration::milliseconds(rng.below(3_600_000) as i64))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut context = json!({"groupId": format!("acct-{account:05}"),
        "library": {"name": "analytics-python", "version": "2.3.3"}});
    if let Profile::Browser = profile {
        context = json!({"groupId": format!("acct-{account:05}"),
            "library": {"name": "analytics.js", "version": "next-1.72.0"},
            "ip": "203.0.113.7", "locale": "en-US", "timezone": "Europe/Berlin",
            "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
            "page": {"path": "/reports/42", "referrer": "https://app.example.com/", "title": "Reports",
                     "url": "https://app.example.com/reports/42", "search": ""}});
    }
    json!({"type": "track", "messageId": id, "userId": user, "event": name,
        "properties": {"plan": "pro", "items": rng.below(100), "source": "web"},
        "context": context, "timestamp": ts, "originalTimestamp": ts, "sentAt": now.to_rfc3339(),
        "integrations": {}})
}

/// Batch bodies of up to 500 KB drawn from a Zipf account mix.
fn batches(
    rng: &mut Rng,
    zipf: &Zipf,
    count: usize,
    now: DateTime<Utc>,
    profile: Profile,
) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..count {
        let mut items = Vec::new();
        let mut size = 40;
        loop {
            let account = zipf.sample(rng);
            let e = event(rng, account, now, profile).to_string();
            if size + e.len() + 1 > MAX_BATCH_BYTES - 1024 {
                break;
            }
            size += e.len() + 1;
            items.push(e);
        }
        out.push(format!(
            "{{\"sentAt\":\"{}\",\"batch\":[{}]}}",
            now.to_rfc3339(),
            items.join(",")
        ));
    }
    out
}

/// Parse + validate + coalesce of one batch body, as the ingest handler runs it. Never inlined,
/// so a profiler can attribute exactly this work.
#[inline(never)]
fn ingest_cpu(body: &str, cx: &ParseContext) -> (usize, Vec<EventChunk>) {
    let mut parsed = segment::parse_batch(body, cx).expect("valid batch");
    // As the handler attributes them: each distinct account built once, borrowed per message.
    let (table, of_message) = explicit_accounts(&parsed.messages);
    let unattributed = AccountId::unattributed();
    let accounts: Vec<&AccountId> = of_message
        .iter()
        .map(|i| i.map_or(&unattributed, |i| &table[i]))
        .collect();
    let n = parsed.messages.len();
    (n, coalesce(&mut parsed.messages, &accounts))
}

/// Which parts of the benchmark to run, from the command line (cargo passes `--bench`).
struct Selection {
    server: bool,
    browser: bool,
    rounds: usize,
}

impl Selection {
    fn from_env() -> Self {
        let args: Vec<String> = std::env::args()
            .skip(1)
            .filter(|a| !a.starts_with("--"))
            .collect();
        let has = |a: &str| args.iter().any(|x| x == a);
        let any_profile = has("server") || has("browser");
        Selection {
            server: !any_profile || has("server"),
            browser: !any_profile || has("browser"),
            rounds: std::env::var("INGEST_BENCH_ROUNDS")
                .ok()
                .and_then(|r| r.parse().ok())
                .unwrap_or(12),
        }
    }
}

fn main() {
    let now: DateTime<Utc> = "2026-03-10T12:00:00Z".parse().unwrap();
    let cx = ParseContext::new(now, 730);
    let mut rng = Rng(42);
    let selection = Selection::from_env();
    parse_throughput(&selection, now, &cx, &mut rng);
}

fn parse_throughput(selection: &Selection, now: DateTime<Utc>, cx: &ParseContext, rng: &mut Rng) {
    println!("ingest benchmark: 1 core, 500 KB Segment batches (parse + validate + coalesce)");
    println!(
        "{:<44} {:>10} {:>10} {:>12} {:>14} {:>14}",
        "event profile", "bytes/evt", "evts/batch", "MB/s", "events/s/core", "on-CPU evts/s"
    );
    for (label, profile) in [
        ("server library (analytics-python/node)", Profile::Server),
        ("browser (analytics.js, full context)", Profile::Browser),
    ] {
        let zipf = Zipf::new(1_000, 1.1);
        // Drawn even when skipped, so each profile's batches are the same in every run.
        let bodies = batches(rng, &zipf, 8, now, profile);
        let wanted = match profile {
            Profile::Server => selection.server,
            Profile::Browser => selection.browser,
        };
        if !wanted {
            continue;
        }
        let bytes: usize = bodies.iter().map(String::len).sum();
        let mut events = 0usize;
        for b in &bodies {
            events += ingest_cpu(b, cx).0; // warm-up
        }
        let per_batch = events / bodies.len();
        let rounds = selection.rounds;
        let started = Instant::now();
        let cpu_started = thread_cpu_seconds();
        let mut total = 0usize;
        for _ in 0..rounds {
            for b in &bodies {
                total += std::hint::black_box(ingest_cpu(b, cx)).0;
            }
        }
        let secs = started.elapsed().as_secs_f64();
        let on_cpu = match (cpu_started, thread_cpu_seconds()) {
            (Some(a), Some(b)) if b > a => format!("{:.0}", total as f64 / (b - a)),
            _ => "n/a".to_string(),
        };
        println!(
            "{:<44} {:>10} {:>10} {:>12.0} {:>14.0} {:>14}",
            label,
            bytes / events.max(1),
            per_batch,
            (bytes * rounds) as f64 / secs / 1e6,
            total as f64 / secs,
            on_cpu
        );
    }
    println!("budget: >= 1,000,000 events/s per core");
    println!("(on-CPU: events per second of this thread's CPU time, which other processes on a");
    println!(" busy machine do not take from; events/s/core divides by wall-clock time)\n");
}

/// CPU time this thread has run, in seconds (Linux's schedstat); `None` where unavailable.
fn thread_cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(nanos as f64 / 1e9)
}
