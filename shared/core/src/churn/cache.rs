//! The latest churn model, kept in the process for a few minutes.
//!
//! The account view reads the account record and its timeline (two requests, the budget); the
//! model is shared by every account and changes at most once a day, after the daily run, so
//! reading it once per process every [`TTL`] instead of once per view costs one extra request
//! per process per five minutes and shows a new model at most five minutes late. A cold
//! process pays the extra request on its first view. The cache is process-wide (every
//! `AppState` shares it) and keyed by the store it read from, so two stores in one process
//! (tests) never see each other's model.

use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use super::ChurnModelRecord;
use crate::error::StoreError;
use crate::ports::Storage;

/// How long a read model (or the absence of one) is reused.
pub const TTL: Duration = Duration::from_secs(300);

struct Entry {
    /// Holding a `Weak` keeps the store's allocation, so its address cannot be reused by
    /// another store while the entry exists.
    store: Weak<dyn Storage>,
    read_at: Instant,
    model: Option<Arc<ChurnModelRecord>>,
}

/// Latest churn models by store, each reused for `ttl`.
pub struct ModelCache {
    ttl: Duration,
    entries: Mutex<Vec<Entry>>,
}

impl ModelCache {
    pub fn new(ttl: Duration) -> Self {
        ModelCache {
            ttl,
            entries: Mutex::new(Vec::new()),
        }
    }

    /// The process-wide cache the query routes and dashboard use.
    pub fn shared() -> &'static ModelCache {
        static SHARED: OnceLock<ModelCache> = OnceLock::new();
        SHARED.get_or_init(|| ModelCache::new(TTL))
    }

    fn cached(&self, store: &Weak<dyn Storage>) -> Option<Option<Arc<ChurnModelRecord>>> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|e| e.store.strong_count() > 0);
        entries
            .iter()
            .find(|e| Weak::ptr_eq(&e.store, store) && e.read_at.elapsed() < self.ttl)
            .map(|e| e.model.clone())
    }

    /// The store's latest model: from the cache when read within the TTL, else one request.
    pub async fn latest(
        &self,
        storage: &Arc<dyn Storage>,
    ) -> Result<Option<Arc<ChurnModelRecord>>, StoreError> {
        let key = Arc::downgrade(storage);
        if let Some(model) = self.cached(&key) {
            return Ok(model);
        }
        let model = storage.latest_churn_model().await?.map(Arc::new);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|e| !Weak::ptr_eq(&e.store, &key));
        entries.push(Entry {
            store: key,
            read_at: Instant::now(),
            model: model.clone(),
        });
        Ok(model)
    }
}
