//! Runs the Queries [`schema::queries`](super::schema::queries) describes: whole partitions,
//! or pages of exactly `limit` items with an opaque cursor, whatever a filter thins out.

use aws_sdk_dynamodb::types::Select;
use vitals_core::model::Page;
use vitals_core::StoreError;

use super::cursor;
use super::schema::queries::QuerySpec;
use super::schema::Item;
use super::{DynamoStore, StoreResult};
use crate::error::store_error;

/// Items a filtered Query evaluates per request at least, so a thin filter needs few requests.
const FILTERED_READ_AHEAD: usize = 100;

fn request_limit(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl DynamoStore {
    /// One Query request from `start`: its items and where the next request would start.
    pub(crate) async fn query_once(
        &self,
        spec: &QuerySpec,
        start: Option<Item>,
        limit: Option<usize>,
    ) -> StoreResult<(Vec<Item>, Option<Item>)> {
        let e = spec.expressions();
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(spec.index.name().map(str::to_owned))
            .key_condition_expression(e.key_condition)
            .set_filter_expression(e.filter)
            .set_expression_attribute_names(Some(e.names))
            .set_expression_attribute_values(Some(e.values))
            .scan_index_forward(!spec.newest_first)
            .consistent_read(spec.consistent && spec.index.name().is_none())
            .select(Select::AllAttributes)
            .set_limit(limit.map(request_limit))
            .set_exclusive_start_key(start)
            .set_return_consumed_capacity(self.capacity_mode())
            .send()
            .await
            .map_err(|err| store_error("Query", err))?;
        if let Some(m) = self.meter() {
            m.record_read(out.consumed_capacity());
        }
        let next = out.last_evaluated_key.filter(|k| !k.is_empty());
        Ok((out.items.unwrap_or_default(), next))
    }

    /// Every item the query matches, decoded; nothing without a query (an empty range).
    pub(crate) async fn query_decoded<T>(
        &self,
        spec: Option<QuerySpec>,
        decode: impl Fn(Item) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let Some(spec) = spec else {
            return Ok(Vec::new());
        };
        self.query_all(&spec)
            .await?
            .into_iter()
            .map(decode)
            .collect()
    }

    /// Every item the query matches, in key order (or reversed).
    pub(crate) async fn query_all(&self, spec: &QuerySpec) -> StoreResult<Vec<Item>> {
        self.query_until(spec, |_| false).await
    }

    /// The items the query matches, page by page, until `enough` says the items so far
    /// suffice (checked after each page) or none are left.
    pub(crate) async fn query_until(
        &self,
        spec: &QuerySpec,
        enough: impl Fn(&[Item]) -> bool,
    ) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let (page, next) = self.query_once(spec, start, None).await?;
            items.extend(page);
            match next {
                Some(next) if !enough(&items) => start = Some(next),
                _ => return Ok(items),
            }
        }
    }

    /// The first item the query matches (one request, one item read).
    pub(crate) async fn query_first(&self, spec: &QuerySpec) -> StoreResult<Option<Item>> {
        let (items, _) = self.query_once(spec, None, Some(1)).await?;
        Ok(items.into_iter().next())
    }

    /// [`DynamoStore::query_page`] with each item decoded.
    pub(crate) async fn decoded_page<T>(
        &self,
        spec: &QuerySpec,
        cursor: Option<&str>,
        limit: usize,
        decode: fn(Item) -> StoreResult<T>,
    ) -> StoreResult<Page<T>> {
        let (items, next) = self.query_page(spec, cursor, limit).await?;
        let items = items.into_iter().map(decode).collect::<StoreResult<_>>()?;
        Ok(Page { items, next })
    }

    /// At most `limit` items after `cursor`; exactly `limit` when more exist, and then a cursor
    /// for the rest. The cursor is the position of the last item returned, so nothing read
    /// past it (to learn whether more exist) is lost.
    pub(crate) async fn query_page(
        &self,
        spec: &QuerySpec,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<(Vec<Item>, Option<String>)> {
        if limit == 0 {
            return Err(StoreError::Rejected("page limit must be at least 1".into()));
        }
        let mut start = cursor
            .map(|c| cursor::decode(c, spec.index, &spec.partition))
            .transpose()?;
        // One more than asked tells whether another page exists, without another request.
        let wanted = limit.saturating_add(1);
        let mut items = Vec::new();
        loop {
            let missing = wanted - items.len();
            let read = if spec.filters.is_empty() {
                missing
            } else {
                missing.max(FILTERED_READ_AHEAD)
            };
            let (page, next) = self.query_once(spec, start, Some(read)).await?;
            items.extend(page);
            match next {
                Some(next) if items.len() < wanted => start = Some(next),
                _ => break,
            }
        }
        if items.len() <= limit {
            return Ok((items, None));
        }
        items.truncate(limit);
        let next = match items.last() {
            Some(last) => Some(cursor::encode(&cursor::position_of(last, spec.index))?),
            None => None,
        };
        Ok((items, next))
    }
}
