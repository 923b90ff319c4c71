//! The daily scoring run end to end: events in through the ingest use case, the run day by day,
//! then scores, bands, explanations and score events out. Also: re-running a day changes
//! nothing, a run that crashes midway resumes to the same result, and DynamoDB gives the same
//! scores as the embedded store.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};
use vitals_core::clock::FixedClock;
use vitals_core::config::VitalsConfig;
use vitals_core::error::QueueError;
use vitals_core::ingest::{segment, Ingest, ParseContext};
use vitals_core::model::{AccountId, Band};
use vitals_core::ports::{
    AccountStore, OutgoingMessage, Queue, ReceivedMessage, Storage, SummaryStore,
};
use vitals_core::run::DailyRun;
use vitals_core::score_event::{ScoreEvent, ScoreEventKind};
use vitals_embedded::{QueueSettings, SqliteQueue, SqliteStore};

const DAYS: u64 = 110;

fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
}

fn last_day() -> NaiveDate {
    first_day() + Days::new(DAYS - 1)
}

fn at(day: NaiveDate, hour: u32) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_hms_opt(hour, 0, 0).unwrap())
}

/// Three accounts: `steady` (8 of 10 seats daily), `declining` (the same until 14 days before
/// the end, then one user now and then), `growing` (from 2 to 10 users, seats nearly full).
fn portfolio_messages() -> Vec<Value> {
    let mut out = Vec::new();
    for (account, seats) in [("steady", 10), ("declining", 10), ("growing", 11)] {
        out.push(json!({"type": "group", "messageId": format!("g-{account}"), "userId": format!("{account}-u0"),
            "groupId": account, "timestamp": at(first_day(), 8).to_rfc3339(),
            "traits": {"name": account, "tier": "Growth", "seats": seats, "mrr": 1000, "renewal_date": "2026-09-30",
                "owner": "dana@vendor.example", "contract_start": "2025-01-01"}}));
    }
    for d in 0..DAYS {
        let day = first_day() + Days::new(d);
        let late = d >= DAYS - 14;
        let mut active = vec![
            ("steady", 8),
            ("declining", if late { u64::from(d % 4 == 0) } else { 8 }),
        ];
        active.push(("growing", 2 + d * 8 / DAYS));
        for (account, users) in active {
            for u in 0..users {
                for (k, event) in ["Report Built", "Dashboard Viewed"].iter().enumerate() {
                    out.push(json!({"type": "track", "messageId": format!("{account}-{d}-{u}-{k}"),
                        "userId": format!("{account}-u{u}"), "event": event,
                        "timestamp": at(day, 9 + k as u32).to_rfc3339(), "context": {"groupId": account}}));
                }
            }
        }
    }
    out
}

async fn ingest_all<S: Storage + ?Sized>(storage: &S, messages: Vec<Value>) {
    let received_at = at(last_day(), 23);
    for batch in messages.chunks(400) {
        let body = json!({"batch": batch}).to_string();
        let parsed = segment::parse_batch(&body, &ParseContext::new(received_at, 730)).unwrap();
        let outcome = Ingest::new(storage)
            .handle(parsed, received_at)
            .await
            .unwrap();
        assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected);
    }
}

async fn run_all_days<S: Storage + ?Sized>(
    storage: &S,
    queue: &dyn Queue,
) -> Result<(), vitals_core::run::RunError> {
    run_all_days_with(storage, queue, &VitalsConfig::default()).await
}

async fn run_all_days_with<S: Storage + ?Sized>(
    storage: &S,
    queue: &dyn Queue,
    config: &VitalsConfig,
) -> Result<(), vitals_core::run::RunError> {
    run_days(storage, queue, config, first_day()).await
}

/// The daily runs from `from` to the last day, in order (a shorter backfill for slow backends).
async fn run_days<S: Storage + ?Sized>(
    storage: &S,
    queue: &dyn Queue,
    config: &VitalsConfig,
    from: NaiveDate,
) -> Result<(), vitals_core::run::RunError> {
    let clock = FixedClock(at(last_day(), 6));
    let run = DailyRun::new(storage, queue, config, &clock);
    let mut day = from;
    while day <= last_day() {
        run.run_day(day, &mut |_| {}).await?;
        day = day + Days::new(1);
    }
    Ok(())
}

async fn drain(queue: &dyn Queue) -> Vec<ScoreEvent> {
    let mut out = Vec::new();
    loop {
        let got = queue.receive(10, Duration::from_secs(600)).await.unwrap();
        if got.is_empty() {
            return out;
        }
        for m in got {
            out.push(serde_json::from_str(&m.body).unwrap());
            queue.delete(&m.receipt).await.unwrap();
        }
    }
}

/// Every account's full score history, without the wall-clock `computed_at`.
async fn histories<S: Storage + ?Sized>(storage: &S) -> BTreeMap<String, Vec<Value>> {
    let mut out = BTreeMap::new();
    for id in ["steady", "declining", "growing"] {
        let history = storage
            .history(&AccountId::new(id).unwrap(), first_day(), last_day())
            .await
            .unwrap();
        out.insert(
            id.to_string(),
            history
                .iter()
                .map(|r| serde_json::to_value([&r.health]).unwrap())
                .collect(),
        );
    }
    out
}

fn memory_backend() -> (SqliteStore, SqliteQueue) {
    (
        SqliteStore::open_in_memory().unwrap(),
        SqliteQueue::open_in_memory("alerts", QueueSettings { max_receives: 5 }).unwrap(),
    )
}

#[tokio::test]
async fn daily_runs_score_explain_and_flag_the_declining_account() {
    let (store, queue) = memory_backend();
    ingest_all(&store, portfolio_messages()).await;
    run_all_days(&store, &queue).await.unwrap();

    let record = |id: &str| {
        let store = &store;
        let id = id.to_string();
        async move {
            store
                .get_account(&AccountId::new(id).unwrap())
                .await
                .unwrap()
                .unwrap()
        }
    };
    let steady = record("steady").await.score.unwrap();
    let declining = record("declining").await.score.unwrap();
    assert_eq!(steady.as_of, last_day());
    // The score weighs the level of use most (trend little: the decline rule below flags the
    // drop), so two weeks of a 30-day look-back lower it by several points, not tens.
    assert!(
        steady.health().score > declining.health().score + 5.0,
        "steady {} vs declining {}",
        steady.health().score,
        declining.health().score
    );
    assert_eq!(
        declining.score.decline.severity(),
        Some(vitals_scoring::DeclineSeverity::Severe)
    );
    assert_ne!(declining.health().band, Band::Healthy);
    // Explained: every signal carries its value, weight and points, and points add up.
    let points: f64 = steady.health().signals.iter().map(|s| s.points).sum();
    assert!(
        (points - steady.health().score).abs() < 1.0,
        "points {points} vs score {}",
        steady.health().score
    );
    assert!(steady
        .health()
        .signals
        .iter()
        .any(|s| s.name.contains("seat") && s.value.is_some()));
    // History: one entry per day.
    assert_eq!(histories(&store).await["steady"].len(), DAYS as usize);
    // The portfolio summary of the last day counts all three accounts.
    let summary = store.latest_summary().await.unwrap().unwrap();
    assert_eq!((summary.as_of, summary.accounts), (Some(last_day()), 3));

    let events = drain(&queue).await;
    let declines: Vec<&ScoreEvent> = events
        .iter()
        .filter(|e| e.account_id.as_str() == "declining" && e.kind == ScoreEventKind::DeclineSevere)
        .collect();
    assert!(
        !declines.is_empty(),
        "a severe decline event for the declining account"
    );
    assert!(!events.iter().any(|e| e.account_id.as_str() == "steady"
        && matches!(
            e.kind,
            ScoreEventKind::DeclineModerate | ScoreEventKind::DeclineSevere
        )));
    let ids: std::collections::BTreeSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), events.len(), "no event id is sent twice");
}

#[tokio::test]
async fn rerunning_a_day_sends_nothing_and_changes_nothing() {
    let (store, queue) = memory_backend();
    ingest_all(&store, portfolio_messages()).await;
    run_all_days(&store, &queue).await.unwrap();
    let before = histories(&store).await;
    drain(&queue).await;

    let config = VitalsConfig::default();
    let clock = FixedClock(at(last_day(), 7));
    let report = DailyRun::new(&store, &queue, &config, &clock)
        .run_day(last_day(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(
        (
            report.accounts_scored,
            report.events_emitted,
            report.segments_run
        ),
        (0, 0, 0)
    );
    assert!(drain(&queue).await.is_empty());
    assert_eq!(histories(&store).await, before);
}

/// A queue that fails every `fail_every`-th send: the run stops midway, as after a crash.
struct FlakyQueue<'a> {
    inner: &'a SqliteQueue,
    sends: AtomicU32,
    fail_every: u32,
}

#[async_trait]
impl Queue for FlakyQueue<'_> {
    async fn send(&self, messages: &[OutgoingMessage]) -> Result<(), QueueError> {
        if self.sends.fetch_add(1, Ordering::SeqCst) % self.fail_every == self.fail_every - 1 {
            return Err(QueueError::Unavailable("injected".into()));
        }
        self.inner.send(messages).await
    }
    async fn receive(
        &self,
        max: u32,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        self.inner.receive(max, visibility).await
    }
    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        self.inner.delete(receipt).await
    }
    async fn retry_later(&self, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        self.inner.retry_later(receipt, delay).await
    }
    async fn dead_letters(&self, max: u32) -> Result<Vec<ReceivedMessage>, QueueError> {
        self.inner.dead_letters(max).await
    }
    async fn replay_dead_letters(&self, max: u32) -> Result<u32, QueueError> {
        self.inner.replay_dead_letters(max).await
    }
}

#[tokio::test]
async fn a_run_that_fails_midway_resumes_to_the_same_scores_and_events() {
    let (clean_store, clean_queue) = memory_backend();
    ingest_all(&clean_store, portfolio_messages()).await;
    run_all_days(&clean_store, &clean_queue).await.unwrap();
    let clean_events: std::collections::BTreeSet<String> = drain(&clean_queue)
        .await
        .into_iter()
        .map(|e| e.id)
        .collect();

    let (store, queue) = memory_backend();
    ingest_all(&store, portfolio_messages()).await;
    let flaky = FlakyQueue {
        inner: &queue,
        sends: AtomicU32::new(0),
        fail_every: 37,
    };
    let mut failures = 0;
    // Keep re-running, as the scheduler would, until every day is done.
    while let Err(e) = run_all_days(&store, &flaky).await {
        assert!(e.is_retryable(), "{e}");
        failures += 1;
        assert!(failures < 500, "the run never finished");
    }
    assert!(failures > 0, "the fault was injected");
    assert_eq!(histories(&store).await, histories(&clean_store).await);
    let events: std::collections::BTreeSet<String> =
        drain(&queue).await.into_iter().map(|e| e.id).collect();
    assert_eq!(events, clean_events);
}

#[tokio::test]
async fn dynamodb_gives_the_same_scores_as_the_embedded_store() {
    let Some(endpoint) = vitals_tests::support::emulator_endpoint("VITALS_TEST_DYNAMODB_ENDPOINT")
    else {
        return;
    };
    let sdk = vitals_aws::sdk_config(Some(&endpoint)).await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let table = vitals_tests::support::unique_name("scoring");
    vitals_aws::create_table(&client, &table).await.unwrap();
    let dynamo = vitals_aws::DynamoStore::new(client, table);
    let (_, queue) = memory_backend();
    ingest_all(&dynamo, portfolio_messages()).await;
    run_all_days(&dynamo, &queue).await.unwrap();

    let (store, queue) = memory_backend();
    ingest_all(&store, portfolio_messages()).await;
    run_all_days(&store, &queue).await.unwrap();
    assert_eq!(histories(&dynamo).await, histories(&store).await);
}

/// Issue 20: the run on DynamoDB behind a proxy that fails, throttles, delays or drops 2.5 % of
/// requests (some after they took effect), with two SDK attempts per call so faults do surface;
/// re-run as the scheduler does until every day is done, it gives the same histories as a run
/// that saw no fault, and queues each score event once.
#[tokio::test]
async fn a_run_interrupted_by_dynamodb_faults_resumes_to_the_same_scores_and_events() {
    let Some(endpoint) = vitals_tests::support::emulator_endpoint("VITALS_TEST_DYNAMODB_ENDPOINT")
    else {
        return;
    };
    let proxy = vitals_tests::fault_proxy::FaultProxy::start(&endpoint, 20).await;
    let sdk = proxy.sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let table = vitals_tests::support::unique_name("faults-scoring");
    vitals_aws::create_table(&client, &table).await.unwrap();
    let dynamo = vitals_aws::DynamoStore::new(client, table);
    let (_, queue) = memory_backend();
    ingest_all(&dynamo, portfolio_messages()).await;

    // The last three weeks: enough days for the decline rule, few enough to re-run often.
    let from = last_day() - Days::new(20);
    let config = VitalsConfig::default();
    proxy.set_fault_share(0.025);
    let started = std::time::Instant::now();
    let mut interrupted = 0;
    while let Err(e) = run_days(&dynamo, &queue, &config, from).await {
        assert!(e.is_retryable(), "a fault must read as retryable: {e}");
        interrupted += 1;
        assert!(
            interrupted < 100,
            "the run never finished: {}",
            proxy.counts().summary()
        );
    }
    proxy.set_fault_share(0.0);
    eprintln!(
        "scoring through faults: {}; the run was interrupted {interrupted} times, {:?} in all",
        proxy.counts().summary(),
        started.elapsed()
    );
    assert!(
        proxy.counts().injected() > 50,
        "{}",
        proxy.counts().summary()
    );
    // Nearly every run is interrupted a few times (two SDK attempts per call let faults
    // surface); asserting that it was would fail about one run in 700 for no fault of the code.

    let (store, clean_queue) = memory_backend();
    ingest_all(&store, portfolio_messages()).await;
    run_days(&store, &clean_queue, &config, from).await.unwrap();
    assert_eq!(histories(&dynamo).await, histories(&store).await);
    let sent: Vec<String> = drain(&queue).await.into_iter().map(|e| e.id).collect();
    let unique: std::collections::BTreeSet<String> = sent.iter().cloned().collect();
    let clean: std::collections::BTreeSet<String> = drain(&clean_queue)
        .await
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(unique, clean, "the same score events");
    // A queue send retried after its answer was lost may repeat a message id: consumers dedupe
    // by id (the alert's delivery key), so a repeat is harmless but counted here.
    eprintln!(
        "score events: {} sent, {} distinct",
        sent.len(),
        unique.len()
    );
}

#[tokio::test]
async fn peer_normalised_scorecards_rank_each_account_against_the_portfolio() {
    let mut config = VitalsConfig::default();
    for card in &mut config.scoring.scorecards {
        card.normalise = vitals_scoring::Normalise::PeerPercentile;
    }
    config.scoring.peers.min_peers = 2;
    let (store, queue) = memory_backend();
    ingest_all(&store, portfolio_messages()).await;
    run_all_days_with(&store, &queue, &config).await.unwrap();
    let scores: Vec<vitals_core::model::ScoreRecord> = {
        let mut out = Vec::new();
        for id in ["steady", "declining", "growing"] {
            out.push(
                store
                    .get_account(&AccountId::new(id).unwrap())
                    .await
                    .unwrap()
                    .unwrap()
                    .score
                    .unwrap(),
            );
        }
        out
    };
    for s in &scores {
        assert_eq!(
            s.score.normalise,
            vitals_scoring::Normalise::PeerPercentile,
            "{}",
            s.account_id
        );
    }
    // Percentiles in a group of three: each signal's values are 0, 50 or 100 (or shared ranks).
    let values: Vec<f64> = scores
        .iter()
        .flat_map(|s| s.health().signals.iter().filter_map(|g| g.value))
        .collect();
    assert!(
        values.contains(&100.0) && values.contains(&0.0),
        "{values:?}"
    );
    assert!(
        values
            .iter()
            .all(|v| [0.0, 25.0, 50.0, 75.0, 100.0].contains(v)),
        "a percentile among three peers is a rank (ties share the mean rank): {values:?}"
    );
    assert!(
        scores[0].health().score > scores[1].health().score,
        "steady ranks above declining"
    );
}

/// `vitals score --from --to`: the whole range as one backfill, with the account records held
/// in memory between days.
async fn backfill_all_days<S: Storage + ?Sized>(
    storage: &S,
    queue: &dyn Queue,
) -> Result<(), vitals_core::run::RunError> {
    let clock = FixedClock(at(last_day(), 6));
    let config = VitalsConfig::default();
    let run = DailyRun::new(storage, queue, &config, &clock);
    run.backfill(first_day(), last_day(), &mut |_| {}).await?;
    Ok(())
}

/// Every day's portfolio summary, without the wall-clock `computed_at`.
async fn summaries<S: Storage + ?Sized>(storage: &S) -> Vec<Value> {
    storage
        .summaries(first_day(), last_day())
        .await
        .unwrap()
        .into_iter()
        .map(|s| {
            let mut v = serde_json::to_value(&s).unwrap();
            v.as_object_mut().unwrap().remove("computed_at");
            v
        })
        .collect()
}

#[tokio::test]
async fn a_backfill_gives_what_the_daily_runs_give_day_by_day() {
    let (daily_store, daily_queue) = memory_backend();
    ingest_all(&daily_store, portfolio_messages()).await;
    run_all_days(&daily_store, &daily_queue).await.unwrap();

    let (store, queue) = memory_backend();
    ingest_all(&store, portfolio_messages()).await;
    backfill_all_days(&store, &queue).await.unwrap();

    assert_eq!(histories(&store).await, histories(&daily_store).await);
    let days = summaries(&store).await;
    assert_eq!(days.len(), DAYS as usize);
    assert_eq!(days, summaries(&daily_store).await);
    let ids =
        |events: Vec<ScoreEvent>| -> Vec<String> { events.into_iter().map(|e| e.id).collect() };
    let mut backfilled = ids(drain(&queue).await);
    let mut daily = ids(drain(&daily_queue).await);
    backfilled.sort();
    daily.sort();
    assert!(!daily.is_empty());
    assert_eq!(backfilled, daily);
    assert_eq!(
        declining_record(&store).await,
        declining_record(&daily_store).await
    );
}

/// The `declining` account's record (window, current score, trail), `computed_at` cleared.
async fn declining_record(store: &SqliteStore) -> vitals_core::model::AccountRecord {
    let mut record = store
        .get_account(&AccountId::new("declining").unwrap())
        .await
        .unwrap()
        .unwrap();
    record.score.as_mut().unwrap().computed_at = at(first_day(), 0);
    record
}

#[tokio::test]
async fn a_backfill_that_fails_midway_resumes_to_the_same_scores_and_events() {
    let (clean_store, clean_queue) = memory_backend();
    ingest_all(&clean_store, portfolio_messages()).await;
    backfill_all_days(&clean_store, &clean_queue).await.unwrap();
    let clean_events: std::collections::BTreeSet<String> = drain(&clean_queue)
        .await
        .into_iter()
        .map(|e| e.id)
        .collect();

    let (store, queue) = memory_backend();
    ingest_all(&store, portfolio_messages()).await;
    let flaky = FlakyQueue {
        inner: &queue,
        sends: AtomicU32::new(0),
        fail_every: 23,
    };
    let mut failures = 0;
    while let Err(e) = backfill_all_days(&store, &flaky).await {
        assert!(e.is_retryable(), "{e}");
        failures += 1;
        assert!(failures < 500, "the backfill never finished");
    }
    assert!(failures > 0, "the fault was injected");
    assert_eq!(histories(&store).await, histories(&clean_store).await);
    assert_eq!(summaries(&store).await, summaries(&clean_store).await);
    let events: std::collections::BTreeSet<String> =
        drain(&queue).await.into_iter().map(|e| e.id).collect();
    assert_eq!(events, clean_events);
}

#[tokio::test]
async fn a_backfill_stopped_after_saving_windows_recomputes_the_days_left_unmarked() {
    let (clean_store, clean_queue) = memory_backend();
    ingest_all(&clean_store, portfolio_messages()).await;
    backfill_all_days(&clean_store, &clean_queue).await.unwrap();

    // A run that scored the first 45 days, then saved windows through the last day (as a
    // stretch does) and stopped before marking those days done.
    let (store, queue) = memory_backend();
    ingest_all(&store, portfolio_messages()).await;
    let clock = FixedClock(at(last_day(), 6));
    let config = VitalsConfig::default();
    let run = DailyRun::new(&store, &queue, &config, &clock);
    run.backfill(first_day(), first_day() + Days::new(44), &mut |_| {})
        .await
        .unwrap();
    let mut rolled = Vec::new();
    for id in ["steady", "declining", "growing"] {
        let account = AccountId::new(id).unwrap();
        rolled.push(clean_store.get_account(&account).await.unwrap().unwrap());
    }
    store.put_scoring_states(&rolled).await.unwrap();

    backfill_all_days(&store, &queue).await.unwrap();
    assert_eq!(histories(&store).await, histories(&clean_store).await);
    assert_eq!(summaries(&store).await, summaries(&clean_store).await);
}

/// `n` events of a user no `group` call ever linked to an account, on `day`.
fn stray_events(day: NaiveDate, n: u32) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({"type": "track", "messageId": format!("stray-{day}-{i}"), "userId": "stranger",
                "event": "Report Built", "timestamp": at(day, 10).to_rfc3339()})
        })
        .collect()
}

#[tokio::test]
async fn unattributed_events_are_counted_in_their_day_summary_by_a_run_a_backfill_and_a_rescore() {
    let stray_day = first_day() + Days::new(20);
    let mut messages = portfolio_messages();
    messages.extend(stray_events(stray_day, 3));
    let counts = |days: Vec<Value>| -> Vec<(String, u64)> {
        days.iter()
            .filter_map(|s| {
                let n = s.get("unattributed_events")?.as_u64()?;
                Some((s["as_of"].as_str()?.to_string(), n))
            })
            .collect()
    };
    let expected = vec![(stray_day.to_string(), 3)];

    let (daily_store, daily_queue) = memory_backend();
    ingest_all(&daily_store, messages.clone()).await;
    run_all_days(&daily_store, &daily_queue).await.unwrap();
    assert_eq!(counts(summaries(&daily_store).await), expected);

    let (store, queue) = memory_backend();
    ingest_all(&store, messages).await;
    backfill_all_days(&store, &queue).await.unwrap();
    assert_eq!(counts(summaries(&store).await), expected);

    // A rescore rewrites the day's summary with the same count, not twice it.
    let clock = FixedClock(at(last_day(), 6));
    let config = VitalsConfig::default();
    DailyRun::new(&daily_store, &daily_queue, &config, &clock)
        .rescore(stray_day, stray_day, &mut |_, _| {})
        .await
        .unwrap();
    assert_eq!(counts(summaries(&daily_store).await), expected);
}
