//! The in-process alert dispatcher of `vitals serve`: the same work the dispatch Lambda does,
//! fed by the embedded queue instead of SQS.

use std::time::Duration;

use vitals_core::alerts::OpenAlert;
use vitals_core::clock::SystemClock;
use vitals_core::score_event::ScoreEvent;

use crate::context::Context;

/// How long a received alert message stays hidden while it is handled.
const VISIBILITY: Duration = Duration::from_secs(60);

/// Handles score events from the alert queue: opens alerts, at least once, deduplicated.
pub async fn run(ctx: Context) {
    let queue = ctx.backend.alert_queue.clone();
    loop {
        let messages = match queue.receive(10, VISIBILITY).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the alert queue; retrying");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        if messages.is_empty() {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        for message in messages {
            let handled = match serde_json::from_str::<ScoreEvent>(&message.body) {
                Ok(event) => OpenAlert::new(ctx.backend.storage.as_ref(), &SystemClock)
                    .handle(&event)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                Err(e) => Err(format!("not a score event: {e}")),
            };
            let settled = match handled {
                Ok(()) => queue.delete(&message.receipt).await,
                Err(problem) => {
                    // Backoff doubles per attempt; after the queue's receive limit the message
                    // moves to the dead-letter queue for `vitals dlq`.
                    let delay =
                        Duration::from_secs(2u64.saturating_pow(message.receive_count.min(10)));
                    tracing::warn!(id = %message.id, attempt = message.receive_count, %problem, "alert message failed; will retry");
                    queue.retry_later(&message.receipt, delay).await
                }
            };
            if let Err(e) = settled {
                tracing::warn!(id = %message.id, error = %e, "cannot settle alert message; it will be redelivered");
            }
        }
    }
}
