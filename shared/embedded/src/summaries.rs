//! Precomputed portfolio summaries, one per day (the newest day is the latest), and each
//! segment's account listing. The listing and the trend are read in one transaction.

use async_trait::async_trait;
use chrono::NaiveDate;
use rusqlite::{params, OptionalExtension};
use vitals_core::model::{
    AccountListing, BookDay, PortfolioSummary, ProvisionalListing, SegmentListing,
};
use vitals_core::ports::{ListingStore, StoreResult, SummaryStore};
use vitals_core::StoreError;

use crate::codec::{day_key, from_json, to_json};
use crate::store::SqliteStore;

#[async_trait]
impl SummaryStore for SqliteStore {
    async fn put_summary(&self, summary: &PortfolioSummary) -> StoreResult<()> {
        let Some(as_of) = summary.as_of else {
            return Err(StoreError::Rejected(
                "a portfolio summary needs its as_of day".to_string(),
            ));
        };
        let body = to_json(summary)?;
        self.put_body(
            "INSERT INTO portfolio_summaries (as_of, body) VALUES (?1, ?2)
             ON CONFLICT (as_of) DO UPDATE SET body = excluded.body",
            (day_key(as_of), body),
            ListingChange::Bumps,
        )
        .await
    }

    async fn latest_summary(&self) -> StoreResult<Option<PortfolioSummary>> {
        let body: Option<String> = self
            .db
            .read(|conn| {
                Ok(conn
                    .prepare_cached(
                        "SELECT body FROM portfolio_summaries ORDER BY as_of DESC LIMIT 1",
                    )?
                    .query_row([], |row| row.get(0))
                    .optional()?)
            })
            .await?;
        Ok(body.as_deref().map(from_json).transpose()?)
    }

    async fn summaries(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<PortfolioSummary>> {
        let (from, to) = (day_key(from), day_key(to));
        let bodies: Vec<String> = self
            .db
            .read(move |conn| {
                let rows = conn
                    .prepare_cached(
                        "SELECT body FROM portfolio_summaries
                         WHERE as_of >= ?1 AND as_of <= ?2 ORDER BY as_of",
                    )?
                    .query_map(params![from, to], |row| row.get(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?;
        Ok(bodies
            .iter()
            .map(|b| from_json(b))
            .collect::<Result<Vec<_>, _>>()?)
    }

    async fn put_book_days(&self, books: &[BookDay]) -> StoreResult<()> {
        let rows: Vec<(String, String, String)> = books
            .iter()
            .map(|b| Ok((b.owner.clone(), day_key(b.day), to_json(b)?)))
            .collect::<StoreResult<_>>()?;
        // Books are kept as long as the score history they summarise: days older than the
        // retention before the newest day written go with this write.
        let cutoff = books
            .iter()
            .map(|b| b.day)
            .max()
            .map(|newest| day_key(newest - chrono::Days::new(u64::from(self.retention_days))));
        self.db
            .write(move |tx| {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO book_days (owner, day, body) VALUES (?1, ?2, ?3)
                     ON CONFLICT (owner, day) DO UPDATE SET body = excluded.body",
                )?;
                for (owner, day, body) in &rows {
                    insert.execute(params![owner, day, body])?;
                }
                if let Some(cutoff) = &cutoff {
                    tx.prepare_cached("DELETE FROM book_days WHERE day < ?1")?
                        .execute(params![cutoff])?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn book_days(
        &self,
        owner: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<BookDay>> {
        let (owner, from, to) = (owner.to_string(), day_key(from), day_key(to));
        self.bodies_of(
            "SELECT body FROM book_days
             WHERE owner = ?1 AND day >= ?2 AND day <= ?3 ORDER BY day",
            (owner, from, to),
        )
        .await
    }
}

#[async_trait]
impl ListingStore for SqliteStore {
    async fn put_segment_listing(&self, listing: &SegmentListing) -> StoreResult<()> {
        let body = to_json(listing)?;
        self.put_body(
            "INSERT INTO segment_listings (seg, body) VALUES (?1, ?2)
             ON CONFLICT (seg) DO UPDATE SET body = excluded.body",
            (i64::from(listing.segment.0), body),
            ListingChange::Bumps,
        )
        .await
    }

    async fn put_provisional_listing(&self, listing: &ProvisionalListing) -> StoreResult<()> {
        let body = to_json(listing)?;
        self.put_body(
            "INSERT INTO provisional_listing (id, body) VALUES (1, ?1)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            (body,),
            ListingChange::Bumps,
        )
        .await
    }

    async fn provisional_listing(&self) -> StoreResult<Option<ProvisionalListing>> {
        self.body_of("SELECT body FROM provisional_listing WHERE id = 1", ())
            .await
    }

    async fn listing_version(&self) -> StoreResult<Option<String>> {
        let version: Option<i64> = self
            .db
            .read(|conn| {
                Ok(conn
                    .prepare_cached("SELECT version FROM listing_version WHERE id = 1")?
                    .query_row([], |row| row.get(0))
                    .optional()?)
            })
            .await?;
        Ok(version.map(|v| v.to_string()))
    }

    async fn account_listing(&self) -> StoreResult<AccountListing> {
        let trend_days = format!("-{} days", AccountListing::TREND_DAYS);
        let (listings, provisional, summaries): (Vec<String>, Option<String>, Vec<String>) = self
            .db
            .read(move |conn| {
                // One snapshot: a run finishing between the two reads is seen whole or not at all.
                let tx = conn.unchecked_transaction()?;
                let listings = tx
                    .prepare_cached("SELECT body FROM segment_listings ORDER BY seg")?
                    .query_map([], |row| row.get(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                let provisional = tx
                    .prepare_cached("SELECT body FROM provisional_listing WHERE id = 1")?
                    .query_row([], |row| row.get(0))
                    .optional()?;
                let summaries = tx
                    .prepare_cached(
                        "SELECT body FROM portfolio_summaries
                         WHERE as_of >= (SELECT date(MAX(as_of), ?1) FROM portfolio_summaries)
                         ORDER BY as_of",
                    )?
                    .query_map(params![trend_days], |row| row.get(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                tx.finish()?;
                Ok((listings, provisional, summaries))
            })
            .await?;
        Ok(AccountListing {
            segments: listings
                .iter()
                .map(|b| from_json(b))
                .collect::<Result<Vec<_>, _>>()?,
            provisional: provisional.as_deref().map(from_json).transpose()?,
            trend: summaries
                .iter()
                .map(|b| from_json(b))
                .collect::<Result<Vec<_>, _>>()?,
        })
    }
}

/// Whether a write changes what listing readers keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListingChange {
    Bumps,
    Keeps,
}

impl SqliteStore {
    /// Runs one upsert of a JSON body, bumping the listing version in the same transaction
    /// when the write changes a listing or a summary.
    pub(crate) async fn put_body<P>(
        &self,
        sql: &'static str,
        params: P,
        change: ListingChange,
    ) -> StoreResult<()>
    where
        P: rusqlite::Params + Send + 'static,
    {
        self.db
            .write(move |tx| {
                tx.execute(sql, params)?;
                if change == ListingChange::Bumps {
                    bump_listing_version(tx)?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }
}

/// Marks the listing as changed, in the transaction that changed it.
fn bump_listing_version(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO listing_version (id, version) VALUES (1, 1)
         ON CONFLICT (id) DO UPDATE SET version = version + 1",
        [],
    )?;
    Ok(())
}
