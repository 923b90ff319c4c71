//! Event chunks, packed: the chunks one `put_chunks` call holds for a (day, segment) share one
//! item (several past 350 KB) in the partition `CHUNK#{day}#{seg}`, named by a digest of its
//! chunks, so a request mixing many accounts costs about its compressed size in write units
//! instead of one unit per account-day, a retried request overwrites its items, and the daily run
//! reads one partition per segment (see [`super::schema::chunks`]).

use async_trait::async_trait;
use chrono::NaiveDate;
use vitals_core::model::{AccountId, EventChunk};
use vitals_core::ports::{EventStore, StoreResult};
use vitals_core::segment::Segment;

use super::schema::{chunks, queries};
use super::DynamoStore;

/// In (account, chunk id) order, each chunk once. A chunk can sit in two packs when a client
/// resent its events in a differently composed request; its copies hold the same message ids
/// (the id is their digest), so keeping one is what overwriting its item used to do.
fn once_in_account_then_chunk_order(mut chunks: Vec<EventChunk>) -> Vec<EventChunk> {
    // Explicit order: an account id containing a byte below '#' would sort differently as text.
    chunks.sort_by(|a, b| (&a.account_id, &a.chunk_id).cmp(&(&b.account_id, &b.chunk_id)));
    chunks.dedup_by(|a, b| a.account_id == b.account_id && a.chunk_id == b.chunk_id);
    chunks
}

#[async_trait]
impl EventStore for DynamoStore {
    async fn put_chunks(&self, chunks: &[EventChunk]) -> StoreResult<()> {
        let items = chunks::encode_packs(chunks, self.retention_days)?;
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
        let mut found = Vec::with_capacity(items.len());
        for item in items {
            found.extend(chunks::decode_chunks(item)?);
        }
        Ok(once_in_account_then_chunk_order(found))
    }

    /// Reads the account's whole segment-day and keeps its chunks: packs mix accounts. Costs
    /// what the daily run pays for the segment-day (0.5 read units per 4 KB of packs); the
    /// callers (a follow-up's response check, `vitals import verify`) are not on a hot
    /// path.
    async fn chunks_for_account_day(
        &self,
        account: &AccountId,
        day: NaiveDate,
    ) -> StoreResult<Vec<EventChunk>> {
        let mut found = self.chunks_for_segment_day(account.segment(), day).await?;
        found.retain(|c| c.account_id == *account);
        Ok(found)
    }
}
