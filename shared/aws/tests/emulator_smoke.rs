//! Smoke test of the AWS adapters against real emulators (DynamoDB Local, moto): the calls the
//! unit tests cannot reach. Set `VITALS_TEST_DYNAMODB_ENDPOINT` / `VITALS_TEST_SQS_ENDPOINT`;
//! without them the tests are skipped with a note, except under `CI=true`, where they fail.
//! The full cross-backend contract lives in the `tests` crate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, NaiveDate, Utc};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use vitals_aws::{create_queue_pair, create_table, dynamodb_client, sdk_config, sqs_client};
use vitals_aws::{CapacityMeter, DynamoStore, SqsQueue};
use vitals_core::model::{
    AccountId, AccountProfile, AccountRecord, Alert, AlertQuery, AlertStatus, AuditEntry,
    ConfigVersion, EventChunk, EventKind, Severity, StoredEvent,
};
use vitals_core::ports::{
    AccountStore, AlertStore, AuditLog, ConfigStore, EventStore, OutgoingMessage, Queue,
};
use vitals_core::StoreError;

fn endpoint(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Some(v),
        _ if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => {
            panic!("{var} must be set when CI=true")
        }
        _ => {
            // Straight to stderr: libtest captures `eprintln!` of passing tests.
            let note = format!("skipped: set {var} to an emulator endpoint to run this test\n");
            let written = std::io::stderr().write_all(note.as_bytes());
            drop(written);
            None
        }
    }
}

fn unique(prefix: &str) -> String {
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!("{prefix}-{}-{:x}", std::process::id(), nanos)
}

fn acct(s: &str) -> AccountId {
    AccountId::new(s).unwrap()
}

fn time(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_323_200 + secs, 123_456_000).unwrap()
}

fn chunk(account: &AccountId, day: NaiveDate, message: &str) -> EventChunk {
    let event = StoredEvent {
        message_id: message.into(),
        kind: EventKind::Track,
        name: Some("Report Viewed".into()),
        user_id: Some("u1".into()),
        timestamp: time(0),
        properties: Default::default(),
    };
    EventChunk::new(account.clone(), day, vec![event])
}

fn alert(id: &str, version: u64, status: AlertStatus) -> Alert {
    Alert {
        id: id.into(),
        account_id: acct("acme"),
        dedupe_key: "acme/decline".into(),
        kind: "decline".into(),
        cause: "usage".into(),
        severity: Severity::Critical,
        status,
        owner: Some("csm@example.com".into()),
        about_day: None,
        opened_at: time(0),
        updated_at: time(version as i64),
        snoozed_until: None,
        snooze_reason: None,
        transitions: vec![],
        details: serde_json::json!({"drop": 0.62}),
        version,
    }
}

async fn store() -> Option<DynamoStore> {
    let endpoint = endpoint("VITALS_TEST_DYNAMODB_ENDPOINT")?;
    let client = dynamodb_client(&sdk_config(Some(&endpoint)).await);
    let table = unique("vitals-smoke");
    create_table(&client, &table).await.unwrap();
    // Idempotent: a second call accepts the existing table.
    create_table(&client, &table).await.unwrap();
    Some(DynamoStore::new(client, table))
}

#[tokio::test]
async fn chunks_are_batched_and_a_resent_batch_overwrites() {
    let Some(store) = store().await else { return };
    let day: NaiveDate = "2026-03-01".parse().unwrap();
    let account = acct("acme");
    let chunks: Vec<_> = (0..60)
        .map(|i| chunk(&account, day, &format!("m-{i}")))
        .collect();
    store.put_chunks(&chunks).await.unwrap();
    store.put_chunks(&chunks[..30]).await.unwrap();
    let mut got = store.chunks_for_account_day(&account, day).await.unwrap();
    let mut want = chunks.clone();
    want.sort_by(|a, b| a.chunk_id.cmp(&b.chunk_id));
    got.sort_by(|a, b| a.chunk_id.cmp(&b.chunk_id));
    assert_eq!(got, want);
    let segment_day = store
        .chunks_for_segment_day(account.segment(), day)
        .await
        .unwrap();
    assert_eq!(segment_day.len(), 60);
}

/// `n` accounts of one segment, in order: their chunks of a day share a pack item.
fn accounts_of_one_segment(n: usize) -> Vec<AccountId> {
    let segment = acct("acme").segment();
    let mut accounts: Vec<AccountId> = (0..)
        .map(|i| acct(&format!("acct-{i}")))
        .filter(|a| a.segment() == segment)
        .take(n)
        .collect();
    accounts.sort();
    accounts
}

async fn item_count(client: &aws_sdk_dynamodb::Client, table: &str) -> i32 {
    client
        .scan()
        .table_name(table)
        .select(aws_sdk_dynamodb::types::Select::Count)
        .send()
        .await
        .unwrap()
        .count()
}

#[tokio::test]
async fn a_request_mixing_accounts_writes_one_item_per_segment_day_and_a_retry_overwrites_it() {
    let Some(endpoint) = endpoint("VITALS_TEST_DYNAMODB_ENDPOINT") else {
        return;
    };
    let client = dynamodb_client(&sdk_config(Some(&endpoint)).await);
    let table = unique("vitals-packs");
    create_table(&client, &table).await.unwrap();
    let meter = Arc::new(CapacityMeter::default());
    let store = DynamoStore::new(client.clone(), &table).with_capacity_meter(meter.clone());
    let day: NaiveDate = "2026-03-01".parse().unwrap();
    let chunks: Vec<EventChunk> = accounts_of_one_segment(20)
        .iter()
        .map(|a| chunk(a, day, &format!("{a}-m1")))
        .collect();
    store.put_chunks(&chunks).await.unwrap();
    let written = meter.take();
    assert_eq!(written.requests, 1);
    assert!(
        written.write_units <= 2.0,
        "20 small account-days cost {} write units, not one each",
        written.write_units
    );
    store.put_chunks(&chunks).await.unwrap();
    assert_eq!(item_count(&client, &table).await, 1, "the retry overwrote");
    let got = store
        .chunks_for_segment_day(chunks[0].segment(), day)
        .await
        .unwrap();
    assert_eq!(got, chunks);
}

#[tokio::test]
async fn a_chunk_resent_in_a_differently_composed_request_reads_back_once() {
    let Some(store) = store().await else { return };
    let day: NaiveDate = "2026-03-01".parse().unwrap();
    let [a, b, c] = <[AccountId; 3]>::try_from(accounts_of_one_segment(3)).unwrap();
    let resent = chunk(&a, day, "a-m1");
    store
        .put_chunks(&[resent.clone(), chunk(&b, day, "b-m1")])
        .await
        .unwrap();
    store
        .put_chunks(&[chunk(&c, day, "c-m1"), resent.clone()])
        .await
        .unwrap();
    let got = store
        .chunks_for_segment_day(a.segment(), day)
        .await
        .unwrap();
    let accounts: Vec<&str> = got.iter().map(|x| x.account_id.as_str()).collect();
    assert_eq!(accounts, [a.as_str(), b.as_str(), c.as_str()]);
    assert_eq!(
        store.chunks_for_account_day(&a, day).await.unwrap(),
        vec![resent]
    );
}

#[tokio::test]
async fn profile_and_scoring_state_do_not_clobber_each_other_and_pages_are_full() {
    let Some(store) = store().await else { return };
    let a = acct("acme");
    let profile = AccountProfile {
        name: Some("Acme".into()),
        mrr: Some(4200.5),
        ..AccountProfile::default()
    };
    store.put_profile(&a, &profile).await.unwrap();
    store
        .put_scoring_state(&AccountRecord::new(a.clone()))
        .await
        .unwrap();
    let got = store.get_account(&a).await.unwrap().unwrap();
    assert_eq!(got.profile, profile);

    let segment = a.segment();
    let ids: Vec<AccountId> = (0..)
        .map(|i| acct(&format!("acct-{i}")))
        .filter(|x| x.segment() == segment)
        .take(11)
        .collect();
    for id in &ids {
        store.put_profile(id, &profile).await.unwrap();
    }
    let states: Vec<_> = ids
        .iter()
        .map(|id| AccountRecord::new(id.clone()))
        .collect();
    store.put_scoring_states(&states).await.unwrap();
    for id in &ids {
        let got = store.get_account(id).await.unwrap().unwrap();
        assert_eq!(
            got.profile, profile,
            "batch scoring-state write kept the profile"
        );
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .list_segment(segment, cursor.as_deref(), 4)
            .await
            .unwrap();
        if page.next.is_some() {
            assert_eq!(page.items.len(), 4);
        }
        seen.extend(page.items.into_iter().map(|r| r.account_id));
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(seen.len(), 12);
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "account id order");
    let bad = store.list_segment(segment, Some("not a cursor"), 4).await;
    assert_eq!(bad, Err(StoreError::Rejected("invalid cursor".into())));
}

#[tokio::test]
async fn conditional_writes_report_conflicts() {
    let Some(store) = store().await else { return };
    let first = alert("al-1", 1, AlertStatus::Open);
    store.insert_alert(&first).await.unwrap();
    assert!(matches!(
        store.insert_alert(&first).await,
        Err(StoreError::Conflict(_))
    ));
    let acked = alert("al-1", 2, AlertStatus::Acknowledged);
    store.update_alert(&acked).await.unwrap();
    assert!(matches!(
        store.update_alert(&acked).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.get_alert("al-1").await.unwrap(), Some(acked.clone()));
    let open = AlertQuery {
        status: Some(AlertStatus::Open),
        account_id: None,
    };
    assert!(store
        .list_alerts(&open, None, 10)
        .await
        .unwrap()
        .items
        .is_empty());

    let config = ConfigVersion {
        version: 1,
        author: "admin@example.com".into(),
        created_at: time(0),
        body: "[scoring]".into(),
        summary: "first".into(),
    };
    store.put_config_version(&config).await.unwrap();
    assert!(matches!(
        store.put_config_version(&config).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.latest_config().await.unwrap(), Some(config));
}

#[tokio::test]
async fn an_audit_retry_stamped_later_is_logged_once() {
    let Some(store) = store().await else { return };
    let entry = |secs| AuditEntry {
        id: "run-1:acme:outreach".into(),
        at: time(secs),
        account_id: Some(acct("acme")),
        actor: "workflow".into(),
        action: "outreach".into(),
        detail: serde_json::Value::Null,
    };
    store.append_audit(&entry(100)).await.unwrap();
    store.append_audit(&entry(160)).await.unwrap();
    let all = store.list_audit(None, None, 10).await.unwrap();
    assert_eq!(all.items, vec![entry(100)]);
    let mine = store
        .list_audit(Some(&acct("acme")), None, 10)
        .await
        .unwrap();
    assert_eq!(mine.items, vec![entry(100)]);
}

#[tokio::test]
async fn queue_sends_receives_dead_letters_and_replays() {
    let Some(endpoint) = endpoint("VITALS_TEST_SQS_ENDPOINT") else {
        return;
    };
    let client = sqs_client(&sdk_config(Some(&endpoint)).await);
    let name = unique("vitals-smoke");
    let (url, dlq) = create_queue_pair(&client, &name, 2).await.unwrap();
    assert_eq!(
        create_queue_pair(&client, &name, 2).await.unwrap(),
        (url.clone(), dlq.clone())
    );
    let queue = SqsQueue::new(client, url, dlq);

    let messages: Vec<_> = (0..15)
        .map(|i| OutgoingMessage {
            id: format!("alert-{i}"),
            body: format!("{{\"n\":{i}}}"),
        })
        .collect();
    queue.send(&messages).await.unwrap();
    let got = queue.receive(20, Duration::from_secs(30)).await.unwrap();
    assert_eq!(got.len(), 15);
    assert!(got.iter().all(|m| m.receive_count == 1));
    let mut ids: Vec<_> = got.iter().map(|m| m.id.clone()).collect();
    ids.sort();
    let mut want: Vec<_> = messages.iter().map(|m| m.id.clone()).collect();
    want.sort();
    assert_eq!(ids, want);
    for m in &got[1..] {
        queue.delete(&m.receipt).await.unwrap();
    }

    // The one left: back at once, received a second time, then past max_receives.
    queue
        .retry_later(&got[0].receipt, Duration::ZERO)
        .await
        .unwrap();
    let again = queue.receive(10, Duration::ZERO).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].receive_count, 2);
    assert!(queue
        .receive(10, Duration::from_secs(30))
        .await
        .unwrap()
        .is_empty());

    let dead = queue.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, got[0].id);
    assert_eq!(
        queue.dead_letters(10).await.unwrap().len(),
        1,
        "peeking keeps them"
    );

    assert_eq!(queue.replay_dead_letters(10).await.unwrap(), 1);
    assert!(queue.dead_letters(10).await.unwrap().is_empty());
    let replayed = queue.receive(10, Duration::from_secs(30)).await.unwrap();
    assert_eq!(replayed.len(), 1);
    assert_eq!(
        (replayed[0].id.as_str(), replayed[0].receive_count),
        (got[0].id.as_str(), 1)
    );
}
