//! Late-event marks: one item per (day, mark id) under one partition (`LATE`), read whole by
//! the next run and deleted once it has recomputed their days.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
use chrono::NaiveDate;
use vitals_core::ports::{LateEventStore, StoreResult};
use vitals_core::run::LateMark;
use vitals_core::StoreError;

use super::batch::BATCH_SIZE;
use super::schema::{queries, records};
use super::DynamoStore;

#[async_trait]
impl LateEventStore for DynamoStore {
    async fn put_late_marks(&self, marks: &[LateMark]) -> StoreResult<()> {
        self.put_each("put late marks", marks, records::encode_late_mark)
            .await
    }

    async fn late_marks(&self, day: Option<NaiveDate>) -> StoreResult<Vec<LateMark>> {
        self.query_decoded(Some(queries::late_marks(day)), records::decode_late_mark)
            .await
    }

    async fn delete_late_marks(&self, marks: &[LateMark]) -> StoreResult<()> {
        let mut keys: Vec<records::Key> = marks.iter().map(records::late_mark_key).collect();
        keys.sort();
        keys.dedup();
        for group in keys.chunks(BATCH_SIZE) {
            let requests = group
                .iter()
                .map(|key| {
                    let delete = DeleteRequest::builder()
                        .set_key(Some(key.to_item()?))
                        .build()
                        .map_err(|e| StoreError::Rejected(format!("delete late marks: {e}")))?;
                    Ok(WriteRequest::builder().delete_request(delete).build())
                })
                .collect::<StoreResult<Vec<_>>>()?;
            self.write_group("delete late marks", requests).await?;
        }
        Ok(())
    }
}
