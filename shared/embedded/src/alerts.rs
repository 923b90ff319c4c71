//! Alerts with optimistic concurrency: an insert loses to an existing id, an update loses
//! unless it carries the stored version + 1. Listed newest opened first.

use async_trait::async_trait;
use rusqlite::params;
use rusqlite::types::Value;
use vitals_core::model::{Alert, AlertQuery, Page};
use vitals_core::ports::{AlertStore, StoreResult};

use crate::codec::{invalid_cursor, limit_plus_one, paginate, time_key, to_i64, to_json, Cursor};
use crate::error::{is_unique_violation, DbError};
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
                    params![
                        row.id,
                        row.opened_key,
                        row.status,
                        row.account_id,
                        row.version,
                        row.body
                    ],
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
                let updated = tx.execute(
                    "UPDATE alerts SET opened_key = ?2, status = ?3, account_id = ?4,
                         version = ?5, body = ?6
                     WHERE id = ?1 AND version = ?7",
                    params![
                        row.id,
                        row.opened_key,
                        row.status,
                        row.account_id,
                        row.version,
                        row.body,
                        previous
                    ],
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
        let fetch = limit_plus_one(limit)?;
        let after = match cursor.map(Cursor::decode).transpose()? {
            None => None,
            Some(Cursor::Alerts { o, i }) => Some((o, i)),
            Some(_) => return Err(invalid_cursor().into()),
        };
        let mut filters = Vec::new();
        if let Some(status) = query.status {
            filters.push(("status", Value::Text(status.as_str().to_string())));
        }
        if let Some(account) = &query.account_id {
            filters.push(("account_id", Value::Text(account.as_str().to_string())));
        }
        let alerts: Vec<Alert> = self
            .newest_first("alerts", "opened_key", filters, after, fetch)
            .await?;
        let (items, next) = paginate(alerts, limit, |last| Cursor::Alerts {
            o: time_key(last.opened_at),
            i: last.id.clone(),
        })?;
        Ok(Page { items, next })
    }
}
