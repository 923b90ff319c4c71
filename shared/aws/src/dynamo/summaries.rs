//! Portfolio summaries: one item per day; the latest is the last in the partition, so
//! dashboards read one small item instead of scanning accounts. Storing a summary also rewrites
//! the trend kept with the account listing ([`super::listings`]), so the dashboard reads both
//! at once.

use async_trait::async_trait;
use chrono::NaiveDate;
use vitals_core::model::{
    AccountListing, BookDay, PortfolioSummary, ProvisionalListing, SegmentListing,
};
use vitals_core::ports::{ListingStore, StoreResult, SummaryStore};

use super::schema::{queries, records};
use super::DynamoStore;

#[async_trait]
impl SummaryStore for DynamoStore {
    async fn put_summary(&self, summary: &PortfolioSummary) -> StoreResult<()> {
        let item = records::encode_summary(summary)?;
        self.put("put summary", item, None).await?;
        if let Some(day) = summary.as_of {
            self.refresh_trend(day).await?;
        }
        self.bump_listing_version().await
    }

    async fn latest_summary(&self) -> StoreResult<Option<PortfolioSummary>> {
        self.query_first(&queries::latest_summary())
            .await?
            .map(records::decode_summary)
            .transpose()
    }

    async fn summaries(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<PortfolioSummary>> {
        self.query_decoded(queries::summaries(from, to), records::decode_summary)
            .await
    }

    async fn put_book_days(&self, books: &[BookDay]) -> StoreResult<()> {
        self.put_each("put book days", books, |b| {
            records::encode_book_day(b, self.retention_days)
        })
        .await
    }

    async fn book_days(
        &self,
        owner: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<BookDay>> {
        self.query_decoded(
            queries::book_days(owner, from, to),
            records::decode_book_day,
        )
        .await
    }
}

#[async_trait]
impl ListingStore for DynamoStore {
    async fn put_segment_listing(&self, listing: &SegmentListing) -> StoreResult<()> {
        self.write_segment_listing(listing).await
    }

    async fn put_provisional_listing(&self, listing: &ProvisionalListing) -> StoreResult<()> {
        self.write_provisional_listing(listing).await
    }

    async fn provisional_listing(&self) -> StoreResult<Option<ProvisionalListing>> {
        self.read_provisional_listing().await
    }

    async fn account_listing(&self) -> StoreResult<AccountListing> {
        self.read_account_listing().await
    }

    async fn listing_version(&self) -> StoreResult<Option<String>> {
        self.read_listing_version().await
    }
}
