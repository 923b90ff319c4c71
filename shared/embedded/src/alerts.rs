//! Alerts with optimistic concurrency: an insert loses to an existing id, an update loses
//! unless it carries the stored version + 1. Listed newest opened first.

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::ToSql;
use vitals_core::model::{Alert, AlertQuery, Page};
use vitals_core::ports::{AlertStore, StoreResult};

use crate::codec::{time_key, to_i64, to_json};
use crate::error::{is_unique_violation, DbError};
use crate::newest::Newest;
use crate::store::SqliteStore;

/// The columns an alert is found and ordered by, plus its JSON.
struct AlertRow {
    id: String,
    opened_key: String,
    status: &'static str,
    account_id: String,
    version: i64,
    body: String,
}

impl AlertRow {
    fn of(alert: &Alert) -> Result<Self, DbError> {
        Ok(AlertRow {
            id: alert.id.clone(),
            opened_key: time_key(alert.opened_at),
            status: alert.status.as_str(),
            account_id: alert.account_id.as_str().to_string(),
            version: to_i64(alert.version, "alert version")?,
            body: to_json(alert)?,
        })
    }

    /// The columns in the order of the statements' `?1..?6`.
    fn values(&self) -> [&dyn ToSql; 6] {
        [
            &self.id,
            &self.opened_key,
            &self.status,
            &self.account_id,
            &self.version,
            &self.body,
        ]
    }
}

#[async_trait]
impl AlertStore for SqliteStore {
    async fn insert_alert(&self, alert: &Alert) -> StoreResult<()> {
        let row = AlertRow::of(alert)?;
        self.db
            .write(move |tx| {
                let inserted = tx.execute(
                    "INSERT INTO alerts (id, opened_key, status, account_id, version, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    row.values().as_slice(),
                );
                match inserted {
                    Ok(_) => Ok(()),
                    Err(e) if is_unique_violation(&e) => Err(DbError::Conflict(format!(
                        "alert {} already exists",
                        row.id
                    ))),
                    Err(e) => Err(e.into()),
                }
            })
            .await?;
        Ok(())
    }

    async fn get_alert(&self, id: &str) -> StoreResult<Option<Alert>> {
        self.body_of("SELECT body FROM alerts WHERE id = ?1", (id.to_string(),))
            .await
    }

    async fn update_alert(&self, alert: &Alert) -> StoreResult<()> {
        let row = AlertRow::of(alert)?;
        let previous = crate::store::previous_version("alert", &row.id, row.version)?;
        self.db
            .write(move |tx| {
                let mut values = row.values().to_vec();
                values.push(&previous);
                let updated = tx.execute(
                    "UPDATE alerts SET opened_key = ?2, status = ?3, account_id = ?4,
                         version = ?5, body = ?6
                     WHERE id = ?1 AND version = ?7",
                    values.as_slice(),
                )?;
                crate::store::one_row_updated(updated, "alert", &row.id, previous)
            })
            .await?;
        Ok(())
    }

    async fn list_alerts(
        &self,
        query: &AlertQuery,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<Alert>> {
        let mut filters = Vec::new();
        if let Some(status) = query.status {
            filters.push(("status", Value::Text(status.as_str().to_string())));
        }
        if let Some(account) = &query.account_id {
            filters.push(("account_id", Value::Text(account.as_str().to_string())));
        }
        self.newest_page(Newest::Alerts, filters, (cursor, limit), |a: &Alert| {
            (time_key(a.opened_at), a.id.clone())
        })
        .await
    }
}
