//! Touch marks: one row per (interval, mark id), its body the mark (see
//! `vitals_core::freshness`), expiring [`TouchMark::KEPT_DAYS`] after its interval.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use vitals_core::freshness::TouchMark;
use vitals_core::ports::{StoreResult, TouchedAccountStore};

use crate::codec::{expiry_after, time_key, to_json};
use crate::store::SqliteStore;

#[async_trait]
impl TouchedAccountStore for SqliteStore {
    async fn put_touch_marks(&self, marks: &[TouchMark]) -> StoreResult<()> {
        self.put_rows(
            "INSERT INTO touch_marks (interval_start, id, body, expires_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (interval_start, id) DO UPDATE SET
                 body = excluded.body, expires_at = excluded.expires_at",
            marks,
            |m| {
                let expires_at = expiry_after(m.interval, TouchMark::KEPT_DAYS);
                Ok((time_key(m.interval), m.id.clone(), to_json(m)?, expires_at))
            },
        )
        .await
    }

    async fn touch_marks(&self, interval: DateTime<Utc>) -> StoreResult<Vec<TouchMark>> {
        self.bodies_of(
            "SELECT body FROM touch_marks WHERE interval_start = ?1 ORDER BY id",
            (time_key(interval),),
        )
        .await
    }
}
