//! Batch writes (`BatchWriteItem`, 25 puts per call) for event chunks and score history. Items
//! DynamoDB leaves unprocessed are retried with backoff and jitter; every write overwrites by
//! key, so a retry never doubles anything.

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use std::collections::HashMap;
use vitals_core::StoreError;

use super::schema::records::Key;
use super::schema::Item;
use super::{DynamoStore, StoreResult};
use crate::error::store_error;

/// DynamoDB's limit of requests per `BatchWriteItem` call.
pub(crate) const BATCH_SIZE: usize = 25;

/// The last item given for each key, in first-seen order: one batch may not hold a key twice.
pub(crate) fn last_write_per_key(items: Vec<(Key, Item)>) -> Vec<Item> {
    let mut position: HashMap<Key, usize> = HashMap::new();
    let mut unique: Vec<Item> = Vec::with_capacity(items.len());
    for (key, item) in items {
        match position.get(&key) {
            Some(&i) => unique[i] = item,
            None => {
                position.insert(key, unique.len());
                unique.push(item);
            }
        }
    }
    unique
}

impl DynamoStore {
    /// [`DynamoStore::batch_put`] of each value as `encode` makes it an item.
    pub(crate) async fn put_each<T>(
        &self,
        op: &'static str,
        values: &[T],
        encode: impl Fn(&T) -> StoreResult<(Key, Item)>,
    ) -> StoreResult<()> {
        let items = values.iter().map(encode).collect::<StoreResult<Vec<_>>>()?;
        self.batch_put(op, items).await
    }

    pub(crate) async fn batch_put(
        &self,
        op: &'static str,
        items: Vec<(Key, Item)>,
    ) -> StoreResult<()> {
        let items = last_write_per_key(items);
        let mut requests = Vec::with_capacity(items.len());
        for item in items {
            let put = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map_err(|e| StoreError::Rejected(format!("{op}: {e}")))?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        let mut requests = requests.into_iter().peekable();
        while requests.peek().is_some() {
            let group: Vec<WriteRequest> = requests.by_ref().take(BATCH_SIZE).collect();
            self.write_group(op, group).await?;
        }
        Ok(())
    }

    pub(crate) async fn write_group(
        &self,
        op: &'static str,
        mut pending: Vec<WriteRequest>,
    ) -> StoreResult<()> {
        let mut attempt = 1;
        loop {
            let out = self
                .client
                .batch_write_item()
                .request_items(self.table.clone(), pending)
                .set_return_consumed_capacity(self.capacity_mode())
                .send()
                .await
                .map_err(|e| store_error(op, e))?;
            if let Some(m) = self.meter() {
                m.record_writes(out.consumed_capacity());
            }
            pending = out
                .unprocessed_items
                .and_then(|mut tables| tables.remove(&self.table))
                .unwrap_or_default();
            if pending.is_empty() {
                return Ok(());
            }
            tracing::warn!(
                op,
                unprocessed = pending.len(),
                attempt,
                "batch write throttled, backing off"
            );
            if !self.batch_backoff.wait_after(attempt).await {
                return Err(StoreError::Unavailable(format!(
                    "{op}: {} items unprocessed after {attempt} attempts",
                    pending.len()
                )));
            }
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;

    fn entry(pk: &str, value: &str) -> (Key, Item) {
        let key = Key {
            pk: pk.into(),
            sk: "x".into(),
        };
        let item = HashMap::from([("v".to_owned(), AttributeValue::S(value.into()))]);
        (key, item)
    }

    #[test]
    fn a_key_written_twice_in_one_call_keeps_the_last_write() {
        let unique = last_write_per_key(vec![entry("a", "1"), entry("b", "2"), entry("a", "3")]);
        assert_eq!(unique.len(), 2);
        assert_eq!(unique[0]["v"], AttributeValue::S("3".into()));
        assert_eq!(unique[1]["v"], AttributeValue::S("2".into()));
    }
}
