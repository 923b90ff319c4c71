//! Daily score history: one entry per (account, day), kept for the retention period, its body
//! the compact bytes of [`vitals_core::history::codec`] (a JSON body of an older version reads).

use async_trait::async_trait;
use chrono::NaiveDate;
use vitals_core::history::{codec, HistoryDay};
use vitals_core::model::AccountId;
use vitals_core::ports::{ScoreHistoryStore, StoreResult};

use crate::codec::{day_key, expiry_after_day};
use crate::store::SqliteStore;

#[async_trait]
impl ScoreHistoryStore for SqliteStore {
    async fn put_history(&self, entries: &[HistoryDay]) -> StoreResult<()> {
        // In key order: a backfill hands over many days of every account at once, and
        // inserted day by day each entry would land on a different page of the key's index.
        let mut in_key_order: Vec<&HistoryDay> = entries.iter().collect();
        in_key_order
            .sort_unstable_by(|a, b| (&a.account_id, a.as_of).cmp(&(&b.account_id, b.as_of)));
        self.put_rows(
            "INSERT INTO score_history (account_id, as_of, body, expires_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (account_id, as_of) DO UPDATE SET
                 body = excluded.body, expires_at = excluded.expires_at",
            &in_key_order,
            |e| {
                Ok((
                    e.account_id.as_str().to_string(),
                    day_key(e.as_of),
                    codec::encode(e)?,
                    expiry_after_day(e.as_of, self.retention_days),
                ))
            },
        )
        .await
    }

    async fn history(
        &self,
        account: &AccountId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<HistoryDay>> {
        let id = account.as_str().to_string();
        let (from, to) = (day_key(from), day_key(to));
        let rows = self
            .db
            .read(move |conn| {
                let mut select = conn.prepare_cached(
                    "SELECT as_of, body FROM score_history
                     WHERE account_id = ?1 AND as_of >= ?2 AND as_of <= ?3
                     ORDER BY as_of",
                )?;
                let rows = select.query_map((id, from, to), |row| {
                    Ok((row.get::<_, String>(0)?, body_bytes(row, 1)?))
                })?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await?;
        rows.iter()
            .map(|(day, body)| codec::decode_keyed(account, day, body))
            .collect()
    }
}

/// A history body as bytes: a BLOB, or the TEXT of an entry stored as JSON.
pub(crate) fn body_bytes(row: &rusqlite::Row<'_>, column: usize) -> rusqlite::Result<Vec<u8>> {
    Ok(row.get_ref(column)?.as_bytes()?.to_vec())
}
