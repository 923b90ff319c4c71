//! Configuration versions: append-only, numbered; two admins saving the same number race and
//! one gets `Conflict`.

use async_trait::async_trait;
use vitals_core::model::ConfigVersion;
use vitals_core::ports::{ConfigStore, StoreResult};

use super::schema::{self, queries, records};
use super::DynamoStore;

#[async_trait]
impl ConfigStore for DynamoStore {
    async fn put_config_version(&self, version: &ConfigVersion) -> StoreResult<()> {
        let item = records::encode_config(version)?;
        self.put("put config version", item, Some(schema::not_exists()))
            .await
    }

    async fn latest_config(&self) -> StoreResult<Option<ConfigVersion>> {
        self.query_first(&queries::config_versions_newest_first())
            .await?
            .map(records::decode_config)
            .transpose()
    }

    async fn get_config_version(&self, version: u64) -> StoreResult<Option<ConfigVersion>> {
        self.get("get config version", &records::config_key(version), true)
            .await?
            .map(records::decode_config)
            .transpose()
    }

    async fn list_config_versions(&self, limit: usize) -> StoreResult<Vec<ConfigVersion>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let (items, _) = self
            .query_page(&queries::config_versions_newest_first(), None, limit)
            .await?;
        items.into_iter().map(records::decode_config).collect()
    }
}
