//! The queue contract against the embedded (SQLite) queue.

use vitals_embedded::{QueueSettings, SqliteQueue};
use vitals_tests::support::Must;
use vitals_tests::Backend;

async fn open_queue(max_receives: u32) -> Option<Backend<SqliteQueue>> {
    let dir = tempfile::tempdir().must("temp dir");
    let queue = SqliteQueue::open(
        &dir.path().join("queue.db"),
        "alerts",
        QueueSettings { max_receives },
    )
    .must("SqliteQueue::open");
    Some(Backend::keeping(queue, dir))
}

vitals_tests::queue_contract_tests!(sqlite, open_queue);

/// Beyond the shared contract: two named queues in one file do not see each other's messages.
#[tokio::test]
async fn queues_sharing_a_file_are_separate() {
    use vitals_core::ports::Queue;
    use vitals_tests::queue_contract::{message, receive_n};

    let dir = tempfile::tempdir().must("temp dir");
    let path = dir.path().join("queue.db");
    let settings = || QueueSettings { max_receives: 2 };
    let alerts = SqliteQueue::open(&path, "alerts", settings()).must("open alerts");
    let segments = SqliteQueue::open(&path, "segments", settings()).must("open segments");
    alerts.send(&[message("a-1", "alert")]).await.must("send");
    segments
        .send(&[message("s-1", "segment")])
        .await
        .must("send");
    let got = receive_n(&alerts, 1, std::time::Duration::from_secs(60)).await;
    assert_eq!(got[0].id, "a-1");
    let got = receive_n(&segments, 1, std::time::Duration::from_secs(60)).await;
    assert_eq!(got[0].id, "s-1");
    let more = alerts
        .receive(10, std::time::Duration::from_secs(60))
        .await
        .must("receive");
    assert!(more.is_empty(), "{more:?}");
}
