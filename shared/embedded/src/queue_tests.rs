//! The queue's contract (SQS with a redrive policy) as the embedded queue implements it,
//! including several handles on one file receiving at once.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use vitals_core::clock::Clock;
use vitals_core::ports::{OutgoingMessage, Queue};
use vitals_core::QueueError;

use crate::{QueueSettings, SqliteQueue};

/// A clock tests move by hand.
struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    fn new() -> Arc<Self> {
        Arc::new(ManualClock(Mutex::new(
            "2026-03-01T06:00:00Z".parse().unwrap(),
        )))
    }

    fn advance(&self, secs: i64) {
        let mut now = self.0.lock().unwrap();
        *now += TimeDelta::seconds(secs);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

fn message(id: &str) -> OutgoingMessage {
    OutgoingMessage {
        id: id.to_string(),
        body: format!("{{\"alert\":\"{id}\"}}"),
    }
}

fn queue_with_clock(max_receives: u32) -> (SqliteQueue, Arc<ManualClock>) {
    let clock = ManualClock::new();
    let queue = SqliteQueue::open_in_memory("alerts", QueueSettings { max_receives })
        .unwrap()
        .with_clock(clock.clone());
    (queue, clock)
}

const VISIBILITY: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_received_message_is_hidden_until_its_visibility_ends() {
    let (queue, clock) = queue_with_clock(5);
    queue.send(&[message("a")]).await.unwrap();

    let first = queue.receive(10, VISIBILITY).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].id, "a");
    assert_eq!(first[0].receive_count, 1);
    assert!(queue.receive(10, VISIBILITY).await.unwrap().is_empty());

    clock.advance(31);
    let again = queue.receive(10, VISIBILITY).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].receive_count, 2);
    assert_ne!(again[0].receipt, first[0].receipt);
}

#[tokio::test]
async fn deleting_ends_a_message_and_deleting_twice_is_fine() {
    let (queue, clock) = queue_with_clock(5);
    queue.send(&[message("a")]).await.unwrap();
    let got = queue.receive(1, VISIBILITY).await.unwrap();
    queue.delete(&got[0].receipt).await.unwrap();
    queue.delete(&got[0].receipt).await.unwrap();
    clock.advance(60);
    assert!(queue.receive(10, VISIBILITY).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_stale_receipt_cannot_delete_a_message_received_again() {
    let (queue, clock) = queue_with_clock(5);
    queue.send(&[message("a")]).await.unwrap();
    let slow = queue.receive(1, VISIBILITY).await.unwrap();
    clock.advance(31);
    let fast = queue.receive(1, VISIBILITY).await.unwrap();

    let stale = queue.delete(&slow[0].receipt).await;
    assert!(matches!(stale, Err(QueueError::Rejected(_))), "{stale:?}");
    let stale = queue.retry_later(&slow[0].receipt, Duration::ZERO).await;
    assert!(matches!(stale, Err(QueueError::Rejected(_))), "{stale:?}");
    // The current holder still owns it.
    queue.delete(&fast[0].receipt).await.unwrap();
}

#[tokio::test]
async fn malformed_receipts_are_rejected() {
    let (queue, _clock) = queue_with_clock(5);
    for receipt in ["", "abc", "1.xyz", "dead.1"] {
        let got = queue.delete(receipt).await;
        assert!(
            matches!(got, Err(QueueError::Rejected(_))),
            "{receipt}: {got:?}"
        );
    }
}

#[tokio::test]
async fn retry_later_brings_the_message_back_after_the_delay() {
    let (queue, clock) = queue_with_clock(5);
    queue.send(&[message("a")]).await.unwrap();
    let got = queue.receive(1, Duration::from_secs(3600)).await.unwrap();
    queue
        .retry_later(&got[0].receipt, Duration::from_secs(10))
        .await
        .unwrap();
    clock.advance(9);
    assert!(queue.receive(1, VISIBILITY).await.unwrap().is_empty());
    clock.advance(1);
    let again = queue.receive(1, VISIBILITY).await.unwrap();
    assert_eq!(again[0].id, "a");
    assert_eq!(again[0].receive_count, 2);
}

#[tokio::test]
async fn a_message_received_max_times_goes_to_the_dead_letter_queue() {
    let (queue, clock) = queue_with_clock(3);
    queue
        .send(&[message("poison"), message("ok")])
        .await
        .unwrap();
    for attempt in 1..=3 {
        let got = queue.receive(10, VISIBILITY).await.unwrap();
        let poison = got.iter().find(|m| m.id == "poison").unwrap();
        assert_eq!(poison.receive_count, attempt);
        if let Some(ok) = got.iter().find(|m| m.id == "ok") {
            queue.delete(&ok.receipt).await.unwrap();
        }
        clock.advance(31);
    }
    assert!(queue.receive(10, VISIBILITY).await.unwrap().is_empty());

    let dead = queue.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, "poison");
    assert_eq!(dead[0].receive_count, 3);
    // Peeking leaves them there.
    assert_eq!(queue.dead_letters(10).await.unwrap(), dead);

    assert_eq!(queue.replay_dead_letters(10).await.unwrap(), 1);
    assert!(queue.dead_letters(10).await.unwrap().is_empty());
    let replayed = queue.receive(10, VISIBILITY).await.unwrap();
    assert_eq!(replayed.len(), 1);
    assert_eq!(replayed[0].id, "poison");
    assert_eq!(replayed[0].receive_count, 1);
}

#[tokio::test]
async fn a_receipt_from_before_dead_lettering_does_not_touch_the_replayed_message() {
    let (queue, clock) = queue_with_clock(1);
    queue.send(&[message("a")]).await.unwrap();
    let old = queue.receive(1, VISIBILITY).await.unwrap();
    clock.advance(31);
    assert!(queue.receive(1, VISIBILITY).await.unwrap().is_empty());
    queue.replay_dead_letters(10).await.unwrap();
    let stale = queue.delete(&old[0].receipt).await;
    assert!(matches!(stale, Err(QueueError::Rejected(_))), "{stale:?}");
    assert_eq!(queue.receive(1, VISIBILITY).await.unwrap().len(), 1);
}

#[tokio::test]
async fn zero_visibility_never_hands_a_message_out_twice_in_one_receive() {
    let (queue, _clock) = queue_with_clock(5);
    queue.send(&[message("a"), message("b")]).await.unwrap();
    let got = queue.receive(10, Duration::ZERO).await.unwrap();
    let ids: Vec<_> = got.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    // Visible again at once, as SQS does.
    assert_eq!(queue.receive(10, Duration::ZERO).await.unwrap().len(), 2);
}

#[tokio::test]
async fn max_receives_of_zero_is_refused() {
    let got = SqliteQueue::open_in_memory("alerts", QueueSettings { max_receives: 0 });
    assert!(matches!(got, Err(QueueError::Rejected(_))), "{got:?}");
}

#[tokio::test]
async fn queues_sharing_a_file_are_separate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.db");
    let alerts = SqliteQueue::open(&path, "alerts", QueueSettings::default()).unwrap();
    let scoring = SqliteQueue::open(&path, "scoring", QueueSettings::default()).unwrap();
    alerts.send(&[message("a")]).await.unwrap();
    assert!(scoring.receive(10, VISIBILITY).await.unwrap().is_empty());
    let got = alerts.receive(10, VISIBILITY).await.unwrap();
    let foreign = scoring.delete(&got[0].receipt).await;
    assert!(
        matches!(foreign, Err(QueueError::Rejected(_))),
        "{foreign:?}"
    );
}

#[tokio::test]
async fn sent_messages_survive_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.db");
    let queue = SqliteQueue::open(&path, "alerts", QueueSettings::default()).unwrap();
    queue.send(&[message("a")]).await.unwrap();
    std::mem::forget(queue);
    let reopened = SqliteQueue::open(&path, "alerts", QueueSettings::default()).unwrap();
    let got = reopened.receive(10, VISIBILITY).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, "a");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn receivers_on_separate_handles_never_get_the_same_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.db");
    let sender = SqliteQueue::open(&path, "alerts", QueueSettings::default()).unwrap();
    let ids: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
    let batch: Vec<_> = ids.iter().map(|id| message(id)).collect();
    sender.send(&batch).await.unwrap();

    let mut workers = Vec::new();
    for _ in 0..4 {
        let queue = SqliteQueue::open(&path, "alerts", QueueSettings::default()).unwrap();
        workers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let batch = queue.receive(7, Duration::from_secs(600)).await.unwrap();
                if batch.is_empty() {
                    return got;
                }
                got.extend(batch.into_iter().map(|m| m.id));
            }
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), 200, "a message was delivered twice");
    assert_eq!(unique, ids.into_iter().collect::<HashSet<_>>());
}
