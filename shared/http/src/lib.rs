//! HTTP edge of Vitals: one axum router per API (ingest, query), served by the Lambda functions
//! through `lambda_http` and by `vitals serve` through `axum::serve`, so both run the same code.
//! Every route is declared here; every error becomes an HTTP status in [`error`].

mod auth;
mod body;
pub mod error;
mod ingest;

use std::sync::Arc;

use axum::routing::{get, post};
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
    ingest_routes()
        .route("/health", get(health))
        .with_state(state)
}

/// Dashboard and query routes, plus `/health` (the query Lambda).
pub fn query_router(state: AppState) -> Router {
    query_routes()
        .route("/health", get(health))
        .with_state(state)
}

/// Everything on one port, as `vitals serve` runs it.
pub fn full_router(state: AppState) -> Router {
    ingest_routes()
        .merge(query_routes())
        .route("/health", get(health))
        .with_state(state)
}

fn ingest_routes() -> Router<AppState> {
    Router::new()
        .route("/v1/batch", post(ingest::batch))
        .route("/v1/import", post(ingest::batch))
        .route("/v1/track", post(ingest::track))
        .route("/v1/identify", post(ingest::identify))
        .route("/v1/group", post(ingest::group))
        .route("/v1/page", post(ingest::page))
        .route("/v1/screen", post(ingest::screen))
        .route("/v1/alias", post(ingest::alias))
        .layer(axum::extract::DefaultBodyLimit::max(
            body::MAX_REQUEST_BYTES,
        ))
}

fn query_routes() -> Router<AppState> {
    Router::new()
}

async fn health() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"status": "ok"}))
}
