//! Segment's Webhooks (Actions) and PostHog's HTTP webhook destinations (issue 21): a signed
//! batch is ingested once however often Segment retries it, a bad or missing signature is
//! refused, and PostHog's `{event, person, groups}` bodies land on the account of their group.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use chrono::NaiveDate;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use tower::ServiceExt;
use vitals_core::clock::FixedClock;
use vitals_core::config::{IngestConfig, UsageMapping};
use vitals_core::model::{AccountId, AccountProfile};
use vitals_core::ports::{AccountStore, EventStore};
use vitals_core::rollup::day_activity;
use vitals_embedded::SqliteStore;
use vitals_http::{AppState, WebhookSecrets, WriteKeys};
use vitals_tests::support::Must;

const SEGMENT_SECRET: &str = "segment-shared-secret";
const POSTHOG_SECRET: &str = "posthog-shared-secret";

fn app() -> (Router, Arc<SqliteStore>) {
    let store = Arc::new(SqliteStore::open_in_memory().must("open in-memory store"));
    let config = IngestConfig {
        segment_webhook_secret_env: Some("SEGMENT_WEBHOOK_SECRET".into()),
        posthog_webhook_secret_env: Some("POSTHOG_WEBHOOK_SECRET".into()),
        ..IngestConfig::default()
    };
    let secrets = WebhookSecrets::from_config(&config, |name| match name {
        "SEGMENT_WEBHOOK_SECRET" => Some(SEGMENT_SECRET.into()),
        "POSTHOG_WEBHOOK_SECRET" => Some(POSTHOG_SECRET.into()),
        _ => None,
    });
    let state = AppState {
        storage: store.clone(),
        clock: Arc::new(FixedClock("2026-03-10T12:00:00Z".parse().must("time"))),
        write_keys: Arc::new(
            WriteKeys::new(["wk_test_key".to_string()]).with_webhook_secrets(secrets),
        ),
        retention_days: 730,
        alert_limits: Default::default(),
        signals: Default::default(),
        touches: Default::default(),
        caches: Default::default(),
        authenticator: Arc::new(vitals_http::DenyAll),
    };
    (vitals_http::ingest_router(state), store)
}

/// What Segment puts in `X-Signature`: hex HMAC-SHA1 of the body under the shared secret.
fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).must("hmac key");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

async fn post(
    router: &Router,
    path: &str,
    body: &[u8],
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut req = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let response = router
        .clone()
        .oneshot(req.body(Body::from(body.to_vec())).must("request"))
        .await
        .must("router");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .must("body");
    (status, serde_json::from_slice(&bytes).must("JSON reply"))
}

async fn rolled_up(store: &SqliteStore, account: &str) -> u32 {
    let day: NaiveDate = "2026-03-10".parse().must("day");
    let chunks = store
        .chunks_for_account_day(&AccountId::new(account).must("account id"), day)
        .await
        .must("chunks");
    day_activity(&chunks, &UsageMapping::default(), None).events
}

/// A batch as the Webhooks (Actions) destination sends it with batching on: a JSON array of
/// whole Segment events (the default `data` mapping is the event itself).
fn segment_batch() -> Vec<u8> {
    json!([
        {"type": "group", "messageId": "seg-g1", "userId": "u1", "groupId": "acme",
         "traits": {"name": "Acme", "seats": 40}, "timestamp": "2026-03-10T08:00:00Z",
         "context": {"library": {"name": "analytics.js"}}, "receivedAt": "2026-03-10T08:00:01Z"},
        {"type": "track", "messageId": "seg-t1", "userId": "u1", "event": "Report Built",
         "properties": {"format": "pdf"}, "timestamp": "2026-03-10T09:00:00Z"},
        {"type": "track", "messageId": "seg-t2", "userId": "u1", "event": "Report Built",
         "timestamp": "2026-03-10T09:05:00Z"}
    ])
    .to_string()
    .into_bytes()
}

/// The profile the webhooks gave the account `acme`.
async fn acme(store: &SqliteStore) -> AccountProfile {
    store
        .get_account(&AccountId::new("acme").must("id"))
        .await
        .must("account")
        .map(|a| a.profile)
        .unwrap_or_default()
}

#[tokio::test]
async fn a_signed_segment_batch_is_ingested_once_however_often_it_is_retried() {
    let (router, store) = app();
    let body = segment_batch();
    let signature = sign(SEGMENT_SECRET, &body);
    for attempt in 0..3 {
        let (status, reply) = post(
            &router,
            "/v1/segment/webhook",
            &body,
            &[("X-Signature", &signature)],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "attempt {attempt}: {reply}");
        assert_eq!(reply["accepted"], 3, "{reply}");
    }
    assert_eq!(
        rolled_up(&store, "acme").await,
        2,
        "retries are deduplicated by messageId"
    );
    let profile = acme(&store).await;
    // Forwarded events may come from a browser source (a public key): they name the account
    // but cannot set what it is worth or who owns it.
    assert_eq!(profile.name.as_deref(), Some("Acme"));
    assert_eq!(profile.seats, None, "seats is a protected trait");
}

#[tokio::test]
async fn a_single_signed_segment_event_is_ingested() {
    let (router, store) = app();
    let body = json!({"type": "track", "messageId": "one", "userId": "u7", "event": "Report Built",
        "context": {"groupId": "globex"}, "timestamp": "2026-03-10T09:00:00Z"})
    .to_string()
    .into_bytes();
    let signature = sign(SEGMENT_SECRET, &body);
    let (status, reply) = post(
        &router,
        "/v1/segment/webhook",
        &body,
        &[("x-signature", &signature)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(rolled_up(&store, "globex").await, 1);
}

#[tokio::test]
async fn a_bad_or_missing_segment_signature_is_refused_and_nothing_is_stored() {
    let (router, store) = app();
    let body = segment_batch();
    let forged = sign("another-secret", &body);
    let of_other_body = sign(SEGMENT_SECRET, b"[]");
    for headers in [
        vec![("X-Signature", forged.as_str())],
        vec![("X-Signature", of_other_body.as_str())],
        vec![("X-Signature", "not-hex")],
        vec![],
    ] {
        let (status, reply) = post(&router, "/v1/segment/webhook", &body, &headers).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{headers:?}: {reply}");
        assert_eq!(reply["error"]["code"], "unauthorized");
    }
    assert_eq!(rolled_up(&store, "acme").await, 0);
}

#[tokio::test]
async fn without_a_configured_secret_the_segment_webhook_is_closed() {
    let store = Arc::new(SqliteStore::open_in_memory().must("store"));
    let router = vitals_http::ingest_router(AppState {
        storage: store,
        clock: Arc::new(FixedClock("2026-03-10T12:00:00Z".parse().must("time"))),
        write_keys: Arc::new(WriteKeys::new(["wk_test_key".to_string()])),
        retention_days: 730,
        alert_limits: Default::default(),
        signals: Default::default(),
        touches: Default::default(),
        caches: Default::default(),
        authenticator: Arc::new(vitals_http::DenyAll),
    });
    let body = segment_batch();
    let signature = sign("", &body);
    let (status, reply) = post(
        &router,
        "/v1/segment/webhook",
        &body,
        &[("X-Signature", &signature)],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("segment_webhook_secret_env"),
        "{reply}"
    );
}

/// What PostHog's HTTP webhook destination sends with the JSON body
/// `{"event": "{event}", "person": "{person}", "groups": "{groups}"}`.
fn posthog_body(uuid: &str, event: &str, properties: Value) -> Vec<u8> {
    json!({
        "event": {"uuid": uuid, "event": event, "distinct_id": "u1", "properties": properties,
                  "timestamp": "2026-03-10T09:00:00Z", "elements_chain": "",
                  "url": "https://us.posthog.com/project/1/events/x"},
        "person": {"id": "p-1", "name": "ana@acme.test", "url": "https://us.posthog.com/person/p-1",
                   "properties": {"email": "ana@acme.test"}},
        "groups": {"company": {"id": "acme", "type": "company", "index": 0,
                               "url": "https://us.posthog.com/groups/0/acme", "properties": {"name": "Acme"}}}
    })
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn posthog_webhook_events_land_on_their_group_once() {
    let (router, store) = app();
    let body = posthog_body("0190-1", "Report Built", json!({"format": "pdf"}));
    for _ in 0..2 {
        let (status, reply) = post(
            &router,
            "/v1/posthog/webhook",
            &body,
            &[("X-Vitals-Webhook-Secret", POSTHOG_SECRET)],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{reply}");
    }
    assert_eq!(
        rolled_up(&store, "acme").await,
        1,
        "a redelivery is deduplicated by uuid"
    );
}

#[tokio::test]
async fn posthog_groupidentify_names_the_account_but_sets_no_protected_trait() {
    let (router, store) = app();
    let body = posthog_body(
        "0190-2",
        "$groupidentify",
        json!({"$group_type": "company", "$group_key": "acme", "$group_set": {"name": "Acme", "seats": 25}}),
    );
    let (status, reply) = post(
        &router,
        "/v1/posthog/webhook",
        &body,
        &[("X-Vitals-Webhook-Secret", POSTHOG_SECRET)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(
        reply["ignored_traits"], 1,
        "seats, from a forwarded event: {reply}"
    );
    let profile = acme(&store).await;
    assert_eq!(profile.name.as_deref(), Some("Acme"));
    assert_eq!(profile.seats, None, "seats is a protected trait");
}

#[tokio::test]
async fn posthog_webhook_refuses_a_wrong_secret_and_names_a_missing_event() {
    let (router, _) = app();
    let body = posthog_body("0190-3", "Report Built", json!({}));
    let (status, _) = post(
        &router,
        "/v1/posthog/webhook",
        &body,
        &[("X-Vitals-Webhook-Secret", "wrong")],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = post(&router, "/v1/posthog/webhook", &body, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, reply) = post(
        &router,
        "/v1/posthog/webhook",
        br#"{"person": {}}"#,
        &[("X-Vitals-Webhook-Secret", POSTHOG_SECRET)],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("event"),
        "{reply}"
    );
}
