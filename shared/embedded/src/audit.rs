//! The workflow audit log: append-only, one entry per id, listed newest first overall or for
//! one account.

use async_trait::async_trait;
use rusqlite::types::Value;
use vitals_core::model::{AccountId, AuditEntry, Page};
use vitals_core::ports::{AuditLog, StoreResult};

use crate::codec::{expiry_after, time_key, to_json};
use crate::newest::Newest;
use crate::store::SqliteStore;

#[async_trait]
impl AuditLog for SqliteStore {
    /// The first write of an id wins: a retried automated action (same deterministic id) does
    /// not rewrite history.
    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        let id = entry.id.clone();
        let at_key = time_key(entry.at);
        let account = entry.account_id.as_ref().map(|a| a.as_str().to_string());
        let body = to_json(entry)?;
        let expires_at = expiry_after(entry.at, self.retention_days);
        self.db
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO audit_log (id, at_key, account_id, body, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO NOTHING",
                    rusqlite::params![id, at_key, account, body, expires_at],
                )?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn list_audit(
        &self,
        account: Option<&AccountId>,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<AuditEntry>> {
        let filters = account
            .map(|a| ("account_id", Value::Text(a.as_str().to_string())))
            .into_iter()
            .collect();
        self.newest_page(Newest::Audit, filters, (cursor, limit), |e: &AuditEntry| {
            (time_key(e.at), e.id.clone())
        })
        .await
    }
}
