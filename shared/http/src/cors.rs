//! CORS for the ingest routes, so analytics.js and posthog-js can send events from a web app on
//! another origin: preflights (`OPTIONS`) are answered here, and responses name the caller's
//! origin when it is allowed (`[ingest] allowed_origins`, default any); a browser request from
//! another origin is refused (403). Only the ingest router has this layer: the query API and
//! dashboard stay same-origin.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::AllowedOrigins;
use crate::error::ApiError;

/// What a browser may send: the SDKs use these headers (Basic auth, gzip, JSON or text/plain).
const ALLOWED_HEADERS: &str = "authorization, content-type, content-encoding, x-retry-count";
const ALLOWED_METHODS: &str = "GET, POST, OPTIONS";
/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "86400";

pub(crate) async fn layer(
    State(origins): State<Arc<AllowedOrigins>>,
    request: Request,
    next: Next,
) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let allowed = origin.as_deref().map(|o| origins.allows(o));
    if request.method() == Method::OPTIONS {
        return preflight(origin.as_deref(), allowed, request.headers());
    }
    // A `text/plain` POST needs no preflight, so a page on a refused origin could still send
    // events: refuse them here. Back-end SDKs send no `Origin` and are not affected.
    if allowed == Some(false) {
        return refused();
    }
    let mut response = next.run(request).await;
    if let (Some(origin), Some(true)) = (origin.as_deref(), allowed) {
        allow_origin(response.headers_mut(), origin);
    }
    response
}

fn preflight(origin: Option<&str>, allowed: Option<bool>, request: &HeaderMap) -> Response {
    let (Some(origin), Some(true)) = (origin, allowed) else {
        if origin.is_some() {
            return refused();
        }
        // Not a browser preflight: say what the route accepts.
        let mut response = StatusCode::NO_CONTENT.into_response();
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(ALLOWED_METHODS));
        return response;
    };
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    allow_origin(headers, origin);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOWED_METHODS),
    );
    // Echo the requested headers when they are plain header names (SDKs add their own, e.g.
    // a retry count), else name the ones we read.
    let requested = request
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .filter(|v| {
            v.as_bytes()
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b',' | b' '))
        })
        .cloned();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        requested.unwrap_or(HeaderValue::from_static(ALLOWED_HEADERS)),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(PREFLIGHT_MAX_AGE),
    );
    response
}

fn refused() -> Response {
    ApiError::OriginNotAllowed(
        "this origin may not send events here: add it to [ingest] allowed_origins".into(),
    )
    .into_response()
}

/// Names the caller's origin (never `*`, so a browser sending credentials accepts it too) and
/// tells caches the answer depends on it.
fn allow_origin(headers: &mut HeaderMap, origin: &str) {
    if let Ok(value) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}
