//! Alerts: one item per alert id, inserted only once and updated only from the version the
//! writer read (optimistic concurrency); listed newest first from the `ALERTS` index.

use async_trait::async_trait;
use vitals_core::model::{Alert, AlertQuery, Page};
use vitals_core::ports::{AlertStore, StoreResult};

use super::schema::{self, queries, records};
use super::DynamoStore;

#[async_trait]
impl AlertStore for DynamoStore {
    async fn insert_alert(&self, alert: &Alert) -> StoreResult<()> {
        let item = records::encode_alert(alert)?;
        self.put("insert alert", item, Some(schema::not_exists()))
            .await
    }

    async fn get_alert(&self, id: &str) -> StoreResult<Option<Alert>> {
        self.get("get alert", &records::alert_key(id), true)
            .await?
            .map(records::decode_alert)
            .transpose()
    }

    async fn update_alert(&self, alert: &Alert) -> StoreResult<()> {
        let item = records::encode_alert(alert)?;
        self.put_next_version("update alert", alert.version, item)
            .await
    }

    async fn list_alerts(
        &self,
        query: &AlertQuery,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<Alert>> {
        self.decoded_page(
            &queries::alerts(query)?,
            cursor,
            limit,
            records::decode_alert,
        )
        .await
    }
}
