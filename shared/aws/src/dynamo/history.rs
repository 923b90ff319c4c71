//! Daily score history: one item per (account, day) in a partition per account.

use async_trait::async_trait;
use chrono::NaiveDate;
use vitals_core::model::{AccountId, ScoreRecord};
use vitals_core::ports::{ScoreHistoryStore, StoreResult};

use super::schema::{queries, records};
use super::DynamoStore;

#[async_trait]
impl ScoreHistoryStore for DynamoStore {
    async fn put_history(&self, entries: &[ScoreRecord]) -> StoreResult<()> {
        let items = entries
            .iter()
            .map(|r| records::encode_history(r, self.retention_days))
            .collect::<StoreResult<Vec<_>>>()?;
        self.batch_put("put history", items).await
    }

    async fn history(
        &self,
        account: &AccountId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<ScoreRecord>> {
        let Some(spec) = queries::history(account, from, to) else {
            return Ok(Vec::new());
        };
        self.query_all(&spec)
            .await?
            .into_iter()
            .map(records::decode_history)
            .collect()
    }
}
