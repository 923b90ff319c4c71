//! Event chunks: one item per (account, day, chunk id), in a partition per (day, segment), so a
//! retried ingest request overwrites its chunk and the daily run reads one partition per segment.

use async_trait::async_trait;
use chrono::NaiveDate;
use vitals_core::model::{AccountId, EventChunk};
use vitals_core::ports::{EventStore, StoreResult};
use vitals_core::segment::Segment;

use super::schema::{queries, records};
use super::DynamoStore;

fn in_account_then_chunk_order(mut chunks: Vec<EventChunk>) -> Vec<EventChunk> {
    // Sort keys are `{account}#{chunk}`; an account id containing a byte below '#' would sort
    // differently from (account, chunk), so order explicitly.
    chunks.sort_by(|a, b| (&a.account_id, &a.chunk_id).cmp(&(&b.account_id, &b.chunk_id)));
    chunks
}

#[async_trait]
impl EventStore for DynamoStore {
    async fn put_chunks(&self, chunks: &[EventChunk]) -> StoreResult<()> {
        let items = chunks
            .iter()
            .map(|c| records::encode_chunk(c, self.retention_days))
            .collect::<StoreResult<Vec<_>>>()?;
        self.batch_put("put chunks", items).await
    }

    async fn chunks_for_segment_day(
        &self,
        segment: Segment,
        day: NaiveDate,
    ) -> StoreResult<Vec<EventChunk>> {
        let items = self
            .query_all(&queries::chunks_of_segment_day(segment, day))
            .await?;
        let chunks = items
            .into_iter()
            .map(records::decode_chunk)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(in_account_then_chunk_order(chunks))
    }

    async fn chunks_for_account_day(
        &self,
        account: &AccountId,
        day: NaiveDate,
    ) -> StoreResult<Vec<EventChunk>> {
        let items = self
            .query_all(&queries::chunks_of_account_day(account, day))
            .await?;
        let mut chunks = Vec::with_capacity(items.len());
        for item in items {
            let chunk = records::decode_chunk(item)?;
            // The sort-key prefix `acme#` also matches an account named `acme#x`.
            if chunk.account_id == *account {
                chunks.push(chunk);
            }
        }
        Ok(in_account_then_chunk_order(chunks))
    }
}
