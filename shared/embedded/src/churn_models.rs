//! Churn model fits, one per run day; the latest day is the model in force.

use async_trait::async_trait;
use vitals_core::churn::ChurnModelRecord;
use vitals_core::ports::{ChurnModelStore, StoreResult};

use crate::codec::{day_key, to_json};
use crate::store::SqliteStore;
use crate::summaries::ListingChange;

#[async_trait]
impl ChurnModelStore for SqliteStore {
    async fn put_churn_model(&self, model: &ChurnModelRecord) -> StoreResult<()> {
        let body = to_json(model)?;
        self.put_body(
            "INSERT INTO churn_models (as_of, body) VALUES (?1, ?2)
             ON CONFLICT (as_of) DO UPDATE SET body = excluded.body",
            (day_key(model.as_of), body),
            ListingChange::Keeps,
        )
        .await
    }

    async fn latest_churn_model(&self) -> StoreResult<Option<ChurnModelRecord>> {
        self.body_of(
            "SELECT body FROM churn_models ORDER BY as_of DESC LIMIT 1",
            (),
        )
        .await
    }
}
