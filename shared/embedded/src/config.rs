//! Configuration versions: each version number is written once, so two admins applying a
//! change at the same time cannot both win.

use async_trait::async_trait;
use rusqlite::params;
use vitals_core::model::ConfigVersion;
use vitals_core::ports::{ConfigStore, StoreResult};

use crate::codec::{to_i64, to_json};
use crate::error::{is_unique_violation, DbError};
use crate::store::SqliteStore;

#[async_trait]
impl ConfigStore for SqliteStore {
    async fn put_config_version(&self, version: &ConfigVersion) -> StoreResult<()> {
        let number = to_i64(version.version, "config version")?;
        let body = to_json(version)?;
        self.db
            .write(move |tx| {
                match tx.execute(
                    "INSERT INTO config_versions (version, body) VALUES (?1, ?2)",
                    params![number, body],
                ) {
                    Ok(_) => Ok(()),
                    Err(e) if is_unique_violation(&e) => Err(DbError::Conflict(format!(
                        "config version {number} already exists"
                    ))),
                    Err(e) => Err(e.into()),
                }
            })
            .await?;
        Ok(())
    }

    async fn latest_config(&self) -> StoreResult<Option<ConfigVersion>> {
        Ok(self.list_config_versions(1).await?.into_iter().next())
    }

    async fn get_config_version(&self, version: u64) -> StoreResult<Option<ConfigVersion>> {
        // No stored version is above i64::MAX (the insert refuses them).
        let Ok(number) = i64::try_from(version) else {
            return Ok(None);
        };
        self.body_of(
            "SELECT body FROM config_versions WHERE version = ?1",
            (number,),
        )
        .await
    }

    async fn list_config_versions(&self, limit: usize) -> StoreResult<Vec<ConfigVersion>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.bodies_of(
            "SELECT body FROM config_versions ORDER BY version DESC LIMIT ?1",
            (limit,),
        )
        .await
    }
}
