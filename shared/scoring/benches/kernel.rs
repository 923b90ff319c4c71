//! The scoring kernel against its budget (BRIEF §5): >= 100M account-days per second per core.
//! An account-day is one day of one account's window processed; every account here has a full
//! 120-day window. Run: `cargo bench -p vitals-scoring --bench kernel`.
//!
//! Two working sets: "hot" scores 64 accounts over and over (about 0.5 MB, in cache, like a run
//! that scores each window right after reading it), "cold" 2,000 accounts (about 16 MB, mostly
//! out of cache).

use chrono::{Days, NaiveDate};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::time::Instant;
use vitals_scoring::kernel::measure_batch;
use vitals_scoring::tally::{tally_usage, Spans};
use vitals_scoring::{
    measure, score_account, score_batch, score_numbers, AccountFacts, AccountInput, DayActivity,
    HealthScore, ScoringConfig, TicketSeverity, UsageWindow,
};

const COLD_ACCOUNTS: usize = 2_000;
const HOT_ACCOUNTS: usize = 64;
const DAYS: u64 = 120;

struct Account {
    facts: AccountFacts,
    window: UsageWindow,
    previous: Option<HealthScore>,
}

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 1).unwrap_or_default()
}

/// Deterministic, varied accounts: 5-60 seats, usage that grows, holds or decays.
fn accounts(config: &ScoringConfig, count: usize) -> Vec<Account> {
    let end = as_of();
    let start = end - Days::new(DAYS - 1);
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    (0..count)
        .map(|i| {
            let seats = 5 + (next() % 56) as u32;
            let users: Vec<String> = (0..seats).map(|u| format!("a{i}-u{u}")).collect();
            let shape = next() % 3;
            let mut w = UsageWindow::default();
            for d in 0..DAYS {
                let level = match shape {
                    0 => 0.3 + 0.5 * d as f64 / DAYS as f64,
                    1 => 0.6,
                    _ => 0.8 - 0.6 * d as f64 / DAYS as f64,
                };
                let active = ((f64::from(seats) * level) as usize).max(1);
                let mut a = DayActivity {
                    active_users: users[..active].to_vec(),
                    sessions: active as u32 * 2,
                    session_seconds: active as u32 * 1_100,
                    api_calls: (next() % 500) as u32,
                    events: active as u32 * 25,
                    features: vec![format!("f{}", next() % 12)],
                    ..Default::default()
                };
                if next() % 15 == 0 {
                    a.tickets_opened.add(TicketSeverity::Normal);
                    a.csm_checkins = 1;
                    a.nps = vec![(next() % 11) as u8];
                }
                w.roll(start + Days::new(d), &a);
            }
            let facts = AccountFacts {
                tier: Some(if i % 4 == 0 { "enterprise" } else { "growth" }.into()),
                seats_licensed: Some(seats),
                mrr: Some(f64::from(seats) * 40.0),
                renewal_date: Some(end + Days::new(next() % 365)),
                contract_start: Some(end - Days::new(200 + next() % 600)),
                champions: vec![users[0].clone()],
                ..Default::default()
            };
            let previous = Some(score_account(config, &facts, &w, end - Days::new(1), None).health);
            Account {
                facts,
                window: w,
                previous,
            }
        })
        .collect()
}

fn account_days(accounts: &[Account]) -> u64 {
    accounts.iter().map(|a| a.window.days.len() as u64).sum()
}

/// A plain timing loop, so the figure is printed whatever criterion's output format.
fn report(name: &str, days: u64, f: impl Fn()) {
    f();
    let rounds = (2_000_000 / days).clamp(20, 2_000) as u32;
    let t = Instant::now();
    for _ in 0..rounds {
        f();
    }
    let secs = t.elapsed().as_secs_f64();
    let rate = days as f64 * f64::from(rounds) / secs;
    println!("{name}: {:.1}M account-days/s (one core)", rate / 1e6);
}

fn kernel(c: &mut Criterion) {
    let config = ScoringConfig {
        key_features: (0..8).map(|i| format!("f{i}")).collect(),
        ..Default::default()
    };
    let spans = Spans {
        lookback: 30,
        short: 14,
        long: 90,
    };
    for (set, count) in [("hot", HOT_ACCOUNTS), ("cold", COLD_ACCOUNTS)] {
        let accounts = accounts(&config, count);
        let days = account_days(&accounts);
        let inputs: Vec<AccountInput<'_>> = accounts
            .iter()
            .map(|a| AccountInput {
                facts: &a.facts,
                window: &a.window,
                previous: a.previous.as_ref(),
            })
            .collect();
        let kernel_numbers = || {
            for a in &accounts {
                let m = measure(&config, &a.facts, black_box(&a.window), as_of());
                black_box(score_numbers(&config, &m, None));
            }
        };
        let batch_numbers = || {
            for m in measure_batch(&config, black_box(&inputs), as_of()) {
                black_box(score_numbers(&config, &m, None));
            }
        };
        let full = || {
            black_box(score_batch(&config, black_box(&inputs), as_of()));
        };
        let hot_loop = || {
            for a in &accounts {
                black_box(tally_usage(black_box(&a.window.days), as_of(), spans));
            }
        };
        println!("{set}: {count} accounts, {days} account-days");
        report(
            &format!("{set} kernel: measure + score_numbers"),
            days,
            kernel_numbers,
        );
        report(
            &format!("{set} kernel: measure_batch + score_numbers"),
            days,
            batch_numbers,
        );
        report(
            &format!("{set} full: score_batch, explained, with change"),
            days,
            full,
        );
        report(&format!("{set} hot loop: tally_usage"), days, hot_loop);

        let mut group = c.benchmark_group(format!("kernel_{set}"));
        group.throughput(Throughput::Elements(days));
        group.bench_function("measure_and_score_numbers", |b| b.iter(kernel_numbers));
        group.bench_function("measure_batch_and_score_numbers", |b| b.iter(batch_numbers));
        group.bench_function("score_batch_explained", |b| b.iter(full));
        group.bench_function("tally_usage", |b| b.iter(hot_loop));
        group.finish();
    }
}

criterion_group!(benches, kernel);
criterion_main!(benches);
