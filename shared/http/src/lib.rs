//! HTTP edge of Vitals: one axum router per API (ingest, query), served by the Lambda functions
//! through `lambda_http` and by `vitals serve` through [`server::serve`], so both run the same code.
//! Every route is declared here; every error becomes an HTTP status in [`error`].

mod auth;
pub mod authn;
mod body;
mod cors;
mod dashboard;
pub mod error;
mod ingest;
mod page_headers;
mod posthog;
pub mod query;
pub mod server;
pub mod webhooks;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use vitals_core::clock::Clock;
use vitals_core::ports::Storage;

/// Re-exported so callers (the binaries, the workspace tests) drive the routers with the same
/// versions: `tower::ServiceExt::oneshot` on an `axum::Router`.
pub use {axum, tower};

pub use auth::{AllowedOrigins, WriteKeys};
pub use authn::{Authenticator, DenyAll, LocalTokens, Principal, Role};
pub use error::ApiError;
pub use query::reads::ReadCaches;
pub use server::{serve, ServerLimits};
pub use webhooks::WebhookSecrets;

/// What the handlers share: built once at startup, cloned per request (all `Arc`s).
#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<dyn Storage>,
    pub clock: Arc<dyn Clock>,
    pub write_keys: Arc<WriteKeys>,
    pub retention_days: u32,
    /// `[alerts]` bounds on status changes (the furthest snooze).
    pub alert_limits: vitals_core::alerts::status::StatusLimits,
    /// The `[signals]` mapping: which events are outcomes (recorded on the account at ingest).
    pub signals: Arc<vitals_core::config::SignalMapping>,
    /// Which accounts received events of today, for provisional scores (`[freshness]`):
    /// shared by every request, so a process marks an account once per interval.
    pub touches: Arc<vitals_core::freshness::TouchRecorder>,
    /// Who is calling the query API and dashboard ([`LocalTokens`] for `vitals serve`, API
    /// Gateway's claims in the query Lambda, [`DenyAll`] where no query route is served).
    pub authenticator: Arc<dyn Authenticator>,
    /// What the query routes and pages keep between requests (the listing, the owners' books,
    /// the churn model): one per state, so build it once at start-up (`Default::default()`).
    pub caches: Arc<ReadCaches>,
}

/// Segment- and PostHog-compatible ingestion routes (CORS enabled for browser SDKs) and the
/// Segment/PostHog webhook destinations, plus `/health` (the ingest Lambda).
pub fn ingest_router(state: AppState) -> Router {
    ingest::routes(&state)
        .merge(webhooks::routes())
        .route("/health", get(health))
        .layer(request_spans())
        .with_state(state)
}

/// Dashboard and query routes, plus `/health` (the query Lambda).
pub fn query_router(state: AppState) -> Router {
    query::routes()
        .merge(page_headers::with_page_headers(dashboard::routes()))
        .route("/health", get(health))
        .fallback(not_found)
        .layer(request_spans())
        .with_state(state)
}

/// Everything on one port, as `vitals serve` runs it.
pub fn full_router(state: AppState) -> Router {
    ingest::routes(&state)
        .merge(webhooks::routes())
        .merge(query::routes())
        .merge(page_headers::with_page_headers(dashboard::routes()))
        .route("/health", get(health))
        .fallback(not_found)
        .layer(request_spans())
        .with_state(state)
}

/// A `request` span around each request (method and path, never the query string: a sign-in
/// link carries its token there), so every log line of a handler says which request it served;
/// the status and latency are logged at debug level.
fn request_spans() -> RequestSpans {
    fn span(request: &HttpRequest) -> tracing::Span {
        tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
    }
    tower_http::trace::TraceLayer::new_for_http().make_span_with(span as fn(&_) -> _)
}

type HttpRequest = axum::http::Request<axum::body::Body>;
type RequestSpans = tower_http::trace::TraceLayer<
    tower_http::classify::SharedClassifier<tower_http::classify::ServerErrorsAsFailures>,
    fn(&HttpRequest) -> tracing::Span,
>;

/// Unknown paths answer the API's JSON 404.
async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn health() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"status": "ok"}))
}
