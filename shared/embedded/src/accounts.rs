//! Account records: the profile, the scoring state and the provisional score live in separate
//! columns so ingest, the daily run and the provisional refresh write their parts without
//! clobbering each other.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension, Row};
use vitals_core::model::{AccountId, AccountProfile, AccountRecord, Page, ProvisionalScore};
use vitals_core::ports::{AccountStore, StoreResult};
use vitals_core::segment::Segment;

use serde::de::DeserializeOwned;

use crate::codec::{invalid_cursor, limit_plus_one, paginate, to_packed, Column, Cursor};
use crate::error::DbError;
use crate::store::SqliteStore;

/// The stored columns of one account, decoded outside the connection lock.
pub(crate) struct AccountRow {
    account_id: String,
    profile: Option<Column>,
    window: Option<Column>,
    score: Option<Column>,
    trail: Option<Column>,
    provisional: Option<Column>,
}

impl AccountRow {
    pub(crate) fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(AccountRow {
            account_id: row.get(0)?,
            profile: Column::read(row, 1)?,
            window: Column::read(row, 2)?,
            score: Column::read(row, 3)?,
            trail: Column::read(row, 4)?,
            provisional: Column::read(row, 5)?,
        })
    }

    pub(crate) fn decode(&self) -> Result<AccountRecord, DbError> {
        let account_id = AccountId::new(self.account_id.as_str())
            .map_err(|e| DbError::Corrupt(format!("stored account id: {e}")))?;
        Ok(AccountRecord {
            account_id,
            profile: decoded(self.profile.as_ref())?.unwrap_or_default(),
            window: decoded(self.window.as_ref())?.unwrap_or_default(),
            score: decoded(self.score.as_ref())?,
            trail: decoded(self.trail.as_ref())?.unwrap_or_default(),
            provisional: decoded(self.provisional.as_ref())?,
        })
    }
}

fn decoded<T: DeserializeOwned>(column: Option<&Column>) -> Result<Option<T>, DbError> {
    column.map(Column::decode).transpose()
}

pub(crate) const COLUMNS: &str = "account_id, profile, usage_window, score, trail, provisional";

#[async_trait]
impl AccountStore for SqliteStore {
    async fn put_profile(&self, account: &AccountId, profile: &AccountProfile) -> StoreResult<()> {
        let id = account.as_str().to_string();
        let seg = account.segment().0;
        let profile = to_packed(profile)?;
        self.db
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO accounts (account_id, seg, profile) VALUES (?1, ?2, ?3)
                     ON CONFLICT (account_id) DO UPDATE SET profile = excluded.profile",
                    params![id, seg, profile],
                )?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn put_scoring_state(&self, record: &AccountRecord) -> StoreResult<()> {
        self.put_scoring_states(std::slice::from_ref(record)).await
    }

    async fn put_scoring_states(&self, records: &[AccountRecord]) -> StoreResult<()> {
        self.put_rows(
            "INSERT INTO accounts (account_id, seg, usage_window, score, trail)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (account_id) DO UPDATE SET
                 usage_window = excluded.usage_window, score = excluded.score,
                 trail = excluded.trail",
            records,
            |r| {
                Ok((
                    r.account_id.as_str().to_string(),
                    r.account_id.segment().0,
                    to_packed(&r.window)?,
                    r.score.as_ref().map(to_packed).transpose()?,
                    // An empty trail is stored as none, as on DynamoDB.
                    (!r.trail.is_empty())
                        .then(|| to_packed(&r.trail))
                        .transpose()?,
                ))
            },
        )
        .await
    }

    async fn put_provisional_scores(&self, scores: &[ProvisionalScore]) -> StoreResult<()> {
        self.put_rows(
            "INSERT INTO accounts (account_id, seg, provisional) VALUES (?1, ?2, ?3)
             ON CONFLICT (account_id) DO UPDATE SET provisional = excluded.provisional",
            scores,
            |p| {
                Ok((
                    p.account_id.as_str().to_string(),
                    p.account_id.segment().0,
                    to_packed(p)?,
                ))
            },
        )
        .await
    }

    async fn get_account(&self, account: &AccountId) -> StoreResult<Option<AccountRecord>> {
        let id = account.as_str().to_string();
        let row = self
            .db
            .read(move |conn| {
                let sql = format!("SELECT {COLUMNS} FROM accounts WHERE account_id = ?1");
                Ok(conn
                    .prepare_cached(&sql)?
                    .query_row(params![id], AccountRow::read)
                    .optional()?)
            })
            .await?;
        Ok(row.as_ref().map(AccountRow::decode).transpose()?)
    }

    async fn list_segment(
        &self,
        segment: Segment,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<AccountRecord>> {
        let fetch = limit_plus_one(limit)?;
        // Account ids are never empty, so "" starts before the first one.
        let after = match cursor.map(Cursor::decode).transpose()? {
            None => String::new(),
            Some(Cursor::Segment { s, a }) if s == segment.0 => a,
            Some(_) => return Err(invalid_cursor().into()),
        };
        let rows = self
            .db
            .read(move |conn| {
                let sql = format!(
                    "SELECT {COLUMNS} FROM accounts WHERE seg = ?1 AND account_id > ?2
                     ORDER BY account_id LIMIT ?3"
                );
                let rows = conn
                    .prepare_cached(&sql)?
                    .query_map(params![segment.0, after, fetch], AccountRow::read)?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?;
        let records = crate::parallel::map(&rows, AccountRow::decode)?;
        let (items, next) = paginate(records, limit, |last| Cursor::Segment {
            s: segment.0,
            a: last.account_id.as_str().to_string(),
        })?;
        Ok(Page { items, next })
    }
}
