//! Scoring-run checkpoints, one per (run, segment), so a crashed run resumes where it stopped.

use async_trait::async_trait;
use vitals_core::model::Checkpoint;
use vitals_core::ports::{CheckpointStore, StoreResult};
use vitals_core::segment::Segment;

use crate::codec::{expiry_after, to_json};
use crate::store::{SqliteStore, CHECKPOINT_RETENTION_DAYS};
use crate::summaries::ListingChange;

#[async_trait]
impl CheckpointStore for SqliteStore {
    async fn get_checkpoint(
        &self,
        run_id: &str,
        segment: Segment,
    ) -> StoreResult<Option<Checkpoint>> {
        self.body_of(
            "SELECT body FROM checkpoints WHERE run_id = ?1 AND seg = ?2",
            (run_id.to_string(), segment.0),
        )
        .await
    }

    async fn put_checkpoint(&self, checkpoint: &Checkpoint) -> StoreResult<()> {
        let run = checkpoint.run_id.clone();
        let seg = checkpoint.segment.0;
        let body = to_json(checkpoint)?;
        let expires_at = expiry_after(checkpoint.updated_at, CHECKPOINT_RETENTION_DAYS);
        self.put_body(
            "INSERT INTO checkpoints (run_id, seg, body, expires_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (run_id, seg) DO UPDATE SET
                 body = excluded.body, expires_at = excluded.expires_at",
            (run, seg, body, expires_at),
            ListingChange::Keeps,
        )
        .await
    }

    async fn list_checkpoints(&self, run_id: &str) -> StoreResult<Vec<Checkpoint>> {
        self.bodies_of(
            "SELECT body FROM checkpoints WHERE run_id = ?1 ORDER BY seg",
            (run_id.to_string(),),
        )
        .await
    }
}
