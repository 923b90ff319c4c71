//! The account page's reads in one read of the store's connection: the record, the account's
//! newest audit entries, alerts and interventions (each table's by-account index) and its
//! history records of the days asked for.

use async_trait::async_trait;
use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension};
use vitals_core::model::AccountId;
use vitals_core::ports::{AccountActivity, AccountActivityStore, StoreResult};

use crate::accounts::{AccountRow, COLUMNS};
use crate::codec::from_json;
use crate::error::DbError;
use crate::history::{day_number, read_days};
use crate::store::SqliteStore;

/// The JSON bodies of one account's newest rows of `table`, by `order_key`.
fn newest_bodies(
    conn: &Connection,
    sql: &'static str,
    account: &str,
    limit: i64,
) -> Result<Vec<String>, DbError> {
    Ok(conn
        .prepare_cached(sql)?
        .query_map(params![account, limit], |row| row.get(0))?
        .collect::<Result<Vec<String>, _>>()?)
}

fn decode_all<T: serde::de::DeserializeOwned>(bodies: &[String]) -> Result<Vec<T>, DbError> {
    bodies.iter().map(|b| from_json(b)).collect()
}

#[async_trait]
impl AccountActivityStore for SqliteStore {
    async fn account_activity(
        &self,
        account: &AccountId,
        limit: usize,
        history_days: &[NaiveDate],
    ) -> StoreResult<AccountActivity> {
        let id = account.as_str().to_string();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut days: Vec<i64> = history_days.iter().map(|d| day_number(*d)).collect();
        days.sort();
        days.dedup();
        let (row, audit, alerts, interventions, history) = self
            .db
            .read(move |conn| {
                let sql = format!("SELECT {COLUMNS} FROM accounts WHERE account_id = ?1");
                let row = conn
                    .prepare_cached(&sql)?
                    .query_row(params![id], AccountRow::read)
                    .optional()?;
                let newest = |sql| newest_bodies(conn, sql, &id, limit);
                let audit = newest(
                    "SELECT body FROM audit_log WHERE account_id = ?1
                     ORDER BY at_key DESC, id DESC LIMIT ?2",
                )?;
                let alerts = newest(
                    "SELECT body FROM alerts WHERE account_id = ?1
                     ORDER BY opened_key DESC, id DESC LIMIT ?2",
                )?;
                let interventions = newest(
                    "SELECT body FROM interventions WHERE account_id = ?1
                     ORDER BY created_key DESC, id DESC LIMIT ?2",
                )?;
                let history = read_days(conn, &id, days)?;
                Ok((row, audit, alerts, interventions, history))
            })
            .await?;
        Ok(AccountActivity {
            record: row.as_ref().map(AccountRow::decode).transpose()?,
            audit: decode_all(&audit)?,
            alerts: decode_all(&alerts)?,
            interventions: decode_all(&interventions)?,
            history: history
                .iter()
                .map(|day| day.decode(account))
                .collect::<Result<_, _>>()?,
        })
    }
}
