//! Workflow interventions with optimistic concurrency, like alerts: an insert loses to an
//! existing id, an update loses unless it carries the stored version + 1. Listed newest
//! created first, for everyone or one account.

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::ToSql;
use vitals_core::model::{AccountId, Intervention, Page};
use vitals_core::ports::{InterventionStore, StoreResult};

use crate::codec::{time_key, to_i64, to_json};
use crate::error::{is_unique_violation, DbError};
use crate::newest::Newest;
use crate::store::SqliteStore;

struct Row {
    id: String,
    created_key: String,
    account_id: String,
    version: i64,
    body: String,
}

impl Row {
    fn of(i: &Intervention) -> Result<Self, DbError> {
        Ok(Row {
            id: i.id.clone(),
            created_key: time_key(i.created_at),
            account_id: i.account_id.as_str().to_string(),
            version: to_i64(i.version, "intervention version")?,
            body: to_json(i)?,
        })
    }

    /// The columns in the order of the statements' `?1..?5`.
    fn values(&self) -> [&dyn ToSql; 5] {
        [
            &self.id,
            &self.created_key,
            &self.account_id,
            &self.version,
            &self.body,
        ]
    }
}

#[async_trait]
impl InterventionStore for SqliteStore {
    async fn insert_intervention(&self, intervention: &Intervention) -> StoreResult<()> {
        let row = Row::of(intervention)?;
        self.db
            .write(move |tx| {
                match tx.execute(
                    "INSERT INTO interventions (id, created_key, account_id, version, body)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    row.values().as_slice(),
                ) {
                    Ok(_) => Ok(()),
                    Err(e) if is_unique_violation(&e) => Err(DbError::Conflict(format!(
                        "intervention {} already exists",
                        row.id
                    ))),
                    Err(e) => Err(e.into()),
                }
            })
            .await?;
        Ok(())
    }

    async fn get_intervention(&self, id: &str) -> StoreResult<Option<Intervention>> {
        self.body_of(
            "SELECT body FROM interventions WHERE id = ?1",
            (id.to_string(),),
        )
        .await
    }

    async fn update_intervention(&self, intervention: &Intervention) -> StoreResult<()> {
        let row = Row::of(intervention)?;
        let previous = crate::store::previous_version("intervention", &row.id, row.version)?;
        self.db
            .write(move |tx| {
                let mut values = row.values().to_vec();
                values.push(&previous);
                let updated = tx.execute(
                    "UPDATE interventions SET created_key = ?2, account_id = ?3, version = ?4,
                         body = ?5
                     WHERE id = ?1 AND version = ?6",
                    values.as_slice(),
                )?;
                crate::store::one_row_updated(updated, "intervention", &row.id, previous)
            })
            .await?;
        Ok(())
    }

    async fn list_interventions(
        &self,
        account: Option<&AccountId>,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<Intervention>> {
        let filters = account
            .map(|a| ("account_id", Value::Text(a.as_str().to_string())))
            .into_iter()
            .collect();
        let place = (cursor, limit);
        self.newest_page(Newest::Interventions, filters, place, |i: &Intervention| {
            (time_key(i.created_at), i.id.clone())
        })
        .await
    }
}
