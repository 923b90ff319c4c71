//! Account records: one item per account in its segment's partition. Profile, scoring state
//! and provisional score are separate attributes written by separate UpdateItem SETs, so
//! ingest, the daily run and the provisional refresh never overwrite each other's part.

use async_trait::async_trait;
use vitals_core::model::{AccountId, AccountProfile, AccountRecord, Page, ProvisionalScore};
use vitals_core::ports::{AccountStore, StoreResult};
use vitals_core::segment::Segment;

use tokio::task::JoinSet;
use vitals_core::StoreError;

use super::schema::{self, queries, records};
use super::DynamoStore;

/// Scoring-state updates in flight at once when the daily run saves a batch. UpdateItem cannot
/// be batched (a BatchWriteItem put would replace the profile), so batches go concurrently.
const CONCURRENT_UPDATES: usize = 16;

async fn join_one(in_flight: &mut JoinSet<StoreResult<()>>) -> StoreResult<()> {
    match in_flight.join_next().await {
        Some(Ok(result)) => result,
        Some(Err(e)) => Err(StoreError::Unavailable(format!("account updates: {e}"))),
        None => Ok(()),
    }
}

impl DynamoStore {
    /// UpdateItems, [`CONCURRENT_UPDATES`] at a time. Dropping the set on the first failure
    /// aborts the rest; each write is idempotent.
    async fn update_concurrently(
        &self,
        op: &'static str,
        updates: Vec<(records::Key, schema::Expr)>,
    ) -> StoreResult<()> {
        let mut in_flight = JoinSet::new();
        for (key, update) in updates {
            if in_flight.len() >= CONCURRENT_UPDATES {
                join_one(&mut in_flight).await?;
            }
            let store = self.clone();
            in_flight.spawn(async move { store.update(op, &key, update).await });
        }
        while !in_flight.is_empty() {
            join_one(&mut in_flight).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl AccountStore for DynamoStore {
    async fn put_profile(&self, account: &AccountId, profile: &AccountProfile) -> StoreResult<()> {
        let update = schema::set_profile(account, profile)?;
        self.update("put profile", &records::account_key(account), update)
            .await
    }

    async fn put_scoring_state(&self, record: &AccountRecord) -> StoreResult<()> {
        let update = schema::set_scoring_state(record)?;
        self.update(
            "put scoring state",
            &records::account_key(&record.account_id),
            update,
        )
        .await
    }

    async fn put_scoring_states(&self, states: &[AccountRecord]) -> StoreResult<()> {
        let updates = states
            .iter()
            .map(|s| {
                Ok((
                    records::account_key(&s.account_id),
                    schema::set_scoring_state(s)?,
                ))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        self.update_concurrently("put scoring state", updates).await
    }

    async fn put_provisional_scores(&self, scores: &[ProvisionalScore]) -> StoreResult<()> {
        let updates = scores
            .iter()
            .map(|p| {
                Ok((
                    records::account_key(&p.account_id),
                    schema::set_provisional(p)?,
                ))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        self.update_concurrently("put provisional score", updates)
            .await
    }

    async fn get_account(&self, account: &AccountId) -> StoreResult<Option<AccountRecord>> {
        self.get("get account", &records::account_key(account), true)
            .await?
            .map(records::decode_account)
            .transpose()
    }

    async fn list_segment(
        &self,
        segment: Segment,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<AccountRecord>> {
        self.decoded_page(
            &queries::accounts_of_segment(segment),
            cursor,
            limit,
            records::decode_account,
        )
        .await
    }
}
