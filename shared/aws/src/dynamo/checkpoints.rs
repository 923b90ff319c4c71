//! Scoring-run checkpoints: one item per (run, segment), so a resumed run skips finished work.

use async_trait::async_trait;
use vitals_core::model::Checkpoint;
use vitals_core::ports::{CheckpointStore, StoreResult};
use vitals_core::segment::Segment;

use super::schema::{queries, records};
use super::DynamoStore;

#[async_trait]
impl CheckpointStore for DynamoStore {
    async fn get_checkpoint(
        &self,
        run_id: &str,
        segment: Segment,
    ) -> StoreResult<Option<Checkpoint>> {
        self.get(
            "get checkpoint",
            &records::checkpoint_key(run_id, segment),
            true,
        )
        .await?
        .map(records::decode_checkpoint)
        .transpose()
    }

    async fn put_checkpoint(&self, checkpoint: &Checkpoint) -> StoreResult<()> {
        let item = records::encode_checkpoint(checkpoint)?;
        self.put("put checkpoint", item, None).await
    }

    async fn list_checkpoints(&self, run_id: &str) -> StoreResult<Vec<Checkpoint>> {
        let spec = queries::checkpoints(run_id);
        let mut checkpoints = self
            .query_decoded(Some(spec), records::decode_checkpoint)
            .await?;
        checkpoints.sort_by_key(|c| c.segment);
        Ok(checkpoints)
    }
}
