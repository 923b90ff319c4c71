//! HTTP edge of Vitals: one axum router per API (ingest, query), served by the Lambda functions
//! through `lambda_http` and by `vitals serve` through `axum::serve`, so both run the same code.
//! Every route is declared here; every error becomes an HTTP status in [`error`].

mod auth;
mod body;
pub mod error;
mod ingest;
mod query;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use vitals_core::clock::Clock;
use vitals_core::ports::Storage;

pub use auth::WriteKeys;
pub use error::ApiError;

/// What the handlers share: built once at startup, cloned per request (all `Arc`s).
#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<dyn Storage>,
    pub clock: Arc<dyn Clock>,
    pub write_keys: Arc<WriteKeys>,
    pub retention_days: u32,
}

/// Segment-compatible ingestion routes, plus `/health` (the ingest Lambda).
pub fn ingest_router(state: AppState) -> Router {
    ingest::routes()
        .route("/health", get(health))
        .with_state(state)
}

/// Dashboard and query routes, plus `/health` (the query Lambda).
pub fn query_router(state: AppState) -> Router {
    query::routes()
        .route("/health", get(health))
        .with_state(state)
}

/// Everything on one port, as `vitals serve` runs it.
pub fn full_router(state: AppState) -> Router {
    ingest::routes()
        .merge(query::routes())
        .route("/health", get(health))
        .with_state(state)
}

async fn health() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"status": "ok"}))
}
