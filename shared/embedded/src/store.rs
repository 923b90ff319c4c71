//! The embedded storage backend: every storage port on one SQLite file, so `vitals serve` and
//! the other `vitals` subcommands can share a data directory on one machine.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use vitals_core::StoreError;

use crate::db::Db;
use crate::schema;

/// Default retention of raw events, score history and the audit log: 24 months.
pub const DEFAULT_RETENTION_DAYS: u32 = 730;

/// How long a scoring run's checkpoints are kept after their last update.
pub(crate) const CHECKPOINT_RETENTION_DAYS: u32 = 90;

/// Rows deleted per transaction when purging, so other processes are never locked out long.
const PURGE_BATCH: i64 = 2_000;

/// Tables whose rows carry an `expires_at` (epoch seconds), fixed when the row is written.
const EXPIRING_TABLES: [&str; 4] = ["event_chunks", "audit_log", "checkpoints", "touch_marks"];

/// Tables keyed by day number (the score history's), whose rows expire `retention_days` after
/// their day: purged from the front, with no expiry column or index.
const DAY_KEYED_TABLES: [&str; 2] = ["score_history", "usage_samples"];

/// Storage on a SQLite file (or in memory). Cheap to clone; clones share one connection.
/// Several handles, in this process or others, may open the same file at once.
#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) db: Db,
    pub(crate) retention_days: u32,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("retention_days", &self.retention_days)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// The JSON body of the one row `sql` selects (`SELECT body ...`), decoded; `None` when no
    /// row matches.
    pub(crate) async fn body_of<T, P>(
        &self,
        sql: &'static str,
        params: P,
    ) -> Result<Option<T>, StoreError>
    where
        T: serde::de::DeserializeOwned,
        P: rusqlite::Params + Send + 'static,
    {
        let body: Option<String> = self
            .db
            .read(move |conn| {
                Ok(conn
                    .prepare_cached(sql)?
                    .query_row(params, |row| row.get(0))
                    .optional()?)
            })
            .await?;
        Ok(body.as_deref().map(crate::codec::from_json).transpose()?)
    }

    /// Rows of `table` newest first by (`order_key`, `id`), those whose columns equal `filters`,
    /// after the keyset position `after` (a previous page's last row), at most `fetch` rows;
    /// their JSON bodies decoded. The listing shape alerts, audit and interventions share.
    pub(crate) async fn newest_first<T: serde::de::DeserializeOwned>(
        &self,
        table: &'static str,
        order_key: &'static str,
        filters: Vec<(&'static str, rusqlite::types::Value)>,
        after: Option<(String, String)>,
        fetch: i64,
    ) -> Result<Vec<T>, StoreError> {
        use rusqlite::types::Value;
        let mut clauses: Vec<String> = Vec::new();
        let mut args: Vec<Value> = Vec::new();
        for (column, value) in filters {
            clauses.push(format!("{column} = ?"));
            args.push(value);
        }
        if let Some((key, id)) = after {
            clauses.push(format!("({order_key}, id) < (?, ?)"));
            args.push(Value::Text(key));
            args.push(Value::Text(id));
        }
        args.push(Value::Integer(fetch));
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let sql =
            format!("SELECT body FROM {table} {filter} ORDER BY {order_key} DESC, id DESC LIMIT ?");
        let bodies: Vec<String> = self
            .db
            .read(move |conn| {
                Ok(conn
                    .prepare_cached(&sql)?
                    .query_map(rusqlite::params_from_iter(args), |row| row.get(0))?
                    .collect::<Result<Vec<String>, _>>()?)
            })
            .await?;
        Ok(bodies
            .iter()
            .map(|b| crate::codec::from_json(b))
            .collect::<Result<Vec<T>, _>>()?)
    }

    /// The JSON bodies of the rows `sql` selects, decoded, in the query's order.
    pub(crate) async fn bodies_of<T, P>(
        &self,
        sql: &'static str,
        params: P,
    ) -> Result<Vec<T>, StoreError>
    where
        T: serde::de::DeserializeOwned,
        P: rusqlite::Params + Send + 'static,
    {
        let bodies: Vec<String> = self
            .db
            .read(move |conn| {
                Ok(conn
                    .prepare_cached(sql)?
                    .query_map(params, |row| row.get(0))?
                    .collect::<Result<Vec<String>, _>>()?)
            })
            .await?;
        Ok(bodies
            .iter()
            .map(|b| crate::codec::from_json(b))
            .collect::<Result<Vec<T>, _>>()?)
    }

    /// Opens the store at `path`, creating the file and its directory if needed and applying
    /// any missing schema migrations. Blocks: call it at startup, not from request handlers.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(SqliteStore {
            db: Db::open_file(path, &schema::STORE)?,
            retention_days: DEFAULT_RETENTION_DAYS,
        })
    }

    /// A private store that vanishes with its last handle (tests, demos).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Ok(SqliteStore {
            db: Db::open_memory(&schema::STORE)?,
            retention_days: DEFAULT_RETENTION_DAYS,
        })
    }

    /// How long event chunks, score history and audit entries are kept. Like a DynamoDB TTL,
    /// the expiry is fixed when a row is written.
    pub fn with_retention_days(mut self, days: u32) -> Self {
        self.retention_days = days;
        self
    }

    /// Batch mode for commands that can be re-run (demo, backfill, import): commits no longer
    /// wait for fsync. See `Db::relax_durability`.
    pub fn for_batch_work(self) -> Result<Self, StoreError> {
        self.db.relax_durability()?;
        Ok(self)
    }

    pub fn retention_days(&self) -> u32 {
        self.retention_days
    }

    /// Deletes every row that expired at or before `now` (what DynamoDB's TTL does on its
    /// own); returns how many went. Works in short batches so concurrent writers keep going.
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let cutoff = now.timestamp();
        // A day's rows expire at the start of the day `retention_days` after it.
        let last_expired_day = cutoff.div_euclid(86_400) - i64::from(self.retention_days);
        let by_expiry = EXPIRING_TABLES.map(|table| {
            let sql = format!(
                "DELETE FROM {table} WHERE rowid IN \
                 (SELECT rowid FROM {table} WHERE expires_at <= ?1 LIMIT ?2)"
            );
            (sql, cutoff)
        });
        let by_day = DAY_KEYED_TABLES.map(|table| {
            let sql = format!(
                "DELETE FROM {table} WHERE (day, account) IN \
                 (SELECT day, account FROM {table} WHERE day <= ?1 LIMIT ?2)"
            );
            (sql, last_expired_day)
        });
        let mut purged: u64 = 0;
        for (sql, cutoff) in by_expiry.into_iter().chain(by_day) {
            loop {
                let sql = sql.clone();
                let deleted = self
                    .db
                    .write(move |tx| Ok(tx.execute(&sql, params![cutoff, PURGE_BATCH])?))
                    .await?;
                purged += deleted as u64;
                if i64::try_from(deleted).unwrap_or(i64::MAX) < PURGE_BATCH {
                    break;
                }
            }
        }
        if purged > 0 {
            tracing::info!(purged, "purged expired rows");
        }
        Ok(purged)
    }
}

/// The version an optimistic update replaces (`version` - 1), refusing a version below 1.
pub(crate) fn previous_version(
    what: &str,
    id: &str,
    version: i64,
) -> Result<i64, crate::error::DbError> {
    version.checked_sub(1).filter(|v| *v >= 0).ok_or_else(|| {
        crate::error::DbError::Conflict(format!(
            "{what} {id} update must carry a version of at least 1"
        ))
    })
}

/// An optimistic update that changed no row found the record missing or at another version.
pub(crate) fn one_row_updated(
    updated: usize,
    what: &str,
    id: &str,
    previous: i64,
) -> Result<(), crate::error::DbError> {
    if updated == 0 {
        return Err(crate::error::DbError::Conflict(format!(
            "{what} {id} is missing or not at version {previous}"
        )));
    }
    Ok(())
}
