//! The embedded backend: every storage port and the work queue on SQLite files, so Vitals runs
//! as one `vitals` binary on one machine with the same observable behaviour as DynamoDB + SQS.
//!
//! Several processes may share a data directory (`vitals serve` while `vitals import` runs):
//! the files use WAL, writes take the lock up front (`BEGIN IMMEDIATE`) and stay short, and a
//! lock held too long surfaces as a retryable error. Blocking SQLite calls run on tokio's
//! blocking pool, never on the async runtime.

mod account_activity;
mod accounts;
mod alerts;
mod audit;
mod checkpoints;
mod churn_models;
mod codec;
mod config;
mod crm_pushed;
mod db;
mod error;
mod events;
mod history;
mod interventions;
mod late_marks;
mod newest;
mod parallel;
mod queue;
mod rows;
mod schema;
mod store;
mod summaries;
mod touch_marks;
mod users;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod history_tests;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod queue_tests;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod store_tests;

pub use queue::{QueueSettings, SqliteQueue};
pub use store::{SqliteStore, DEFAULT_RETENTION_DAYS};
