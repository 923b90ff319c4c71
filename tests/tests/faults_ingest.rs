//! Issue 20: ingest on DynamoDB behind a proxy that fails, throttles, delays or drops requests
//! (some after they took effect). Clients resend a batch until it is accepted, as the SDKs do;
//! every event that got a 2xx is then counted exactly once: nothing lost, nothing doubled.
//! Needs `VITALS_TEST_DYNAMODB_ENDPOINT`; skipped without it (failing instead when `CI=true`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use chrono::NaiveDate;
use serde_json::json;
use tower::ServiceExt;
use vitals_core::clock::FixedClock;
use vitals_core::config::UsageMapping;
use vitals_core::model::AccountId;
use vitals_core::ports::EventStore;
use vitals_core::rollup::day_activity;
use vitals_http::{AppState, WriteKeys};
use vitals_tests::fault_proxy::FaultProxy;
use vitals_tests::support::{emulator_endpoint, emulator_sdk_config, unique_name};

const KEY: &str = "test-write-key";
const ACCOUNTS: usize = 6;
const BATCHES: usize = 150;
const PER_BATCH: usize = 40;

fn router(store: vitals_aws::DynamoStore) -> Router {
    vitals_http::ingest_router(AppState {
        storage: Arc::new(store),
        clock: Arc::new(FixedClock("2026-03-10T12:00:00Z".parse().unwrap())),
        write_keys: Arc::new(WriteKeys::new([KEY.to_string()])),
        retention_days: 730,
        alert_limits: Default::default(),
        signals: Default::default(),
        touches: Default::default(),
        caches: Default::default(),
        authenticator: Arc::new(vitals_http::DenyAll),
    })
}

fn day() -> NaiveDate {
    "2026-03-10".parse().unwrap()
}

/// Batch `b`: PER_BATCH tracks spread over the accounts; batches overlap by a few message ids
/// (an SDK's retry of a partly-acknowledged flush), so dedupe is tested beside the faults.
fn batch(b: usize) -> (String, Vec<(String, String)>) {
    let mut items = Vec::new();
    let mut ids = Vec::new();
    let first = b * (PER_BATCH - 5);
    for i in first..first + PER_BATCH {
        let account = format!("acct-{}", i % ACCOUNTS);
        let id = format!("m-{i}");
        items.push(
            json!({"type": "track", "messageId": id, "userId": format!("{account}-u{}", i % 7),
            "event": "Report Built", "timestamp": "2026-03-10T09:00:00Z",
            "context": {"groupId": account}}),
        );
        ids.push((account, id));
    }
    (json!({"batch": items}).to_string(), ids)
}

async fn post(router: &Router, body: &str) -> StatusCode {
    let request = Request::post("/v1/batch")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, "Basic dGVzdC13cml0ZS1rZXk6")
        .body(Body::from(body.to_string()))
        .unwrap();
    router.clone().oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn every_accepted_event_is_counted_once_through_dynamodb_faults() {
    let Some(endpoint) = emulator_endpoint("VITALS_TEST_DYNAMODB_ENDPOINT") else {
        return;
    };
    let proxy = FaultProxy::start(&endpoint, 11).await;
    let faulty_sdk = proxy.sdk_config().await;
    let faulty = aws_sdk_dynamodb::Client::new(&faulty_sdk);
    let table = unique_name("faults-ingest");
    vitals_aws::create_table(&faulty, &table).await.unwrap();
    let app = router(vitals_aws::DynamoStore::new(faulty, table.clone()));

    proxy.set_fault_share(0.25);
    let mut accepted: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    let (mut refused, mut server_errors) = (0, 0);
    for b in 0..BATCHES {
        let (body, ids) = batch(b);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let status = post(&app, &body).await;
            if status.is_success() {
                break;
            }
            assert!(
                status.is_server_error(),
                "a storage fault is a retryable 5xx, not {status}"
            );
            server_errors += 1;
            assert!(attempts < 30, "batch {b} never accepted");
        }
        if attempts > 1 {
            refused += 1;
        }
        for (account, id) in ids {
            accepted.entry(account).or_default().insert(id);
        }
    }
    proxy.set_fault_share(0.0);
    eprintln!(
        "ingest through faults: {}; {server_errors} answers were 5xx, {refused} batches resent",
        proxy.counts().summary()
    );
    assert!(
        proxy.counts().injected() > 20,
        "{}",
        proxy.counts().summary()
    );
    assert!(server_errors > 0, "some faults reach the client");

    let clean = vitals_aws::DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&emulator_sdk_config(&endpoint).await),
        table,
    );
    let mut total = 0;
    for (account, ids) in &accepted {
        let chunks = clean
            .chunks_for_account_day(&AccountId::new(account).unwrap(), day())
            .await
            .unwrap();
        let counted = day_activity(&chunks, &UsageMapping::default(), None).events;
        assert_eq!(
            counted as usize,
            ids.len(),
            "{account}: accepted vs counted"
        );
        total += counted;
    }
    eprintln!("{total} distinct events accepted, {total} counted");
}
