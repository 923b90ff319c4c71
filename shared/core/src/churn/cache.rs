//! The latest churn model, kept in the process for a few minutes.
//!
//! The account view reads the account record and its timeline (the request budget); the model
//! is shared by every account and changes at most once a day, after the daily run, so reading
//! it once every [`TTL`] instead of once per view costs one extra request per cache per five
//! minutes and shows a new model at most five minutes late. A cold cache pays the extra
//! request on its first view. The owner keeps one cache per store (the query routes: one per
//! `AppState`), so two stores never see each other's model.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::ChurnModelRecord;
use crate::error::StoreError;
use crate::ports::ChurnModelStore;

/// How long a read model (or the absence of one) is reused.
pub const TTL: Duration = Duration::from_secs(300);

type Model = Option<Arc<ChurnModelRecord>>;

/// The latest churn model of one store, reused for `ttl`.
pub struct ModelCache {
    ttl: Duration,
    kept: Mutex<Option<(Instant, Model)>>,
}

impl Default for ModelCache {
    fn default() -> Self {
        ModelCache::new(TTL)
    }
}

impl ModelCache {
    pub fn new(ttl: Duration) -> Self {
        ModelCache {
            ttl,
            kept: Mutex::new(None),
        }
    }

    /// The store's latest model: from the cache when read within the TTL, else one request.
    pub async fn latest<S: ChurnModelStore + ?Sized>(
        &self,
        storage: &S,
    ) -> Result<Model, StoreError> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some((read_at, model)) = kept {
            if read_at.elapsed() < self.ttl {
                return Ok(model);
            }
        }
        let model = storage.latest_churn_model().await?.map(Arc::new);
        *self.kept.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), model.clone()));
        Ok(model)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::ports::StoreResult;

    /// A store without a model that counts how often it is asked.
    #[derive(Default)]
    struct Asked(AtomicUsize);

    #[async_trait]
    impl ChurnModelStore for Asked {
        async fn put_churn_model(&self, _: &ChurnModelRecord) -> StoreResult<()> {
            Ok(())
        }
        async fn latest_churn_model(&self) -> StoreResult<Option<ChurnModelRecord>> {
            self.0.fetch_add(1, Ordering::Relaxed);
            Ok(None)
        }
    }

    #[tokio::test]
    async fn a_cache_reads_the_model_once_per_ttl_and_two_caches_share_nothing() {
        let store = Asked::default();
        let (first, second) = (ModelCache::default(), ModelCache::default());
        for _ in 0..3 {
            assert!(first.latest(&store).await.unwrap().is_none());
        }
        assert_eq!(store.0.load(Ordering::Relaxed), 1, "kept within the TTL");
        second.latest(&store).await.unwrap();
        assert_eq!(
            store.0.load(Ordering::Relaxed),
            2,
            "another cache reads its own"
        );
        let expired = ModelCache::new(Duration::ZERO);
        expired.latest(&store).await.unwrap();
        expired.latest(&store).await.unwrap();
        assert_eq!(
            store.0.load(Ordering::Relaxed),
            4,
            "read again once the TTL is over"
        );
    }
}
