//! The storage reads behind the query routes and dashboard pages, in one place so their cost is
//! easy to see (and the benchmark counts them).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use futures::stream::{self, StreamExt, TryStreamExt};
use vitals_core::churn::cache::ModelCache;
use vitals_core::model::{AccountId, AccountRecord, BookDay, PortfolioSummary};
use vitals_core::ports::Storage;
use vitals_core::query::accounts::AccountRow;
use vitals_core::query::listed_rows::ListedRows;
use vitals_core::query::listing::with_provisional;
use vitals_core::segment::Segment;
use vitals_core::StoreError;

use crate::authn::Principal;
use crate::{ApiError, AppState};

/// Account records per page when listing a segment.
const SEGMENT_PAGE: usize = 500;
/// Segments read at once.
const SEGMENT_CONCURRENCY: usize = 16;

/// Every account's list row and the portfolio trend, as the latest run left them, with today's
/// provisional scores merged in.
#[derive(Debug, Default)]
pub struct Listed {
    /// Unscoped and unfiltered, indexed: [`ListedRows::visible`] cuts them.
    pub rows: ListedRows,
    /// The summaries of the 90 days up to the newest, oldest first; empty before the first run
    /// (or, on DynamoDB, until a summary is stored after upgrading to listings).
    pub trend: Vec<PortfolioSummary>,
    /// The owners and the tiers the rows name, sorted: the filters' choices, worked out once
    /// per listing rather than per view.
    pub owners: Vec<String>,
    pub tiers: Vec<String>,
}

impl Listed {
    pub fn new(rows: Vec<AccountRow>, trend: Vec<PortfolioSummary>) -> Self {
        let distinct = |field: fn(&AccountRow) -> Option<&String>| -> Vec<String> {
            let set: BTreeSet<&String> = rows.iter().filter_map(field).collect();
            set.into_iter().cloned().collect()
        };
        let owners = distinct(|r| r.owner.as_ref());
        let tiers = distinct(|r| r.tier.as_ref());
        Listed {
            rows: ListedRows::new(rows),
            trend,
            owners,
            tiers,
        }
    }
}

/// What a query process keeps between requests, one per [`AppState`](crate::AppState) (so
/// two states, even over the same store, never share an entry): the decoded listing and the
/// owners' books, each kept while the store's listing version is unchanged, and the latest
/// churn model for a few minutes. The data changes once a day; keeping it saves requests and
/// decoding on every view.
#[derive(Default)]
pub struct ReadCaches {
    listing: Mutex<Option<Arc<KeptListing>>>,
    books: Mutex<Option<Arc<KeptBooks>>>,
    /// The latest churn model (the account view's churn risk).
    pub churn_model: ModelCache,
}

impl ReadCaches {
    fn kept_listing(&self, version: &str) -> Option<Arc<Listed>> {
        let kept = self.listing.lock().unwrap_or_else(|e| e.into_inner());
        kept.as_ref()
            .filter(|k| k.version == version)
            .map(|k| Arc::clone(&k.listed))
    }

    fn keep_listing(&self, kept: KeptListing) {
        *self.listing.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(kept));
    }

    /// The books kept for `version`, replacing those of an older version.
    fn books_of(&self, version: &str) -> Arc<KeptBooks> {
        let mut kept = self.books.lock().unwrap_or_else(|e| e.into_inner());
        match kept.as_ref().filter(|k| k.version == version) {
            Some(books) => Arc::clone(books),
            None => {
                let fresh = Arc::new(KeptBooks {
                    version: version.to_string(),
                    books: Mutex::new(HashMap::new()),
                });
                *kept = Some(Arc::clone(&fresh));
                fresh
            }
        }
    }
}

struct KeptListing {
    version: String,
    listed: Arc<Listed>,
}

/// The precomputed listing. A process keeps the decoded listing and asks the store only
/// whether it changed (one small read, [`ListingStore::listing_version`]); when it did, or on
/// the first view, it reads the listing too: two requests (three on DynamoDB when a segment's
/// listing is split). Decoding every row is what a big portfolio's list view would otherwise
/// pay on each request.
///
/// A segment no run has listed yet (a store scored before listings existed) is read from its
/// account records instead, one Query stream per such segment, until the next run lists it;
/// such a listing is not kept, as records change without changing the listing version.
///
/// [`ListingStore::listing_version`]: vitals_core::ports::ListingStore::listing_version
pub async fn listed_rows(state: &AppState, today: NaiveDate) -> Result<Arc<Listed>, StoreError> {
    let version = state.storage.listing_version().await?;
    listed_at(state, today, version).await
}

/// The listing and, for a reader of their own book (CSM, AE), the owner's books of the `days`
/// days up to today (`None` for a reader of the whole portfolio): one request when both are
/// kept (the listing version), read at once when not.
pub async fn listed_with_book(
    state: &AppState,
    today: NaiveDate,
    who: &Principal,
    days: u32,
) -> Result<(Arc<Listed>, Option<Arc<Vec<BookDay>>>), StoreError> {
    let version = state.storage.listing_version().await?;
    if who.reads_whole_portfolio() {
        return Ok((listed_at(state, today, version).await?, None));
    }
    let (listed, book) = futures::join!(
        listed_at(state, today, version.clone()),
        book_days(state, today, who, days, version)
    );
    Ok((listed?, Some(book?)))
}

/// Books kept at most, by (owner, from, to); cleared when full.
const KEPT_BOOKS: usize = 4096;

type BookKey = (String, NaiveDate, NaiveDate);

/// Decoded books, kept while the store's listing version is unchanged (the daily run stores
/// the day's books before its summary, which changes the version).
struct KeptBooks {
    version: String,
    books: Mutex<HashMap<BookKey, Arc<Vec<BookDay>>>>,
}

/// One owner's books of the `days` days up to today.
async fn book_days(
    state: &AppState,
    today: NaiveDate,
    who: &Principal,
    days: u32,
    version: Option<String>,
) -> Result<Arc<Vec<BookDay>>, StoreError> {
    let from = today - chrono::Days::new(u64::from(days));
    let key: BookKey = (BookDay::owner_key(&who.user), from, today);
    let kept = version.as_deref().map(|v| state.caches.books_of(v));
    if let Some(found) = kept.as_ref().and_then(|k| {
        k.books
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned()
    }) {
        return Ok(found);
    }
    let books = Arc::new(state.storage.book_days(&key.0, from, today).await?);
    if let Some(kept) = kept {
        let mut map = kept.books.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= KEPT_BOOKS {
            map.clear();
        }
        map.insert(key, Arc::clone(&books));
    }
    Ok(books)
}

/// The listing as of `version` (read before it), kept or read.
async fn listed_at(
    state: &AppState,
    today: NaiveDate,
    version: Option<String>,
) -> Result<Arc<Listed>, StoreError> {
    if let Some(kept) = version
        .as_deref()
        .and_then(|v| state.caches.kept_listing(v))
    {
        return Ok(kept);
    }
    let storage = &state.storage;
    let listing = storage.account_listing().await?;
    let listed: BTreeSet<Segment> = listing.segments.iter().map(|s| s.segment).collect();
    let unlisted: Vec<Segment> = Segment::all().filter(|s| !listed.contains(s)).collect();
    let mut rows: Vec<AccountRow> = listing.segments.into_iter().flat_map(|s| s.rows).collect();
    let complete = unlisted.is_empty();
    if !complete {
        let records = accounts_of_segments(storage.as_ref(), unlisted).await?;
        rows.extend(
            records
                .iter()
                .filter(|r| r.account_id.as_str() != AccountId::UNATTRIBUTED)
                .map(|r| AccountRow::from_record(r, today)),
        );
    }
    let listed = Arc::new(Listed::new(
        with_provisional(rows, listing.provisional),
        listing.trend,
    ));
    if let (Some(version), true) = (version, complete) {
        state.caches.keep_listing(KeptListing {
            version,
            listed: Arc::clone(&listed),
        });
    }
    Ok(listed)
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
