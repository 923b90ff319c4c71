//! How values become columns and back: JSON bodies, sortable time keys, expiry instants and
//! the opaque paging cursors. Kept together so both directions are read side by side.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use rusqlite::types::ValueRef;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::DbError;

pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<String, DbError> {
    serde_json::to_string(value).map_err(|e| DbError::Rejected(format!("encode record: {e}")))
}

pub(crate) fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, DbError> {
    serde_json::from_str(text).map_err(|e| DbError::Corrupt(format!("decode record: {e}")))
}

/// An account record's column in its compact form: MessagePack with field names, so fields
/// read and default as they do in JSON. The daily run reads and writes every account's
/// columns: JSON's float text, escaping and parsing were some two fifths of its time.
pub(crate) fn to_packed<T: Serialize>(value: &T) -> Result<Vec<u8>, DbError> {
    // A window or a score is a few kilobytes: one allocation instead of a dozen regrowths.
    let mut out = Vec::with_capacity(4096);
    rmp_serde::encode::write_named(&mut out, value)
        .map_err(|e| DbError::Rejected(format!("encode record: {e}")))?;
    Ok(out)
}

/// A stored record column: compact bytes ([`to_packed`], a BLOB), or the JSON text that
/// versions before the compact form wrote (read as it is, rewritten compact on the next save).
pub(crate) enum Column {
    Packed(Vec<u8>),
    Json(Vec<u8>),
}

impl Column {
    pub(crate) fn read(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Option<Column>> {
        match row.get_ref(index)? {
            ValueRef::Null => Ok(None),
            ValueRef::Blob(bytes) => Ok(Some(Column::Packed(bytes.to_vec()))),
            ValueRef::Text(text) => Ok(Some(Column::Json(text.to_vec()))),
            other => Err(rusqlite::Error::InvalidColumnType(
                index,
                String::new(),
                other.data_type(),
            )),
        }
    }

    pub(crate) fn decode<T: DeserializeOwned>(&self) -> Result<T, DbError> {
        match self {
            Column::Packed(bytes) => rmp_serde::from_slice(bytes)
                .map_err(|e| DbError::Corrupt(format!("decode record: {e}"))),
            Column::Json(text) => serde_json::from_slice(text)
                .map_err(|e| DbError::Corrupt(format!("decode record: {e}"))),
        }
    }
}

/// Same fixed-width form the DynamoDB adapter uses, so both order ties the same way.
pub(crate) fn time_key(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub(crate) fn day_key(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// Epoch seconds at the start of `day + days`; saturates far in the future.
pub(crate) fn expiry_after_day(day: NaiveDate, days: u32) -> i64 {
    day.checked_add_days(Days::new(u64::from(days)))
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(i64::MAX, |t| t.and_utc().timestamp())
}

/// Epoch seconds of `at + days`; saturates far in the future.
pub(crate) fn expiry_after(at: DateTime<Utc>, days: u32) -> i64 {
    at.checked_add_signed(TimeDelta::days(i64::from(days)))
        .map_or(i64::MAX, |t| t.timestamp())
}

pub(crate) fn to_i64(value: u64, what: &str) -> Result<i64, DbError> {
    i64::try_from(value).map_err(|_| DbError::Rejected(format!("{what} {value} is too large")))
}

/// A page size as a SQL `LIMIT` for one extra row (to learn whether another page exists).
pub(crate) fn limit_plus_one(limit: usize) -> Result<i64, DbError> {
    if limit == 0 {
        return Err(DbError::Rejected("limit must be at least 1".to_string()));
    }
    Ok(i64::try_from(limit)
        .unwrap_or(i64::MAX - 1)
        .saturating_add(1))
}

/// Where a listing stopped: the key of the last item returned. Tagged by listing so a cursor
/// from one listing is refused by another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k", deny_unknown_fields)]
pub(crate) enum Cursor {
    #[serde(rename = "seg")]
    Segment { s: u16, a: String },
    #[serde(rename = "alerts")]
    Alerts { o: String, i: String },
    #[serde(rename = "audit")]
    Audit { t: String, i: String },
    #[serde(rename = "interventions")]
    Interventions { c: String, i: String },
}

impl Cursor {
    pub(crate) fn encode(&self) -> Result<String, DbError> {
        Ok(URL_SAFE_NO_PAD.encode(to_json(self)?))
    }

    pub(crate) fn decode(text: &str) -> Result<Cursor, DbError> {
        let invalid = || DbError::Rejected("invalid cursor".to_string());
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        serde_json::from_slice(&bytes).map_err(|_| invalid())
    }
}

pub(crate) fn invalid_cursor() -> DbError {
    DbError::Rejected("invalid cursor".to_string())
}

/// Cuts a fetched `limit + 1` rows down to a page and says where the next page starts.
pub(crate) fn paginate<T>(
    mut items: Vec<T>,
    limit: usize,
    cursor_of: impl FnOnce(&T) -> Cursor,
) -> Result<(Vec<T>, Option<String>), DbError> {
    if items.len() <= limit {
        return Ok((items, None));
    }
    items.truncate(limit);
    let next = match items.last() {
        Some(last) => Some(cursor_of(last).encode()?),
        None => None,
    };
    Ok((items, next))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let c = Cursor::Alerts {
            o: "2026-01-01T00:00:00.000000Z".into(),
            i: "a#1".into(),
        };
        assert_eq!(Cursor::decode(&c.encode().unwrap()).unwrap(), c);
    }

    #[test]
    fn garbage_cursors_are_invalid() {
        for text in ["", "not base64!", "e30", "eyJrIjoiemFwIn0"] {
            let err = Cursor::decode(text).unwrap_err();
            assert!(
                matches!(err, DbError::Rejected(ref m) if m == "invalid cursor"),
                "{text}"
            );
        }
    }

    #[test]
    fn time_keys_sort_like_times() {
        let a: DateTime<Utc> = "2026-01-01T09:00:00Z".parse().unwrap();
        let b: DateTime<Utc> = "2026-01-01T10:00:00.5Z".parse().unwrap();
        assert!(time_key(a) < time_key(b));
        assert_eq!(time_key(a), "2026-01-01T09:00:00.000000Z");
    }

    #[test]
    fn expiry_is_retention_days_after_the_day() {
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let expected = NaiveDate::from_ymd_opt(2026, 1, 31)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp();
        assert_eq!(expiry_after_day(day, 30), expected);
        assert_eq!(expiry_after_day(NaiveDate::MAX, 30), i64::MAX);
    }
}
