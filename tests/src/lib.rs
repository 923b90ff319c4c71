//! Contract test suites shared by every backend of Vitals' storage and queue ports.
//!
//! Each behaviour a port documents is one public async function here, generic over the port.
//! The macros [`storage_contract_tests!`] and [`queue_contract_tests!`] expand to one
//! `#[tokio::test]` per behaviour inside a module named after the backend, so a failure reads
//! `dynamodb::alert_update_needs_the_next_version`. The test files under `tests/tests/` only say
//! how to open each backend.

pub mod fault_proxy;
pub mod lambda_api;
pub mod oidc;
pub mod queue_contract;
pub mod receiver;
pub mod storage_contract;
pub mod support;

pub use support::{emulator_endpoint, unique_name, Backend};
