//! The listings read newest first with a cursor (alerts, audit log, interventions): one page
//! of a table's rows ordered by a time key then id, after where the cursor stopped.

use rusqlite::types::Value;
use serde::de::DeserializeOwned;
use vitals_core::model::Page;
use vitals_core::ports::StoreResult;

use crate::codec::{invalid_cursor, limit_plus_one, paginate, Cursor};
use crate::store::SqliteStore;

/// A listing read newest first, and its kind of cursor (a cursor of another listing is
/// refused).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Newest {
    Alerts,
    Audit,
    Interventions,
}

impl Newest {
    /// The table and the time key column it is ordered by.
    fn table(self) -> (&'static str, &'static str) {
        match self {
            Newest::Alerts => ("alerts", "opened_key"),
            Newest::Audit => ("audit_log", "at_key"),
            Newest::Interventions => ("interventions", "created_key"),
        }
    }

    /// The cursor after the row of this time key and id.
    fn cursor(self, key: String, i: String) -> Cursor {
        match self {
            Newest::Alerts => Cursor::Alerts { o: key, i },
            Newest::Audit => Cursor::Audit { t: key, i },
            Newest::Interventions => Cursor::Interventions { c: key, i },
        }
    }

    /// Where a cursor of this listing stopped (time key, id); `None` for another listing's.
    fn place(self, cursor: Cursor) -> Option<(String, String)> {
        match (self, cursor) {
            (Newest::Alerts, Cursor::Alerts { o, i }) => Some((o, i)),
            (Newest::Audit, Cursor::Audit { t, i }) => Some((t, i)),
            (Newest::Interventions, Cursor::Interventions { c, i }) => Some((c, i)),
            _ => None,
        }
    }
}

impl SqliteStore {
    /// At most `limit` rows of `listing` matching `filters` (column = value), after `cursor`;
    /// `key_of` gives a row's (time key, id), where the next page's cursor starts.
    pub(crate) async fn newest_page<T: DeserializeOwned>(
        &self,
        listing: Newest,
        filters: Vec<(&'static str, Value)>,
        (cursor, limit): (Option<&str>, usize),
        key_of: impl FnOnce(&T) -> (String, String),
    ) -> StoreResult<Page<T>> {
        let fetch = limit_plus_one(limit)?;
        let after = match cursor.map(Cursor::decode).transpose()? {
            None => None,
            Some(c) => Some(listing.place(c).ok_or_else(invalid_cursor)?),
        };
        let (table, order_key) = listing.table();
        let rows: Vec<T> = self
            .newest_first(table, order_key, filters, after, fetch)
            .await?;
        let (items, next) = paginate(rows, limit, |last| {
            let (key, id) = key_of(last);
            listing.cursor(key, id)
        })?;
        Ok(Page { items, next })
    }
}
