//! The in-process alert dispatcher of `vitals serve`: the same work the dispatch Lambda does,
//! fed by the embedded queue instead of SQS. Emails go through `[alerts.email.smtp]` when it
//! is set, else to the outbox directory (`alerts.email.outbox`, default `<data>/outbox`);
//! Slack and webhooks are called directly. A message that failed for a reason that may pass
//! (a receiver down, a timeout) comes back after an exponential backoff with jitter; after the
//! queue's receive limit it moves to the dead-letter queue (`vitals dlq list` / `vitals dlq
//! replay`). A permanent failure (a refused destination, an unreadable message) is logged with
//! its reason and not retried, as the dispatch Lambda does: the intervention records why.
//! Every minute it also ends the snoozes that are over, queueing their reminders.

use std::time::{Duration, Instant};

use vitals_core::alerts::dispatch::{Dispatch, DispatchError, DispatchReport};
use vitals_core::alerts::lifecycle::AlertLifecycle;
use vitals_core::clock::SystemClock;
use vitals_core::error::QueueError;
use vitals_core::ports::{Queue, ReceivedMessage};
use vitals_notify::HttpNotifier;

use crate::context::Context;

/// How long a received alert message stays hidden while it is handled.
const VISIBILITY: Duration = Duration::from_secs(60);
/// First retry after about this long; doubling per attempt, at most [`BACKOFF_MAX`].
const BACKOFF_BASE: Duration = Duration::from_secs(5);
const BACKOFF_MAX: Duration = Duration::from_secs(600);
/// How often ended snoozes are looked for.
const SNOOZE_CHECK: Duration = Duration::from_secs(60);

/// Handles messages from the alert queue until the process stops: runs workflows, delivers
/// notifications, at least once and deduplicated by delivery key.
pub async fn run(ctx: Context) {
    let env = |k: &str| std::env::var(k).ok();
    let email = &ctx.config.alerts.email;
    let notifier = vitals_notify::email_transport(email, &ctx.data.join("outbox"), env)
        .and_then(|transport| HttpNotifier::from_config(&ctx.config.alerts, transport, env));
    let notifier = match notifier {
        Ok(n) => n,
        Err(e) => {
            tracing::error!(error = %e, "alert dispatch disabled: fix [alerts] and restart");
            return;
        }
    };
    match &email.smtp {
        Some(smtp) => {
            tracing::info!(smtp = %smtp.host, port = smtp.port, "alert dispatcher started")
        }
        None => {
            tracing::info!(outbox = ?email.outbox.clone().unwrap_or_else(|| ctx.data.join("outbox")), "alert dispatcher started")
        }
    }
    let queue = ctx.backend.alert_queue.clone();
    let storage = ctx.backend.storage.as_ref();
    let dispatch = Dispatch::new(storage, &notifier, &SystemClock, &ctx.config);
    let lifecycle = AlertLifecycle::new(storage, &SystemClock);
    let mut next_snooze_check = Instant::now();
    loop {
        if Instant::now() >= next_snooze_check {
            next_snooze_check = Instant::now() + SNOOZE_CHECK;
            match lifecycle.wake_snoozed(queue.as_ref()).await {
                Ok(woken) if !woken.is_empty() => {
                    tracing::info!(alerts = ?woken, "snoozes ended; reminders queued")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot end snoozes; retrying in a minute"),
            }
        }
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
            let outcome = dispatch.handle_body(&message.body).await;
            if let Err(e) = settle(queue.as_ref(), &message, outcome).await {
                tracing::warn!(id = %message.id, error = %e, "cannot settle alert message; it will be redelivered");
            }
        }
    }
}

/// Deletes a handled message or one that failed for good; hides one that may pass later for
/// a backoff (the queue dead-letters it after its receive limit).
async fn settle(
    queue: &dyn Queue,
    message: &ReceivedMessage,
    outcome: Result<DispatchReport, DispatchError>,
) -> Result<(), QueueError> {
    match outcome {
        Ok(report) => {
            if report.delivered > 0 {
                tracing::info!(id = %message.id, delivered = report.delivered, interventions = report.interventions.len(), "alert message handled");
            }
            queue.delete(&message.receipt).await
        }
        Err(problem) if !problem.is_retryable() => {
            tracing::error!(id = %message.id, %problem, "alert message failed for good; not retried");
            queue.delete(&message.receipt).await
        }
        Err(problem) => {
            let delay = vitals_notify::backoff(message.receive_count, BACKOFF_BASE, BACKOFF_MAX);
            tracing::warn!(id = %message.id, attempt = message.receive_count, retry_in_s = delay.as_secs(), %problem, "alert message failed; will retry");
            queue.retry_later(&message.receipt, delay).await
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    use chrono::{DateTime, Utc};
    use vitals_core::clock::Clock;
    use vitals_core::ports::OutgoingMessage;
    use vitals_embedded::{QueueSettings, SqliteQueue};

    /// Time the test moves by hand, so backoffs pass instantly.
    struct Hand(Mutex<DateTime<Utc>>);

    impl Clock for Hand {
        fn now(&self) -> DateTime<Utc> {
            *self.0.lock().unwrap()
        }
    }

    impl Hand {
        fn advance(&self, by: Duration) {
            *self.0.lock().unwrap() += chrono::Duration::from_std(by).unwrap();
        }
    }

    /// A queue holding `body`, received once (as the dispatcher's loop receives it).
    async fn received(body: &str) -> (SqliteQueue, Arc<Hand>, ReceivedMessage) {
        let hand = Arc::new(Hand(Mutex::new(Utc::now())));
        let queue = SqliteQueue::open_in_memory("alerts", QueueSettings { max_receives: 5 })
            .unwrap()
            .with_clock(hand.clone());
        let message = OutgoingMessage {
            id: "m1".into(),
            body: body.into(),
        };
        queue.send(&[message]).await.unwrap();
        let mut got = queue.receive(1, VISIBILITY).await.unwrap();
        (queue, hand, got.remove(0))
    }

    #[tokio::test]
    async fn a_permanent_failure_is_not_retried() {
        let (queue, hand, message) = received("not a dispatch message").await;
        let outcome = Err(DispatchError::Permanent("message is not JSON".into()));
        settle(&queue, &message, outcome).await.unwrap();
        hand.advance(BACKOFF_MAX * 2);
        assert!(queue.receive(10, VISIBILITY).await.unwrap().is_empty());
        assert!(queue.dead_letters(10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_failure_that_may_pass_comes_back_after_a_backoff() {
        let (queue, hand, message) = received("{}").await;
        let outcome = Err(DispatchError::Retryable("the webhook answered 503".into()));
        settle(&queue, &message, outcome).await.unwrap();
        assert!(
            queue.receive(10, VISIBILITY).await.unwrap().is_empty(),
            "hidden during the backoff"
        );
        hand.advance(BACKOFF_BASE);
        let again = queue.receive(10, VISIBILITY).await.unwrap();
        assert_eq!(again.len(), 1, "delivered again after the backoff");
        assert_eq!(again[0].receive_count, 2);
    }
}
