//! Daily score history: one entry per (account, day), kept for the retention period.

use async_trait::async_trait;
use chrono::NaiveDate;
use vitals_core::model::{AccountId, ScoreRecord};
use vitals_core::ports::{ScoreHistoryStore, StoreResult};

use crate::codec::{day_key, expiry_after_day, to_json};
use crate::store::SqliteStore;

#[async_trait]
impl ScoreHistoryStore for SqliteStore {
    async fn put_history(&self, records: &[ScoreRecord]) -> StoreResult<()> {
        self.put_rows(
            "INSERT INTO score_history (account_id, as_of, body, expires_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (account_id, as_of) DO UPDATE SET
                 body = excluded.body, expires_at = excluded.expires_at",
            records,
            |r| {
                Ok((
                    r.account_id.as_str().to_string(),
                    day_key(r.as_of),
                    to_json(r)?,
                    expiry_after_day(r.as_of, self.retention_days),
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
    ) -> StoreResult<Vec<ScoreRecord>> {
        let id = account.as_str().to_string();
        let (from, to) = (day_key(from), day_key(to));
        self.bodies_of(
            "SELECT body FROM score_history
             WHERE account_id = ?1 AND as_of >= ?2 AND as_of <= ?3
             ORDER BY as_of",
            (id, from, to),
        )
        .await
    }
}
