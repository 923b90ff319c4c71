//! Days are facts: a day is scored only once it has ended; events that arrive after their day
//! was scored are counted by the next run (whatever its form); `--rescore` recomputes scored
//! days under a new configuration exactly as scoring them from scratch would, and tells no one.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};
use vitals_core::clock::FixedClock;
use vitals_core::config::VitalsConfig;
use vitals_core::ingest::{segment, Ingest, ParseContext};
use vitals_core::model::AccountId;
use vitals_core::ports::{
    AccountStore, LateEventStore, Queue, ScoreHistoryStore, Storage, SummaryStore,
};
use vitals_core::run::DailyRun;
use vitals_core::score_event::ScoreEvent;
use vitals_embedded::{QueueSettings, SqliteQueue, SqliteStore};
use vitals_scoring::Signal;

const DAYS: u64 = 100;
const ACCOUNTS: [&str; 3] = ["steady", "declining", "growing"];

fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
}

fn last_day() -> NaiveDate {
    first_day() + Days::new(DAYS - 1)
}

fn at(day: NaiveDate, hour: u32) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_hms_opt(hour, 0, 0).unwrap())
}

fn next(day: NaiveDate, n: u64) -> NaiveDate {
    day + Days::new(n)
}

fn group(account: &str, seats: u32) -> Value {
    json!({"type": "group", "messageId": format!("g-{account}"), "userId": format!("{account}-u0"),
        "groupId": account, "timestamp": at(first_day(), 8).to_rfc3339(),
        "traits": {"name": account, "tier": "Growth", "seats": seats, "mrr": 1000,
            "renewal_date": "2026-09-30", "contract_start": "2025-01-01"}})
}

fn track(account: &str, day: NaiveDate, user: u64, tag: &str) -> Value {
    json!({"type": "track", "messageId": format!("{account}-{day}-{user}-{tag}"),
        "userId": format!("{account}-u{user}"), "event": "Report Built",
        "timestamp": at(day, 10).to_rfc3339(), "context": {"groupId": account}})
}

/// Three accounts over [`DAYS`] days: steady, declining over the last two weeks, growing.
fn portfolio() -> Vec<Value> {
    let mut out: Vec<Value> = vec![
        group("steady", 10),
        group("declining", 10),
        group("growing", 11),
    ];
    for d in 0..DAYS {
        let day = next(first_day(), d);
        let declining = if d >= DAYS - 14 {
            u64::from(d % 4 == 0)
        } else {
            8
        };
        for (account, users) in [
            ("steady", 8),
            ("declining", declining),
            ("growing", 2 + d * 8 / DAYS),
        ] {
            for u in 0..users {
                out.push(track(account, day, u, "a"));
            }
        }
    }
    out
}

/// A mobile SDK's late flush: six phone users of `declining`, seen nowhere else, on `day`.
fn late_flush(day: NaiveDate) -> Vec<Value> {
    (100..106)
        .map(|u| track("declining", day, u, "late"))
        .collect()
}

async fn ingest(storage: &SqliteStore, messages: &[Value], received_at: DateTime<Utc>) {
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

fn backend() -> (SqliteStore, SqliteQueue) {
    (
        SqliteStore::open_in_memory().unwrap(),
        SqliteQueue::open_in_memory("alerts", QueueSettings { max_receives: 5 }).unwrap(),
    )
}

/// What `vitals score --from --to` does: late events first, then each day.
async fn plain_score<S: Storage + ?Sized>(run: &DailyRun<'_, S>, from: NaiveDate, to: NaiveDate) {
    run.check_scorable(to).unwrap();
    run.recompute_late(&mut |_, _| {}).await.unwrap();
    let mut day = from;
    while day <= to {
        run.score_day(day, &mut |_| {}).await.unwrap();
        day = next(day, 1);
    }
}

/// Scoring from scratch, as a reference: every day in order with `run_day`.
async fn from_scratch(
    store: &SqliteStore,
    queue: &SqliteQueue,
    config: &VitalsConfig,
    to: NaiveDate,
) {
    let clock = FixedClock(at(next(to, 1), 6));
    let run = DailyRun::new(store, queue, config, &clock);
    let mut day = first_day();
    while day <= to {
        run.run_day(day, &mut |_| {}).await.unwrap();
        day = next(day, 1);
    }
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

/// Every account's history (scores without the wall-clock `computed_at`), its current score
/// and trail, and each day's summary figures: what a user sees of the scored days.
async fn scored_state(store: &SqliteStore, to: NaiveDate) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for id in ACCOUNTS {
        let account = AccountId::new(id).unwrap();
        let history: Vec<Value> = store
            .history(&account, first_day(), to)
            .await
            .unwrap()
            .iter()
            .map(|r| json!([r.as_of, r.health, r.usage]))
            .collect();
        let record = store.get_account(&account).await.unwrap().unwrap();
        out.insert(format!("{id} history"), json!(history));
        out.insert(
            format!("{id} current"),
            json!(record.score.as_ref().map(|s| (&s.as_of, &s.score))),
        );
        out.insert(format!("{id} window through"), json!(record.window.through));
        out.insert(
            format!("{id} trail"),
            serde_json::to_value(&record.trail).unwrap(),
        );
    }
    let summaries: Vec<Value> = store
        .summaries(first_day(), to)
        .await
        .unwrap()
        .iter()
        .map(|s| {
            json!([
                s.as_of,
                s.accounts,
                s.mean_score,
                s.bands,
                s.histogram,
                s.mrr_at_risk
            ])
        })
        .collect();
    out.insert("summaries".into(), json!(summaries));
    out
}

/// Config B: usage depth weighs three times as much, trend not at all.
fn config_b() -> VitalsConfig {
    let mut config = VitalsConfig::default();
    for card in &mut config.scoring.scorecards {
        if let Some(w) = card.weights.get_mut(&Signal::UsageDepth) {
            *w *= 3.0;
        }
        card.weights.remove(&Signal::Trend);
    }
    assert!(config.validate().is_empty(), "{:?}", config.validate());
    config
}

#[tokio::test]
async fn rescore_under_new_weights_equals_scoring_from_scratch_and_sends_nothing() {
    let (store, queue) = backend();
    ingest(&store, &portfolio(), at(last_day(), 23)).await;
    from_scratch(&store, &queue, &VitalsConfig::default(), last_day()).await;
    let under_a = scored_state(&store, last_day()).await;
    assert!(!drain(&queue).await.is_empty(), "the first runs notify");

    let b = config_b();
    let clock = FixedClock(at(next(last_day(), 1), 9));
    let run = DailyRun::new(&store, &queue, &b, &clock);
    let report = run
        .rescore(first_day(), last_day(), &mut |_, _| {})
        .await
        .unwrap();
    assert_eq!(report.days, DAYS as u32);
    assert_eq!(report.account_days, 3 * DAYS);
    assert_eq!(drain(&queue).await.len(), 0, "a rescore notifies no one");

    let (fresh, fresh_queue) = backend();
    ingest(&fresh, &portfolio(), at(last_day(), 23)).await;
    from_scratch(&fresh, &fresh_queue, &b, last_day()).await;
    let rescored = scored_state(&store, last_day()).await;
    assert_ne!(rescored, under_a, "config B scores differently");
    assert_eq!(rescored, scored_state(&fresh, last_day()).await);
}

#[tokio::test]
async fn rescoring_part_of_the_history_equals_scoring_from_scratch() {
    let (store, queue) = backend();
    ingest(&store, &portfolio(), at(last_day(), 23)).await;
    from_scratch(&store, &queue, &VitalsConfig::default(), last_day()).await;
    let b = config_b();
    let clock = FixedClock(at(next(last_day(), 1), 9));
    let run = DailyRun::new(&store, &queue, &b, &clock);
    // The last 30 days: the first of them compares with a day scored under the old weights.
    let from = next(last_day(), 1) - Days::new(30);
    run.rescore(from, last_day(), &mut |_, _| {}).await.unwrap();

    let (fresh, fresh_queue) = backend();
    ingest(&fresh, &portfolio(), at(last_day(), 23)).await;
    from_scratch(&fresh, &fresh_queue, &b, last_day()).await;
    for id in ACCOUNTS {
        let account = AccountId::new(id).unwrap();
        let ours = store.history(&account, from, last_day()).await.unwrap();
        let theirs = fresh.history(&account, from, last_day()).await.unwrap();
        let scores = |h: &[vitals_core::history::HistoryDay]| {
            h.iter()
                .map(|r| json!([r.health, r.usage]))
                .collect::<Vec<_>>()
        };
        assert_eq!(scores(&ours), scores(&theirs), "{id}");
    }
}

#[tokio::test]
async fn rescore_refuses_days_not_scored_yet() {
    let (store, queue) = backend();
    ingest(&store, &portfolio(), at(last_day(), 23)).await;
    from_scratch(
        &store,
        &queue,
        &VitalsConfig::default(),
        next(last_day(), 0) - Days::new(1),
    )
    .await;
    let config = VitalsConfig::default();
    let clock = FixedClock(at(next(last_day(), 1), 9));
    let run = DailyRun::new(&store, &queue, &config, &clock);
    let err = run
        .rescore(first_day(), last_day(), &mut |_, _| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already scored"), "{err}");
}

#[tokio::test]
async fn a_day_that_has_not_ended_is_refused_naming_the_last_day_that_can_be_scored() {
    let (store, queue) = backend();
    let config = VitalsConfig::default();
    let clock = FixedClock(at(last_day(), 15));
    let run = DailyRun::new(&store, &queue, &config, &clock);
    let err = run.check_scorable(last_day()).unwrap_err();
    assert_eq!(err.last, next(last_day(), 0) - Days::new(1));
    assert!(
        err.to_string()
            .contains(&format!("the last day that can be scored is {}", err.last)),
        "{err}"
    );
    assert!(run.check_scorable(err.last).is_ok());
}

#[tokio::test]
async fn serve_then_backfill_scores_yesterday_with_its_data() {
    let today = next(last_day(), 1);
    let config = VitalsConfig::default();
    let clock = FixedClock(at(today, 7));
    let (store, queue) = backend();
    let run = DailyRun::new(&store, &queue, &config, &clock);
    // `vitals serve` on an empty data directory: its start-up catch-up scores yesterday.
    plain_score(&run, last_day(), last_day()).await;
    assert_eq!(
        store.latest_summary().await.unwrap().unwrap().accounts,
        0,
        "nothing to score yet"
    );
    // The history is sent, then `vitals score --from … --to yesterday`.
    ingest(&store, &portfolio(), at(today, 8)).await;
    plain_score(&run, first_day(), last_day()).await;

    let record = store
        .get_account(&AccountId::new("steady").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.score.map(|s| s.as_of), Some(last_day()));
    let (fresh, fresh_queue) = backend();
    ingest(&fresh, &portfolio(), at(today, 8)).await;
    from_scratch(&fresh, &fresh_queue, &config, last_day()).await;
    assert_eq!(
        scored_state(&store, last_day()).await,
        scored_state(&fresh, last_day()).await,
        "every day scored with its data, yesterday included"
    );
    assert!(
        store.late_marks(None).await.unwrap().is_empty(),
        "marks cleared"
    );
}

#[tokio::test]
async fn a_late_event_for_a_scored_day_is_counted_by_the_next_plain_run() {
    let config = VitalsConfig::default();
    let (store, queue) = backend();
    // The history arrives before its days are scored.
    ingest(&store, &portfolio(), at(last_day(), 23)).await;
    let day_one = FixedClock(at(next(last_day(), 1), 6));
    plain_score(
        &DailyRun::new(&store, &queue, &config, &day_one),
        first_day(),
        last_day(),
    )
    .await;
    assert!(
        store.late_marks(None).await.unwrap().is_empty(),
        "each day's own run counted the events that were there before it"
    );
    drain(&queue).await;
    let declining = AccountId::new("declining").unwrap();
    let late_day = last_day() - Days::new(2);
    // Its ten seats' adoption that day, in users.
    let users_on = |h: &[vitals_core::history::HistoryDay]| {
        let adoption = h[0]
            .health
            .signals
            .iter()
            .find(|s| s.name == "seat_adoption");
        (adoption.and_then(|s| s.raw).unwrap_or_default() * 10.0).round()
    };
    let before = users_on(&store.history(&declining, late_day, late_day).await.unwrap());

    // The next morning a phone flushes six users' activity of three days ago.
    ingest(&store, &late_flush(late_day), at(next(last_day(), 1), 8)).await;
    // The next plain `vitals score` (yesterday = the day after the last scored one).
    let day_two = FixedClock(at(next(last_day(), 2), 6));
    let run = DailyRun::new(&store, &queue, &config, &day_two);
    plain_score(&run, next(last_day(), 1), next(last_day(), 1)).await;

    let on_late_day = store.history(&declining, late_day, late_day).await.unwrap();
    assert_eq!(
        users_on(&on_late_day),
        before + 6.0,
        "the late users are counted"
    );
    let sent = drain(&queue).await;
    assert!(
        sent.iter().all(|e| e.as_of == next(last_day(), 1)),
        "no notification about past days: {:?}",
        sent.iter().map(|e| (&e.id, e.as_of)).collect::<Vec<_>>()
    );
    assert!(
        store.late_marks(None).await.unwrap().is_empty(),
        "marks cleared"
    );

    // The same as if the late events had been there all along.
    let (fresh, fresh_queue) = backend();
    let mut all = portfolio();
    all.extend(late_flush(late_day));
    ingest(&fresh, &all, at(last_day(), 23)).await;
    from_scratch(&fresh, &fresh_queue, &config, next(last_day(), 1)).await;
    assert_eq!(
        scored_state(&store, next(last_day(), 1)).await,
        scored_state(&fresh, next(last_day(), 1)).await
    );
}

#[tokio::test]
async fn a_summary_dated_in_the_future_does_not_stop_the_catch_up() {
    let config = VitalsConfig::default();
    let (store, queue) = backend();
    let clock = FixedClock(at(next(last_day(), 1), 6));
    let run = DailyRun::new(&store, &queue, &config, &clock);
    run.run_day(last_day() - Days::new(1), &mut |_| {})
        .await
        .unwrap();
    // Left by `vitals score --as-of 2030-01-01` before such runs were refused.
    let future = vitals_core::model::PortfolioSummary {
        as_of: Some(NaiveDate::from_ymd_opt(2030, 1, 1).unwrap()),
        ..Default::default()
    };
    store.put_summary(&future).await.unwrap();
    assert_eq!(
        run.last_scored_day().await.unwrap(),
        Some(last_day() - Days::new(1)),
        "the catch-up starts after the last day that was really scored"
    );
}

#[tokio::test]
async fn rescoring_an_earlier_range_leaves_later_days_and_the_window_where_they_were() {
    let (store, queue) = backend();
    ingest(&store, &portfolio(), at(last_day(), 23)).await;
    from_scratch(&store, &queue, &VitalsConfig::default(), last_day()).await;
    let account = AccountId::new("declining").unwrap();
    let before = store.get_account(&account).await.unwrap().unwrap();
    let to = last_day() - Days::new(20);
    let later = |store: &SqliteStore| {
        let account = account.clone();
        let store = store.clone();
        async move {
            store
                .history(&account, next(to, 1), last_day())
                .await
                .unwrap()
                .iter()
                .map(|r| json!([r.health, r.usage]))
                .collect::<Vec<_>>()
        }
    };
    let later_before = later(&store).await;

    let b = config_b();
    let clock = FixedClock(at(next(last_day(), 1), 9));
    let run = DailyRun::new(&store, &queue, &b, &clock);
    run.rescore(first_day(), to, &mut |_, _| {}).await.unwrap();

    let after = store.get_account(&account).await.unwrap().unwrap();
    assert_eq!(
        after.window, before.window,
        "the window is rebuilt to where it was"
    );
    assert_eq!(
        after.score.as_ref().map(|s| json!(s.score)),
        before.score.as_ref().map(|s| json!(s.score)),
        "the current score is after the range: kept"
    );
    assert_eq!(
        later(&store).await,
        later_before,
        "days after the range are kept"
    );
    let (fresh, fresh_queue) = backend();
    ingest(&fresh, &portfolio(), at(last_day(), 23)).await;
    from_scratch(&fresh, &fresh_queue, &b, to).await;
    let ours = store.history(&account, first_day(), to).await.unwrap();
    let theirs = fresh.history(&account, first_day(), to).await.unwrap();
    assert_eq!(
        ours.iter()
            .map(|r| json!([r.health, r.usage]))
            .collect::<Vec<_>>(),
        theirs
            .iter()
            .map(|r| json!([r.health, r.usage]))
            .collect::<Vec<_>>()
    );
    let trail_day = |r: &vitals_core::model::AccountRecord, d: NaiveDate| {
        r.trail
            .points()
            .iter()
            .find(|p| p.day == d)
            .map(|p| p.score)
    };
    assert_eq!(
        trail_day(&after, last_day()),
        trail_day(&before, last_day())
    );
    assert_eq!(
        trail_day(&after, to),
        theirs.last().map(|r| r.health.score.round() as u8)
    );
}
