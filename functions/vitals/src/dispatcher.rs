//! The in-process alert dispatcher of `vitals serve`: the same work the dispatch Lambda does,
//! fed by the embedded queue instead of SQS. Emails go through `[alerts.email.smtp]` when it
//! is set, else to the outbox directory (`alerts.email.outbox`, default `<data>/outbox`);
//! Slack and webhooks are called directly. A failed message comes back after an exponential
//! backoff with jitter; after the queue's receive limit it moves to the dead-letter queue
//! (`vitals dlq list` / `vitals dlq replay`). Every minute it also ends the snoozes that are
//! over, queueing their reminders.

use std::time::{Duration, Instant};

use vitals_core::alerts::dispatch::Dispatch;
use vitals_core::alerts::lifecycle::AlertLifecycle;
use vitals_core::clock::SystemClock;
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
            let settled = match dispatch.handle_body(&message.body).await {
                Ok(report) => {
                    if report.delivered > 0 {
                        tracing::info!(id = %message.id, delivered = report.delivered, interventions = report.interventions.len(), "alert message handled");
                    }
                    queue.delete(&message.receipt).await
                }
                Err(problem) => {
                    let delay =
                        vitals_notify::backoff(message.receive_count, BACKOFF_BASE, BACKOFF_MAX);
                    tracing::warn!(id = %message.id, attempt = message.receive_count, retry_in_s = delay.as_secs(), %problem, "alert message failed; will retry");
                    queue.retry_later(&message.receipt, delay).await
                }
            };
            if let Err(e) = settled {
                tracing::warn!(id = %message.id, error = %e, "cannot settle alert message; it will be redelivered");
            }
        }
    }
}
