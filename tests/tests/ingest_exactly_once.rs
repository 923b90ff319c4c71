//! An accepted event is counted exactly once (BRIEF §3): resent and overlapping batches do not
//! double after rollup, group calls attribute a user's later events, unattributed events are kept
//! and counted, and outcomes are recorded once.

use std::io::Write;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use chrono::NaiveDate;
use serde_json::{json, Value};
use tower::ServiceExt;
use vitals_core::clock::FixedClock;
use vitals_core::config::UsageMapping;
use vitals_core::model::{AccountId, OutcomeKind};
use vitals_core::ports::{AccountStore, EventStore, UserStore};
use vitals_core::rollup::day_activity;
use vitals_embedded::SqliteStore;
use vitals_http::{AppState, WriteKeys};
use vitals_tests::support::Must;

const KEY: &str = "test-write-key";

fn app() -> (Router, Arc<SqliteStore>) {
    let store = Arc::new(SqliteStore::open_in_memory().must("open in-memory store"));
    let state = AppState {
        storage: store.clone(),
        clock: Arc::new(FixedClock("2026-03-10T12:00:00Z".parse().must("time"))),
        write_keys: Arc::new(WriteKeys::new([KEY.to_string()])),
        retention_days: 730,
        alert_limits: Default::default(),
        signals: Default::default(),
        touches: Default::default(),
        caches: Default::default(),
        authenticator: Arc::new(vitals_http::DenyAll),
    };
    (vitals_http::ingest_router(state), store)
}

fn day() -> NaiveDate {
    "2026-03-10".parse().must("day")
}

fn acct(id: &str) -> AccountId {
    AccountId::new(id).must("account id")
}

async fn post(router: &Router, path: &str, body: &Value, gzip: bool) -> (StatusCode, Value) {
    let mut bytes = body.to_string().into_bytes();
    let mut req = Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, "Basic dGVzdC13cml0ZS1rZXk6");
    if gzip {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&bytes).must("gzip");
        bytes = enc.finish().must("gzip");
        req = req.header(header::CONTENT_ENCODING, "gzip");
    }
    let response = router
        .clone()
        .oneshot(req.body(Body::from(bytes)).must("request"))
        .await
        .must("router");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .must("body");
    (status, serde_json::from_slice(&bytes).must("JSON reply"))
}

fn track(id: &str, user: &str, group: Option<&str>) -> Value {
    let mut item = json!({"type": "track", "messageId": id, "userId": user, "event": "Report Built",
        "timestamp": "2026-03-10T09:00:00Z"});
    if let Some(g) = group {
        item["context"] = json!({"groupId": g});
    }
    item
}

fn batch(items: Vec<Value>) -> Value {
    json!({"batch": items, "sentAt": "2026-03-10T12:00:00Z"})
}

/// Usage events of an account-day after rollup (deduplicated by message id).
async fn rolled_up(store: &SqliteStore, account: &str) -> u32 {
    let chunks = store
        .chunks_for_account_day(&acct(account), day())
        .await
        .must("chunks");
    day_activity(&chunks, &UsageMapping::default(), None).events
}

#[tokio::test]
async fn resending_an_identical_batch_never_doubles() {
    let (router, store) = app();
    let body = batch(
        (0..50)
            .map(|i| track(&format!("m{i}"), "u1", Some("acme")))
            .collect(),
    );
    for attempt in 0..3 {
        let (status, reply) = post(&router, "/v1/batch", &body, attempt == 1).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        assert_eq!(reply["accepted"], 50);
    }
    assert_eq!(rolled_up(&store, "acme").await, 50);
    let chunks = store
        .chunks_for_account_day(&acct("acme"), day())
        .await
        .must("chunks");
    assert_eq!(chunks.len(), 1, "a retry overwrites its chunk");
}

#[tokio::test]
async fn overlapping_batches_count_each_message_once() {
    let (router, store) = app();
    let first = batch(
        (0..10)
            .map(|i| track(&format!("m{i}"), "u1", Some("acme")))
            .collect(),
    );
    let second = batch(
        (5..15)
            .map(|i| track(&format!("m{i}"), "u2", Some("acme")))
            .collect(),
    );
    assert_eq!(
        post(&router, "/v1/batch", &first, false).await.0,
        StatusCode::OK
    );
    assert_eq!(
        post(&router, "/v1/batch", &second, false).await.0,
        StatusCode::OK
    );
    // The same messages again through the single-event endpoint.
    for i in 3..7 {
        let (status, _) = post(
            &router,
            "/v1/track",
            &track(&format!("m{i}"), "u1", Some("acme")),
            false,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(rolled_up(&store, "acme").await, 15);
}

#[tokio::test]
async fn a_group_call_attributes_the_users_later_events() {
    let (router, store) = app();
    let group = json!({"type": "group", "messageId": "g1", "userId": "u1", "groupId": "acme",
        "traits": {"name": "Acme", "plan": "Enterprise", "seats": 40}, "timestamp": "2026-03-10T08:00:00Z"});
    let (status, reply) = post(&router, "/v1/group", &group, false).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let (_, reply) = post(
        &router,
        "/v1/batch",
        &batch(vec![track("t1", "u1", None)]),
        false,
    )
    .await;
    assert_eq!(reply["unattributed"], 0, "{reply}");
    assert_eq!(rolled_up(&store, "acme").await, 1);
    let user = store.get_user("u1").await.must("user");
    assert_eq!(user.and_then(|u| u.account_id), Some(acct("acme")));
    let record = store.get_account(&acct("acme")).await.must("account");
    assert_eq!(
        record.and_then(|r| r.profile.seats),
        Some(40),
        "group traits become the profile"
    );
}

#[tokio::test]
async fn group_and_track_in_one_batch_attribute_together() {
    let (router, store) = app();
    let body = batch(vec![
        track("t1", "u9", None),
        json!({"type": "group", "messageId": "g9", "userId": "u9", "groupId": "globex", "timestamp": "2026-03-10T08:00:00Z"}),
    ]);
    let (_, reply) = post(&router, "/v1/batch", &body, false).await;
    assert_eq!(reply["unattributed"], 0, "{reply}");
    assert_eq!(rolled_up(&store, "globex").await, 1);
}

#[tokio::test]
async fn unattributed_events_are_kept_and_counted() {
    let (router, store) = app();
    let body = batch(vec![
        track("x1", "stranger", None),
        track("x2", "stranger", None),
    ]);
    for _ in 0..2 {
        let (status, reply) = post(&router, "/v1/batch", &body, false).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(reply["unattributed"], 2, "{reply}");
    }
    assert_eq!(rolled_up(&store, AccountId::UNATTRIBUTED).await, 2);
}

#[tokio::test]
async fn segment_and_posthog_events_of_one_account_add_up_once() {
    let (router, store) = app();
    let posthog = json!({"api_key": KEY, "batch": [
        {"event": "Report Built", "distinct_id": "p1", "uuid": "0190a0b6-6a4e-7c3a-9a0b-0c1d2e3f4a5b",
         "timestamp": "2026-03-10T09:30:00Z", "properties": {"$groups": {"company": "acme"}}},
        {"event": "$groupidentify", "distinct_id": "p1", "timestamp": "2026-03-10T09:00:00Z",
         "properties": {"$group_type": "company", "$group_key": "acme", "$group_set": {"name": "Acme Inc"}}}
    ]});
    for _ in 0..2 {
        let (status, reply) = post(&router, "/batch/", &posthog, false).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        assert_eq!(reply["status"], 1);
    }
    post(
        &router,
        "/v1/batch",
        &batch(vec![track("s1", "u1", Some("acme"))]),
        false,
    )
    .await;
    assert_eq!(rolled_up(&store, "acme").await, 2);
    let record = store.get_account(&acct("acme")).await.must("account");
    assert_eq!(
        record.and_then(|r| r.profile.name).as_deref(),
        Some("Acme Inc")
    );
}

#[tokio::test]
async fn mapped_signals_roll_up_and_outcomes_are_recorded_once() {
    let (router, store) = app();
    let mut renewed = track("o1", "billing", Some("acme"));
    renewed["event"] = json!("Account Renewed");
    let mut ticket = track("k1", "support", Some("acme"));
    ticket["event"] = json!("Ticket Opened");
    ticket["properties"] = json!({"priority": "high"});
    let body = batch(vec![renewed, ticket, track("u-1", "u1", Some("acme"))]);
    for _ in 0..2 {
        assert_eq!(
            post(&router, "/v1/batch", &body, false).await.0,
            StatusCode::OK
        );
    }
    let chunks = store
        .chunks_for_account_day(&acct("acme"), day())
        .await
        .must("chunks");
    let activity = day_activity(&chunks, &UsageMapping::default(), None);
    assert_eq!(activity.events, 1, "signals are not product usage");
    assert_eq!(activity.tickets_opened.high, 1);
    let profile = store
        .get_account(&acct("acme"))
        .await
        .must("account")
        .map(|r| r.profile)
        .unwrap_or_default();
    assert_eq!(profile.outcomes.len(), 1, "{:?}", profile.outcomes);
    assert_eq!(profile.outcomes[0].kind, OutcomeKind::Renewed);
    assert_eq!(profile.outcomes[0].on, day());
}
