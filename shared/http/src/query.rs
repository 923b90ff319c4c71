//! Dashboard and query API routes (`/v1/portfolio`, `/v1/accounts`, `/v1/alerts`, ...).

use axum::Router;

use crate::AppState;

/// Every query route.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}
