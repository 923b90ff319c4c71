//! Provisional "today so far" scores end to end in the use cases: events in through the ingest
//! use case (which keeps the touched set), the provisional refresh, then the account view and
//! list rows. An event ingested now moves its account's provisional score after one refresh; a
//! refresh with nothing new writes nothing; nothing about the day is sent or fired and the
//! daily state is left as it was; a brand-new account gets a provisional score from today's
//! events alone; the day's daily run supersedes it.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};
use vitals_core::clock::FixedClock;
use vitals_core::config::VitalsConfig;
use vitals_core::freshness::{RefreshInterval, TouchRecorder};
use vitals_core::ingest::{segment, Ingest, ParseContext};
use vitals_core::model::{AccountId, AccountRecord};
use vitals_core::ports::{
    AccountStore, AlertStore, CheckpointStore, ListingStore, Queue, ScoreHistoryStore,
    SummaryStore, TouchedAccountStore,
};
use vitals_core::query::account::account_detail;
use vitals_core::query::listing::with_provisional;
use vitals_core::run::{DailyRun, PeerCache, ProvisionalRefresh, ProvisionalReport};
use vitals_embedded::{QueueSettings, SqliteQueue, SqliteStore};

/// Days of history before today.
const HISTORY_DAYS: u64 = 30;
/// Enough accounts on one scorecard for peer percentiles (`peers.min_peers` is 10).
const ACCOUNTS: usize = 12;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 10).unwrap()
}

fn at(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_hms_opt(hour, minute, 0).unwrap())
}

fn acct(id: &str) -> AccountId {
    AccountId::new(id).unwrap()
}

fn account_name(i: usize) -> String {
    format!("acct-{i:02}")
}

fn track(account: &str, user: usize, id: &str, t: DateTime<Utc>) -> Value {
    json!({"type": "track", "messageId": id, "userId": format!("{account}-u{user}"),
        "event": "Report Built", "timestamp": t.to_rfc3339(), "context": {"groupId": account}})
}

/// Twelve accounts of ten seats on one tier, account `i` with `i % 6 + 1` users every day.
fn history() -> Vec<Value> {
    let first = today() - Days::new(HISTORY_DAYS);
    let mut out = Vec::new();
    for i in 0..ACCOUNTS {
        let account = account_name(i);
        out.push(json!({"type": "group", "messageId": format!("g-{account}"), "userId": format!("{account}-u0"),
            "groupId": account, "timestamp": at(first, 8, 0).to_rfc3339(),
            "traits": {"name": account, "tier": "Growth", "seats": 10, "mrr": 1000,
                "owner": "dana@vendor.example", "contract_start": "2025-01-01"}}));
        for d in 0..HISTORY_DAYS {
            let day = first + Days::new(d);
            for u in 0..(i % 6 + 1) {
                out.push(track(
                    &account,
                    u,
                    &format!("{account}-{d}-{u}"),
                    at(day, 9, 0),
                ));
            }
        }
    }
    out
}

async fn ingest(
    store: &SqliteStore,
    recorder: &TouchRecorder,
    messages: &[Value],
    received_at: DateTime<Utc>,
) {
    for batch in messages.chunks(400) {
        let body = json!({"batch": batch}).to_string();
        let parsed = segment::parse_batch(&body, &ParseContext::new(received_at, 730)).unwrap();
        let outcome = Ingest::new(store)
            .with_touches(recorder)
            .handle(parsed, received_at)
            .await
            .unwrap();
        assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected);
    }
}

/// A store holding the history, scored through yesterday; the run's score events drained.
async fn scored_store(config: &VitalsConfig) -> (SqliteStore, SqliteQueue) {
    let store = SqliteStore::open_in_memory().unwrap();
    let queue = SqliteQueue::open_in_memory("alerts", QueueSettings { max_receives: 5 }).unwrap();
    let yesterday_evening = at(today() - Days::new(1), 23, 0);
    ingest(
        &store,
        &TouchRecorder::new(&config.freshness),
        &history(),
        yesterday_evening,
    )
    .await;
    let clock = FixedClock(at(today(), 6, 0));
    let run = DailyRun::new(&store, &queue, config, &clock);
    let mut day = today() - Days::new(HISTORY_DAYS);
    while day < today() {
        run.run_day(day, &mut |_| {}).await.unwrap();
        day = day + Days::new(1);
    }
    while !queue
        .receive(10, Duration::from_secs(600))
        .await
        .unwrap()
        .is_empty()
    {}
    (store, queue)
}

async fn refresh(
    store: &SqliteStore,
    config: &VitalsConfig,
    peers: &PeerCache,
    now: DateTime<Utc>,
) -> ProvisionalReport {
    ProvisionalRefresh::new(store, config, &FixedClock(now), peers)
        .refresh()
        .await
        .unwrap()
}

async fn record(store: &SqliteStore, id: &str) -> AccountRecord {
    store.get_account(&acct(id)).await.unwrap().unwrap()
}

/// What the daily run keeps, to compare before and after refreshes.
async fn daily_state(store: &SqliteStore, id: &str) -> Value {
    let r = record(store, id).await;
    let history = store
        .history(&acct(id), today() - Days::new(HISTORY_DAYS), today())
        .await
        .unwrap();
    let listing = store.account_listing().await.unwrap();
    json!({
        "window": r.window, "score": r.score, "trail": r.trail,
        "history": history.iter().map(|h| json!([h.as_of, h.health, h.usage])).collect::<Vec<_>>(),
        "summary": store.latest_summary().await.unwrap(),
        "segments": listing.segments,
        "checkpoints_today": store.list_checkpoints(&DailyRun::<SqliteStore>::run_id(today())).await.unwrap(),
    })
}

#[tokio::test]
async fn an_event_sent_now_moves_the_provisional_score_after_one_refresh_and_nothing_else() {
    let config = VitalsConfig::default();
    let (store, queue) = scored_store(&config).await;
    let recorder = TouchRecorder::new(&config.freshness);
    let peers = PeerCache::default();
    let acme = account_name(0); // one user a day until today
    let before = daily_state(&store, &acme).await;
    let now = at(today(), 10, 7);
    let nothing = refresh(&store, &config, &peers, now).await;
    assert_eq!(
        (nothing.touched, nothing.written),
        (0, 0),
        "nothing touched yet"
    );

    ingest(&store, &recorder, &[track(&acme, 0, "today-1", now)], now).await;
    let first = refresh(&store, &config, &peers, now + chrono::Duration::minutes(1)).await;
    assert_eq!((first.touched, first.written), (1, 1), "{first:?}");
    let p1 = record(&store, &acme).await.provisional.unwrap();
    assert_eq!(p1.day, today());
    assert_eq!(p1.computed_at, now + chrono::Duration::minutes(1));
    assert_eq!(p1.score.as_of, today());
    assert_eq!(
        p1.score.normalise,
        vitals_scoring::Normalise::PeerPercentile,
        "ranked against the portfolio's last daily values"
    );

    // Seven more of its users today: the next refresh moves the score.
    let later = at(today(), 10, 20);
    let more: Vec<Value> = (1..8)
        .map(|u| track(&acme, u, &format!("today-u{u}"), later))
        .collect();
    ingest(&store, &recorder, &more, later).await;
    let second = refresh(
        &store,
        &config,
        &peers,
        later + chrono::Duration::minutes(1),
    )
    .await;
    assert_eq!(second.written, 1, "{second:?}");
    let p2 = record(&store, &acme).await.provisional.unwrap();
    assert!(
        p2.score.health.score > p1.score.health.score,
        "8 of 10 seats active today: {} -> {}",
        p1.score.health.score,
        p2.score.health.score
    );
    assert_eq!(p2.score.active_users, 8);

    // Nothing new since: the refresh reads the same marks and writes nothing.
    let again = refresh(
        &store,
        &config,
        &peers,
        later + chrono::Duration::minutes(5),
    )
    .await;
    assert_eq!((again.touched, again.written, again.unchanged), (1, 0, 1));
    assert_eq!(record(&store, &acme).await.provisional, Some(p2.clone()));

    // The day is not over: no score event, no alert, the daily state untouched.
    assert!(queue
        .receive(10, Duration::from_secs(1))
        .await
        .unwrap()
        .is_empty());
    let alerts = store
        .list_alerts(&Default::default(), None, 10)
        .await
        .unwrap();
    assert!(alerts.items.is_empty());
    assert_eq!(daily_state(&store, &acme).await, before);

    // Shown, marked provisional: the account view and the list rows.
    let view = account_detail(&record(&store, &acme).await, &[], today());
    let shown = view.provisional.unwrap();
    assert_eq!((shown.day, shown.computed_at), (today(), p2.computed_at));
    assert_eq!(shown.score, p2.score.health.score);
    assert_eq!(
        view.as_of,
        Some(today() - Days::new(1)),
        "the daily score stays"
    );
    let listing = store.account_listing().await.unwrap();
    let rows = with_provisional(
        listing.segments.into_iter().flat_map(|s| s.rows).collect(),
        listing.provisional,
    );
    let row = rows.iter().find(|r| r.account_id == acme).unwrap();
    assert_eq!(
        row.provisional.as_ref().map(|p| (p.score, p.computed_at)),
        Some((p2.score.health.score, p2.computed_at))
    );

    // The day's daily run supersedes it.
    let clock = FixedClock(at(today() + Days::new(1), 6, 0));
    DailyRun::new(&store, &queue, &config, &clock)
        .run_day(today(), &mut |_| {})
        .await
        .unwrap();
    let scored = record(&store, &acme).await;
    assert_eq!(scored.score.as_ref().map(|s| s.as_of), Some(today()));
    assert!(scored.current_provisional().is_none());
    assert!(account_detail(&scored, &[], today()).provisional.is_none());
    let listing = store.account_listing().await.unwrap();
    let rows = with_provisional(
        listing.segments.into_iter().flat_map(|s| s.rows).collect(),
        listing.provisional,
    );
    let row = rows.iter().find(|r| r.account_id == acme).unwrap();
    assert_eq!(row.provisional, None);
}

#[tokio::test]
async fn a_brand_new_account_gets_a_provisional_score_from_todays_events_alone() {
    let config = VitalsConfig::default();
    let (store, _queue) = scored_store(&config).await;
    let recorder = TouchRecorder::new(&config.freshness);
    let now = at(today(), 14, 2);
    let events: Vec<Value> = (0..3)
        .map(|u| track("newco", u, &format!("new-{u}"), now))
        .collect();
    ingest(&store, &recorder, &events, now).await;
    let report = refresh(&store, &config, &PeerCache::default(), now).await;
    assert_eq!(report.written, 1, "{report:?}");
    let newco = record(&store, "newco").await;
    assert_eq!(newco.score, None, "no daily score yet");
    assert_eq!(
        newco.window.through, None,
        "its stored window is not rolled"
    );
    let p = newco.provisional.unwrap();
    assert_eq!((p.day, p.score.active_users), (today(), 3));
    // Listed before any run lists it, marked provisional.
    let listing = store.account_listing().await.unwrap();
    let rows = with_provisional(
        listing.segments.into_iter().flat_map(|s| s.rows).collect(),
        listing.provisional,
    );
    let row = rows.iter().find(|r| r.account_id == "newco").unwrap();
    assert_eq!(
        (row.score, row.provisional.as_ref().map(|p| p.day)),
        (None, Some(today()))
    );
}

#[tokio::test]
async fn ingest_marks_an_account_once_per_interval_however_often_it_sends() {
    let config = VitalsConfig::default();
    let store = SqliteStore::open_in_memory().unwrap();
    let recorder = TouchRecorder::new(&config.freshness);
    let now = at(today(), 9, 1);
    for n in 0..5 {
        let t = now + chrono::Duration::minutes(n);
        ingest(
            &store,
            &recorder,
            &[track("acme", 0, &format!("m{n}"), t)],
            t,
        )
        .await;
    }
    // A late event (yesterday's) is the daily run's: no touch.
    ingest(
        &store,
        &recorder,
        &[track(
            "late",
            0,
            "late-1",
            at(today() - Days::new(1), 20, 0),
        )],
        now,
    )
    .await;
    let interval = RefreshInterval::of(&config.freshness).unwrap();
    let marks = store.touch_marks(interval.start_of(now)).await.unwrap();
    assert_eq!(marks.len(), 1, "{marks:?}");
    assert_eq!(marks[0].accounts, [acct("acme")]);
    // Off: nothing is recorded.
    let off = VitalsConfig::parse("[freshness]\ninterval_minutes = 0\n").unwrap();
    ingest(
        &store,
        &TouchRecorder::new(&off.freshness),
        &[track("other", 0, "o1", now)],
        now,
    )
    .await;
    assert_eq!(
        store
            .touch_marks(interval.start_of(now))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        refresh(&store, &off, &PeerCache::default(), now).await,
        ProvisionalReport::default()
    );
}
