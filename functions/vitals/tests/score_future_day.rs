//! `vitals score` refuses a day that has not ended, names the last day that can be scored, and
//! leaves the store as it was.

#![allow(clippy::unwrap_used)]

use vitals_core::ports::{CheckpointStore, SummaryStore};
use vitals_core::run::DailyRun;
use vitals_embedded::SqliteStore;

mod common;
use common::vitals;

#[tokio::test]
async fn a_future_as_of_is_refused_and_leaves_the_store_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let yesterday = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
    // A store to work on (commands other than `serve` refuse a directory without one).
    drop(SqliteStore::open(&data.join("vitals.db")).unwrap());
    let ok = vitals(&data, &["score"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    for args in [
        vec!["score", "--as-of", "2030-01-01"],
        vec!["score", "--from", "2026-01-01", "--to", "2030-01-01"],
        vec![
            "score",
            "--from",
            "2026-01-01",
            "--to",
            "2030-01-01",
            "--rescore",
        ],
    ] {
        let refused = vitals(&data, &args);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success(), "{args:?} was accepted");
        assert!(
            stderr.contains("2030-01-01 has not ended yet")
                && stderr.contains(&format!("the last day that can be scored is {yesterday}")),
            "{args:?}: {stderr}"
        );
    }

    let store = SqliteStore::open(&data.join("vitals.db")).unwrap();
    let latest = store.latest_summary().await.unwrap().unwrap();
    assert_eq!(
        latest.as_of,
        Some(yesterday),
        "no summary dated in the future"
    );
    for day in ["2030-01-01", "2026-01-01"] {
        let run_id = DailyRun::<SqliteStore>::run_id(day.parse().unwrap());
        assert!(
            store.list_checkpoints(&run_id).await.unwrap().is_empty(),
            "nothing of {day} was run"
        );
    }
}
