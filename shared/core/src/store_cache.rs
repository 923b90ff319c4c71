//! Values read from a store, kept in the process between requests.
//!
//! Query processes (a warm Lambda, `vitals serve`) answer many views from data that changes
//! once a day; keeping what they read saves requests and decoding. A cache is process-wide and
//! keyed by the store it read from, so two stores in one process (tests) never see each
//! other's values. Whether an entry is still good is the caller's rule (a time to live, or a
//! version token the store reports).

use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use crate::ports::Storage;

struct Entry<T> {
    /// Holding a `Weak` keeps the store's allocation, so its address cannot be reused by
    /// another store while the entry exists.
    store: Weak<dyn Storage>,
    stored_at: Instant,
    value: T,
}

/// One value per store.
pub struct PerStore<T> {
    entries: Mutex<Vec<Entry<T>>>,
}

impl<T: Clone> Default for PerStore<T> {
    fn default() -> Self {
        PerStore {
            entries: Mutex::new(Vec::new()),
        }
    }
}

impl<T: Clone> PerStore<T> {
    /// The store's value, if one is kept and `still_good(value, stored_at)` says so.
    pub fn get(
        &self,
        storage: &Arc<dyn Storage>,
        still_good: impl Fn(&T, Instant) -> bool,
    ) -> Option<T> {
        let key = Arc::downgrade(storage);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|e| e.store.strong_count() > 0);
        entries
            .iter()
            .find(|e| Weak::ptr_eq(&e.store, &key) && still_good(&e.value, e.stored_at))
            .map(|e| e.value.clone())
    }

    /// Keeps `value` for the store, replacing what was kept.
    pub fn put(&self, storage: &Arc<dyn Storage>, value: T) {
        let key = Arc::downgrade(storage);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|e| e.store.strong_count() > 0 && !Weak::ptr_eq(&e.store, &key));
        entries.push(Entry {
            store: key,
            stored_at: Instant::now(),
            value,
        });
    }
}
