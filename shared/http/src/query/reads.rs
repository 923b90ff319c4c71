//! The storage reads behind the query routes and dashboard pages, in one place so their cost is
//! easy to see (and the benchmark counts them).

use chrono::NaiveDate;
use futures::stream::{self, StreamExt, TryStreamExt};
use vitals_core::model::{AccountId, AccountRecord, PortfolioSummary};
use vitals_core::ports::Storage;
use vitals_core::segment::Segment;
use vitals_core::StoreError;

use crate::authn::Principal;
use crate::ApiError;

/// Account records per page when listing a segment.
const SEGMENT_PAGE: usize = 500;
/// Segments read at once.
const SEGMENT_CONCURRENCY: usize = 16;

/// Every account record, read segment by segment (64 Query streams, 16 at a time). On DynamoDB
/// this costs ~0.5 RRU per 4 KB of records, i.e. about 0.5 RRU per account, and 64 requests
/// (more for segments over one page): the account list and the dashboard's lists pay it, the
/// portfolio and account views do not.
pub async fn all_accounts(storage: &dyn Storage) -> Result<Vec<AccountRecord>, StoreError> {
    let per_segment: Vec<Vec<AccountRecord>> = stream::iter(Segment::all())
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
