//! The dispatch Lambda's handler on a real SQS batch (moto): a mixed batch reports exactly the
//! failed items (`ReportBatchItemFailures`), and the failed one is hidden for a backoff.
//! Needs `VITALS_TEST_SQS_ENDPOINT`; skipped without it, failing instead when `CI=true`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use axum::http::StatusCode;
use axum::routing::post;
use dispatch::handler::{handle, Deps};
use vitals_aws::SqsQueue;
use vitals_core::alerts::dispatch::DispatchMessage;
use vitals_core::clock::SystemClock;
use vitals_core::model::{AccountId, AccountProfile};
use vitals_core::ports::{AccountStore, Queue};
use vitals_embedded::SqliteStore;
use vitals_notify::{HttpNotifier, Outbox};
use vitals_tests::support::{
    emulator_sdk_config, expansion_signal, expansion_webhook_alerts, serve_loopback, Must,
};
use vitals_tests::{emulator_endpoint, unique_name};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_sqs_batch_reports_exactly_the_failed_items() {
    let Some(endpoint) = emulator_endpoint("VITALS_TEST_SQS_ENDPOINT") else {
        return;
    };
    let sdk = emulator_sdk_config(&endpoint).await;
    let client = aws_sdk_sqs::Client::new(&sdk);
    let (queue_url, dlq_url) =
        vitals_aws::create_queue_pair(&client, &unique_name("vitals-dispatch"), 3)
            .await
            .must("create_queue_pair");
    let queue = SqsQueue::new(client.clone(), queue_url.clone(), dlq_url);

    // A receiver that fails for the "broken" account only.
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let g = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |body: String| {
            let g = g.clone();
            async move {
                g.lock().unwrap().push(body.clone());
                if body.contains("\"broken\"") {
                    StatusCode::BAD_GATEWAY
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let url = format!("{}/hook", serve_loopback(app).await);

    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("vitals.db")).unwrap();
    for a in ["ok-1", "broken", "ok-2"] {
        store
            .put_profile(
                &AccountId::new(a).unwrap(),
                &AccountProfile {
                    name: Some(a.into()),
                    ..AccountProfile::default()
                },
            )
            .await
            .unwrap();
    }
    let config = expansion_webhook_alerts(url);
    let notifier =
        HttpNotifier::from_config(&config, Arc::new(Outbox::new(dir.path())), |_| None).unwrap();

    let messages: Vec<_> = ["ok-1", "broken", "ok-2"]
        .iter()
        .map(|a| {
            DispatchMessage::Score(expansion_signal(a))
                .to_outgoing()
                .unwrap()
        })
        .collect();
    queue.send(&messages).await.must("send");

    // Receive the batch the way the Lambda service would hand it over.
    let mut records = Vec::new();
    for _ in 0..10 {
        let out = client
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .message_system_attribute_names(
                aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
            )
            .visibility_timeout(2)
            .send()
            .await
            .must("receive_message");
        for m in out.messages() {
            let mut record = SqsMessage::default();
            record.message_id = m.message_id().map(str::to_string);
            record.receipt_handle = m.receipt_handle().map(str::to_string);
            record.body = m.body().map(str::to_string);
            record.attributes =
                HashMap::from([("ApproximateReceiveCount".to_string(), "1".to_string())]);
            records.push(record);
        }
        if records.len() >= 3 {
            break;
        }
    }
    assert_eq!(records.len(), 3, "the whole batch was received");
    let broken_id = records
        .iter()
        .find(|r| r.body.as_deref().unwrap_or("").contains("\"broken\""))
        .and_then(|r| r.message_id.clone())
        .unwrap();
    let mut batch = SqsEvent::default();
    batch.records = records;

    let config = vitals_core::config::VitalsConfig {
        alerts: config,
        ..Default::default()
    };
    let deps = Deps {
        storage: &store,
        queue: &queue,
        notifier: &notifier,
        clock: &SystemClock,
        config: &config,
    };
    let response = handle(&deps, batch).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(
        failed,
        vec![broken_id],
        "exactly the failed item is reported"
    );
    assert_eq!(got.lock().unwrap().len(), 3);
    // The failed message is hidden for its backoff (at least 5 s), not redelivered when the
    // 2 s receive visibility ends as the (here undeleted) successful ones are.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let visible = client
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .must("receive_message");
    assert!(
        !visible.messages().is_empty(),
        "the undeleted successes came back"
    );
    assert!(
        visible
            .messages()
            .iter()
            .all(|m| !m.body().unwrap_or("").contains("\"broken\"")),
        "backoff keeps the failed one hidden"
    );
}
