//! The workflow audit log: entries newest first, for everyone or (via the GSI) one account.

use async_trait::async_trait;
use vitals_core::model::{AccountId, AuditEntry, Page};
use vitals_core::ports::{AuditLog, StoreResult};

use super::schema::{queries, records};
use super::DynamoStore;

#[async_trait]
impl AuditLog for DynamoStore {
    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        // Listed by (time, id), deduplicated by id: a retry stamped later is not logged twice.
        let (item, id_claim) = records::encode_audit(entry, self.retention_days)?;
        let appended = self.put_once("append audit", id_claim, item).await?;
        if !appended {
            tracing::debug!(id = %entry.id, "audit entry already appended");
        }
        Ok(())
    }

    async fn list_audit(
        &self,
        account: Option<&AccountId>,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<AuditEntry>> {
        self.decoded_page(
            &queries::audit(account),
            cursor,
            limit,
            records::decode_audit,
        )
        .await
    }
}
