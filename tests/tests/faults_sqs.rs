//! Issue 20: alert dispatch with SQS (moto) behind a proxy that fails, throttles, delays or
//! drops its requests (a delete whose answer is lost leaves the message to come back): every
//! notification still reaches the webhook exactly once, by its delivery key.
//! Needs `VITALS_TEST_SQS_ENDPOINT`; skipped without it (failing instead when `CI=true`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::routing::post;
use vitals_aws::SqsQueue;
use vitals_core::alerts::dispatch::{Dispatch, DispatchMessage};
use vitals_core::clock::SystemClock;
use vitals_core::config::VitalsConfig;
use vitals_core::model::{AccountId, AccountProfile};
use vitals_core::ports::{AccountStore, Queue};
use vitals_embedded::SqliteStore;
use vitals_notify::{HttpNotifier, Outbox};
use vitals_tests::fault_proxy::FaultProxy;
use vitals_tests::support::{
    emulator_endpoint, expansion_signal, expansion_webhook_alerts, serve_loopback, unique_name,
};

const ACCOUNTS: usize = 40;

fn config(url: String) -> VitalsConfig {
    VitalsConfig {
        alerts: expansion_webhook_alerts(url),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_notification_is_delivered_once_through_sqs_faults() {
    let Some(endpoint) = emulator_endpoint("VITALS_TEST_SQS_ENDPOINT") else {
        return;
    };
    let proxy = FaultProxy::start(&endpoint, 5).await;
    let sdk = proxy.sdk_config().await;
    let client = aws_sdk_sqs::Client::new(&sdk);
    let (queue_url, dlq_url) =
        vitals_aws::create_queue_pair(&client, &unique_name("faults-dispatch"), 20)
            .await
            .unwrap();
    let queue = SqsQueue::new(client, queue_url, dlq_url);

    // The webhook: counts what each account was sent.
    let got: Arc<Mutex<BTreeMap<String, u32>>> = Arc::default();
    let g = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |body: String| {
            let g = g.clone();
            async move {
                let account = body
                    .find("acct-")
                    .map_or("?", |at| &body[at..(at + 7).min(body.len())])
                    .to_string();
                *g.lock().unwrap().entry(account).or_default() += 1;
                StatusCode::OK
            }
        }),
    );
    let url = format!("{}/hook", serve_loopback(app).await);

    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("vitals.db")).unwrap();
    let accounts: Vec<String> = (0..ACCOUNTS).map(|i| format!("acct-{i:02}")).collect();
    for a in &accounts {
        let profile = AccountProfile {
            name: Some(a.clone()),
            ..AccountProfile::default()
        };
        store
            .put_profile(&AccountId::new(a).unwrap(), &profile)
            .await
            .unwrap();
    }
    let config = config(url);
    let notifier =
        HttpNotifier::from_config(&config.alerts, Arc::new(Outbox::new(dir.path())), |_| None)
            .unwrap();
    let dispatch = Dispatch::new(&store, &notifier, &SystemClock, &config);

    proxy.set_fault_share(0.3);
    for a in &accounts {
        let message = DispatchMessage::Score(expansion_signal(a))
            .to_outgoing()
            .unwrap();
        // A producer resends what it could not send (same id: SQS and dispatch dedupe it).
        let mut tries = 0;
        while queue.send(std::slice::from_ref(&message)).await.is_err() {
            tries += 1;
            assert!(tries < 20, "cannot send for {a}");
        }
    }

    // The dispatcher's loop, as `vitals serve` runs it, with a short visibility so messages
    // whose delete was lost come back within the test.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut quiet_rounds = 0;
    let (mut seen, mut crashed) = (std::collections::HashSet::new(), 0);
    while quiet_rounds < 4 {
        assert!(
            Instant::now() < deadline,
            "dispatch did not settle: {:?}",
            got.lock().unwrap()
        );
        let Ok(messages) = queue.receive(10, Duration::from_secs(2)).await else {
            continue;
        };
        if messages.is_empty() {
            let all_delivered = got.lock().unwrap().len() == ACCOUNTS;
            quiet_rounds = if all_delivered { quiet_rounds + 1 } else { 0 };
            tokio::time::sleep(Duration::from_millis(700)).await;
            continue;
        }
        quiet_rounds = 0;
        for message in messages {
            let first_time = seen.insert(message.id.clone());
            if dispatch.handle_body(&message.body).await.is_ok() {
                // Every third message, the dispatcher "crashes" after delivering and before
                // its delete, as a lost delete does too: the message comes back, and dispatch
                // must not deliver it again.
                if first_time && seen.len() % 3 == 0 {
                    crashed += 1;
                    continue;
                }
                queue.delete(&message.receipt).await.ok();
            }
        }
    }
    proxy.set_fault_share(0.0);
    eprintln!(
        "dispatch through SQS faults: {}; {crashed} messages left undeleted after delivery",
        proxy.counts().summary()
    );
    assert!(crashed > 5);
    assert!(
        proxy.counts().injected() > 10,
        "{}",
        proxy.counts().summary()
    );
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), ACCOUNTS, "every account notified: {got:?}");
    let doubled: Vec<_> = got.iter().filter(|(_, n)| **n != 1).collect();
    assert!(doubled.is_empty(), "notified more than once: {doubled:?}");
}
