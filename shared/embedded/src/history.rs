//! Daily score history: one row per (day, account), kept for the retention period.
//!
//! Rows are small because what many of them share is kept once ([`vitals_core::history::shape`]):
//! each distinct shape (scorecard, weights, which signals had data) in `score_history_shapes`,
//! each account's number in `score_history_accounts`, and a row holds the day's score, band
//! and signal measurements. Keyed by day first, a day's rows are appended in one place (the
//! daily run and a backfill fill pages whole) and expiry deletes the oldest days at the front.
//! The churn model's usage snapshots (sampled days only) are in `usage_samples`, compact
//! ([`vitals_core::history::sample`]) with event names numbered in `usage_event_names`.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use vitals_core::history::{sample, shape, HistoryDay};
use vitals_core::model::AccountId;
use vitals_core::ports::{ScoreHistoryStore, StoreResult};
use vitals_scoring::usage_features::UsageSnapshot;

use crate::error::DbError;
use crate::store::SqliteStore;

/// Schema step: the history as shaped rows. Rows of the older table are converted on the way.
pub(crate) fn store_shaped_history(tx: &Transaction<'_>) -> Result<(), DbError> {
    tx.execute_batch(
        "ALTER TABLE score_history RENAME TO score_history_before_shapes;
         DROP INDEX score_history_expiry;
         CREATE TABLE score_history_accounts (
             account     INTEGER PRIMARY KEY,
             account_id  TEXT    NOT NULL UNIQUE
         );
         CREATE TABLE score_history_shapes (
             shape  INTEGER PRIMARY KEY,
             body   BLOB    NOT NULL UNIQUE
         );
         CREATE TABLE score_history (
             day      INTEGER NOT NULL,
             account  INTEGER NOT NULL,
             shape    INTEGER NOT NULL,
             body     BLOB    NOT NULL,
             PRIMARY KEY (day, account)
         ) WITHOUT ROWID;
         CREATE TABLE usage_event_names (
             name_id  INTEGER PRIMARY KEY,
             name     TEXT    NOT NULL UNIQUE
         );
         CREATE TABLE usage_samples (
             day      INTEGER NOT NULL,
             account  INTEGER NOT NULL,
             body     BLOB    NOT NULL,
             PRIMARY KEY (day, account)
         ) WITHOUT ROWID;",
    )?;
    let mut select = tx.prepare(
        "SELECT account_id, as_of, body FROM score_history_before_shapes
         ORDER BY as_of, account_id",
    )?;
    let mut rows = select.query([])?;
    let mut batch = Vec::with_capacity(CONVERT_BATCH);
    let convert = |batch: &mut Vec<HistoryDay>| -> Result<(), DbError> {
        let names = number_event_names(tx, event_names_of(batch))?;
        let encoded = batch
            .iter()
            .map(|e| Encoded::of(e, &names))
            .collect::<Result<Vec<_>, _>>()?;
        batch.clear();
        write(tx, &encoded)
    };
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        let day: String = row.get(1)?;
        let account = AccountId::new(&id)
            .map_err(|e| DbError::Corrupt(format!("history account {id:?}: {e}")))?;
        // A BLOB, or the TEXT of an entry an older version stored as JSON.
        let body = row.get_ref(2)?.as_bytes().map_err(rusqlite::Error::from)?;
        batch.push(vitals_core::history::codec::decode_keyed(
            &account, &day, body,
        )?);
        if batch.len() == CONVERT_BATCH {
            convert(&mut batch)?;
        }
    }
    convert(&mut batch)?;
    drop(rows);
    drop(select);
    tx.execute_batch("DROP TABLE score_history_before_shapes")?;
    Ok(())
}

const CONVERT_BATCH: usize = 10_000;

#[async_trait]
impl ScoreHistoryStore for SqliteStore {
    async fn put_history(&self, entries: &[HistoryDay]) -> StoreResult<()> {
        if entries.is_empty() {
            return Ok(());
        }
        // Numbers are never reassigned, so names can be numbered in a transaction of their
        // own, and the snapshots encoded before the rows' transaction.
        let names: Vec<String> = event_names_of(entries).map(str::to_string).collect();
        // Names are nearly always known already: a read, and a write only for new ones.
        let names = if names.is_empty() {
            HashMap::new()
        } else {
            match self
                .db
                .read(move |conn| known_event_names(conn, names))
                .await?
            {
                Ok(known) => known,
                Err(names) => {
                    let numbering = move |tx: &Transaction<'_>| {
                        number_event_names(tx, names.iter().map(String::as_str))
                    };
                    self.db.write(numbering).await?
                }
            }
        };
        let mut encoded = crate::parallel::map(entries, |e| Encoded::of(e, &names))?;
        // In key order: a backfill hands over many days of every account at once.
        encoded.sort_unstable_by(|a, b| (a.day, &a.account_id).cmp(&(b.day, &b.account_id)));
        self.db.write(move |tx| write(tx, &encoded)).await?;
        Ok(())
    }

    async fn history(
        &self,
        account: &AccountId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<HistoryDay>> {
        let id = account.as_str().to_string();
        let (first, last) = (day_number(from), day_number(to));
        let rows = self
            .db
            .read(move |conn| read_days(conn, &id, first..=last))
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| row.decode(account))
            .collect::<Result<Vec<_>, _>>()?)
    }
}

/// An entry ready to store: its keys and bytes.
struct Encoded {
    account_id: String,
    day: i64,
    shape: Vec<u8>,
    row: Vec<u8>,
    usage: Option<Vec<u8>>,
}

impl Encoded {
    /// The entry's bytes, its snapshot's event names numbered by `names`.
    fn of(entry: &HistoryDay, names: &HashMap<String, u64>) -> Result<Encoded, DbError> {
        let split = shape::split(&entry.health)?;
        let number = |name: &str| {
            names.get(name).copied().ok_or_else(|| {
                vitals_core::StoreError::Rejected(format!("event name {name:?} not numbered"))
            })
        };
        Ok(Encoded {
            account_id: entry.account_id.as_str().to_string(),
            day: day_number(entry.as_of),
            shape: split.shape,
            row: split.row,
            usage: entry
                .usage
                .as_ref()
                .map(|u| sample::encode(u, number))
                .transpose()?,
        })
    }
}

/// The distinct event names of the entries' usage snapshots.
fn event_names_of(entries: &[HistoryDay]) -> impl Iterator<Item = &str> {
    let names: std::collections::BTreeSet<&str> = entries
        .iter()
        .filter_map(|e| e.usage.as_ref())
        .flat_map(|u| u.events.keys().map(String::as_str))
        .collect();
    names.into_iter()
}

/// The numbers of `names` when every one has a number already, else the names back.
fn known_event_names(
    conn: &Connection,
    names: Vec<String>,
) -> Result<Result<HashMap<String, u64>, Vec<String>>, DbError> {
    let mut select =
        conn.prepare_cached("SELECT name_id FROM usage_event_names WHERE name = ?1")?;
    let mut numbers = HashMap::with_capacity(names.len());
    for name in &names {
        let n: Option<i64> = select.query_row([name], |row| row.get(0)).optional()?;
        match n.and_then(|n| u64::try_from(n).ok()) {
            Some(n) => numbers.insert(name.clone(), n),
            None => return Ok(Err(names)),
        };
    }
    Ok(Ok(numbers))
}

/// The numbers of `names` in `usage_event_names`, numbering those seen for the first time.
fn number_event_names<'a>(
    tx: &Transaction<'_>,
    names: impl Iterator<Item = &'a str>,
) -> Result<HashMap<String, u64>, DbError> {
    let mut numbers = HashMap::new();
    for name in names {
        let n = number_of(
            tx,
            "SELECT name_id FROM usage_event_names WHERE name = ?1",
            "INSERT INTO usage_event_names (name) VALUES (?1)",
            name,
        )?;
        let n = u64::try_from(n)
            .map_err(|_| DbError::Corrupt(format!("event name number {n} is negative")))?;
        numbers.insert(name.to_string(), n);
    }
    Ok(numbers)
}

/// Upserts `entries`, numbering accounts and shapes seen for the first time.
fn write(tx: &Transaction<'_>, entries: &[Encoded]) -> Result<(), DbError> {
    let mut accounts: HashMap<&str, i64> = HashMap::new();
    let mut shapes: HashMap<&[u8], i64> = HashMap::new();
    let mut upsert = tx.prepare_cached(
        "INSERT INTO score_history (day, account, shape, body) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (day, account) DO UPDATE SET shape = excluded.shape, body = excluded.body",
    )?;
    let mut sample = tx.prepare_cached(
        "INSERT INTO usage_samples (day, account, body) VALUES (?1, ?2, ?3)
         ON CONFLICT (day, account) DO UPDATE SET body = excluded.body",
    )?;
    let mut unsample =
        tx.prepare_cached("DELETE FROM usage_samples WHERE day = ?1 AND account = ?2")?;
    for e in entries {
        let account = number_cached(
            &mut accounts,
            tx,
            "SELECT account FROM score_history_accounts WHERE account_id = ?1",
            "INSERT INTO score_history_accounts (account_id) VALUES (?1)",
            e.account_id.as_str(),
        )?;
        let shape = number_cached(
            &mut shapes,
            tx,
            "SELECT shape FROM score_history_shapes WHERE body = ?1",
            "INSERT INTO score_history_shapes (body) VALUES (?1)",
            e.shape.as_slice(),
        )?;
        upsert.execute(params![e.day, account, shape, e.row])?;
        match &e.usage {
            Some(bytes) => sample.execute(params![e.day, account, bytes])?,
            // A rewrite of a day without a snapshot leaves none from before.
            None => unsample.execute(params![e.day, account])?,
        };
    }
    Ok(())
}

/// [`number_of`], asked once per key of a call.
fn number_cached<'k, K>(
    cache: &mut HashMap<&'k K, i64>,
    tx: &Transaction<'_>,
    select: &str,
    insert: &str,
    key: &'k K,
) -> Result<i64, DbError>
where
    K: ?Sized + Eq + std::hash::Hash + rusqlite::ToSql,
{
    if let Some(&n) = cache.get(key) {
        return Ok(n);
    }
    let n = number_of(tx, select, insert, key)?;
    cache.insert(key, n);
    Ok(n)
}

/// The number `select` finds for `key`, else the one `insert` gives it.
fn number_of<K: rusqlite::ToSql>(
    tx: &Transaction<'_>,
    select: &str,
    insert: &str,
    key: K,
) -> Result<i64, DbError> {
    if let Some(n) = tx
        .prepare_cached(select)?
        .query_row([&key], |row| row.get(0))
        .optional()?
    {
        return Ok(n);
    }
    tx.prepare_cached(insert)?.execute([&key])?;
    Ok(tx.last_insert_rowid())
}

/// A stored row as read, before decoding.
pub(crate) struct StoredDay {
    day: i64,
    shape: Vec<u8>,
    row: Vec<u8>,
    usage: Option<UsageSnapshot>,
}

impl StoredDay {
    pub(crate) fn decode(&self, account: &AccountId) -> Result<HistoryDay, DbError> {
        Ok(HistoryDay {
            account_id: account.clone(),
            as_of: day_of_number(self.day)?,
            health: shape::join(&self.shape, &self.row)?,
            usage: self.usage.clone(),
        })
    }
}

/// The rows of account `id` on `days` (day numbers, ascending) that it has: a seek per day,
/// as rows are keyed by day first.
pub(crate) fn read_days(
    conn: &Connection,
    id: &str,
    days: impl IntoIterator<Item = i64>,
) -> Result<Vec<StoredDay>, DbError> {
    let account: Option<i64> = conn
        .prepare_cached("SELECT account FROM score_history_accounts WHERE account_id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?;
    let Some(account) = account else {
        return Ok(Vec::new());
    };
    let mut on_day = conn.prepare_cached(
        "SELECT h.shape, h.body, u.body FROM score_history h
         LEFT JOIN usage_samples u ON u.day = h.day AND u.account = h.account
         WHERE h.day = ?1 AND h.account = ?2",
    )?;
    let mut shape_of =
        conn.prepare_cached("SELECT body FROM score_history_shapes WHERE shape = ?1")?;
    let mut shapes: HashMap<i64, Vec<u8>> = HashMap::new();
    let mut event_names: Option<HashMap<u64, String>> = None;
    let mut out = Vec::new();
    for day in days {
        let Some((shape, row, usage)) = on_day
            .query_row(params![day, account], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get(1)?,
                    r.get::<_, Option<Vec<u8>>>(2)?,
                ))
            })
            .optional()?
        else {
            continue;
        };
        let shape = match shapes.get(&shape) {
            Some(bytes) => bytes.clone(),
            None => {
                let bytes: Vec<u8> = shape_of
                    .query_row([shape], |r| r.get(0))
                    .optional()?
                    .ok_or_else(|| DbError::Corrupt(format!("history shape {shape} missing")))?;
                shapes.insert(shape, bytes.clone());
                bytes
            }
        };
        let usage = match usage {
            Some(bytes) => {
                let names = match &mut event_names {
                    Some(names) => names,
                    None => event_names.insert(all_event_names(conn)?),
                };
                Some(sample::decode(&bytes, |n| names.get(&n).cloned())?)
            }
            None => None,
        };
        out.push(StoredDay {
            day,
            shape,
            row,
            usage,
        });
    }
    Ok(out)
}

/// Every numbered event name (a few dozen to a few thousand: the product's event types).
fn all_event_names(conn: &Connection) -> Result<HashMap<u64, String>, DbError> {
    let mut select = conn.prepare_cached("SELECT name_id, name FROM usage_event_names")?;
    let rows = select.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    let mut names = HashMap::new();
    for row in rows {
        let (n, name) = row?;
        names.insert(n as u64, name);
    }
    Ok(names)
}

/// Days since 1970-01-01: the history's day key.
pub(crate) fn day_number(day: NaiveDate) -> i64 {
    day.signed_duration_since(NaiveDate::default()).num_days()
}

fn day_of_number(n: i64) -> Result<NaiveDate, DbError> {
    NaiveDate::default()
        .checked_add_signed(chrono::TimeDelta::days(n))
        .ok_or_else(|| DbError::Corrupt(format!("history day {n}")))
}
