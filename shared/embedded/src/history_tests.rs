//! The shaped score history: what an older file's history becomes, rewrites, and sharing.

use chrono::{NaiveDate, TimeZone, Utc};
use rusqlite::params;
use vitals_core::history::{codec, HistoryDay};
use vitals_core::model::{AccountId, ScoreRecord};
use vitals_core::ports::ScoreHistoryStore;
use vitals_scoring::usage_features::UsageSnapshot;

use crate::db::Db;
use crate::schema::{Schema, STORE};
use crate::SqliteStore;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn account(id: &str) -> AccountId {
    AccountId::new(id).unwrap()
}

/// An entry with data on two signals, varied by `n`, with a usage snapshot when `sampled`.
fn entry(id: &str, d: &str, n: u32, sampled: bool) -> HistoryDay {
    let mut score = vitals_scoring::score_account(
        &vitals_scoring::ScoringConfig::default(),
        &vitals_scoring::AccountFacts::default(),
        &vitals_scoring::UsageWindow::default(),
        day(d),
        None,
    );
    score.health.score = f64::from(n % 1000) / 10.0;
    for (i, s) in score.health.signals.iter_mut().take(2).enumerate() {
        s.raw = Some(f64::from(n) / 7.0 + i as f64);
        s.value = Some(f64::from(n % 100) + 0.123_456_7);
        s.weight = 0.5;
        s.points = s.value.unwrap_or(0.0) * 0.5;
    }
    score.usage = sampled.then(|| UsageSnapshot {
        events: std::collections::BTreeMap::from([
            ("Report Built".to_string(), [n as f32, 12.0, 40.25]),
            (format!("Event {}", n % 3), [1.0, 2.0, 2.5]),
        ]),
        active_users: n,
        tenure_days: Some(i64::from(n)),
        ..UsageSnapshot::default()
    });
    HistoryDay::of(&ScoreRecord {
        account_id: account(id),
        as_of: day(d),
        computed_at: Utc.timestamp_opt(0, 0).single().unwrap(),
        score,
    })
}

/// What an entry reads back as from the self-contained bytes: f32 figures.
fn as_stored(e: &HistoryDay) -> HistoryDay {
    codec::decode(&e.account_id, e.as_of, &codec::encode(e).unwrap()).unwrap()
}

fn count(store_file: &std::path::Path, table: &str) -> i64 {
    rusqlite::Connection::open(store_file)
        .unwrap()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn an_older_files_history_is_converted_when_it_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vitals.db");
    // A file as the version before shaped rows left it: compact entries and JSON ones.
    let before = Schema {
        component: "store",
        steps: &STORE.steps[..STORE.steps.len() - 1],
    };
    drop(Db::open_file(&path, &before).unwrap());
    let compact = entry("acme", "2026-03-01", 412, true);
    let json = entry("acme", "2026-03-02", 77, false);
    let other = entry("zeta", "2026-03-01", 9, false);
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut insert = conn
            .prepare(
                "INSERT INTO score_history (account_id, as_of, body, expires_at)
                 VALUES (?1, ?2, ?3, 0)",
            )
            .unwrap();
        for e in [&compact, &other] {
            let key = e.as_of.to_string();
            insert
                .execute(params![
                    e.account_id.as_str(),
                    key,
                    codec::encode(e).unwrap()
                ])
                .unwrap();
        }
        let record = serde_json::json!({
            "account_id": "acme", "as_of": "2026-03-02", "computed_at": "2026-03-02T06:00:00Z",
            "score": serde_json::to_value(entry_score(&json)).unwrap(),
        });
        insert
            .execute(params!["acme", "2026-03-02", record.to_string()])
            .unwrap();
    }

    let store = SqliteStore::open(&path).unwrap();
    let history = store
        .history(&account("acme"), day("2026-01-01"), day("2026-12-31"))
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].as_of, day("2026-03-01"));
    assert_eq!(history[0].usage, compact.usage);
    assert_same_figures(&history[0], &as_stored(&compact));
    assert_same_figures(&history[1], &as_stored(&json));
    let zeta = store
        .history(&account("zeta"), day("2026-03-01"), day("2026-03-01"))
        .await
        .unwrap();
    assert_same_figures(&zeta[0], &as_stored(&other));
    assert_eq!(count(&path, "usage_samples"), 1);
    let old_tables = count(&path, "sqlite_master WHERE name LIKE '%before_shapes%'");
    assert_eq!(old_tables, 0, "the old table is dropped");
}

/// The score an entry was made from, as an older version stored it in JSON.
fn entry_score(e: &HistoryDay) -> vitals_scoring::AccountScore {
    let mut score = vitals_scoring::score_account(
        &vitals_scoring::ScoringConfig::default(),
        &vitals_scoring::AccountFacts::default(),
        &vitals_scoring::UsageWindow::default(),
        e.as_of,
        None,
    );
    score.health = e.health.clone();
    score.usage = e.usage.clone();
    score
}

/// Equal but for points, which are recomputed from the stored value and weight.
fn assert_same_figures(got: &HistoryDay, want: &HistoryDay) {
    let mut got = got.clone();
    for (g, w) in got.health.signals.iter_mut().zip(&want.health.signals) {
        assert!(
            (g.points - w.points).abs() <= w.points.abs() * 3e-7,
            "{g:?} vs {w:?}"
        );
        g.points = w.points;
    }
    assert_eq!(&got, want);
}

#[tokio::test]
async fn accounts_scored_alike_share_one_shape_and_a_rewrite_replaces_the_day() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vitals.db");
    let store = SqliteStore::open(&path).unwrap();
    let entries: Vec<HistoryDay> = (0..200)
        .map(|n| {
            entry(
                &format!("acct-{:03}", n % 40),
                &format!("2026-04-{:02}", 1 + n / 40),
                n,
                n % 7 == 0,
            )
        })
        .collect();
    store.put_history(&entries).await.unwrap();
    assert_eq!(count(&path, "score_history"), 200);
    assert_eq!(count(&path, "score_history_shapes"), 1);
    assert_eq!(count(&path, "score_history_accounts"), 40);
    assert_eq!(count(&path, "usage_samples"), 29);

    // Rescoring a day rewrites its row; a rescore without a snapshot leaves none behind.
    let sampled = &entries[0];
    assert!(sampled.usage.is_some());
    let rescored = entry("acct-000", "2026-04-01", 999, false);
    store
        .put_history(std::slice::from_ref(&rescored))
        .await
        .unwrap();
    let got = store
        .history(&account("acct-000"), day("2026-04-01"), day("2026-04-30"))
        .await
        .unwrap();
    assert_eq!(got.len(), 5);
    assert_same_figures(&got[0], &as_stored(&rescored));
    assert_eq!(got[0].usage, None);
    assert_eq!(count(&path, "usage_samples"), 28);
    assert_eq!(count(&path, "score_history"), 200);
    // Oldest first, each its own day.
    let days: Vec<_> = got.iter().map(|h| h.as_of.to_string()).collect();
    assert_eq!(
        days,
        [
            "2026-04-01",
            "2026-04-02",
            "2026-04-03",
            "2026-04-04",
            "2026-04-05"
        ]
    );
    for (h, n) in got.iter().zip([999u32, 40, 80, 120, 160]).skip(1) {
        assert_same_figures(h, &as_stored(&entries[n as usize]));
    }
    // Event names are numbered once: a later write reuses them, and snapshots read back whole.
    assert_eq!(count(&path, "usage_event_names"), 4);
    let later = entry("acct-001", "2026-05-01", 7, true);
    store
        .put_history(std::slice::from_ref(&later))
        .await
        .unwrap();
    assert_eq!(count(&path, "usage_event_names"), 4);
    let got = store
        .history(&account("acct-001"), day("2026-05-01"), day("2026-05-01"))
        .await
        .unwrap();
    assert_eq!(got[0].usage, later.usage);
}

#[tokio::test]
async fn an_account_without_history_reads_none() {
    let store = SqliteStore::open_in_memory().unwrap();
    store
        .put_history(&[entry("acme", "2026-03-01", 1, false)])
        .await
        .unwrap();
    let none = store
        .history(&account("nobody"), day("2026-01-01"), day("2026-12-31"))
        .await
        .unwrap();
    assert!(none.is_empty());
    let outside = store
        .history(&account("acme"), day("2026-03-02"), day("2026-12-31"))
        .await
        .unwrap();
    assert!(outside.is_empty());
}
