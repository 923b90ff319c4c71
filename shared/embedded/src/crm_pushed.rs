//! CRM write-back state: one row per (CRM, account), its body what was last written there;
//! one row per CRM for how far its activity log has gone.

use async_trait::async_trait;
use vitals_core::crm::{ActivityMark, CrmPushed};
use vitals_core::ports::{CrmPushStore, StoreResult};

use crate::codec::to_json;
use crate::store::SqliteStore;
use crate::summaries::ListingChange;

#[async_trait]
impl CrmPushStore for SqliteStore {
    async fn put_crm_pushed(&self, pushed: &[CrmPushed]) -> StoreResult<()> {
        self.put_rows(
            "INSERT INTO crm_pushed (crm, account_id, body) VALUES (?1, ?2, ?3)
             ON CONFLICT (crm, account_id) DO UPDATE SET body = excluded.body",
            pushed,
            |p| {
                Ok((
                    p.crm.clone(),
                    p.account_id.as_str().to_string(),
                    to_json(p)?,
                ))
            },
        )
        .await
    }

    async fn crm_pushed(&self, crm: &str) -> StoreResult<Vec<CrmPushed>> {
        self.bodies_of(
            "SELECT body FROM crm_pushed WHERE crm = ?1 ORDER BY account_id",
            (crm.to_string(),),
        )
        .await
    }

    async fn crm_activity_mark(&self, crm: &str) -> StoreResult<Option<ActivityMark>> {
        Ok(self
            .bodies_of(
                "SELECT body FROM crm_activity_marks WHERE crm = ?1",
                (crm.to_string(),),
            )
            .await?
            .into_iter()
            .next())
    }

    async fn put_crm_activity_mark(&self, mark: &ActivityMark) -> StoreResult<()> {
        self.put_body(
            "INSERT INTO crm_activity_marks (crm, body) VALUES (?1, ?2)
             ON CONFLICT (crm) DO UPDATE SET body = excluded.body",
            (mark.crm.clone(), to_json(mark)?),
            ListingChange::Keeps,
        )
        .await
    }
}
