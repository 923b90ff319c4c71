//! AWS adapters for Vitals' ports: DynamoDB storage ([`DynamoStore`]) and SQS queues
//! ([`SqsQueue`]), plus the SDK configuration every Lambda `main` and the `vitals` binary build
//! once. All AWS-specific knowledge (keys, attribute names, error codes) stays in this crate.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod config;
pub mod dynamo;
mod error;
pub mod retry;
pub mod sqs;
mod tls;

pub use config::{dynamodb_client, lambda_sdk_config, sdk_config, sqs_client};
pub use dynamo::{create_table, Capacity, CapacityMeter, DynamoStore};
pub use sqs::{create_queue_pair, SqsQueue};
