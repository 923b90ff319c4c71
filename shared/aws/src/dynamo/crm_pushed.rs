//! CRM write-back state: one item per (CRM, account) under the CRM's partition (`CRM#{crm}`),
//! read whole by each write-back; one item per CRM for how far its activity log has gone.

use async_trait::async_trait;
use vitals_core::crm::{ActivityMark, CrmPushed};
use vitals_core::ports::{CrmPushStore, StoreResult};

use super::schema::{queries, records};
use super::DynamoStore;

#[async_trait]
impl CrmPushStore for DynamoStore {
    async fn put_crm_pushed(&self, pushed: &[CrmPushed]) -> StoreResult<()> {
        self.put_each("put crm pushed", pushed, records::encode_crm_pushed)
            .await
    }

    async fn crm_pushed(&self, crm: &str) -> StoreResult<Vec<CrmPushed>> {
        self.query_decoded(Some(queries::crm_pushed(crm)), records::decode_crm_pushed)
            .await
    }

    async fn crm_activity_mark(&self, crm: &str) -> StoreResult<Option<ActivityMark>> {
        self.get(
            "read crm activity mark",
            &records::crm_activity_mark_key(crm),
            true,
        )
        .await?
        .map(records::decode_crm_activity_mark)
        .transpose()
    }

    async fn put_crm_activity_mark(&self, mark: &ActivityMark) -> StoreResult<()> {
        let item = records::encode_crm_activity_mark(mark)?;
        self.put("put crm activity mark", item, None).await
    }
}
