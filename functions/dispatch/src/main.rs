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
use vitals_notify::{email::Ses, HttpNotifier};
use vitals_runtime::lambda::{reported, InitError};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let started = vitals_runtime::lambda::start().await?;
    let mut config = started.config;
    // The verified SES identity, when it is an address, is the default sender.
    if let Ok(identity) = std::env::var("VITALS_SES_IDENTITY") {
        if identity.contains('@') {
            config.alerts.email.default_from = identity;
        }
    }
    let process_env = |k: &str| std::env::var(k).ok();
    let secret_values = match &started.env.secrets_prefix {
        Some(prefix) => {
            let client = secrets::sdk::Client::new(&started.sdk);
            let fetched = secrets::fetch(&client, prefix, &config.alerts, process_env).await;
            reported(fetched.map_err(|e| InitError::Setup(e.to_string()))).await?
        }
        None => secrets::SecretValues::default(),
    };
    // Names only: `SecretValues` never prints a value.
    tracing::info!(secrets = ?secret_values, "channel secrets loaded from Secrets Manager");
    let ses = Ses::new(aws_sdk_sesv2::Client::new(&started.sdk));
    let notifier = HttpNotifier::from_config(
        &config.alerts,
        Arc::new(ses),
        secret_values.lookup(process_env),
    )
    .map_err(|e| InitError::Setup(format!("alert channels: {e}")));
    let notifier = reported(notifier).await?;
    let deps = Deps {
        storage: started.backend.storage.as_ref(),
        queue: started.backend.alert_queue.as_ref(),
        notifier: &notifier,
        clock: &SystemClock,
        config: &config,
    };
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, lambda_runtime::Diagnostic>(
            handler::handle(deps, event.payload).await,
        )
    }))
    .await
}
