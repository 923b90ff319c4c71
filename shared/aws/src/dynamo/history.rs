//! Daily score history: one item per (account, day) in a partition per account.

use async_trait::async_trait;
use chrono::NaiveDate;
use vitals_core::history::HistoryDay;
use vitals_core::model::AccountId;
use vitals_core::ports::{ScoreHistoryStore, StoreResult};

use super::schema::{queries, records};
use super::DynamoStore;

#[async_trait]
impl ScoreHistoryStore for DynamoStore {
    async fn put_history(&self, entries: &[HistoryDay]) -> StoreResult<()> {
        self.put_each("put history", entries, |r| {
            records::encode_history(r, self.retention_days)
        })
        .await
    }

    async fn history(
        &self,
        account: &AccountId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<HistoryDay>> {
        self.query_decoded(queries::history(account, from, to), |item| {
            records::decode_history(account, item)
        })
        .await
    }
}
