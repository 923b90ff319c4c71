//! Translates an SQS batch into one `OpenAlert` per message and the outcomes into a partial
//! batch response: a message that failed is named, so only it is retried (and after the
//! queue's receive limit lands in the dead-letter queue).

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use vitals_core::alerts::OpenAlert;
use vitals_core::clock::SystemClock;
use vitals_core::score_event::ScoreEvent;
use vitals_runtime::backend::Backend;

pub async fn handle(backend: &Backend, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let outcome = match record
            .body
            .as_deref()
            .map(serde_json::from_str::<ScoreEvent>)
        {
            Some(Ok(score_event)) => OpenAlert::new(backend.storage.as_ref(), &SystemClock)
                .handle(&score_event)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Some(Err(e)) => Err(format!("not a score event: {e}")),
            None => Err("empty message body".to_string()),
        };
        if let Err(problem) = outcome {
            tracing::warn!(message_id = %id, %problem, "alert message failed; reported for retry");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}
