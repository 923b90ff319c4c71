//! Creates a work queue and its dead-letter queue, wired by a RedrivePolicy, for tests,
//! emulators and local admin. Production queues come from the SAM template.

use aws_sdk_sqs::types::QueueAttributeName;
use aws_sdk_sqs::Client;
use std::collections::HashMap;
use vitals_core::QueueError;

use crate::error::queue_error;

/// Dead letters are kept as long as SQS allows (14 days), for inspection and replay.
const DEAD_LETTER_RETENTION_SECONDS: &str = "1209600";

/// Creates `{name}-dlq` and `{name}` (whose messages move to the former after `max_receives`
/// receives) and returns their URLs `(queue, dead_letter_queue)`. Idempotent: existing queues
/// are reused and their attributes set.
pub async fn create_queue_pair(
    client: &Client,
    name: &str,
    max_receives: u32,
) -> Result<(String, String), QueueError> {
    let dlq_attributes = HashMap::from([(
        QueueAttributeName::MessageRetentionPeriod,
        DEAD_LETTER_RETENTION_SECONDS.to_owned(),
    )]);
    let dlq_url = ensure_queue(client, &format!("{name}-dlq"), dlq_attributes).await?;
    let arn = client
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| queue_error("GetQueueAttributes", e))?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| QueueError::Rejected("dead-letter queue has no ARN".into()))?;
    let policy = serde_json::json!({
        "deadLetterTargetArn": arn,
        "maxReceiveCount": max_receives.to_string(),
    });
    let attributes = HashMap::from([(QueueAttributeName::RedrivePolicy, policy.to_string())]);
    let url = ensure_queue(client, name, attributes).await?;
    Ok((url, dlq_url))
}

async fn ensure_queue(
    client: &Client,
    name: &str,
    attributes: HashMap<QueueAttributeName, String>,
) -> Result<String, QueueError> {
    let created = client
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attributes.clone()))
        .send()
        .await;
    match created {
        Ok(out) => out
            .queue_url
            .ok_or_else(|| QueueError::Rejected(format!("queue {name}: no URL returned"))),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_queue_name_exists()) =>
        {
            let url = client
                .get_queue_url()
                .queue_name(name)
                .send()
                .await
                .map_err(|e| queue_error("GetQueueUrl", e))?
                .queue_url
                .ok_or_else(|| QueueError::Rejected(format!("queue {name}: no URL returned")))?;
            client
                .set_queue_attributes()
                .queue_url(&url)
                .set_attributes(Some(attributes))
                .send()
                .await
                .map_err(|e| queue_error("SetQueueAttributes", e))?;
            Ok(url)
        }
        Err(e) => Err(queue_error("CreateQueue", e)),
    }
}
