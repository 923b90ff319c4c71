//! Dashboard and query API routes: portfolio, accounts, alerts, audit, config and the OpenAPI
//! document. Every route here authenticates its caller ([`Caller`]) and scopes what it reads by
//! role: a CSM or AE sees only accounts they own, and another owner's account answers 404.
//!
//! Storage requests per call (DynamoDB): portfolio 1 (2 before the first run), account list 1
//! (the precomputed listing, [`reads::listed_rows`]), account detail: the account's activity
//! (`AccountActivityStore`, 1 on the embedded store), history 2, alerts 1 per
//! page, audit 1 per page (2 with an account filter for non-admins), config 1 (PUT: 2).

pub(crate) mod accounts;
pub(crate) mod alerts;
pub(crate) mod audit;
pub(crate) mod config;
pub mod openapi;
pub(crate) mod portfolio;
pub mod reads;

use axum::extract::FromRequestParts;
use axum::routing::get;
use axum::Router;

use crate::authn::{AuthError, Principal};
use crate::{ApiError, AppState};

/// The authenticated caller of a route. Rejects with 401 when the request carries no valid
/// token; roles are checked by each handler.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        state
            .authenticator
            .authenticate(parts)
            .map(Caller)
            .map_err(|e: AuthError| ApiError::Unauthorized(e.to_string()))
    }
}

impl Caller {
    /// 403 unless the caller may open accounts at all.
    pub(crate) fn require_accounts(&self) -> Result<&Principal, ApiError> {
        if self.0.reads_accounts() {
            Ok(&self.0)
        } else {
            Err(ApiError::Forbidden)
        }
    }

    pub(crate) fn require_admin(&self) -> Result<&Principal, ApiError> {
        if self.0.is_admin() {
            Ok(&self.0)
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

/// Every query route.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/portfolio", get(portfolio::get_portfolio))
        .route("/v1/accounts", get(accounts::list_accounts))
        .route("/v1/accounts/{id}", get(accounts::get_account))
        .route("/v1/accounts/{id}/history", get(accounts::get_history))
        .route("/v1/alerts", get(alerts::list_alerts))
        .route(
            "/v1/alerts/{id}",
            get(alerts::get_alert).patch(alerts::patch_alert),
        )
        .route("/v1/audit", get(audit::list_audit))
        .route(
            "/v1/config",
            get(config::get_config).put(config::put_config),
        )
        .route("/openapi.json", get(openapi::get_openapi))
}

/// A store's error on a listing read: a cursor it refused is the caller's (400, naming the
/// field); anything else is the store's.
pub(crate) fn listing_error(e: vitals_core::StoreError) -> ApiError {
    match e {
        vitals_core::StoreError::Rejected(_) => bad_cursor(),
        other => other.into(),
    }
}

/// 400: the `cursor` parameter is not one this API handed out.
pub(crate) fn bad_cursor() -> ApiError {
    ApiError::BadRequest("cursor: not a cursor this API returned".into())
}

/// Parses a query-string value, naming the parameter when it is wrong.
pub(crate) fn parse_param<T>(
    name: &str,
    value: Option<&str>,
    parse: impl Fn(&str) -> Option<T>,
    expected: &str,
) -> Result<Option<T>, ApiError> {
    match value {
        None => Ok(None),
        Some("") => Ok(None),
        Some(v) => parse(v)
            .map(Some)
            .ok_or_else(|| ApiError::BadRequest(format!("{name}: expected {expected}"))),
    }
}

/// `limit` within 1..=max, default `default`.
pub(crate) fn page_limit(
    limit: Option<&str>,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    Ok(parse_param(
        "limit",
        limit,
        |v| v.parse::<usize>().ok().filter(|n| (1..=max).contains(n)),
        &format!("an integer from 1 to {max}"),
    )?
    .unwrap_or(default))
}
