//! The daily run scores active accounts only: an account whose contract has not started is not
//! scored (nor counted, nor alerted), and a churned account keeps its last score, frozen, with
//! no new history and no score events after its churn.

#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};
use std::time::Duration;
use vitals_core::clock::FixedClock;
use vitals_core::config::VitalsConfig;
use vitals_core::ingest::{segment, Ingest, ParseContext};
use vitals_core::model::AccountId;
use vitals_core::ports::{AccountStore, Queue, ScoreHistoryStore, SummaryStore};
use vitals_core::run::DailyRun;
use vitals_core::score_event::ScoreEvent;
use vitals_embedded::{QueueSettings, SqliteQueue, SqliteStore};

const DAYS: u64 = 40;

fn day(n: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Days::new(n)
}

fn at(d: NaiveDate, hour: u32) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(hour, 0, 0).unwrap())
}

/// `steady` uses the product daily; `future` is a CRM import whose contract starts on day 30
/// (its users try the product from day 30 on); `gone` churns on day 10 and goes quiet.
fn messages() -> Vec<Value> {
    let mut out = Vec::new();
    for (account, start) in [
        ("steady", "2025-06-01"),
        ("future", "2026-01-31"),
        ("gone", "2025-06-01"),
    ] {
        out.push(json!({"type": "group", "messageId": format!("g-{account}"), "userId": format!("{account}-u0"),
            "groupId": account, "timestamp": at(day(0), 8).to_rfc3339(),
            "traits": {"name": account, "seats": 5, "mrr": 900, "contract_start": start}}));
    }
    out.push(
        json!({"type": "track", "messageId": "churn-gone", "userId": "gone-u0",
        "event": "Account Churned", "timestamp": at(day(10), 12).to_rfc3339(),
        "context": {"groupId": "gone"}}),
    );
    for d in 0..DAYS {
        let mut active = vec!["steady"];
        if d < 10 {
            active.push("gone");
        }
        if d >= 30 {
            active.push("future");
        }
        for account in active {
            for u in 0..3 {
                out.push(
                    json!({"type": "track", "messageId": format!("{account}-{d}-{u}"),
                    "userId": format!("{account}-u{u}"), "event": "Report Built",
                    "timestamp": at(day(d), 9).to_rfc3339(), "context": {"groupId": account}}),
                );
            }
        }
    }
    out
}

async fn history_days(store: &SqliteStore, account: &str) -> Vec<NaiveDate> {
    store
        .history(&AccountId::new(account).unwrap(), day(0), day(DAYS))
        .await
        .unwrap()
        .iter()
        .map(|h| h.as_of)
        .collect()
}

#[tokio::test]
async fn only_started_unchurned_accounts_are_scored() {
    let store = SqliteStore::open_in_memory().unwrap();
    let queue = SqliteQueue::open_in_memory("alerts", QueueSettings::default()).unwrap();
    let received = at(day(DAYS), 1);
    for batch in messages().chunks(300) {
        let body = json!({ "batch": batch }).to_string();
        let parsed = segment::parse_batch(&body, &ParseContext::new(received, 730)).unwrap();
        Ingest::new(&store).handle(parsed, received).await.unwrap();
    }
    let config = VitalsConfig::default();
    let clock = FixedClock(received);
    let run = DailyRun::new(&store, &queue, &config, &clock);
    for d in 0..DAYS {
        run.run_day(day(d), &mut |_| {}).await.unwrap();
    }

    // Not scored before its contract starts; scored from then on.
    let future = history_days(&store, "future").await;
    assert_eq!(future.first(), Some(&day(30)), "{future:?}");
    assert_eq!(future.len(), 10);

    // Scored up to the day before its churn, then frozen.
    let gone = history_days(&store, "gone").await;
    assert_eq!(gone.last(), Some(&day(9)), "{gone:?}");
    let record = store
        .get_account(&AccountId::new("gone").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.score.as_ref().map(|s| s.as_of), Some(day(9)));
    assert_eq!(history_days(&store, "steady").await.len(), DAYS as usize);

    // No score event is about a day the account was not active.
    let mut events: Vec<ScoreEvent> = Vec::new();
    loop {
        let got = queue.receive(10, Duration::from_secs(600)).await.unwrap();
        if got.is_empty() {
            break;
        }
        for m in got {
            events.push(serde_json::from_str(&m.body).unwrap());
            queue.delete(&m.receipt).await.unwrap();
        }
    }
    assert!(events
        .iter()
        .all(|e| e.account_id.as_str() != "gone" || e.as_of < day(10)));
    assert!(events
        .iter()
        .all(|e| e.account_id.as_str() != "future" || e.as_of >= day(30)));

    // A day-20 summary counted neither the future account nor the churned one as scored.
    let summary = store.summaries(day(20), day(20)).await.unwrap();
    let counted: u64 = summary[0].bands.values().sum();
    assert_eq!(counted, 1, "{:?}", summary[0]);
}
