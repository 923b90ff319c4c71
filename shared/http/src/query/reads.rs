//! The storage reads behind the query routes and dashboard pages, in one place so their cost is
//! easy to see (and the benchmark counts them).

use std::collections::BTreeSet;

use chrono::NaiveDate;
use futures::stream::{self, StreamExt, TryStreamExt};
use vitals_core::model::{AccountId, AccountRecord, PortfolioSummary};
use vitals_core::ports::Storage;
use vitals_core::query::accounts::AccountRow;
use vitals_core::segment::Segment;
use vitals_core::StoreError;

use crate::authn::Principal;
use crate::ApiError;

/// Account records per page when listing a segment.
const SEGMENT_PAGE: usize = 500;
/// Segments read at once.
const SEGMENT_CONCURRENCY: usize = 16;

/// Every account's list row and the portfolio trend, as the latest run left them.
#[derive(Debug, Clone, Default)]
pub struct Listed {
    /// Unscoped and unfiltered: [`vitals_core::query::listing::visible_rows`] cuts them.
    pub rows: Vec<AccountRow>,
    /// The summaries of the 90 days up to the newest, oldest first; empty before the first run
    /// (or, on DynamoDB, until a summary is stored after upgrading to listings).
    pub trend: Vec<PortfolioSummary>,
}

/// The precomputed listing: one request (two on DynamoDB when a segment's listing is split).
/// A segment no run has listed yet (a store scored before listings existed) is read from its
/// account records instead, one Query stream per such segment, until the next run lists it.
pub async fn listed_rows(storage: &dyn Storage, today: NaiveDate) -> Result<Listed, StoreError> {
    let listing = storage.account_listing().await?;
    let listed: BTreeSet<Segment> = listing.segments.iter().map(|s| s.segment).collect();
    let unlisted: Vec<Segment> = Segment::all().filter(|s| !listed.contains(s)).collect();
    let mut rows: Vec<AccountRow> = listing.segments.into_iter().flat_map(|s| s.rows).collect();
    if !unlisted.is_empty() {
        let records = accounts_of_segments(storage, unlisted).await?;
        rows.extend(
            records
                .iter()
                .filter(|r| r.account_id.as_str() != AccountId::UNATTRIBUTED)
                .map(|r| AccountRow::from_record(r, today)),
        );
    }
    Ok(Listed {
        rows,
        trend: listing.trend,
    })
}

/// The account records of some segments, segment by segment (one Query stream each, 16 at a
/// time): ~0.5 RRU per account on DynamoDB. Only the fallback for unlisted segments pays it.
async fn accounts_of_segments(
    storage: &dyn Storage,
    segments: Vec<Segment>,
) -> Result<Vec<AccountRecord>, StoreError> {
    let per_segment: Vec<Vec<AccountRecord>> = stream::iter(segments)
        .map(|segment| async move {
            let mut out = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let page = storage
                    .list_segment(segment, cursor.as_deref(), SEGMENT_PAGE)
                    .await?;
                out.extend(page.items);
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => return Ok::<_, StoreError>(out),
                }
            }
        })
        .buffer_unordered(SEGMENT_CONCURRENCY)
        .try_collect()
        .await?;
    Ok(per_segment.into_iter().flatten().collect())
}

/// The account if it exists and the caller may see it; 404 otherwise (whether it is missing or
/// someone else's), 403 for roles that see no accounts. One request.
pub async fn visible_account(
    storage: &dyn Storage,
    who: &Principal,
    id: &str,
) -> Result<AccountRecord, ApiError> {
    if !who.reads_accounts() {
        return Err(ApiError::Forbidden);
    }
    let id = AccountId::new(id).map_err(|_| ApiError::NotFound)?;
    match storage.get_account(&id).await? {
        Some(record) if who.sees(&record.profile) => Ok(record),
        _ => Err(ApiError::NotFound),
    }
}

/// The summaries of the last `days` days (oldest first), and the latest summary when there is
/// none in that period: one request, two before the first scoring run.
pub async fn portfolio_summaries(
    storage: &dyn Storage,
    today: NaiveDate,
    days: u32,
) -> Result<(Vec<PortfolioSummary>, Option<PortfolioSummary>), StoreError> {
    let from = today - chrono::Days::new(u64::from(days));
    let trend = storage.summaries(from, today).await?;
    let latest = if trend.is_empty() {
        storage.latest_summary().await?
    } else {
        None
    };
    Ok((trend, latest))
}
