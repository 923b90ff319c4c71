//! The latest churn model, kept in the process for a few minutes.
//!
//! The account view reads the account record and its timeline (two requests, the budget); the
//! model is shared by every account and changes at most once a day, after the daily run, so
//! reading it once per process every [`TTL`] instead of once per view costs one extra request
//! per process per five minutes and shows a new model at most five minutes late. A cold
//! process pays the extra request on its first view. The cache is process-wide (every
//! `AppState` shares it) and keyed by the store it read from, so two stores in one process
//! (tests) never see each other's model.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::ChurnModelRecord;
use crate::error::StoreError;
use crate::ports::Storage;
use crate::store_cache::PerStore;

/// How long a read model (or the absence of one) is reused.
pub const TTL: Duration = Duration::from_secs(300);

/// Latest churn models by store, each reused for `ttl`.
pub struct ModelCache {
    ttl: Duration,
    models: PerStore<Option<Arc<ChurnModelRecord>>>,
}

impl ModelCache {
    pub fn new(ttl: Duration) -> Self {
        ModelCache {
            ttl,
            models: PerStore::default(),
        }
    }

    /// The process-wide cache the query routes and dashboard use.
    pub fn shared() -> &'static ModelCache {
        static SHARED: OnceLock<ModelCache> = OnceLock::new();
        SHARED.get_or_init(|| ModelCache::new(TTL))
    }

    /// The store's latest model: from the cache when read within the TTL, else one request.
    pub async fn latest(
        &self,
        storage: &Arc<dyn Storage>,
    ) -> Result<Option<Arc<ChurnModelRecord>>, StoreError> {
        if let Some(model) = self
            .models
            .get(storage, |_, read_at| read_at.elapsed() < self.ttl)
        {
            return Ok(model);
        }
        let model = storage.latest_churn_model().await?.map(Arc::new);
        self.models.put(storage, model.clone());
        Ok(model)
    }
}
