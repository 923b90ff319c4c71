//! Dispatch Lambda: runs the workflows for score events from the alert queue (SQS) and
//! delivers their notifications (Slack, SES email, signed webhooks), reporting only the failed
//! messages so the rest of a batch is not redelivered.
//!
//! Configuration: the latest applied `vitals.toml` version in the table (defaults without
//! one). A secret the config names (`*_env = "NAME"`) comes from the environment variable NAME,
//! else from Secrets Manager as `{VITALS_SECRETS_PREFIX}NAME`, fetched once here at cold start.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use dispatch::handler::{self, Deps};
use dispatch::secrets;
use lambda_runtime::{service_fn, LambdaEvent};
use vitals_core::clock::SystemClock;
use vitals_core::config::VitalsConfig;
use vitals_notify::{email::Ses, HttpNotifier};
use vitals_runtime::env::FunctionEnv;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    vitals_runtime::init_logging(true, "info");
    let env = FunctionEnv::from_env()?;
    let (queue_url, dlq_url) = env.alert_queue()?;
    let backend = vitals_runtime::backend::open_aws(
        &env.table,
        &queue_url,
        &dlq_url,
        env.endpoint_url.as_deref(),
        env.retention_days,
    )
    .await;
    let mut config = match backend.storage.latest_config().await? {
        Some(stored) => VitalsConfig::parse(&stored.body)?,
        None => VitalsConfig::default(),
    };
    // The verified SES identity, when it is an address, is the default sender.
    if let Ok(identity) = std::env::var("VITALS_SES_IDENTITY") {
        if identity.contains('@') {
            config.alerts.email.default_from = identity;
        }
    }
    let mut sdk = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(endpoint) = &env.endpoint_url {
        sdk = sdk.endpoint_url(endpoint);
    }
    let sdk = sdk.load().await;
    let process_env = |k: &str| std::env::var(k).ok();
    let secret_values = match &env.secrets_prefix {
        Some(prefix) => {
            let client = secrets::sdk::Client::new(&sdk);
            secrets::fetch(&client, prefix, &config.alerts, process_env).await?
        }
        None => secrets::SecretValues::default(),
    };
    // Names only: `SecretValues` never prints a value.
    tracing::info!(secrets = ?secret_values, "channel secrets loaded from Secrets Manager");
    let ses = Ses::new(aws_sdk_sesv2::Client::new(&sdk));
    let notifier = HttpNotifier::from_config(
        &config.alerts,
        Arc::new(ses),
        secret_values.lookup(process_env),
    )?;
    let deps = Deps {
        storage: backend.storage.as_ref(),
        queue: backend.alert_queue.as_ref(),
        notifier: &notifier,
        clock: &SystemClock,
        config: &config,
    };
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, lambda_runtime::Error>(handler::handle(deps, event.payload).await)
    }))
    .await
}
