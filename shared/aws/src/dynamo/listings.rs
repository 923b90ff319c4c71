//! The precomputed account listing and the dashboard trend: item layout and I/O. Each segment's
//! rows are one item (`LISTING` / `SEG#{seg}`) of deflated JSON; a segment too large for one
//! item puts the rest in extra parts named by that run's day (`SEG#{seg}#{as_of}#{n}`, written
//! first, expiring after a month), so a reader never mixes two runs' parts. The trend (the
//! summaries of the 90 days up to the newest) is one item (`LISTING` / `TREND`) rewritten
//! whenever a summary is stored. Today's provisional rows are one item (`LISTING` /
//! `PROVISIONAL`) the provisional refresh rewrites. Reading everything is one `BatchGetItem`
//! of the 64 first parts, the provisional rows and the trend, plus one for extra parts when any
//! segment has them.

use aws_sdk_dynamodb::types::KeysAndAttributes;
use chrono::{Days, NaiveDate};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use vitals_core::model::{AccountListing, PortfolioSummary, ProvisionalListing, SegmentListing};
use vitals_core::query::accounts::AccountRow;
use vitals_core::segment::Segment;
use vitals_core::StoreError;

use super::schema::packed::Packed;
use super::schema::records::{decode, encode, Key};
use super::schema::{keys, Item};
use super::{DynamoStore, StoreResult};
use crate::error::store_error;

const LISTING_PK: &str = "LISTING";
const TREND_SK: &str = "TREND";
const VERSION_SK: &str = "VERSION";
const PROVISIONAL_SK: &str = "PROVISIONAL";
/// DynamoDB's limit of keys per `BatchGetItem` call.
const BATCH_GET_KEYS: usize = 100;
/// Packed rows per item at most: DynamoDB's item limit is 400 KB, keys and names included.
const MAX_PART_BYTES: usize = 350 * 1024;
/// Extra parts outlive the run that wrote them by this long (later runs write their own).
const EXTRA_PART_RETENTION_DAYS: u32 = 30;

fn first_part_sk(segment: Segment) -> String {
    format!("SEG#{segment}")
}

fn extra_part_sk(segment: Segment, as_of: NaiveDate, part: u32) -> String {
    format!("SEG#{segment}#{}#{part}", keys::date(as_of))
}

fn key(sk: String) -> Key {
    Key {
        pk: LISTING_PK.to_owned(),
        sk,
    }
}

#[derive(Serialize, Deserialize)]
#[serde(bound(deserialize = "R: DeserializeOwned"))]
struct PartItem<R> {
    pk: String,
    sk: String,
    segment: Segment,
    as_of: NaiveDate,
    /// How many parts the segment's rows are in (on the first part).
    parts: u32,
    rows: Packed<R>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    expires_at: Option<i64>,
}

/// A random token rewritten after every listing or summary write ([`ListingStore::listing_version`]).
///
/// [`ListingStore::listing_version`]: vitals_core::ports::ListingStore::listing_version
#[derive(Serialize, Deserialize)]
struct VersionItem {
    pk: String,
    sk: String,
    token: String,
}

#[derive(Serialize, Deserialize)]
struct ProvisionalItem {
    pk: String,
    sk: String,
    day: NaiveDate,
    rows: Packed<Vec<AccountRow>>,
}

#[derive(Serialize, Deserialize)]
#[serde(bound(deserialize = "S: DeserializeOwned"))]
struct TrendItem<S> {
    pk: String,
    sk: String,
    summaries: Packed<S>,
}

fn encode_part(
    listing: &SegmentListing,
    rows: &[AccountRow],
    part: u32,
    parts: u32,
) -> StoreResult<(Key, Item)> {
    let (sk, expires_at) = if part == 0 {
        (first_part_sk(listing.segment), None)
    } else {
        (
            extra_part_sk(listing.segment, listing.as_of, part),
            Some(keys::expiry_of_day(
                listing.as_of,
                EXTRA_PART_RETENTION_DAYS,
            )),
        )
    };
    let item = encode(&PartItem {
        pk: LISTING_PK.to_owned(),
        sk: sk.clone(),
        segment: listing.segment,
        as_of: listing.as_of,
        parts,
        rows: Packed(rows),
        expires_at,
    })?;
    Ok((key(sk), item))
}

fn packed_bytes(item: &Item) -> usize {
    item.get("rows")
        .and_then(|v| v.as_b().ok())
        .map_or(0, |b| b.as_ref().len())
}

/// The listing's items, first part first: as few parts as keep every part under the limit.
fn encode_parts(listing: &SegmentListing) -> StoreResult<Vec<(Key, Item)>> {
    let mut parts = 1usize;
    loop {
        let per_part = listing.rows.len().div_ceil(parts).max(1);
        let chunks: Vec<&[AccountRow]> = if listing.rows.is_empty() {
            vec![&[]]
        } else {
            listing.rows.chunks(per_part).collect()
        };
        let count = u32::try_from(chunks.len())
            .map_err(|_| StoreError::Rejected("listing: too many parts".into()))?;
        let mut items = Vec::with_capacity(chunks.len());
        for (i, rows) in chunks.iter().enumerate() {
            let part = u32::try_from(i).unwrap_or(u32::MAX);
            items.push(encode_part(listing, rows, part, count)?);
        }
        let largest = items.iter().map(|(_, item)| packed_bytes(item)).max();
        if largest.unwrap_or(0) <= MAX_PART_BYTES {
            return Ok(items);
        }
        if per_part == 1 {
            return Err(StoreError::Rejected(format!(
                "listing of segment {}: one account row is over {MAX_PART_BYTES} bytes packed",
                listing.segment
            )));
        }
        parts = parts.saturating_mul(largest.unwrap_or(0) / MAX_PART_BYTES + 1);
    }
}

impl DynamoStore {
    pub(crate) async fn write_segment_listing(&self, listing: &SegmentListing) -> StoreResult<()> {
        let mut items = encode_parts(listing)?;
        let first = items.remove(0);
        // Extra parts first: the first part names them, so once it is visible they are too.
        if !items.is_empty() {
            self.batch_put("put segment listing parts", items).await?;
        }
        self.put("put segment listing", first.1, None).await?;
        self.bump_listing_version().await
    }

    /// Replaces the provisional rows (one item, at most `ProvisionalListing::MAX_ROWS` rows).
    pub(crate) async fn write_provisional_listing(
        &self,
        listing: &ProvisionalListing,
    ) -> StoreResult<()> {
        let item = encode(&ProvisionalItem {
            pk: LISTING_PK.to_owned(),
            sk: PROVISIONAL_SK.to_owned(),
            day: listing.day,
            rows: Packed(listing.rows.clone()),
        })?;
        self.put("put provisional listing", item, None).await?;
        self.bump_listing_version().await
    }

    pub(crate) async fn read_provisional_listing(&self) -> StoreResult<Option<ProvisionalListing>> {
        let item = self
            .get(
                "read provisional listing",
                &key(PROVISIONAL_SK.to_owned()),
                true,
            )
            .await?;
        item.map(decode_provisional).transpose()
    }

    /// Marks the listing as changed, after the change is written: a reader that sees the new
    /// token reads (consistently) at least that change.
    pub(crate) async fn bump_listing_version(&self) -> StoreResult<()> {
        let token = format!("{:032x}", rand::random::<u128>());
        let item = encode(&VersionItem {
            pk: LISTING_PK.to_owned(),
            sk: VERSION_SK.to_owned(),
            token,
        })?;
        self.put("put listing version", item, None).await
    }

    /// The current token: one strongly consistent `GetItem` of a few bytes.
    pub(crate) async fn read_listing_version(&self) -> StoreResult<Option<String>> {
        let item = self
            .get("read listing version", &key(VERSION_SK.to_owned()), true)
            .await?;
        Ok(item
            .map(decode::<VersionItem>)
            .transpose()?
            .map(|v| v.token))
    }

    /// Rewrites the trend item from the stored summaries (after a summary was stored).
    pub(crate) async fn refresh_trend(&self, stored: NaiveDate) -> StoreResult<()> {
        use vitals_core::ports::SummaryStore;
        let Some(newest) = self.latest_summary().await?.and_then(|s| s.as_of) else {
            return Ok(());
        };
        let from = newest
            .checked_sub_days(Days::new(u64::from(AccountListing::TREND_DAYS)))
            .unwrap_or(NaiveDate::MIN);
        if stored < from {
            return Ok(());
        }
        let summaries = self.summaries(from, newest).await?;
        let item = encode(&TrendItem {
            pk: LISTING_PK.to_owned(),
            sk: TREND_SK.to_owned(),
            summaries: Packed(&summaries),
        })?;
        self.put("put portfolio trend", item, None).await
    }

    pub(crate) async fn read_account_listing(&self) -> StoreResult<AccountListing> {
        let mut wanted: Vec<Key> = Segment::all().map(|s| key(first_part_sk(s))).collect();
        wanted.push(key(TREND_SK.to_owned()));
        wanted.push(key(PROVISIONAL_SK.to_owned()));
        let mut trend: Vec<PortfolioSummary> = Vec::new();
        let mut provisional = None;
        let mut firsts: Vec<PartItem<Vec<AccountRow>>> = Vec::new();
        for item in self.batch_get("read account listing", &wanted).await? {
            let sk = item.get("sk").and_then(|v| v.as_s().ok()).cloned();
            match sk.as_deref() {
                Some(TREND_SK) => {
                    let stored: TrendItem<Vec<PortfolioSummary>> = decode(item)?;
                    trend = stored.summaries.0;
                }
                Some(PROVISIONAL_SK) => provisional = Some(decode_provisional(item)?),
                _ => firsts.push(decode(item)?),
            }
        }
        let extra: Vec<Key> = firsts
            .iter()
            .flat_map(|p| (1..p.parts).map(|n| key(extra_part_sk(p.segment, p.as_of, n))))
            .collect();
        let mut extra_rows: BTreeMap<(Segment, u32), Vec<AccountRow>> = BTreeMap::new();
        if !extra.is_empty() {
            for item in self.batch_get("read account listing parts", &extra).await? {
                let part: PartItem<Vec<AccountRow>> = decode(item)?;
                let n = part
                    .sk
                    .rsplit('#')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                extra_rows.insert((part.segment, n), part.rows.0);
            }
        }
        firsts.sort_by_key(|p| p.segment);
        let mut segments = Vec::with_capacity(firsts.len());
        for first in firsts {
            let mut rows = first.rows.0;
            for n in 1..first.parts {
                let more = extra_rows.remove(&(first.segment, n)).ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "listing of segment {}: part {n} of {} missing",
                        first.segment, first.parts
                    ))
                })?;
                rows.extend(more);
            }
            segments.push(SegmentListing {
                segment: first.segment,
                as_of: first.as_of,
                rows,
            });
        }
        Ok(AccountListing {
            segments,
            provisional,
            trend,
        })
    }

    /// Every item of `wanted` that exists, 100 keys per `BatchGetItem`, retrying the keys
    /// DynamoDB leaves unprocessed (throttling, or over 16 MB in one response) with backoff.
    pub(crate) async fn batch_get(
        &self,
        op: &'static str,
        wanted: &[Key],
    ) -> StoreResult<Vec<Item>> {
        let mut found = Vec::new();
        for group in wanted.chunks(BATCH_GET_KEYS) {
            let mut pending = group
                .iter()
                .map(Key::to_item)
                .collect::<StoreResult<Vec<Item>>>()?;
            let mut attempt = 1;
            loop {
                // Consistent, so the listing is at least as new as a version token read
                // before it (readers keep a listing until the token changes).
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(pending))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Rejected(format!("{op}: {e}")))?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(self.table.clone(), request)
                    .set_return_consumed_capacity(self.capacity_mode())
                    .send()
                    .await
                    .map_err(|e| store_error(op, e))?;
                if let Some(m) = self.meter() {
                    m.record_read(out.consumed_capacity().first());
                }
                if let Some(items) = out.responses.and_then(|mut t| t.remove(&self.table)) {
                    found.extend(items);
                }
                pending = out
                    .unprocessed_keys
                    .and_then(|mut t| t.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                tracing::warn!(
                    op,
                    unprocessed = pending.len(),
                    attempt,
                    "batch read incomplete, backing off"
                );
                if !self.batch_backoff.wait_after(attempt).await {
                    return Err(StoreError::Unavailable(format!(
                        "{op}: {} keys unprocessed after {attempt} attempts",
                        pending.len()
                    )));
                }
                attempt += 1;
            }
        }
        Ok(found)
    }
}

fn decode_provisional(item: Item) -> StoreResult<ProvisionalListing> {
    let stored: ProvisionalItem = decode(item)?;
    Ok(ProvisionalListing {
        day: stored.day,
        rows: stored.rows.0,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn row(i: usize) -> AccountRow {
        AccountRow {
            account_id: format!("acct-{i:06}"),
            name: Some(format!("Account {i} {}", i * 7919 % 104_729)),
            owner: Some(format!("csm{}@example.com", i % 17)),
            tier: None,
            region: None,
            product_line: None,
            mrr: Some(i as f64 * 1.37),
            score: Some((i * 37 % 100) as f64 + 0.25),
            band: None,
            confidence: None,
            change: None,
            change_7d: None,
            change_30d: None,
            decline: None,
            renewal_date: None,
            days_to_renewal: None,
            renewal_risk: None,
            churn_risk: None,
            expansion: false,
            reason: format!("weakest signal: usage at {}/100 ({i})", i % 100),
            as_of: None,
            lifecycle: Default::default(),
            churned_on: None,
            provisional: None,
        }
    }

    fn listing(rows: usize) -> SegmentListing {
        SegmentListing {
            segment: Segment(7),
            as_of: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            rows: (0..rows).map(row).collect(),
        }
    }

    #[test]
    fn a_small_listing_is_one_item_under_the_segment_key() {
        let parts = encode_parts(&listing(100)).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].0.sk, "SEG#07");
        let empty = encode_parts(&listing(0)).unwrap();
        assert_eq!(empty.len(), 1);
    }

    #[test]
    fn a_listing_over_the_item_limit_is_split_into_parts_of_that_run() {
        let big = listing(40_000);
        let parts = encode_parts(&big).unwrap();
        assert!(parts.len() > 1, "{} parts", parts.len());
        assert_eq!(parts[1].0.sk, "SEG#07#2026-03-01#1");
        let mut rows = Vec::new();
        for (_, item) in &parts {
            assert!(packed_bytes(item) <= MAX_PART_BYTES);
            let part: PartItem<Vec<AccountRow>> = decode(item.clone()).unwrap();
            assert_eq!(part.parts as usize, parts.len());
            rows.extend(part.rows.0);
        }
        assert_eq!(rows, big.rows);
    }
}
