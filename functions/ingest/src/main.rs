//! Ingest Lambda: the Segment/PostHog-compatible event API behind API Gateway.

use std::sync::Arc;

use vitals_core::clock::SystemClock;
use vitals_core::freshness::TouchRecorder;
use vitals_http::{ingest_router, AppState, WriteKeys};

/// mimalloc: parsing a batch allocates per event, and glibc malloc/free was a quarter of its
/// CPU (the ingest bench measures with the same allocator).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let started = vitals_runtime::lambda::start().await?;
    let config = started.config;
    let state = AppState {
        storage: started.backend.storage,
        clock: Arc::new(SystemClock),
        write_keys: Arc::new(
            WriteKeys::configured(
                &config.ingest,
                &started.env.write_keys,
                &started.env.server_write_keys,
            )
            .with_webhook_secrets(vitals_http::WebhookSecrets::from_config(
                &config.ingest,
                |name| std::env::var(name).ok(),
            )),
        ),
        retention_days: started.env.retention_days,
        alert_limits: Default::default(),
        signals: Arc::new(config.signals),
        touches: Arc::new(TouchRecorder::new(&config.freshness)),
        // The ingest function serves no query routes.
        caches: Default::default(),
        authenticator: Arc::new(vitals_http::DenyAll),
    };
    lambda_http::run(ingest_router(state)).await
}
