//! Touch marks: one item per (interval, mark id) under the interval's partition
//! (`TOUCHED#{interval}`), read whole by the provisional refreshes of the next few intervals and
//! expired by the table's TTL (see `vitals_core::freshness`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use vitals_core::freshness::TouchMark;
use vitals_core::ports::{StoreResult, TouchedAccountStore};

use super::schema::{queries, records};
use super::DynamoStore;

#[async_trait]
impl TouchedAccountStore for DynamoStore {
    async fn put_touch_marks(&self, marks: &[TouchMark]) -> StoreResult<()> {
        self.put_each("put touch marks", marks, records::encode_touch_mark)
            .await
    }

    async fn touch_marks(&self, interval: DateTime<Utc>) -> StoreResult<Vec<TouchMark>> {
        self.query_decoded(
            Some(queries::touch_marks(&interval)),
            records::decode_touch_mark,
        )
        .await
    }
}
