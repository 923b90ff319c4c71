//! Builds the AWS SDK configuration and clients once per process (Lambda `main`, the `vitals`
//! binary, tests), with the retry and timeout policy every adapter relies on.

use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use std::time::Duration;

/// Attempts per SDK call, the first included (standard mode: exponential backoff with jitter;
/// throttling, 5xx, timeouts and connection errors are retried).
pub const SDK_MAX_ATTEMPTS: u32 = 5;

/// Region used against an emulator when none is configured.
const EMULATOR_REGION: &str = "us-east-1";

fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(SDK_MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_secs(5))
}

fn timeout_config() -> TimeoutConfig {
    // Our calls are short (no SQS long polling): a stuck attempt is cut and retried.
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(10))
        .operation_timeout(Duration::from_secs(30))
        .build()
}

fn defaults() -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry_config())
        .timeout_config(timeout_config())
}

/// The SDK configuration of a Lambda function: from the environment (region, credentials and
/// any `AWS_ENDPOINT_URL*`), with the root certificates compiled in rather than read from the
/// platform at each cold start (see `tls.rs`).
pub async fn lambda_sdk_config() -> SdkConfig {
    crate::tls::with_bundled_roots(defaults()).load().await
}

/// Loads the SDK configuration from the environment (region, credentials, profile).
///
/// With `endpoint_url` (DynamoDB Local, moto, LocalStack), every client talks to that endpoint;
/// credentials come from the environment or the profile file when present, otherwise static
/// test credentials are used, and the region defaults to `us-east-1`.
pub async fn sdk_config(endpoint_url: Option<&str>) -> SdkConfig {
    let loader = defaults();
    let Some(endpoint) = endpoint_url else {
        return loader.load().await;
    };
    let region = RegionProviderChain::default_provider().or_else(Region::new(EMULATOR_REGION));
    // No instance metadata probing here: against an emulator it only costs seconds of timeouts.
    let credentials = CredentialsProviderChain::first_try(
        "Environment",
        aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
    )
    .or_else(
        "Profile",
        aws_config::profile::ProfileFileCredentialsProvider::builder().build(),
    )
    .or_else(
        "EmulatorStatic",
        Credentials::new("test", "test", None, None, "vitals-emulator"),
    );
    loader
        .endpoint_url(endpoint)
        .region(region)
        .credentials_provider(credentials)
        .load()
        .await
}

/// A DynamoDB client sharing `config`'s retry and timeout policy.
pub fn dynamodb_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

/// An SQS client sharing `config`'s retry and timeout policy.
pub fn sqs_client(config: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(config)
}
