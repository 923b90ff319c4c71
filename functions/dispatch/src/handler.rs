//! Translates an SQS batch into one `Dispatch` per message and the outcomes into a partial
//! batch response (`ReportBatchItemFailures`): only failed messages are named, so only they are
//! retried. A failed message is first hidden for an exponential backoff with jitter (its
//! visibility timeout); after the queue's `maxReceiveCount` it lands in the dead-letter queue.

use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use vitals_core::alerts::dispatch::Dispatch;
use vitals_core::clock::Clock;
use vitals_core::config::VitalsConfig;
use vitals_core::notify::Notifier;
use vitals_core::ports::{Queue, Storage};

/// First retry after about this long; doubling per attempt.
pub const BACKOFF_BASE: Duration = Duration::from_secs(10);
/// No retry waits longer (SQS allows 12 hours).
pub const BACKOFF_MAX: Duration = Duration::from_secs(900);

/// What the handler needs, built once per cold start.
pub struct Deps<'a> {
    pub storage: &'a dyn Storage,
    pub queue: &'a dyn Queue,
    pub notifier: &'a dyn Notifier,
    pub clock: &'a dyn Clock,
    pub config: &'a VitalsConfig,
}

pub async fn handle(deps: &Deps<'_>, event: SqsEvent) -> SqsBatchResponse {
    let dispatch = Dispatch::new(deps.storage, deps.notifier, deps.clock, deps.config);
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let outcome = match record.body.as_deref() {
            Some(body) => dispatch.handle_body(body).await.map(|_| ()),
            None => Err(vitals_core::alerts::dispatch::DispatchError::Permanent(
                "empty message body".into(),
            )),
        };
        if let Err(problem) = outcome {
            let attempt: u32 = record
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|c| c.parse().ok())
                .unwrap_or(1);
            let delay = vitals_notify::backoff(attempt, BACKOFF_BASE, BACKOFF_MAX);
            tracing::warn!(message_id = %id, attempt, retry_in_s = delay.as_secs(), retryable = problem.is_retryable(), %problem, "alert message failed; reported for retry");
            if let Some(receipt) = record.receipt_handle.as_deref() {
                if let Err(e) = deps.queue.retry_later(receipt, delay).await {
                    tracing::warn!(message_id = %id, error = %e, "cannot set the retry delay; the queue's visibility timeout applies");
                }
            }
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}
