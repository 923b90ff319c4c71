//! Churn model fits, one per run day; the latest day is the model in force.

use async_trait::async_trait;
use rusqlite::params;
use vitals_core::churn::ChurnModelRecord;
use vitals_core::ports::{ChurnModelStore, StoreResult};

use crate::codec::{day_key, to_json};
use crate::store::SqliteStore;

#[async_trait]
impl ChurnModelStore for SqliteStore {
    async fn put_churn_model(&self, model: &ChurnModelRecord) -> StoreResult<()> {
        let as_of = day_key(model.as_of);
        let body = to_json(model)?;
        self.db
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO churn_models (as_of, body) VALUES (?1, ?2)
                     ON CONFLICT (as_of) DO UPDATE SET body = excluded.body",
                    params![as_of, body],
                )?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn latest_churn_model(&self) -> StoreResult<Option<ChurnModelRecord>> {
        self.body_of(
            "SELECT body FROM churn_models ORDER BY as_of DESC LIMIT 1",
            (),
        )
        .await
    }
}
