//! The account page in two requests (BRIEF §5): one `BatchGetItem` of the account record and
//! the history records of the days asked for, and one Query of the account's partition of the
//! activity index (`gsi2`), which holds its alerts, interventions and audit entries. And the
//! one-time placing of items written before that index existed.

use async_trait::async_trait;
use chrono::{NaiveDate, Utc};
use vitals_core::model::AccountId;
use vitals_core::ports::{AccountActivity, AccountActivityStore};
use vitals_core::StoreError;

use super::schema::records::{self, ActivityItem, ActivityKind, PageItem};
use super::schema::{exists, queries, Item};
use super::{DynamoStore, StoreResult};

#[async_trait]
impl AccountActivityStore for DynamoStore {
    async fn account_activity(
        &self,
        account: &AccountId,
        limit: usize,
        history_days: &[NaiveDate],
    ) -> StoreResult<AccountActivity> {
        let mut wanted = vec![records::account_key(account)];
        wanted.extend(
            history_days
                .iter()
                .map(|d| records::history_key(account, *d)),
        );
        wanted.sort();
        wanted.dedup();
        // Audit entries come last in the partition, newest first: once a page holds `limit`
        // of them, the rest are older than any shown.
        let enough = |items: &[Item]| {
            items
                .iter()
                .filter(|i| records::is_audit_activity(i))
                .count()
                >= limit
        };
        let spec = queries::account_activity(account);
        let (found, activity) = tokio::join!(
            self.batch_get("read account page", &wanted),
            self.query_until(&spec, enough)
        );
        let mut page = AccountActivity::default();
        for item in found? {
            match records::decode_page_item(account, item)? {
                PageItem::Account(record) => page.record = Some(record),
                PageItem::History(record) => page.history.push(record),
            }
        }
        page.history.sort_by_key(|r| r.as_of);
        for item in activity? {
            match records::decode_activity(item)? {
                ActivityItem::Alert(a) if page.alerts.len() < limit => page.alerts.push(a),
                ActivityItem::Intervention(i) if page.interventions.len() < limit => {
                    page.interventions.push(i)
                }
                ActivityItem::Audit(e) if page.audit.len() < limit => page.audit.push(e),
                _ => {}
            }
        }
        Ok(page)
    }
}

impl DynamoStore {
    /// Gives every alert, intervention and audit entry written before the account activity
    /// index existed its place there, once per table (a marker item records that it was done).
    /// Idempotent and safe beside live traffic: items are only given the two index attributes,
    /// and only if they still exist. Returns how many items it placed (0 when marked done).
    pub async fn index_activity(&self) -> StoreResult<u64> {
        let marker = records::activity_indexed_marker();
        if self
            .get("read schema marker", &marker, true)
            .await?
            .is_some()
        {
            return Ok(0);
        }
        let mut placed = 0u64;
        for (kind, spec) in [
            (ActivityKind::Alert, queries::every_alert()),
            (ActivityKind::Intervention, queries::every_intervention()),
            (ActivityKind::Audit, queries::every_audit_entry()),
        ] {
            let mut start = None;
            loop {
                let (items, next) = self.query_once(&spec, start, None).await?;
                for item in items {
                    let Some((key, update)) = records::activity_keys_for(kind, item)? else {
                        continue;
                    };
                    match self
                        .update_if("index account activity", &key, update, Some(exists()))
                        .await
                    {
                        Ok(()) => placed += 1,
                        // Gone since it was read (expired): nothing to place.
                        Err(StoreError::Conflict(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
                match next {
                    Some(next) => start = Some(next),
                    None => break,
                }
            }
        }
        let item = records::encode_activity_indexed_marker(Utc::now())?;
        self.put("mark account activity indexed", item, None)
            .await?;
        tracing::info!(placed, "account activity index complete");
        Ok(placed)
    }
}
