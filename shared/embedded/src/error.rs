//! One internal error type for everything that runs on a connection, and its translation into
//! the ports' errors: the only place that decides what is retryable.

use rusqlite::ErrorCode;
use vitals_core::{QueueError, StoreError};

/// What went wrong inside a blocking database call.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DbError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Rejected(String),
    #[error("{0}")]
    Corrupt(String),
    #[error("{0}")]
    Unavailable(String),
}

/// How a SQLite failure should be reported to callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Another process holds the lock longer than the busy timeout: trying again helps.
    Transient,
    /// The file or a stored value is damaged.
    Corrupt,
    /// Anything else: a bug, a constraint, a bad path. Trying again will not help.
    Permanent,
}

pub(crate) fn classify(e: &rusqlite::Error) -> Retry {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Retry::Transient,
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => Retry::Corrupt,
        Some(_) => Retry::Permanent,
        None => match e {
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::Utf8Error(..) => Retry::Corrupt,
            _ => Retry::Permanent,
        },
    }
}

/// True when the error is a uniqueness (primary key) violation: a conditional insert lost.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation)
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Sqlite(e) => match classify(&e) {
                Retry::Transient => {
                    tracing::debug!(error = %e, "sqlite busy");
                    StoreError::Unavailable(e.to_string())
                }
                Retry::Corrupt => {
                    tracing::warn!(error = %e, "sqlite data could not be read");
                    StoreError::Corrupt(e.to_string())
                }
                Retry::Permanent => {
                    tracing::warn!(error = %e, "sqlite request failed");
                    StoreError::Rejected(e.to_string())
                }
            },
            DbError::Conflict(m) => StoreError::Conflict(m),
            DbError::Rejected(m) => StoreError::Rejected(m),
            DbError::Corrupt(m) => StoreError::Corrupt(m),
            DbError::Unavailable(m) => StoreError::Unavailable(m),
        }
    }
}

impl From<DbError> for QueueError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Sqlite(e) => match classify(&e) {
                Retry::Transient => {
                    tracing::debug!(error = %e, "sqlite busy");
                    QueueError::Unavailable(e.to_string())
                }
                Retry::Corrupt | Retry::Permanent => {
                    tracing::warn!(error = %e, "sqlite queue request failed");
                    QueueError::Rejected(e.to_string())
                }
            },
            DbError::Unavailable(m) => QueueError::Unavailable(m),
            DbError::Conflict(m) | DbError::Rejected(m) | DbError::Corrupt(m) => {
                QueueError::Rejected(m)
            }
        }
    }
}

/// Maps a store error from the core crate (chunk encoding) back into a [`DbError`].
impl From<StoreError> for DbError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => DbError::Unavailable(m),
            StoreError::Conflict(m) => DbError::Conflict(m),
            StoreError::Corrupt(m) => DbError::Corrupt(m),
            StoreError::Rejected(m) => DbError::Rejected(m),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rusqlite::ffi;

    fn sqlite_error(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(ffi::Error::new(code), None)
    }

    #[test]
    fn busy_and_locked_are_retryable_for_the_store() {
        for code in [ffi::SQLITE_BUSY, ffi::SQLITE_LOCKED] {
            let e = StoreError::from(DbError::Sqlite(sqlite_error(code)));
            assert!(e.is_retryable(), "{e:?}");
        }
    }

    #[test]
    fn busy_is_retryable_for_the_queue() {
        let e = QueueError::from(DbError::Sqlite(sqlite_error(ffi::SQLITE_BUSY)));
        assert!(e.is_retryable(), "{e:?}");
    }

    #[test]
    fn corruption_is_reported_as_corrupt_and_not_retried() {
        let e = StoreError::from(DbError::Sqlite(sqlite_error(ffi::SQLITE_CORRUPT)));
        assert!(matches!(e, StoreError::Corrupt(_)), "{e:?}");
    }

    #[test]
    fn other_failures_are_rejected() {
        let e = StoreError::from(DbError::Sqlite(sqlite_error(ffi::SQLITE_READONLY)));
        assert!(matches!(e, StoreError::Rejected(_)), "{e:?}");
        let e = StoreError::from(DbError::Sqlite(rusqlite::Error::QueryReturnedNoRows));
        assert!(matches!(e, StoreError::Rejected(_)), "{e:?}");
    }
}
