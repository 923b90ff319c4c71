//! SQS implementation of the queue port: a work queue with a dead-letter queue (RedrivePolicy),
//! the idempotency key carried as the message attribute `vitals_id`.

mod admin;
mod send;

pub use admin::create_queue_pair;

use async_trait::async_trait;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message,
    MessageSystemAttributeName,
};
use aws_sdk_sqs::Client;
use std::time::Duration;
use vitals_core::ports::{OutgoingMessage, Queue, ReceivedMessage};
use vitals_core::QueueError;

use crate::error::queue_error;
use crate::retry::Backoff;

/// The message attribute holding [`OutgoingMessage::id`].
pub const ID_ATTRIBUTE: &str = "vitals_id";

/// SQS's limits per receive and per batch call.
const MAX_PER_CALL: u32 = 10;
/// Longest visibility timeout SQS accepts (12 hours).
const MAX_VISIBILITY_SECONDS: u64 = 43_200;
/// How long peeked or replayed dead letters stay hidden if resetting them fails.
const PEEK_VISIBILITY: Duration = Duration::from_secs(30);

/// Whole seconds for a visibility timeout, rounded up (a message must not come back early)
/// and capped at SQS's maximum.
pub(crate) fn visibility_seconds(d: Duration) -> i32 {
    let whole = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    i32::try_from(whole.min(MAX_VISIBILITY_SECONDS)).unwrap_or(i32::MAX)
}

/// The queue port over an SQS queue and its dead-letter queue.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
    dead_letter_url: String,
    send_backoff: Backoff,
}

impl SqsQueue {
    pub fn new(
        client: Client,
        queue_url: impl Into<String>,
        dead_letter_url: impl Into<String>,
    ) -> Self {
        SqsQueue {
            client,
            queue_url: queue_url.into(),
            dead_letter_url: dead_letter_url.into(),
            send_backoff: Backoff::default(),
        }
    }

    /// The backoff between attempts at batch entries SQS failed to accept.
    pub fn with_send_backoff(mut self, backoff: Backoff) -> Self {
        self.send_backoff = backoff;
        self
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    pub fn dead_letter_url(&self) -> &str {
        &self.dead_letter_url
    }

    /// Up to `max` messages from `url`, hidden for `visibility`.
    async fn receive_from(
        &self,
        url: &str,
        max: u32,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        let mut received = Vec::new();
        while (received.len() as u64) < u64::from(max) {
            let wanted = (max - received.len() as u32).min(MAX_PER_CALL);
            let out = self
                .client
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(wanted as i32)
                .visibility_timeout(visibility_seconds(visibility))
                .wait_time_seconds(0)
                .message_attribute_names(ID_ATTRIBUTE)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .send()
                .await
                .map_err(|e| queue_error("ReceiveMessage", e))?;
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                break;
            }
            received.extend(messages.into_iter().filter_map(received_message));
        }
        Ok(received)
    }

    /// Makes received messages of `url` visible again at once.
    async fn release(&self, url: &str, messages: &[ReceivedMessage]) -> Result<(), QueueError> {
        for group in messages.chunks(MAX_PER_CALL as usize) {
            let mut entries = Vec::with_capacity(group.len());
            for (i, m) in group.iter().enumerate() {
                entries.push(
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(&m.receipt)
                        .visibility_timeout(0)
                        .build()
                        .map_err(|e| QueueError::Rejected(format!("visibility entry: {e}")))?,
                );
            }
            let out = self
                .client
                .change_message_visibility_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| queue_error("ChangeMessageVisibilityBatch", e))?;
            if !out.failed().is_empty() {
                return Err(QueueError::Unavailable(format!(
                    "ChangeMessageVisibilityBatch: {} entries failed",
                    out.failed().len()
                )));
            }
        }
        Ok(())
    }

    async fn delete_all(&self, url: &str, messages: &[ReceivedMessage]) -> Result<(), QueueError> {
        for group in messages.chunks(MAX_PER_CALL as usize) {
            let mut entries = Vec::with_capacity(group.len());
            for (i, m) in group.iter().enumerate() {
                entries.push(
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(&m.receipt)
                        .build()
                        .map_err(|e| QueueError::Rejected(format!("delete entry: {e}")))?,
                );
            }
            let out = self
                .client
                .delete_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| queue_error("DeleteMessageBatch", e))?;
            if !out.failed().is_empty() {
                return Err(QueueError::Unavailable(format!(
                    "DeleteMessageBatch: {} entries failed",
                    out.failed().len()
                )));
            }
        }
        Ok(())
    }
}

/// The port's view of an SQS message; `None` (logged) for one without a receipt handle.
fn received_message(m: Message) -> Option<ReceivedMessage> {
    let Some(receipt) = m.receipt_handle else {
        tracing::warn!(message_id = ?m.message_id, "received a message without a receipt handle");
        return None;
    };
    let id = m
        .message_attributes
        .as_ref()
        .and_then(|a| a.get(ID_ATTRIBUTE))
        .and_then(|v| v.string_value.clone())
        .or(m.message_id)
        .unwrap_or_default();
    let receive_count = m
        .attributes
        .as_ref()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    Some(ReceivedMessage {
        id,
        body: m.body.unwrap_or_default(),
        receipt,
        receive_count,
    })
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, messages: &[OutgoingMessage]) -> Result<(), QueueError> {
        self.send_to(&self.queue_url, messages).await
    }

    async fn receive(
        &self,
        max: u32,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        self.receive_from(&self.queue_url, max, visibility).await
    }

    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        self.client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| queue_error("DeleteMessage", e))?;
        Ok(())
    }

    async fn retry_later(&self, receipt: &str, delay: Duration) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .visibility_timeout(visibility_seconds(delay))
            .send()
            .await
            .map_err(|e| queue_error("ChangeMessageVisibility", e))?;
        Ok(())
    }

    async fn dead_letters(&self, max: u32) -> Result<Vec<ReceivedMessage>, QueueError> {
        let peeked = self
            .receive_from(&self.dead_letter_url, max, PEEK_VISIBILITY)
            .await?;
        if let Err(e) = self.release(&self.dead_letter_url, &peeked).await {
            // They come back on their own once the short visibility passes.
            tracing::warn!(error = %e, "peeked dead letters not released at once");
        }
        Ok(peeked)
    }

    async fn replay_dead_letters(&self, max: u32) -> Result<u32, QueueError> {
        let letters = self
            .receive_from(&self.dead_letter_url, max, PEEK_VISIBILITY)
            .await?;
        let mut moved = 0u32;
        for (n, group) in letters.chunks(MAX_PER_CALL as usize).enumerate() {
            let outgoing: Vec<OutgoingMessage> = group
                .iter()
                .map(|m| OutgoingMessage {
                    id: m.id.clone(),
                    body: m.body.clone(),
                })
                .collect();
            if let Err(e) = self.send_to(&self.queue_url, &outgoing).await {
                let unsent = &letters[n * MAX_PER_CALL as usize..];
                if let Err(release) = self.release(&self.dead_letter_url, unsent).await {
                    tracing::warn!(error = %release, "unsent dead letters not released at once");
                }
                return Err(e);
            }
            // Sent but not deleted would replay twice later; consumers dedupe on the id.
            self.delete_all(&self.dead_letter_url, group).await?;
            moved += group.len() as u32;
        }
        tracing::info!(moved, "dead letters replayed");
        Ok(moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sqs::types::MessageAttributeValue;

    #[test]
    fn visibility_rounds_up_to_whole_seconds_and_is_capped() {
        assert_eq!(visibility_seconds(Duration::ZERO), 0);
        assert_eq!(visibility_seconds(Duration::from_millis(1)), 1);
        assert_eq!(visibility_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(visibility_seconds(Duration::from_secs(30)), 30);
        assert_eq!(visibility_seconds(Duration::from_secs(100_000)), 43_200);
    }

    #[test]
    fn a_received_message_carries_the_vitals_id_and_receive_count() {
        let m = Message::builder()
            .message_id("sqs-1")
            .receipt_handle("rh")
            .body("{}")
            .message_attributes(
                ID_ATTRIBUTE,
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("alert-7")
                    .build()
                    .unwrap(),
            )
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "3")
            .build();
        let r = received_message(m).unwrap();
        assert_eq!(r.id, "alert-7");
        assert_eq!(r.receive_count, 3);
        assert_eq!(r.receipt, "rh");
    }

    #[test]
    fn a_message_without_our_id_falls_back_to_the_sqs_id() {
        let m = Message::builder()
            .message_id("sqs-1")
            .receipt_handle("rh")
            .build();
        let r = received_message(m).unwrap();
        assert_eq!((r.id.as_str(), r.receive_count), ("sqs-1", 1));
        assert!(received_message(Message::builder().message_id("x").build()).is_none());
    }
}
