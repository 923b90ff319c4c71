//! DynamoDB write units per 1,000 ingested events on a Zipf-distributed account mix (BRIEF §5:
//! <= 80). Segment batch bodies go through the real ingest path (`segment::parse_batch`, then the
//! `Ingest` use case with the touched set for provisional scores on, as in the ingest function)
//! into a DynamoDB Local table, one fresh table per scenario, with the
//! adapter's `CapacityMeter` counting what DynamoDB reports. The table is then scanned and each
//! stored item's size computed as DynamoDB bills it (attribute names + values, 1 unit per KB
//! rounded up), as a cross-check and in case the emulator reports no capacity.
//!
//! Run: `bash scripts/bench.sh` (starts DynamoDB Local), or with an emulator already running:
//! `VITALS_TEST_DYNAMODB_ENDPOINT=http://127.0.0.1:8000 cargo bench -p vitals-tests --bench ingest_writes`

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use vitals_aws::{CapacityMeter, DynamoStore};
use vitals_core::config::FreshnessConfig;
use vitals_core::freshness::TouchRecorder;
use vitals_core::ingest::message::ParseContext;
use vitals_core::ingest::{coalesce, explicit_account, segment, Ingest, MAX_BATCH_BYTES};
use vitals_core::model::AccountId;

const BUDGET_PER_1K: f64 = 80.0;

/// Deterministic pseudo-random numbers (SplitMix64), so every run measures the same events.
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
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Zipf(s) over `n` accounts, sampled through its cumulative distribution.
struct Zipf(Vec<f64>);

impl Zipf {
    fn new(n: usize, s: f64) -> Self {
        let mut total = 0.0;
        let cdf: Vec<f64> = (1..=n)
            .map(|k| {
                total += 1.0 / (k as f64).powf(s);
                total
            })
            .collect();
        Zipf(cdf.into_iter().map(|c| c / total).collect())
    }
    fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.unit();
        self.0
            .partition_point(|c| *c < u)
            .min(self.0.len().saturating_sub(1))
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

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_773_144_000, 0).unwrap_or_default() // 2026-03-10T12:00:00Z
}

/// One `track` call as analytics-python / analytics-node send it (a random v4-style messageId).
fn event(rng: &mut Rng, account: usize) -> String {
    let (a, b) = (rng.next(), rng.next());
    let id = format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    );
    let ts = (now() - Duration::milliseconds(rng.below(3_600_000) as i64))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    json!({"type": "track", "messageId": id, "userId": format!("user-{account}-{}", rng.below(25)),
        "event": EVENTS[rng.below(EVENTS.len() as u64) as usize],
        "properties": {"plan": "pro", "items": rng.below(100), "source": "web"},
        "context": {"groupId": format!("acct-{account:05}"),
            "library": {"name": "analytics-python", "version": "2.3.3"}},
        "timestamp": ts, "originalTimestamp": ts, "sentAt": now().to_rfc3339(), "integrations": {}})
    .to_string()
}

fn body(items: &[String]) -> String {
    format!(
        "{{\"sentAt\":\"{}\",\"batch\":[{}]}}",
        now().to_rfc3339(),
        items.join(",")
    )
}

/// Batches of up to 500 KB, each event's account drawn from the Zipf mix (a server-side app
/// sending every customer's events through one client).
fn mixed_batches(rng: &mut Rng, zipf: &Zipf, count: usize) -> Vec<String> {
    (0..count)
        .map(|_| {
            let mut items = Vec::new();
            let mut size = 64;
            loop {
                let account = zipf.sample(rng);
                let e = event(rng, account);
                if size + e.len() + 1 > MAX_BATCH_BYTES - 1024 {
                    return body(&items);
                }
                size += e.len() + 1;
                items.push(e);
            }
        })
        .collect()
}

/// `events` drawn from the Zipf mix, sent per account in batches of at most `per_batch` (a
/// client library in each customer's app flushing its own queue).
fn per_client_batches(rng: &mut Rng, zipf: &Zipf, events: usize, per_batch: usize) -> Vec<String> {
    let mut per_account = vec![0usize; zipf.0.len()];
    for _ in 0..events {
        per_account[zipf.sample(rng)] += 1;
    }
    let mut bodies = Vec::new();
    for (account, n) in per_account.into_iter().enumerate() {
        let mut left = n;
        while left > 0 {
            let take = left.min(per_batch);
            let items: Vec<String> = (0..take).map(|_| event(rng, account)).collect();
            bodies.push(body(&items));
            left -= take;
        }
    }
    bodies
}

/// DynamoDB's billed size of a stored value (numbers: about one byte per two significant digits,
/// plus one).
fn value_bytes(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::N(n) => {
            let digits = n.trim_start_matches(['-', '0']).replace('.', "");
            digits.trim_end_matches('0').len().max(1).div_ceil(2) + 1
        }
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::L(l) => 3 + l.iter().map(|x| 1 + value_bytes(x)).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, x)| 1 + k.len() + value_bytes(x))
                .sum::<usize>()
        }
        AttributeValue::Ss(s) => s.iter().map(String::len).sum(),
        _ => 0,
    }
}

/// What a scan of the table finds.
#[derive(Default)]
struct Stored {
    items: usize,
    bytes: u64,
    /// Bytes of binary attributes (the compressed event payloads).
    payload_bytes: u64,
    /// Write units writing each item once costs: ceil(item bytes / 1 KB).
    write_units: u64,
}

async fn stored_items(client: &aws_sdk_dynamodb::Client, table: &str) -> Stored {
    let mut stored = Stored::default();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap_or_else(|e| panic!("scan: {e:?}"));
        for item in page.items() {
            let size = item
                .iter()
                .map(|(k, v)| k.len() + value_bytes(v))
                .sum::<usize>() as u64;
            stored.items += 1;
            stored.bytes += size;
            stored.write_units += size.div_ceil(1024).max(1);
            stored.payload_bytes += item
                .values()
                .filter_map(|v| v.as_b().ok())
                .map(|b| b.as_ref().len() as u64)
                .sum::<u64>();
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            return stored;
        }
    }
}

/// Payload bytes the same events would take with each chunk deflated on its own (the chunk
/// codec's own payload), for comparison with the packs actually stored.
fn per_chunk_payload_bytes(bodies: &[String], cx: &ParseContext) -> u64 {
    let mut total = 0u64;
    for b in bodies {
        let mut parsed = segment::parse_batch(b, cx).unwrap_or_else(|e| panic!("parse: {e}"));
        let accounts: Vec<AccountId> = parsed
            .messages
            .iter()
            .map(|m| explicit_account(m).unwrap_or_else(AccountId::unattributed))
            .collect();
        for c in coalesce(&mut parsed.messages, &accounts) {
            total += c.encode_events().map_or(0, |p| p.len() as u64);
        }
    }
    total
}

struct Row {
    scenario: String,
    requests: usize,
    events: usize,
    items: usize,
    kb: f64,
    metered_per_1k: f64,
    computed_per_1k: f64,
    pack_vs_per_chunk: f64,
}

async fn measure(client: &aws_sdk_dynamodb::Client, scenario: String, bodies: Vec<String>) -> Row {
    let table = vitals_tests::support::unique_name("bench-ingest");
    vitals_aws::create_table(client, &table)
        .await
        .unwrap_or_else(|e| panic!("create_table: {e}"));
    let meter = Arc::new(CapacityMeter::default());
    let store = DynamoStore::new(client.clone(), table.clone()).with_capacity_meter(meter.clone());
    let cx = ParseContext::new(now(), store.retention_days());
    // One ingest process per scenario, keeping the touched set as the ingest function does.
    let touches = TouchRecorder::new(&FreshnessConfig::default());
    let mut events = 0;
    for b in &bodies {
        let parsed = segment::parse_batch(b, &cx).unwrap_or_else(|e| panic!("parse: {e}"));
        let outcome = Ingest::new(&store)
            .with_touches(&touches)
            .handle(parsed, now())
            .await
            .unwrap_or_else(|e| panic!("ingest: {e}"));
        assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected);
        events += outcome.accepted;
    }
    let used = meter.take();
    let stored = stored_items(client, &table).await;
    let per_chunk = per_chunk_payload_bytes(&bodies, &cx);
    let per_1k = |u: f64| u * 1000.0 / events.max(1) as f64;
    Row {
        scenario,
        requests: bodies.len(),
        events,
        items: stored.items,
        kb: stored.bytes as f64 / 1024.0,
        metered_per_1k: per_1k(used.write_units),
        computed_per_1k: per_1k(stored.write_units as f64),
        pack_vs_per_chunk: stored.payload_bytes as f64 / per_chunk.max(1) as f64,
    }
}

fn main() {
    let endpoint = match std::env::var("VITALS_TEST_DYNAMODB_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => {
            eprintln!(
                "not run: set VITALS_TEST_DYNAMODB_ENDPOINT to a DynamoDB Local endpoint \
                 (scripts/bench.sh starts one)"
            );
            return;
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let rows = runtime.block_on(async {
        let sdk = vitals_aws::sdk_config(Some(&endpoint)).await;
        let client = aws_sdk_dynamodb::Client::new(&sdk);
        let mut rng = Rng(42);
        let mut rows = Vec::new();
        for accounts in [100, 1_000, 10_000] {
            let zipf = Zipf::new(accounts, 1.1);
            let bodies = mixed_batches(&mut rng, &zipf, 6);
            let scenario = format!("Zipf s=1.1, {accounts} accounts, 500 KB mixed batches");
            eprintln!("{scenario} ...");
            rows.push(measure(&client, scenario, bodies).await);
        }
        let zipf = Zipf::new(10_000, 1.1);
        let bodies = per_client_batches(&mut rng, &zipf, 12_000, 100);
        let scenario = "Zipf s=1.1, 10000 accounts, per-client batches <= 100".to_string();
        eprintln!("{scenario} ...");
        rows.push(measure(&client, scenario, bodies).await);
        rows
    });
    println!();
    println!("DynamoDB write units per 1,000 ingested events (BRIEF §5), on DynamoDB Local");
    println!(
        "{:<54} | {:>8} | {:>7} | {:>7} | {:>9} | {:>13} | {:>13} | {:>9} | budget",
        "scenario",
        "requests",
        "events",
        "items",
        "KB stored",
        "WCU/1k meter",
        "WCU/1k sizes",
        "pack/chunk"
    );
    println!("{}", "-".repeat(150));
    let mut unmetered = false;
    for r in &rows {
        unmetered |= r.metered_per_1k == 0.0;
        println!(
            "{:<54} | {:>8} | {:>7} | {:>7} | {:>9.1} | {:>13.1} | {:>13.1} | {:>9.2} | <= {BUDGET_PER_1K}",
            r.scenario,
            r.requests,
            r.events,
            r.items,
            r.kb,
            r.metered_per_1k,
            r.computed_per_1k,
            r.pack_vs_per_chunk
        );
    }
    println!();
    println!("WCU/1k meter: write units DynamoDB Local reported (ReturnConsumedCapacity=TOTAL).");
    println!(
        "WCU/1k sizes: ceil(item bytes / 1 KB) summed over the stored items (names + values)."
    );
    println!(
        "pack/chunk: stored payload bytes (one deflate per pack) / payload bytes with each chunk \
         deflated on its own."
    );
    if unmetered {
        println!(
            "note: the emulator reported no consumed capacity for some scenario; use the sizes column."
        );
    }
}
