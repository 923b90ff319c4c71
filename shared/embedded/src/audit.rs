//! The workflow audit log: append-only, one entry per id, listed newest first overall or for
//! one account.

use async_trait::async_trait;
use rusqlite::params_from_iter;
use rusqlite::types::Value;
use vitals_core::model::{AccountId, AuditEntry, Page};
use vitals_core::ports::{AuditLog, StoreResult};

use crate::codec::{
    expiry_after, from_json, invalid_cursor, limit_plus_one, paginate, time_key, to_json, Cursor,
};
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
        let fetch = limit_plus_one(limit)?;
        let after = match cursor.map(Cursor::decode).transpose()? {
            None => None,
            Some(Cursor::Audit { t, i }) => Some((t, i)),
            Some(_) => return Err(invalid_cursor().into()),
        };
        let mut clauses: Vec<&str> = Vec::new();
        let mut args: Vec<Value> = Vec::new();
        if let Some(account) = account {
            clauses.push("account_id = ?");
            args.push(Value::Text(account.as_str().to_string()));
        }
        if let Some((at_key, id)) = after {
            clauses.push("(at_key, id) < (?, ?)");
            args.push(Value::Text(at_key));
            args.push(Value::Text(id));
        }
        args.push(Value::Integer(fetch));
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let sql =
            format!("SELECT body FROM audit_log {filter} ORDER BY at_key DESC, id DESC LIMIT ?");
        let bodies: Vec<String> = self
            .db
            .read(move |conn| {
                let rows = conn
                    .prepare_cached(&sql)?
                    .query_map(params_from_iter(args), |row| row.get(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?;
        let entries = bodies
            .iter()
            .map(|b| from_json::<AuditEntry>(b))
            .collect::<Result<Vec<_>, _>>()?;
        let (items, next) = paginate(entries, limit, |last| Cursor::Audit {
            t: time_key(last.at),
            i: last.id.clone(),
        })?;
        Ok(Page { items, next })
    }
}
