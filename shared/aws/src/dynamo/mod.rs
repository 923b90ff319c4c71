//! DynamoDB storage: one table laid out as `docs/architecture.md` fixes it, implementing every
//! storage port of `vitals_core::ports`. Item layout lives in [`schema`]; the port
//! implementations (one module per concern) only say what to read and write.

mod accounts;
mod activity;
mod alerts;
mod audit;
mod batch;
mod checkpoints;
mod churn_models;
mod config_store;
mod crm_pushed;
mod cursor;
mod events;
mod history;
mod interventions;
mod late_marks;
mod listings;
mod meter;
mod query;
mod schema;
mod summaries;
mod table;
mod touch_marks;
mod users;

pub use meter::{Capacity, CapacityMeter};
pub use table::create_table;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use std::sync::Arc;

use aws_sdk_dynamodb::types::{Put, ReturnConsumedCapacity, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use vitals_core::StoreError;

use crate::error::{classify_cancellation, store_error, store_error_from, Class, Failure};
use crate::retry::Backoff;
use schema::records::Key;
use schema::{Expr, Item};

/// Default retention of events, history and audit entries: 24 months.
pub const DEFAULT_RETENTION_DAYS: u32 = 730;

type StoreResult<T> = Result<T, StoreError>;

/// The DynamoDB implementation of every storage port.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    retention_days: u32,
    batch_backoff: Backoff,
    meter: Option<Arc<CapacityMeter>>,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
            retention_days: DEFAULT_RETENTION_DAYS,
            batch_backoff: Backoff::default(),
            meter: None,
        }
    }

    /// How long events, score history and audit entries are kept (TTL), in days.
    pub fn with_retention_days(mut self, days: u32) -> Self {
        self.retention_days = days;
        self
    }

    /// The backoff between attempts at items a batch write left unprocessed.
    pub fn with_batch_backoff(mut self, backoff: Backoff) -> Self {
        self.batch_backoff = backoff;
        self
    }

    /// Counts requests and the capacity DynamoDB reports for them (benchmarks, cost figures).
    pub fn with_capacity_meter(mut self, meter: Arc<CapacityMeter>) -> Self {
        self.meter = Some(meter);
        self
    }

    /// `TOTAL` when measuring, else nothing (DynamoDB then reports no capacity).
    pub(crate) fn capacity_mode(&self) -> Option<ReturnConsumedCapacity> {
        self.meter.as_ref().map(|_| ReturnConsumedCapacity::Total)
    }

    pub(crate) fn meter(&self) -> Option<&CapacityMeter> {
        self.meter.as_deref()
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn retention_days(&self) -> u32 {
        self.retention_days
    }

    async fn get(
        &self,
        op: &'static str,
        key: &Key,
        consistent: bool,
    ) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.to_item()?))
            .consistent_read(consistent)
            .set_return_consumed_capacity(self.capacity_mode())
            .send()
            .await
            .map_err(|e| store_error(op, e))?;
        if let Some(m) = self.meter() {
            m.record_read(out.consumed_capacity());
        }
        Ok(out.item)
    }

    /// Writes a whole item, replacing any item with its key unless `condition` fails.
    async fn put(&self, op: &'static str, item: Item, condition: Option<Expr>) -> StoreResult<()> {
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_return_consumed_capacity(self.capacity_mode());
        if let Some(c) = condition {
            request = request
                .condition_expression(c.text)
                .set_expression_attribute_names(Some(c.names))
                .set_expression_attribute_values((!c.values.is_empty()).then_some(c.values));
        }
        let out = request.send().await.map_err(|e| store_error(op, e))?;
        if let Some(m) = self.meter() {
            m.record_write(out.consumed_capacity());
        }
        Ok(())
    }

    /// Writes version `version` of an item only over the stored version before it (optimistic
    /// concurrency): a lost race, or a version 0, is a conflict.
    async fn put_next_version(
        &self,
        op: &'static str,
        version: u64,
        item: Item,
    ) -> StoreResult<()> {
        let previous = version.checked_sub(1).ok_or_else(|| {
            StoreError::Conflict(format!("{op}: version 0 cannot follow a stored version"))
        })?;
        self.put(op, item, Some(schema::version_is(previous)?))
            .await
    }

    /// Writes `item` together with `claim`, only if `claim`'s key is new (one transaction).
    /// `false` when the claim exists: the item was written before and is left as it is.
    async fn put_once(&self, op: &'static str, claim: Item, item: Item) -> StoreResult<bool> {
        let condition = schema::not_exists();
        let claim = Put::builder()
            .table_name(&self.table)
            .set_item(Some(claim))
            .condition_expression(condition.text)
            .set_expression_attribute_names(Some(condition.names))
            .build()
            .map_err(|e| StoreError::Rejected(format!("{op}: {e}")))?;
        let item = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(|e| StoreError::Rejected(format!("{op}: {e}")))?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(claim).build())
            .transact_items(TransactWriteItem::builder().put(item).build())
            .set_return_consumed_capacity(self.capacity_mode())
            .send()
            .await;
        let err = match result {
            Ok(out) => {
                if let Some(m) = self.meter() {
                    m.record_writes(out.consumed_capacity());
                }
                return Ok(true);
            }
            Err(err) => err,
        };
        let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            err.as_service_error()
        else {
            return Err(store_error(op, err));
        };
        let reasons = cancelled
            .cancellation_reasons()
            .iter()
            .map(|r| r.code().unwrap_or("None"));
        let class = classify_cancellation(reasons);
        if class == Class::Conflict {
            return Ok(false);
        }
        let failure = Failure::Service {
            code: Some("TransactionCanceledException".into()),
            status: None,
        };
        Err(store_error_from(op, &failure, class))
    }

    async fn update(&self, op: &'static str, key: &Key, update: Expr) -> StoreResult<()> {
        self.update_if(op, key, update, None).await
    }

    /// [`DynamoStore::update`] on the condition `condition` (a failed condition is an error).
    async fn update_if(
        &self,
        op: &'static str,
        key: &Key,
        mut update: Expr,
        condition: Option<Expr>,
    ) -> StoreResult<()> {
        let condition_text = condition.map(|c| {
            update.names.extend(c.names);
            update.values.extend(c.values);
            c.text
        });
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.to_item()?))
            .update_expression(update.text)
            .set_condition_expression(condition_text)
            .set_expression_attribute_names(Some(update.names))
            .set_expression_attribute_values((!update.values.is_empty()).then_some(update.values))
            .set_return_consumed_capacity(self.capacity_mode())
            .send()
            .await
            .map_err(|e| store_error(op, e))?;
        if let Some(m) = self.meter() {
            m.record_write(out.consumed_capacity());
        }
        Ok(())
    }
}
