//! What is specific to the SQLite store: several handles on one file, reopening, migrations,
//! crash safety, error mapping, cursors and retention. The cross-backend contract lives in
//! the workspace `tests` crate.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use vitals_core::history::HistoryDay;
use vitals_core::model::{
    AccountId, AccountProfile, AccountRecord, Alert, AlertQuery, AlertStatus, AuditEntry,
    Checkpoint, ConfigVersion, EventChunk, EventKind, PortfolioSummary, ScoreRecord, Severity,
    StoredEvent, UsageWindow,
};
use vitals_core::ports::{
    AccountStore, AlertStore, AuditLog, CheckpointStore, ConfigStore, EventStore,
    ScoreHistoryStore, SummaryStore,
};
use vitals_core::segment::Segment;
use vitals_core::StoreError;

use crate::SqliteStore;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn account(id: &str) -> AccountId {
    AccountId::new(id).unwrap()
}

fn data_file(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("data").join("vitals.db")
}

fn event(message_id: &str, name: &str) -> StoredEvent {
    StoredEvent {
        message_id: message_id.to_string(),
        kind: EventKind::Track,
        name: Some(name.to_string()),
        user_id: Some("u1".to_string()),
        timestamp: at("2026-03-01T10:00:00Z"),
        properties: Default::default(),
    }
}

fn chunk(account_id: &str, d: &str, messages: &[&str]) -> EventChunk {
    EventChunk::new(
        account(account_id),
        day(d),
        messages.iter().map(|m| event(m, "report_viewed")).collect(),
    )
}

fn alert(id: &str, opened: &str) -> Alert {
    Alert {
        id: id.to_string(),
        account_id: account("acme"),
        dedupe_key: format!("acme#decline#{id}"),
        kind: "decline".to_string(),
        cause: "usage fell".to_string(),
        severity: Severity::Critical,
        status: AlertStatus::Open,
        owner: Some("csm@example.com".to_string()),
        about_day: None,
        opened_at: at(opened),
        updated_at: at(opened),
        snoozed_until: None,
        snooze_reason: None,
        transitions: Vec::new(),
        details: serde_json::json!({"drop": 0.62}),
        version: 1,
    }
}

fn config(version: u64) -> ConfigVersion {
    ConfigVersion {
        version,
        author: "admin@example.com".to_string(),
        created_at: at("2026-03-01T00:00:00Z"),
        body: format!("# version {version}"),
        summary: "thresholds".to_string(),
    }
}

fn audit(id: &str, when: &str, account_id: Option<&str>) -> AuditEntry {
    AuditEntry {
        id: id.to_string(),
        at: at(when),
        account_id: account_id.map(account),
        actor: "workflow:decline".to_string(),
        action: "notify".to_string(),
        detail: serde_json::Value::Null,
    }
}

fn schema_versions(path: &Path) -> Vec<(String, i64)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT component, version FROM schema_version ORDER BY component")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test]
async fn open_creates_the_data_directory_and_uses_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = data_file(&dir);
    let _store = SqliteStore::open(&path).unwrap();
    assert!(path.exists());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn two_handles_on_one_file_see_each_others_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = data_file(&dir);
    let serve = SqliteStore::open(&path).unwrap();
    let import = SqliteStore::open(&path).unwrap();

    let profile = AccountProfile {
        name: Some("Acme".to_string()),
        seats: Some(40),
        ..Default::default()
    };
    import
        .put_profile(&account("acme"), &profile)
        .await
        .unwrap();
    serve
        .put_chunks(&[chunk("acme", "2026-03-01", &["m1", "m2"])])
        .await
        .unwrap();

    let record = serve.get_account(&account("acme")).await.unwrap().unwrap();
    assert_eq!(record.profile, profile);
    let chunks = import
        .chunks_for_account_day(&account("acme"), day("2026-03-01"))
        .await
        .unwrap();
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].events.len(), 2);
}

#[tokio::test]
async fn conditional_writes_hold_across_handles() {
    let dir = tempfile::tempdir().unwrap();
    let path = data_file(&dir);
    let a = SqliteStore::open(&path).unwrap();
    let b = SqliteStore::open(&path).unwrap();

    a.insert_alert(&alert("al-1", "2026-03-01T06:00:00Z"))
        .await
        .unwrap();
    let again = b.insert_alert(&alert("al-1", "2026-03-01T06:00:00Z")).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");

    let mut acked = alert("al-1", "2026-03-01T06:00:00Z");
    acked.status = AlertStatus::Acknowledged;
    acked.version = 2;
    a.update_alert(&acked).await.unwrap();
    // b raced with the same base version and lost.
    let lost = b.update_alert(&acked).await;
    assert!(matches!(lost, Err(StoreError::Conflict(_))), "{lost:?}");
    assert_eq!(b.get_alert("al-1").await.unwrap().unwrap(), acked);

    a.put_config_version(&config(1)).await.unwrap();
    let racing = b.put_config_version(&config(1)).await;
    assert!(matches!(racing, Err(StoreError::Conflict(_))), "{racing:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_on_two_handles_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let path = data_file(&dir);
    let handles = [
        SqliteStore::open(&path).unwrap(),
        SqliteStore::open(&path).unwrap(),
    ];
    let mut tasks = Vec::new();
    for (h, store) in handles.iter().enumerate() {
        for i in 0..40 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let m = format!("h{h}-m{i}");
                store
                    .put_chunks(&[chunk("acme", "2026-03-01", &[&m])])
                    .await
            }));
        }
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let chunks = handles[1]
        .chunks_for_account_day(&account("acme"), day("2026-03-01"))
        .await
        .unwrap();
    assert_eq!(chunks.len(), 80);
}

#[tokio::test]
async fn a_held_write_lock_is_reported_as_retryable() {
    let dir = tempfile::tempdir().unwrap();
    let path = data_file(&dir);
    drop(SqliteStore::open(&path).unwrap());
    // Another process holding the write lock, and a connection that will not wait for it.
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let impatient = rusqlite::Connection::open(&path).unwrap();
    impatient.busy_timeout(std::time::Duration::ZERO).unwrap();
    let busy = impatient.execute_batch("BEGIN IMMEDIATE").unwrap_err();
    let err = StoreError::from(crate::error::DbError::from(busy));
    assert!(err.is_retryable(), "{err:?}");
}

#[tokio::test]
async fn reopening_keeps_data_and_does_not_rerun_migrations() {
    let dir = tempfile::tempdir().unwrap();
    let path = data_file(&dir);
    {
        let store = SqliteStore::open(&path).unwrap();
        store.put_config_version(&config(7)).await.unwrap();
    }
    for _ in 0..3 {
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.latest_config().await.unwrap(), Some(config(7)));
    }
    let latest = crate::schema::STORE.version();
    assert_eq!(schema_versions(&path), vec![("store".to_string(), latest)]);
}

#[tokio::test]
async fn store_and_queue_can_share_one_file() {
    use crate::{QueueSettings, SqliteQueue};
    use vitals_core::ports::{OutgoingMessage, Queue};

    let dir = tempfile::tempdir().unwrap();
    let path = data_file(&dir);
    let store = SqliteStore::open(&path).unwrap();
    let queue = SqliteQueue::open(&path, "alerts", QueueSettings::default()).unwrap();
    store.put_config_version(&config(1)).await.unwrap();
    queue
        .send(&[OutgoingMessage {
            id: "a".to_string(),
            body: "{}".to_string(),
        }])
        .await
        .unwrap();
    drop((store, queue));
    let _store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        schema_versions(&path),
        vec![
            ("queue".to_string(), crate::schema::QUEUE.version()),
            ("store".to_string(), crate::schema::STORE.version())
        ]
    );
}

#[tokio::test]
async fn a_file_from_a_newer_vitals_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = data_file(&dir);
    drop(SqliteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE schema_version SET version = 99 WHERE component = 'store'",
        [],
    )
    .unwrap();
    drop(conn);
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::Rejected(ref m) if m.contains("newer")),
        "{err:?}"
    );
}

#[tokio::test]
async fn writes_survive_a_handle_that_never_closed() {
    let dir = tempfile::tempdir().unwrap();
    let path = data_file(&dir);
    let store = SqliteStore::open(&path).unwrap();
    store
        .put_chunks(&[chunk("acme", "2026-03-01", &["m1"])])
        .await
        .unwrap();
    store
        .insert_alert(&alert("al-1", "2026-03-01T06:00:00Z"))
        .await
        .unwrap();
    // A crash: the connection is never closed, so no checkpoint runs and the data is only in
    // the write-ahead log.
    std::mem::forget(store);

    let reopened = SqliteStore::open(&path).unwrap();
    let chunks = reopened
        .chunks_for_account_day(&account("acme"), day("2026-03-01"))
        .await
        .unwrap();
    assert_eq!(chunks, vec![chunk("acme", "2026-03-01", &["m1"])]);
    assert!(reopened.get_alert("al-1").await.unwrap().is_some());
}

#[tokio::test]
async fn a_rewritten_chunk_replaces_the_old_one() {
    let store = SqliteStore::open_in_memory().unwrap();
    let first = chunk("acme", "2026-03-01", &["m1", "m2"]);
    store
        .put_chunks(std::slice::from_ref(&first))
        .await
        .unwrap();
    store
        .put_chunks(std::slice::from_ref(&first))
        .await
        .unwrap();
    let segment = store
        .chunks_for_segment_day(first.segment(), day("2026-03-01"))
        .await
        .unwrap();
    assert_eq!(segment, vec![first]);
}

#[tokio::test]
async fn profile_and_scoring_state_do_not_clobber_each_other() {
    let store = SqliteStore::open_in_memory().unwrap();
    let id = account("acme");
    let mut scored = AccountRecord::new(id.clone());
    scored.window = UsageWindow {
        through: Some(day("2026-03-01")),
        ..Default::default()
    };
    store.put_scoring_state(&scored).await.unwrap();
    let profile = AccountProfile {
        tier: Some("enterprise".to_string()),
        ..Default::default()
    };
    store.put_profile(&id, &profile).await.unwrap();
    // A stale profile inside the record passed to put_scoring_state must not win.
    store.put_scoring_state(&scored).await.unwrap();

    let got = store.get_account(&id).await.unwrap().unwrap();
    assert_eq!(got.profile, profile);
    assert_eq!(got.window, scored.window);
}

#[tokio::test]
async fn segment_pages_hold_exactly_limit_accounts_and_end_without_a_cursor() {
    let store = SqliteStore::open_in_memory().unwrap();
    let seg = Segment(3);
    let mut ids: Vec<AccountId> = (0..2000)
        .map(|i| account(&format!("acct-{i}")))
        .filter(|a| a.segment() == seg)
        .take(7)
        .collect();
    ids.sort();
    for id in &ids {
        store
            .put_profile(id, &AccountProfile::default())
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut sizes = Vec::new();
    loop {
        let page = store.list_segment(seg, cursor.as_deref(), 3).await.unwrap();
        sizes.push(page.items.len());
        seen.extend(page.items.into_iter().map(|r| r.account_id));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(sizes, vec![3, 3, 1]);
    assert_eq!(seen, ids);
}

#[tokio::test]
async fn garbage_and_foreign_cursors_are_rejected() {
    let store = SqliteStore::open_in_memory().unwrap();
    for a in 0..3 {
        store
            .append_audit(&audit(&format!("e{a}"), "2026-03-01T00:00:00Z", None))
            .await
            .unwrap();
    }
    let audit_cursor = store.list_audit(None, None, 1).await.unwrap().next.unwrap();
    let invalid = StoreError::Rejected("invalid cursor".to_string());

    for garbage in ["nope", "%%%", ""] {
        let got = store.list_segment(Segment(0), Some(garbage), 10).await;
        assert_eq!(got.unwrap_err(), invalid, "{garbage}");
    }
    let got = store
        .list_alerts(&AlertQuery::default(), Some(&audit_cursor), 10)
        .await;
    assert_eq!(got.unwrap_err(), invalid);
    let got = store
        .list_segment(Segment(0), Some(&audit_cursor), 10)
        .await;
    assert_eq!(got.unwrap_err(), invalid);
}

#[tokio::test]
async fn alerts_page_newest_opened_first_with_filters() {
    let store = SqliteStore::open_in_memory().unwrap();
    for (id, opened) in [
        ("a", "2026-03-01T06:00:00Z"),
        ("b", "2026-03-02T06:00:00Z"),
        ("c", "2026-03-02T06:00:00Z"),
        ("d", "2026-03-03T06:00:00Z"),
    ] {
        store.insert_alert(&alert(id, opened)).await.unwrap();
    }
    let mut resolved = alert("d", "2026-03-03T06:00:00Z");
    resolved.status = AlertStatus::Resolved;
    resolved.version = 2;
    store.update_alert(&resolved).await.unwrap();

    let open = AlertQuery {
        status: Some(AlertStatus::Open),
        account_id: Some(account("acme")),
    };
    let first = store.list_alerts(&open, None, 2).await.unwrap();
    let ids: Vec<_> = first.items.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["c", "b"]);
    let second = store
        .list_alerts(&open, first.next.as_deref(), 2)
        .await
        .unwrap();
    let ids: Vec<_> = second.items.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["a"]);
    assert_eq!(second.next, None);
}

#[tokio::test]
async fn an_audit_entry_is_stored_once_by_id() {
    let store = SqliteStore::open_in_memory().unwrap();
    let entry = audit("act-1", "2026-03-01T00:00:00Z", Some("acme"));
    store.append_audit(&entry).await.unwrap();
    store.append_audit(&entry).await.unwrap();
    let page = store
        .list_audit(Some(&account("acme")), None, 10)
        .await
        .unwrap();
    assert_eq!(page.items, vec![entry]);
}

#[tokio::test]
async fn zero_limit_is_rejected_rather_than_paging_forever() {
    let store = SqliteStore::open_in_memory().unwrap();
    let got = store.list_segment(Segment(0), None, 0).await;
    assert!(matches!(got, Err(StoreError::Rejected(_))), "{got:?}");
}

#[tokio::test]
async fn a_config_version_beyond_sqlite_integers_is_rejected() {
    let store = SqliteStore::open_in_memory().unwrap();
    let got = store.put_config_version(&config(u64::MAX)).await;
    assert!(matches!(got, Err(StoreError::Rejected(_))), "{got:?}");
    assert_eq!(store.get_config_version(u64::MAX).await.unwrap(), None);
}

#[tokio::test]
async fn a_summary_without_its_day_is_rejected() {
    let store = SqliteStore::open_in_memory().unwrap();
    let got = store.put_summary(&PortfolioSummary::default()).await;
    assert!(matches!(got, Err(StoreError::Rejected(_))), "{got:?}");
}

#[tokio::test]
async fn purge_removes_only_rows_past_retention() {
    let store = SqliteStore::open_in_memory()
        .unwrap()
        .with_retention_days(30);
    store
        .put_chunks(&[
            chunk("acme", "2026-01-01", &["old"]),
            chunk("acme", "2026-03-01", &["new"]),
        ])
        .await
        .unwrap();
    store
        .append_audit(&audit("old", "2026-01-01T12:00:00Z", None))
        .await
        .unwrap();
    store
        .append_audit(&audit("new", "2026-03-01T12:00:00Z", None))
        .await
        .unwrap();
    let score = |d: &str| ScoreRecord {
        account_id: account("acme"),
        as_of: day(d),
        computed_at: at("2026-03-01T06:00:00Z"),
        score: vitals_scoring::score_account(
            &vitals_scoring::ScoringConfig::default(),
            &vitals_scoring::AccountFacts::default(),
            &vitals_scoring::UsageWindow::default(),
            day(d),
            None,
        ),
    };
    store
        .put_history(&[score("2026-01-01"), score("2026-03-01")].map(|s| HistoryDay::of(&s)))
        .await
        .unwrap();
    store
        .put_checkpoint(&Checkpoint {
            run_id: "run-1".to_string(),
            segment: Segment(1),
            done: true,
            last_account: None,
            accounts_scored: 1,
            events_emitted: 0,
            updated_at: at("2026-01-01T06:00:00Z"),
            summary: Default::default(),
        })
        .await
        .unwrap();
    store.put_config_version(&config(1)).await.unwrap();

    // 2026-01-01 + 30 days = 2026-01-31; checkpoints last 90 days (2026-04-01).
    let purged = store
        .purge_expired(at("2026-02-15T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(purged, 3);

    let old = store
        .chunks_for_account_day(&account("acme"), day("2026-01-01"))
        .await
        .unwrap();
    assert!(old.is_empty());
    let new = store
        .chunks_for_account_day(&account("acme"), day("2026-03-01"))
        .await
        .unwrap();
    assert_eq!(new.len(), 1);
    let audit_ids: Vec<_> = store
        .list_audit(None, None, 10)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(audit_ids, ["new"]);
    let history = store
        .history(&account("acme"), day("2025-01-01"), day("2027-01-01"))
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(store.list_checkpoints("run-1").await.unwrap().len(), 1);
    assert!(store.latest_config().await.unwrap().is_some());
}

/// Set by [`another_process_writes_the_same_file_concurrently`] for its child process.
const CHILD_DB_VAR: &str = "VITALS_EMBEDDED_TEST_CHILD_DB";

/// The child half of the two-process test: writes chunks to the file it is given. Ignored in
/// normal runs; does nothing without the variable.
#[tokio::test]
#[ignore = "run as a child process by another_process_writes_the_same_file_concurrently"]
async fn child_process_writer() {
    let Ok(path) = std::env::var(CHILD_DB_VAR) else {
        return;
    };
    let store = SqliteStore::open(Path::new(&path)).unwrap();
    for i in 0..50 {
        let m = format!("child-{i}");
        store
            .put_chunks(&[chunk("acme", "2026-03-01", &[&m])])
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn another_process_writes_the_same_file_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let path = data_file(&dir);
    let store = SqliteStore::open(&path).unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "store_tests::child_process_writer",
            "--ignored",
            "--test-threads=1",
        ])
        .env(CHILD_DB_VAR, &path)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for i in 0..50 {
        let m = format!("parent-{i}");
        store
            .put_chunks(&[chunk("acme", "2026-03-01", &[&m])])
            .await
            .unwrap();
        // Reads interleave with the child's writes.
        store
            .chunks_for_account_day(&account("acme"), day("2026-03-01"))
            .await
            .unwrap();
    }
    assert!(child.wait().unwrap().success(), "child writer failed");
    let chunks = store
        .chunks_for_account_day(&account("acme"), day("2026-03-01"))
        .await
        .unwrap();
    assert_eq!(chunks.len(), 100);
}

#[tokio::test]
async fn books_older_than_the_retention_are_pruned_when_newer_ones_are_written() {
    use vitals_core::model::{BookDay, BookFigures};
    let store = SqliteStore::open_in_memory()
        .unwrap()
        .with_retention_days(30);
    let book = |d: &str| BookDay {
        owner: "ana@example.com".into(),
        day: day(d),
        figures: BookFigures {
            accounts: 3,
            ..BookFigures::default()
        },
    };
    store
        .put_book_days(&[book("2026-01-01"), book("2026-01-20")])
        .await
        .unwrap();
    store.put_book_days(&[book("2026-02-15")]).await.unwrap();
    let kept = store
        .book_days("ana@example.com", day("2025-01-01"), day("2026-12-31"))
        .await
        .unwrap();
    let days: Vec<NaiveDate> = kept.iter().map(|b| b.day).collect();
    assert_eq!(days, [day("2026-01-20"), day("2026-02-15")]);
}

/// A record rolled through a few days of use, scored, with a trail: every part of the stored
/// columns has something in it.
fn rolled_record(id: &str) -> AccountRecord {
    let mut window = UsageWindow::default();
    for (n, d) in ["2026-02-26", "2026-02-27", "2026-03-01"]
        .iter()
        .enumerate()
    {
        let activity = vitals_scoring::DayActivity {
            day: Some(day(d)),
            active_users: vec!["ada".to_string(), format!("user-{n}")],
            sessions: 3,
            session_seconds: 1800,
            api_calls: 4,
            events: 12,
            features: vec!["Report Built".to_string(), "Café \"quoted\"".to_string()],
            feature_counts: vec![5, 2],
            ..Default::default()
        };
        window.roll(day(d), &activity);
    }
    let score = ScoreRecord {
        account_id: account(id),
        as_of: day("2026-03-01"),
        computed_at: at("2026-03-02T06:00:00.123456789Z"),
        score: vitals_scoring::score_account(
            &vitals_scoring::ScoringConfig::default(),
            &vitals_scoring::AccountFacts::default(),
            &window,
            day("2026-03-01"),
            None,
        ),
    };
    let mut record = AccountRecord::new(account(id));
    record
        .trail
        .record(day("2026-02-28"), 58.4, vitals_scoring::Band::Monitor);
    record
        .trail
        .record(day("2026-03-01"), score.health().score, score.health().band);
    record.window = window;
    record.score = Some(score);
    record.profile = AccountProfile {
        tier: Some("enterprise".to_string()),
        ..Default::default()
    };
    record
}

#[tokio::test]
async fn account_records_written_as_json_by_an_older_version_still_read() {
    let store = SqliteStore::open_in_memory().unwrap();
    let record = rolled_record("acme");
    store
        .put_profile(&record.account_id, &record.profile)
        .await
        .unwrap();
    store.put_scoring_state(&record).await.unwrap();
    let kinds = |store: &SqliteStore| {
        let store = store.clone();
        async move {
            store
                .db
                .read(|conn| {
                    Ok(conn.query_row(
                        "SELECT typeof(profile), typeof(usage_window), typeof(score), typeof(trail)
                         FROM accounts",
                        [],
                        |r| Ok::<[String; 4], _>([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]),
                    )?)
                })
                .await
                .unwrap()
        }
    };
    let read_back = |store: &SqliteStore| {
        let store = store.clone();
        let id = record.account_id.clone();
        async move { store.get_account(&id).await.unwrap().unwrap() }
    };
    assert_eq!(kinds(&store).await, ["blob"; 4].map(String::from));
    assert_eq!(read_back(&store).await, record);

    // The columns as a version before the compact form wrote them.
    let json = [
        serde_json::to_string(&record.profile).unwrap(),
        serde_json::to_string(&record.window).unwrap(),
        serde_json::to_string(&record.score).unwrap(),
        serde_json::to_string(&record.trail).unwrap(),
    ];
    store
        .db
        .write(move |tx| {
            tx.execute(
                "UPDATE accounts SET profile = ?1, usage_window = ?2, score = ?3, trail = ?4",
                json,
            )?;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(kinds(&store).await, ["text"; 4].map(String::from));
    assert_eq!(read_back(&store).await, record);
    // The next save writes them compact again.
    store.put_scoring_state(&record).await.unwrap();
    assert_eq!(kinds(&store).await[1..], ["blob"; 3].map(String::from));
    assert_eq!(read_back(&store).await, record);
}

#[tokio::test]
async fn a_damaged_account_column_is_corrupt_not_a_panic() {
    let store = SqliteStore::open_in_memory().unwrap();
    let record = rolled_record("acme");
    store.put_scoring_state(&record).await.unwrap();
    store
        .db
        .write(|tx| {
            tx.execute("UPDATE accounts SET score = substr(score, 1, 40)", [])?;
            Ok(())
        })
        .await
        .unwrap();
    let err = store.get_account(&record.account_id).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
}
