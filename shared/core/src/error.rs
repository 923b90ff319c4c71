//! Errors the ports report, split by whether trying again can help.

/// A storage failure. `Unavailable` is worth retrying (throttling, timeouts, 5xx); the others
/// are not.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    #[error("storage temporarily unavailable: {0}")]
    Unavailable(String),
    /// A conditional write lost: the item exists already or changed since it was read.
    #[error("conflicting write: {0}")]
    Conflict(String),
    #[error("stored data could not be decoded: {0}")]
    Corrupt(String),
    #[error("storage request rejected: {0}")]
    Rejected(String),
}

impl StoreError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// A queue failure, with the same retryable/permanent split as [`StoreError`].
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum QueueError {
    #[error("queue temporarily unavailable: {0}")]
    Unavailable(String),
    #[error("queue request rejected: {0}")]
    Rejected(String),
}

impl QueueError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, QueueError::Unavailable(_))
    }
}
