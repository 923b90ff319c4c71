//! The queue contract: at-least-once delivery with visibility timeouts, retry with delay, a
//! dead-letter queue after [`MAX_RECEIVES`] receives, and replay. One public function per
//! behaviour of `vitals_core::ports::Queue`; run them through
//! [`queue_contract_tests!`](crate::queue_contract_tests).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use vitals_core::ports::{OutgoingMessage, Queue, ReceivedMessage};

use crate::support::Must;

/// The dead-letter threshold every queue under test is opened with.
pub const MAX_RECEIVES: u32 = 2;

/// Long enough that a message stays hidden for the rest of a test.
const IN_FLIGHT: Duration = Duration::from_secs(60);
/// How long a test waits for messages it expects before failing.
const PATIENCE: Duration = Duration::from_secs(15);

/// Expands to one `#[tokio::test]` per queue behaviour, inside `mod $backend`.
///
/// `$open` is an async fn taking the dead-letter threshold (`max_receives`) and returning
/// `Option<vitals_tests::Backend<Q>>` with a fresh, empty queue; `None` skips the test.
#[macro_export]
macro_rules! queue_contract_tests {
    ($backend:ident, $open:path) => {
        $crate::queue_contract_tests!(@each $backend, $open;
            sent_messages_are_received_with_their_ids_and_bodies,
            sending_nothing_is_fine,
            receive_returns_at_most_max,
            received_message_is_invisible_while_in_flight,
            message_not_deleted_comes_back_after_its_visibility_timeout,
            deleted_message_is_not_delivered_again,
            retry_later_brings_a_message_back_with_the_next_receive_count,
            retry_later_hides_the_message_for_the_delay,
            message_received_max_times_moves_to_dead_letters,
            dead_letters_are_listed_without_being_removed,
            replayed_dead_letter_is_delivered_again_with_a_fresh_count,
            replay_moves_at_most_max,
            more_than_ten_messages_are_sent_and_received,
            unicode_ids_and_large_bodies_are_preserved,
        );
    };
    (@each $backend:ident, $open:path; $($behaviour:ident),+ $(,)?) => {
        mod $backend {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    if let Some(backend) = $open($crate::queue_contract::MAX_RECEIVES).await {
                        $crate::queue_contract::$behaviour(&backend.port).await;
                    }
                }
            )+
        }
    };
}

pub fn message(id: &str, body: &str) -> OutgoingMessage {
    OutgoingMessage {
        id: id.to_string(),
        body: body.to_string(),
    }
}

pub fn messages(prefix: &str, count: usize) -> Vec<OutgoingMessage> {
    (0..count)
        .map(|i| {
            message(
                &format!("{prefix}-{i:03}"),
                &format!(r#"{{"alert":"{prefix}-{i}","n":{i}}}"#),
            )
        })
        .collect()
}

/// Receives until `want` messages have arrived (failing after [`PATIENCE`]).
pub async fn receive_n<Q: Queue>(
    queue: &Q,
    want: usize,
    visibility: Duration,
) -> Vec<ReceivedMessage> {
    let started = Instant::now();
    let mut got = Vec::new();
    while got.len() < want {
        let batch = queue.receive(10, visibility).await.must("receive");
        if batch.is_empty() {
            assert!(
                started.elapsed() < PATIENCE,
                "expected {want} messages within {PATIENCE:?}, received {}: {got:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        got.extend(batch);
    }
    assert_eq!(got.len(), want, "more messages than sent: {got:?}");
    got
}

/// Asserts nothing is delivered now (two receives, so one empty poll is not luck).
pub async fn assert_nothing_delivered<Q: Queue>(queue: &Q, why: &str) {
    for _ in 0..2 {
        let got = queue.receive(10, IN_FLIGHT).await.must("receive");
        assert!(got.is_empty(), "{why}: yet received {got:?}");
    }
}

/// Dead letters, waiting up to [`PATIENCE`] for `want` of them.
pub async fn dead_letters_n<Q: Queue>(queue: &Q, want: usize) -> Vec<ReceivedMessage> {
    let started = Instant::now();
    loop {
        let got = queue.dead_letters(10).await.must("dead_letters");
        if got.len() >= want || started.elapsed() > PATIENCE {
            assert_eq!(got.len(), want, "dead letters: {got:?}");
            return got;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// (id, body) pairs by id, for comparing what was sent with what arrived.
fn by_id<'a>(items: impl IntoIterator<Item = (&'a str, &'a str)>) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for (id, body) in items {
        let previous = map.insert(id.to_string(), body.to_string());
        assert!(previous.is_none(), "message {id:?} delivered twice");
    }
    map
}

fn sent(msgs: &[OutgoingMessage]) -> BTreeMap<String, String> {
    by_id(msgs.iter().map(|m| (m.id.as_str(), m.body.as_str())))
}

fn received(msgs: &[ReceivedMessage]) -> BTreeMap<String, String> {
    by_id(msgs.iter().map(|m| (m.id.as_str(), m.body.as_str())))
}

/// Receives a message `MAX_RECEIVES` times, handing it back each time, then once more so the
/// backend sees it is over the limit.
async fn exhaust<Q: Queue>(queue: &Q, count: usize) {
    for round in 1..=MAX_RECEIVES {
        let got = receive_n(queue, count, IN_FLIGHT).await;
        for m in &got {
            assert_eq!(m.receive_count, round, "receive count of {m:?}");
            queue
                .retry_later(&m.receipt, Duration::ZERO)
                .await
                .must("retry_later");
        }
    }
    assert_nothing_delivered(
        queue,
        "a message received max_receives times must go to the dead-letter queue",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------

pub async fn sent_messages_are_received_with_their_ids_and_bodies<Q: Queue>(queue: &Q) {
    let out = messages("alert", 3);
    queue.send(&out).await.must("send");
    let got = receive_n(queue, 3, IN_FLIGHT).await;
    assert_eq!(received(&got), sent(&out), "ids and bodies as sent");
    for m in &got {
        assert_eq!(m.receive_count, 1, "first delivery of {}", m.id);
        assert!(!m.receipt.is_empty(), "a receipt to delete with");
    }
}

pub async fn sending_nothing_is_fine<Q: Queue>(queue: &Q) {
    queue.send(&[]).await.must("send of no messages");
    assert_nothing_delivered(queue, "nothing was sent").await;
}

pub async fn receive_returns_at_most_max<Q: Queue>(queue: &Q) {
    queue.send(&messages("m", 5)).await.must("send");
    let mut seen = 0;
    let started = Instant::now();
    while seen < 5 {
        let got = queue.receive(2, IN_FLIGHT).await.must("receive of 2");
        assert!(got.len() <= 2, "receive(2) returned {}", got.len());
        seen += got.len();
        assert!(started.elapsed() < PATIENCE, "only {seen} of 5 received");
    }
    assert_eq!(seen, 5);
}

pub async fn received_message_is_invisible_while_in_flight<Q: Queue>(queue: &Q) {
    queue.send(&messages("m", 2)).await.must("send");
    let got = receive_n(queue, 2, IN_FLIGHT).await;
    assert_eq!(got.len(), 2);
    assert_nothing_delivered(queue, "both messages are in flight").await;
}

pub async fn message_not_deleted_comes_back_after_its_visibility_timeout<Q: Queue>(queue: &Q) {
    queue.send(&[message("m-1", "body")]).await.must("send");
    let first = receive_n(queue, 1, Duration::from_secs(1)).await;
    assert_eq!(first[0].receive_count, 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = receive_n(queue, 1, IN_FLIGHT).await;
    assert_eq!(again[0].id, "m-1");
    assert_eq!(again[0].body, "body");
    assert_eq!(again[0].receive_count, 2, "second delivery counted");
}

pub async fn deleted_message_is_not_delivered_again<Q: Queue>(queue: &Q) {
    queue.send(&messages("m", 2)).await.must("send");
    let got = receive_n(queue, 2, Duration::from_secs(1)).await;
    for m in &got {
        queue.delete(&m.receipt).await.must("delete");
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_nothing_delivered(queue, "both messages were deleted").await;
    assert!(
        queue.dead_letters(10).await.must("dead_letters").is_empty(),
        "deleted messages are not dead letters"
    );
}

pub async fn retry_later_brings_a_message_back_with_the_next_receive_count<Q: Queue>(queue: &Q) {
    queue.send(&[message("m-1", "body")]).await.must("send");
    let first = receive_n(queue, 1, IN_FLIGHT).await;
    queue
        .retry_later(&first[0].receipt, Duration::ZERO)
        .await
        .must("retry_later");
    let again = receive_n(queue, 1, IN_FLIGHT).await;
    assert_eq!(
        (again[0].id.as_str(), again[0].body.as_str()),
        ("m-1", "body")
    );
    assert_eq!(again[0].receive_count, 2);
    queue.delete(&again[0].receipt).await.must("delete");
}

pub async fn retry_later_hides_the_message_for_the_delay<Q: Queue>(queue: &Q) {
    queue.send(&[message("m-1", "body")]).await.must("send");
    let first = receive_n(queue, 1, IN_FLIGHT).await;
    queue
        .retry_later(&first[0].receipt, Duration::from_secs(2))
        .await
        .must("retry_later");
    assert_nothing_delivered(queue, "the retry delay has not passed").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let again = receive_n(queue, 1, IN_FLIGHT).await;
    assert_eq!(again[0].id, "m-1");
    assert_eq!(again[0].receive_count, 2);
}

pub async fn message_received_max_times_moves_to_dead_letters<Q: Queue>(queue: &Q) {
    let out = vec![message("poison", r#"{"bad":true}"#)];
    queue.send(&out).await.must("send");
    exhaust(queue, 1).await;
    let dead = dead_letters_n(queue, 1).await;
    assert_eq!(received(&dead), sent(&out), "dead letter keeps id and body");
    assert_nothing_delivered(queue, "dead letters are not delivered").await;
}

pub async fn dead_letters_are_listed_without_being_removed<Q: Queue>(queue: &Q) {
    let out = messages("poison", 2);
    queue.send(&out).await.must("send");
    exhaust(queue, 2).await;
    for look in 1..=3 {
        let dead = queue.dead_letters(10).await.must("dead_letters");
        assert_eq!(
            received(&dead),
            sent(&out),
            "look {look} at the dead letters"
        );
    }
    let one = queue.dead_letters(1).await.must("dead_letters(1)");
    assert_eq!(one.len(), 1, "dead_letters(max) returns at most max");
}

pub async fn replayed_dead_letter_is_delivered_again_with_a_fresh_count<Q: Queue>(queue: &Q) {
    let out = vec![message("poison", "retry me")];
    queue.send(&out).await.must("send");
    exhaust(queue, 1).await;
    dead_letters_n(queue, 1).await;
    let moved = queue
        .replay_dead_letters(10)
        .await
        .must("replay_dead_letters");
    assert_eq!(moved, 1);
    assert!(
        queue.dead_letters(10).await.must("dead_letters").is_empty(),
        "replayed letters leave the dead-letter queue"
    );
    let back = receive_n(queue, 1, IN_FLIGHT).await;
    assert_eq!(received(&back), sent(&out));
    assert_eq!(back[0].receive_count, 1, "fresh receive count after replay");
    queue.delete(&back[0].receipt).await.must("delete");
    assert_eq!(
        queue
            .replay_dead_letters(10)
            .await
            .must("replay_dead_letters"),
        0,
        "nothing left to replay"
    );
}

pub async fn replay_moves_at_most_max<Q: Queue>(queue: &Q) {
    let out = messages("poison", 3);
    queue.send(&out).await.must("send");
    exhaust(queue, 3).await;
    dead_letters_n(queue, 3).await;
    assert_eq!(
        queue
            .replay_dead_letters(2)
            .await
            .must("replay_dead_letters(2)"),
        2
    );
    assert_eq!(queue.dead_letters(10).await.must("dead_letters").len(), 1);
    let back = receive_n(queue, 2, IN_FLIGHT).await;
    assert_eq!(
        queue
            .replay_dead_letters(10)
            .await
            .must("replay_dead_letters"),
        1
    );
    let last = receive_n(queue, 1, IN_FLIGHT).await;
    let all: Vec<ReceivedMessage> = back.into_iter().chain(last).collect();
    assert_eq!(received(&all), sent(&out), "every message replayed once");
}

pub async fn more_than_ten_messages_are_sent_and_received<Q: Queue>(queue: &Q) {
    let out = messages("bulk", 25);
    queue.send(&out).await.must("send of 25");
    let got = receive_n(queue, 25, IN_FLIGHT).await;
    assert_eq!(received(&got), sent(&out), "all 25, once each");
    for m in &got {
        queue.delete(&m.receipt).await.must("delete");
    }
}

pub async fn unicode_ids_and_large_bodies_are_preserved<Q: Queue>(queue: &Q) {
    let big = format!(r#"{{"draft":"{}"}}"#, "Grüße, 你好 🚀 ".repeat(4000));
    let out = vec![
        message("alert:客户-42#eu:decline:2026-03-01", "Привет, мир — 🚀"),
        message(&"k".repeat(200), "  leading and trailing spaces  "),
        message("big", &big),
    ];
    queue.send(&out).await.must("send");
    let got = receive_n(queue, 3, IN_FLIGHT).await;
    assert_eq!(received(&got), sent(&out));
}
