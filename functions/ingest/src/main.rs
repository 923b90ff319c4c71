//! Ingest Lambda: the Segment/PostHog-compatible event API behind API Gateway.

use std::sync::Arc;

use vitals_core::clock::SystemClock;
use vitals_core::freshness::TouchRecorder;
use vitals_http::{ingest_router, AppState, WriteKeys};
use vitals_runtime::env::FunctionEnv;

/// mimalloc: parsing a batch allocates per event, and glibc malloc/free was a quarter of its
/// CPU (the ingest bench measures with the same allocator).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    vitals_runtime::init_logging(true, "info");
    let env = FunctionEnv::from_env()?;
    let (queue_url, dlq_url) = (
        env.alert_queue_url.clone().unwrap_or_default(),
        env.alert_dlq_url.clone().unwrap_or_default(),
    );
    let backend = vitals_runtime::backend::open_aws(
        &env.table,
        &queue_url,
        &dlq_url,
        env.endpoint_url.as_deref(),
        env.retention_days,
    )
    .await;
    // The configuration applied when this instance started; a new version reaches new instances.
    let config = vitals_runtime::backend::current_config(backend.storage.as_ref()).await?;
    let state = AppState {
        storage: backend.storage,
        clock: Arc::new(SystemClock),
        write_keys: Arc::new(WriteKeys::from_csv(&env.write_keys).with_webhook_secrets(
            vitals_http::WebhookSecrets::from_config(&config.ingest, |name| {
                std::env::var(name).ok()
            }),
        )),
        retention_days: env.retention_days,
        signals: Arc::new(config.signals),
        touches: Arc::new(TouchRecorder::new(&config.freshness)),
        // The ingest function serves no query routes.
        authenticator: Arc::new(vitals_http::DenyAll),
    };
    lambda_http::run(ingest_router(state)).await
}
