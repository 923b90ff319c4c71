//! Vitals' domain: the types every part of the product speaks, the ports (traits) that storage,
//! queues and clocks implement, and the use cases that tie them together. No AWS, no SQL here:
//! adapters live in their own crates so the same use case runs in Lambda and in `vitals serve`.

pub mod alerts;
pub mod backtest;
pub mod calibrate;
pub mod churn;
pub mod clock;
pub mod config;
pub mod crm;
pub mod error;
pub mod freshness;
pub mod history;
pub mod lifecycle;
pub mod model;
pub mod notify;
pub mod ports;
pub mod query;
pub mod rollup;
pub mod run;
pub mod score_event;
pub mod segment;
pub mod trail;

pub use error::{QueueError, StoreError};
pub mod ingest;
