//! Sending in `SendMessageBatch` calls: at most 10 entries and 256 KiB per call, entries that
//! fail for a transient reason retried with backoff and jitter, the rest reported.

use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use vitals_core::ports::OutgoingMessage;
use vitals_core::QueueError;

use super::{SqsQueue, ID_ATTRIBUTE};
use crate::error::{classify, queue_error, queue_error_from, Class, Failure};

/// SQS's limits per `SendMessageBatch` call.
pub(crate) const MAX_ENTRIES: usize = 10;
pub(crate) const MAX_BATCH_BYTES: usize = 256 * 1024;

/// What a message counts against the batch size limit: body plus attribute name, type, value.
fn size_of(message: &OutgoingMessage) -> usize {
    message.body.len() + ID_ATTRIBUTE.len() + "String".len() + message.id.len()
}

/// Splits messages into batches SQS accepts, keeping their order.
pub(crate) fn batches(messages: &[OutgoingMessage]) -> Result<Vec<&[OutgoingMessage]>, QueueError> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, message) in messages.iter().enumerate() {
        let size = size_of(message);
        if size > MAX_BATCH_BYTES {
            return Err(QueueError::Rejected(format!(
                "message {} is {size} bytes, over the {MAX_BATCH_BYTES}-byte limit",
                message.id
            )));
        }
        if i - start == MAX_ENTRIES || bytes + size > MAX_BATCH_BYTES {
            out.push(&messages[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < messages.len() {
        out.push(&messages[start..]);
    }
    Ok(out)
}

fn entry(
    index: usize,
    message: &OutgoingMessage,
) -> Result<SendMessageBatchRequestEntry, QueueError> {
    let id = MessageAttributeValue::builder()
        .data_type("String")
        .string_value(&message.id)
        .build()
        .map_err(|e| QueueError::Rejected(format!("message attribute: {e}")))?;
    SendMessageBatchRequestEntry::builder()
        .id(index.to_string())
        .message_body(&message.body)
        .message_attributes(ID_ATTRIBUTE, id)
        .build()
        .map_err(|e| QueueError::Rejected(format!("batch entry: {e}")))
}

impl SqsQueue {
    /// Sends every message to `url`, or fails naming why some could not be sent.
    pub(crate) async fn send_to(
        &self,
        url: &str,
        messages: &[OutgoingMessage],
    ) -> Result<(), QueueError> {
        for batch in batches(messages)? {
            self.send_batch(url, batch).await?;
        }
        Ok(())
    }

    async fn send_batch(&self, url: &str, batch: &[OutgoingMessage]) -> Result<(), QueueError> {
        let mut pending: Vec<usize> = (0..batch.len()).collect();
        let mut attempt = 1;
        loop {
            let entries = pending
                .iter()
                .map(|&i| entry(i, &batch[i]))
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| queue_error("SendMessageBatch", e))?;
            let mut retry = Vec::new();
            for failed in out.failed() {
                let failure = Failure::Service {
                    code: Some(failed.code().to_owned()),
                    status: None,
                };
                let class = if failed.sender_fault() {
                    classify(&failure)
                } else {
                    Class::Retryable
                };
                match (class, failed.id().parse::<usize>()) {
                    (Class::Retryable, Ok(i)) if i < batch.len() => retry.push(i),
                    (Class::Retryable, _) => {
                        return Err(QueueError::Unavailable(
                            "SendMessageBatch: failure for an unknown entry".into(),
                        ))
                    }
                    (class, _) => {
                        return Err(queue_error_from("SendMessageBatch", &failure, class))
                    }
                }
            }
            if retry.is_empty() {
                return Ok(());
            }
            tracing::warn!(
                failed = retry.len(),
                attempt,
                "batch send partly failed, backing off"
            );
            if !self.send_backoff.wait_after(attempt).await {
                return Err(QueueError::Unavailable(format!(
                    "SendMessageBatch: {} messages not sent after {attempt} attempts",
                    retry.len()
                )));
            }
            attempt += 1;
            pending = retry;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(i: usize, body_len: usize) -> OutgoingMessage {
        OutgoingMessage {
            id: format!("m{i}"),
            body: "x".repeat(body_len),
        }
    }

    #[test]
    fn batches_hold_at_most_ten_messages_in_order() {
        let messages: Vec<_> = (0..23).map(|i| message(i, 10)).collect();
        let sizes: Vec<_> = batches(&messages)
            .unwrap()
            .iter()
            .map(|b| b.len())
            .collect();
        assert_eq!(sizes, [10, 10, 3]);
        let flat: Vec<_> = batches(&messages).unwrap().concat();
        assert_eq!(flat, messages);
    }

    #[test]
    fn batches_stay_under_the_size_limit() {
        let messages: Vec<_> = (0..4).map(|i| message(i, 100 * 1024)).collect();
        let sizes: Vec<_> = batches(&messages)
            .unwrap()
            .iter()
            .map(|b| b.len())
            .collect();
        assert_eq!(sizes, [2, 2]);
    }

    #[test]
    fn an_oversized_message_is_rejected() {
        let err = batches(&[message(0, MAX_BATCH_BYTES)]).unwrap_err();
        assert!(matches!(err, QueueError::Rejected(_)));
    }

    #[test]
    fn nothing_to_send_makes_no_batch() {
        assert!(batches(&[]).unwrap().is_empty());
    }
}
