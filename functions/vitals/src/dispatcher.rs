//! The in-process alert dispatcher of `vitals serve`: the same work the dispatch Lambda does,
//! fed by the embedded queue instead of SQS. Emails go to the outbox directory
//! (`alerts.email.outbox`, default `<data>/outbox`); Slack and webhooks are called directly.
//! A failed message comes back after an exponential backoff with jitter; after the queue's
//! receive limit it moves to the dead-letter queue (`vitals dlq list` / `vitals dlq replay`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use vitals_core::alerts::dispatch::Dispatch;
use vitals_core::clock::SystemClock;
use vitals_notify::{HttpNotifier, Outbox};

use crate::context::Context;

/// How long a received alert message stays hidden while it is handled.
const VISIBILITY: Duration = Duration::from_secs(60);
/// First retry after about this long; doubling per attempt, at most [`BACKOFF_MAX`].
const BACKOFF_BASE: Duration = Duration::from_secs(5);
const BACKOFF_MAX: Duration = Duration::from_secs(600);

/// The outbox directory: configured, else `outbox` in the data directory.
fn outbox_dir(ctx: &Context) -> PathBuf {
    if let Some(dir) = &ctx.config.alerts.email.outbox {
        return dir.clone();
    }
    ctx.data.join("outbox")
}

/// Handles messages from the alert queue until the process stops: runs workflows, delivers
/// notifications, at least once and deduplicated by delivery key.
pub async fn run(ctx: Context) {
    let outbox = outbox_dir(&ctx);
    let notifier =
        match HttpNotifier::from_config(&ctx.config.alerts, Arc::new(Outbox::new(&outbox)), |k| {
            std::env::var(k).ok()
        }) {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "alert dispatch disabled: fix [alerts] and restart");
                return;
            }
        };
    tracing::info!(outbox = %outbox.display(), "alert dispatcher started");
    let queue = ctx.backend.alert_queue.clone();
    let dispatch = Dispatch::new(
        ctx.backend.storage.as_ref(),
        &notifier,
        &SystemClock,
        &ctx.config.alerts,
    );
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
