//! Raw events as per-account-per-day chunks, keyed (day, segment, account, chunk id) so a
//! retried request overwrites its chunk instead of adding one.

use async_trait::async_trait;
use chrono::NaiveDate;
use rusqlite::params;
use vitals_core::model::{AccountId, EventChunk};
use vitals_core::ports::{EventStore, StoreResult};
use vitals_core::segment::Segment;
use vitals_core::StoreError;

use crate::codec::{day_key, expiry_after_day};
use crate::store::SqliteStore;

/// A chunk ready to write: keys and the encoded payload.
struct ChunkRow {
    day: String,
    seg: u16,
    account_id: String,
    chunk_id: String,
    n: i64,
    payload: Vec<u8>,
    expires_at: i64,
}

impl ChunkRow {
    fn key(&self) -> (&str, u16, &str, &str) {
        (&self.day, self.seg, &self.account_id, &self.chunk_id)
    }
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn put_chunks(&self, chunks: &[EventChunk]) -> StoreResult<()> {
        if chunks.is_empty() {
            return Ok(());
        }
        // Encode before taking the write lock: compression is the slow part.
        let mut rows = chunks
            .iter()
            .map(|c| {
                Ok(ChunkRow {
                    day: day_key(c.day),
                    seg: c.segment().0,
                    account_id: c.account_id.as_str().to_string(),
                    chunk_id: c.chunk_id.clone(),
                    n: i64::try_from(c.events.len()).unwrap_or(i64::MAX),
                    payload: c.encode_events()?,
                    expires_at: expiry_after_day(c.day, self.retention_days),
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        // In key order: a large batch (an import's) then fills the same few index pages in turn.
        rows.sort_unstable_by(|a, b| a.key().cmp(&b.key()));
        self.db
            .write(move |tx| {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO event_chunks
                         (day, seg, account_id, chunk_id, n, payload, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (day, seg, account_id, chunk_id) DO UPDATE SET
                         n = excluded.n, payload = excluded.payload,
                         expires_at = excluded.expires_at",
                )?;
                for r in &rows {
                    stmt.execute(params![
                        r.day,
                        r.seg,
                        r.account_id,
                        r.chunk_id,
                        r.n,
                        r.payload,
                        r.expires_at
                    ])?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn chunks_for_segment_day(
        &self,
        segment: Segment,
        day: NaiveDate,
    ) -> StoreResult<Vec<EventChunk>> {
        let key = day_key(day);
        let rows = self
            .db
            .read(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT account_id, chunk_id, payload FROM event_chunks
                     WHERE day = ?1 AND seg = ?2 ORDER BY account_id, chunk_id",
                )?;
                let rows = stmt
                    .query_map(params![key, segment.0], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })?
                    .collect::<Result<Vec<(String, String, Vec<u8>)>, _>>()?;
                Ok(rows)
            })
            .await?;
        rows.into_iter()
            .map(|(account, chunk_id, payload)| {
                let account_id = AccountId::new(account)
                    .map_err(|e| StoreError::Corrupt(format!("stored account id: {e}")))?;
                decode_chunk(account_id, day, chunk_id, &payload)
            })
            .collect()
    }

    async fn chunks_for_account_day(
        &self,
        account: &AccountId,
        day: NaiveDate,
    ) -> StoreResult<Vec<EventChunk>> {
        let key = day_key(day);
        let seg = account.segment().0;
        let id = account.as_str().to_string();
        let rows = self
            .db
            .read(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT chunk_id, payload FROM event_chunks
                     WHERE day = ?1 AND seg = ?2 AND account_id = ?3 ORDER BY chunk_id",
                )?;
                let rows = stmt
                    .query_map(params![key, seg, id], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect::<Result<Vec<(String, Vec<u8>)>, _>>()?;
                Ok(rows)
            })
            .await?;
        rows.into_iter()
            .map(|(chunk_id, payload)| decode_chunk(account.clone(), day, chunk_id, &payload))
            .collect()
    }
}

fn decode_chunk(
    account_id: AccountId,
    day: NaiveDate,
    chunk_id: String,
    payload: &[u8],
) -> StoreResult<EventChunk> {
    Ok(EventChunk {
        account_id,
        day,
        chunk_id,
        events: EventChunk::decode_events(payload)?,
    })
}
