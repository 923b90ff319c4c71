//! Translates an SQS batch into one `Dispatch` per message and the outcomes into a partial
//! batch response (`ReportBatchItemFailures`): only failed messages that may succeed later are
//! named, so only they are retried. Such a message is first hidden for an exponential backoff
//! with jitter (its visibility timeout); after the queue's `maxReceiveCount` it lands in the
//! dead-letter queue. A permanent failure (a refused destination) is logged and not retried:
//! the intervention already records why.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use vitals_core::alerts::dispatch::{Dispatch, DispatchMessage};
use vitals_core::clock::Clock;
use vitals_core::config::VitalsConfig;
use vitals_core::notify::Notifier;
use vitals_core::ports::{Queue, Storage};
use vitals_runtime::lambda::{each_record, record_account, RecordFailure};

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
    let dispatch = &Dispatch::new(deps.storage, deps.notifier, deps.clock, deps.config);
    each_record(event, |message: DispatchMessage, record| async move {
        if let Some(account) = message.account_id() {
            record_account(account);
        }
        let problem = match dispatch.handle(&message).await {
            Ok(_) => return Ok(()),
            Err(problem) if !problem.is_retryable() => {
                return Err(RecordFailure::Permanent(problem.to_string()))
            }
            Err(problem) => problem,
        };
        let attempt: u32 = record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1);
        let delay = vitals_notify::backoff(attempt, BACKOFF_BASE, BACKOFF_MAX);
        tracing::info!(attempt, retry_in_s = delay.as_secs(), "retry after a backoff");
        if let Some(receipt) = record.receipt_handle.as_deref() {
            if let Err(e) = deps.queue.retry_later(receipt, delay).await {
                tracing::warn!(error = %e, "cannot set the retry delay; the queue's visibility timeout applies");
            }
        }
        Err(RecordFailure::Retry(problem.to_string()))
    })
    .await
}
