//! Ingest benchmark (BRIEF §5): events/s per core for parse + validate + coalesce of 500 KB
//! Segment batches, and DynamoDB write units per 1,000 events on a Zipf-distributed account mix.
//!
//!     cargo bench -p vitals-core --bench ingest
//!
//! Write units are computed as DynamoDB bills them: per chunk item, ceil(item bytes / 1 KB),
//! item bytes being every attribute name plus its value, exactly the attributes the DynamoDB
//! adapter writes for a chunk (pk, sk, account_id, day, chunk_id, n, payload, expires_at).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use vitals_core::ingest::message::ParseContext;
use vitals_core::ingest::{coalesce, explicit_account, segment, MAX_BATCH_BYTES};
use vitals_core::model::{AccountId, EventChunk};

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

/// Parse + validate + coalesce of one batch body, as the ingest handler runs it.
fn ingest_cpu(body: &str, cx: &ParseContext) -> (usize, Vec<EventChunk>) {
    let mut parsed = segment::parse_batch(body, cx).expect("valid batch");
    let accounts: Vec<AccountId> = parsed
        .messages
        .iter()
        .map(|m| explicit_account(m).unwrap_or_else(AccountId::unattributed))
        .collect();
    let n = parsed.messages.len();
    (n, coalesce(&mut parsed.messages, &accounts))
}

fn number_bytes(n: i64) -> usize {
    // DynamoDB: about 1 byte per 2 significant digits, plus 1.
    let digits = n
        .unsigned_abs()
        .to_string()
        .trim_end_matches('0')
        .len()
        .max(1);
    digits.div_ceil(2) + 1
}

/// Bytes of the DynamoDB item the adapter writes for a chunk with this payload.
fn item_bytes(chunk: &EventChunk, payload: usize) -> usize {
    let seg = format!("{:02}", chunk.segment().0);
    let pk = format!("CHUNK#{}#{seg}", chunk.day);
    let sk = format!("{}#{}", chunk.account_id, chunk.chunk_id);
    let expires = chunk
        .day
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp()
        + 730 * 86_400;
    "pk".len()
        + pk.len()
        + "sk".len()
        + sk.len()
        + "account_id".len()
        + chunk.account_id.as_str().len()
        + "day".len()
        + 10
        + "chunk_id".len()
        + chunk.chunk_id.len()
        + "n".len()
        + number_bytes(chunk.events.len() as i64)
        + "payload".len()
        + payload
        + "expires_at".len()
        + number_bytes(expires)
}

fn wcu(bytes: usize) -> usize {
    bytes.div_ceil(1024).max(1)
}

/// The first payload format (deflated short-key JSON), for comparison.
fn v0_payload(chunk: &EventChunk) -> usize {
    let json = serde_json::to_vec(&chunk.events).unwrap();
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&json).unwrap();
    enc.finish().unwrap().len()
}

fn main() {
    let now: DateTime<Utc> = "2026-03-10T12:00:00Z".parse().unwrap();
    let cx = ParseContext::new(now, 730);
    let mut rng = Rng(42);

    println!("ingest benchmark: 1 core, 500 KB Segment batches (parse + validate + coalesce)");
    println!(
        "{:<44} {:>10} {:>10} {:>12} {:>14}",
        "event profile", "bytes/evt", "evts/batch", "MB/s", "events/s/core"
    );
    for (label, profile) in [
        ("server library (analytics-python/node)", Profile::Server),
        ("browser (analytics.js, full context)", Profile::Browser),
    ] {
        let zipf = Zipf::new(1_000, 1.1);
        let bodies = batches(&mut rng, &zipf, 8, now, profile);
        let bytes: usize = bodies.iter().map(String::len).sum();
        let mut events = 0usize;
        for b in &bodies {
            events += ingest_cpu(b, &cx).0; // warm-up
        }
        let per_batch = events / bodies.len();
        let rounds = 12;
        let started = Instant::now();
        let mut total = 0usize;
        for _ in 0..rounds {
            for b in &bodies {
                total += std::hint::black_box(ingest_cpu(b, &cx)).0;
            }
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{:<44} {:>10} {:>10} {:>12.0} {:>14.0}",
            label,
            bytes / events.max(1),
            per_batch,
            (bytes * rounds) as f64 / secs / 1e6,
            total as f64 / secs
        );
    }
    println!("budget: >= 1,000,000 events/s per core\n");

    println!("DynamoDB write units per 1,000 events (chunk items, billed ceil(item bytes / 1 KB))");
    println!(
        "{:<52} {:>9} {:>11} {:>11} {:>12}",
        "account mix / batching", "events", "chunks", "WCU/1k v0", "WCU/1k now"
    );
    let scenarios: [(&str, usize, f64, usize); 4] = [
        (
            "Zipf s=1.1, 100 accounts, 500 KB mixed batches",
            100,
            1.1,
            0,
        ),
        (
            "Zipf s=1.1, 1,000 accounts, 500 KB mixed batches",
            1_000,
            1.1,
            0,
        ),
        (
            "Zipf s=1.1, 10,000 accounts, 500 KB mixed batches",
            10_000,
            1.1,
            0,
        ),
        (
            "Zipf s=1.1, 10,000 accounts, per-client batches",
            10_000,
            1.1,
            100,
        ),
    ];
    for (label, accounts, s, per_client) in scenarios {
        let zipf = Zipf::new(accounts, s);
        let mut total_events = 0usize;
        let mut chunks_n = 0usize;
        let (mut wcu_v0, mut wcu_now) = (0usize, 0usize);
        let bodies: Vec<String> = if per_client == 0 {
            batches(&mut rng, &zipf, 6, now, Profile::Server)
        } else {
            // A client library flushes one account's events (up to `per_client` at a time):
            // the stream's events per account follow the Zipf mix, each flush holds one account.
            let mut per_account = vec![0usize; accounts];
            for _ in 0..12_000 {
                per_account[zipf.sample(&mut rng)] += 1;
            }
            let mut bodies = Vec::new();
            for (account, n) in per_account.into_iter().enumerate() {
                let mut left = n;
                while left > 0 {
                    let take = left.min(per_client);
                    let items: Vec<String> = (0..take)
                        .map(|_| event(&mut rng, account, now, Profile::Server).to_string())
                        .collect();
                    bodies.push(format!("{{\"batch\":[{}]}}", items.join(",")));
                    left -= take;
                }
            }
            bodies
        };
        for b in &bodies {
            let (n, chunks) = ingest_cpu(b, &cx);
            total_events += n;
            chunks_n += chunks.len();
            for c in &chunks {
                let now_payload = c.encode_events().unwrap().len();
                wcu_now += wcu(item_bytes(c, now_payload));
                wcu_v0 += wcu(item_bytes(c, v0_payload(c)));
            }
        }
        let per_k = |w: usize| w as f64 * 1000.0 / total_events.max(1) as f64;
        println!(
            "{:<52} {:>9} {:>11} {:>11.1} {:>12.1}",
            label,
            total_events,
            chunks_n,
            per_k(wcu_v0),
            per_k(wcu_now)
        );
    }
    println!("budget: <= 80 write units per 1,000 events");
}
