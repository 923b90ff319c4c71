//! Churn model fits: one item per run day under one partition; the latest is the last.

use async_trait::async_trait;
use vitals_core::churn::ChurnModelRecord;
use vitals_core::ports::{ChurnModelStore, StoreResult};

use super::schema::{queries, records};
use super::DynamoStore;

#[async_trait]
impl ChurnModelStore for DynamoStore {
    async fn put_churn_model(&self, model: &ChurnModelRecord) -> StoreResult<()> {
        let item = records::encode_churn_model(model)?;
        self.put("put churn model", item, None).await
    }

    async fn latest_churn_model(&self) -> StoreResult<Option<ChurnModelRecord>> {
        self.query_first(&queries::latest_churn_model())
            .await?
            .map(records::decode_churn_model)
            .transpose()
    }
}
