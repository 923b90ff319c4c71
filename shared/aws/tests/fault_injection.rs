//! Faults DynamoDB Local never produces, injected by a scripted fake endpoint: unprocessed
//! batch items, throttling, server errors and failed conditions must come back as retries,
//! `Unavailable` or `Conflict` as the ports promise — and a retried batch must not double
//! anything (it resends only what was left unprocessed).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::NaiveDate;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use vitals_aws::retry::Backoff;
use vitals_aws::{dynamodb_client, sdk_config, DynamoStore};
use vitals_core::model::{AccountId, EventChunk, EventKind, StoredEvent};
use vitals_core::ports::{AccountStore, EventStore};
use vitals_core::StoreError;

/// What the fake answers: (HTTP status, JSON body) for the n-th request (0-based).
type Script = dyn Fn(usize, &str, &Value) -> (u16, Value) + Send + Sync;

/// Requests seen: (X-Amz-Target operation, JSON body).
type Seen = Arc<Mutex<Vec<(String, Value)>>>;

async fn read_request(stream: &TcpStream, buf: &mut Vec<u8>) -> Option<(String, Value)> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let header = |name: &str| {
                head.lines()
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
            };
            let length: usize = header("content-length:")?.parse().ok()?;
            let target = header("x-amz-target:").unwrap_or_default();
            if buf.len() >= end + 4 + length {
                let body = serde_json::from_slice(&buf[end + 4..end + 4 + length]).ok()?;
                buf.drain(..end + 4 + length);
                let op = target.rsplit('.').next().unwrap_or_default().to_owned();
                return Some((op, body));
            }
        }
        stream.readable().await.ok()?;
        let mut chunk = [0u8; 16 * 1024];
        match stream.try_read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return None,
        }
    }
}

async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> Option<()> {
    while !bytes.is_empty() {
        stream.writable().await.ok()?;
        match stream.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return None,
        }
    }
    Some(())
}

/// Starts a fake DynamoDB endpoint following `script`; returns its store and the requests log.
async fn fake_store(script: Arc<Script>) -> (DynamoStore, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (script, log) = (script.clone(), log.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                while let Some((op, body)) = read_request(&stream, &mut buf).await {
                    let n = {
                        let mut log = log.lock().unwrap();
                        log.push((op.clone(), body.clone()));
                        log.len() - 1
                    };
                    let (status, reply) = script(n, &op, &body);
                    let reply = reply.to_string();
                    let response = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.0\r\n\
                         content-length: {}\r\n\r\n{reply}",
                        reply.len()
                    );
                    if write_all(&stream, response.as_bytes()).await.is_none() {
                        return;
                    }
                }
            });
        }
    });
    let client = dynamodb_client(&sdk_config(Some(&endpoint)).await);
    let quick = Backoff {
        max_attempts: 3,
        base: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    };
    (
        DynamoStore::new(client, "t").with_batch_backoff(quick),
        seen,
    )
}

/// `n` chunks on `n` different days: each is its own item (a call's chunks of one day and
/// segment would share one).
fn chunks(n: usize) -> Vec<EventChunk> {
    let first: NaiveDate = "2026-03-01".parse().unwrap();
    (0..n)
        .map(|i| {
            let day = first + chrono::Days::new(i as u64);
            let event = StoredEvent {
                message_id: format!("m-{i}"),
                kind: EventKind::Track,
                name: None,
                user_id: None,
                timestamp: day.and_hms_opt(0, 0, 0).unwrap().and_utc(),
                properties: Default::default(),
            };
            EventChunk::new(AccountId::new("acme").unwrap(), day, vec![event])
        })
        .collect()
}

fn batch_len(body: &Value) -> usize {
    body["RequestItems"]["t"].as_array().map_or(0, Vec::len)
}

fn error(kind: &str) -> Value {
    json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"), "message": "injected"})
}

#[tokio::test]
async fn unprocessed_items_are_resent_alone_until_written() {
    let script: Arc<Script> = Arc::new(|n, _, body| {
        if n == 0 {
            // Throttle three of the first 25.
            let left: Vec<Value> = body["RequestItems"]["t"].as_array().unwrap()[..3].to_vec();
            (200, json!({"UnprocessedItems": {"t": left}}))
        } else {
            (200, json!({"UnprocessedItems": {}}))
        }
    });
    let (store, seen) = fake_store(script).await;
    store.put_chunks(&chunks(30)).await.unwrap();
    let sizes: Vec<usize> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| batch_len(b))
        .collect();
    assert_eq!(
        sizes,
        [25, 3, 5],
        "groups of 25; the retry carries only the 3 unprocessed"
    );
}

#[tokio::test]
async fn items_left_unprocessed_after_every_attempt_are_unavailable() {
    let script: Arc<Script> = Arc::new(|_, _, body| {
        (
            200,
            json!({"UnprocessedItems": {"t": body["RequestItems"]["t"].clone()}}),
        )
    });
    let (store, seen) = fake_store(script).await;
    let err = store.put_chunks(&chunks(2)).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert_eq!(
        seen.lock().unwrap().len(),
        3,
        "bounded by the backoff's attempts"
    );
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_then_unavailable() {
    let script: Arc<Script> =
        Arc::new(|_, _, _| (400, error("ProvisionedThroughputExceededException")));
    let (store, seen) = fake_store(script).await;
    let err = store
        .get_account(&AccountId::new("acme").unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StoreError::Unavailable(
            "get account: ProvisionedThroughputExceededException (HTTP 400)".into()
        )
    );
    assert_eq!(
        seen.lock().unwrap().len(),
        vitals_aws::config::SDK_MAX_ATTEMPTS as usize
    );
}

#[tokio::test]
async fn a_server_error_that_clears_is_invisible_to_the_caller() {
    let script: Arc<Script> = Arc::new(|n, _, _| match n {
        0 => (500, error("InternalServerError")),
        _ => (200, json!({})),
    });
    let (store, seen) = fake_store(script).await;
    let got = store
        .get_account(&AccountId::new("acme").unwrap())
        .await
        .unwrap();
    assert_eq!(got, None);
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_validation_error_is_rejected_without_retry() {
    let script: Arc<Script> = Arc::new(|_, _, _| (400, error("ValidationException")));
    let (store, seen) = fake_store(script).await;
    let err = store.put_chunks(&chunks(1)).await.unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
    assert_eq!(seen.lock().unwrap().len(), 1);
}
