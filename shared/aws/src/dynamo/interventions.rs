//! Workflow interventions: one item per intervention id, inserted once and updated only from
//! the version the writer read; listed newest first from the `INTERVENTIONS` index partition
//! (an account's through a filter on it).

use async_trait::async_trait;
use vitals_core::model::{AccountId, Intervention, Page};
use vitals_core::ports::{InterventionStore, StoreResult};

use super::schema::{self, queries, records};
use super::DynamoStore;

#[async_trait]
impl InterventionStore for DynamoStore {
    async fn insert_intervention(&self, intervention: &Intervention) -> StoreResult<()> {
        let item = records::encode_intervention(intervention)?;
        self.put("insert intervention", item, Some(schema::not_exists()))
            .await
    }

    async fn get_intervention(&self, id: &str) -> StoreResult<Option<Intervention>> {
        self.get("get intervention", &records::intervention_key(id), true)
            .await?
            .map(records::decode_intervention)
            .transpose()
    }

    async fn update_intervention(&self, intervention: &Intervention) -> StoreResult<()> {
        let item = records::encode_intervention(intervention)?;
        self.put_next_version("update intervention", intervention.version, item)
            .await
    }

    async fn list_interventions(
        &self,
        account: Option<&AccountId>,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<Intervention>> {
        self.decoded_page(
            &queries::interventions(account),
            cursor,
            limit,
            records::decode_intervention,
        )
        .await
    }
}
