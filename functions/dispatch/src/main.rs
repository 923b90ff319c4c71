//! Dispatch Lambda: runs the workflows for score events from the alert queue (SQS) and
//! delivers their notifications (Slack, SES email, signed webhooks), reporting only the failed
//! messages so the rest of a batch is not redelivered.
//!
//! Configuration: the latest applied `vitals.toml` version in the table (defaults without
//! one). Channel secrets come from the environment variables the config names (`*_env`).

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use dispatch::handler::{self, Deps};
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
    let ses = Ses::new(aws_sdk_sesv2::Client::new(&sdk.load().await));
    let notifier =
        HttpNotifier::from_config(&config.alerts, Arc::new(ses), |k| std::env::var(k).ok())?;
    let deps = Deps {
        storage: backend.storage.as_ref(),
        queue: backend.alert_queue.as_ref(),
        notifier: &notifier,
        clock: &SystemClock,
        config: &config.alerts,
    };
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, lambda_runtime::Error>(handler::handle(deps, event.payload).await)
    }))
    .await
}
