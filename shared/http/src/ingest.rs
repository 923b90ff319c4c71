//! Segment HTTP Tracking API handlers: translate a request into the ingest use case and its
//! outcome into Segment's response shape. PostHog capture routes live in [`crate::posthog`] and
//! are mounted here, so every ingestion route is in [`routes`], behind the CORS layer that lets
//! browser SDKs call them from other origins.
//!
//! analytics.js posts to short paths (`/v1/t` for track, `/v1/b` for a batch...) with
//! `Content-Type: text/plain` (which spares a preflight) and the write key in the body: the
//! body is read the same whatever its content type.

use std::sync::Arc;

use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::{json, Value};
use vitals_core::ingest::message::ParseContext;
use vitals_core::ingest::{segment, Ingest, IngestError, IngestOutcome, KeyTrust, ParsedBatch};
use vitals_core::model::EventKind;

use crate::auth::basic_username;
use crate::body::{body_text, request_error, MAX_REQUEST_BYTES};
use crate::error::ApiError;
use crate::AppState;

pub(crate) type Reply = Result<(StatusCode, Json<Value>), ApiError>;

/// Every ingestion route (Segment, with analytics.js's short paths, and PostHog), with CORS.
pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    let origins = Arc::new(state.write_keys.allowed_origins().clone());
    Router::new()
        .route("/v1/batch", post(batch))
        .route("/v1/import", post(batch))
        .route("/v1/track", post(track))
        .route("/v1/identify", post(identify))
        .route("/v1/group", post(group))
        .route("/v1/page", post(page))
        .route("/v1/screen", post(screen))
        .route("/v1/alias", post(alias))
        // analytics.js: the first letter of the event type.
        .route("/v1/b", post(batch))
        .route("/v1/t", post(track))
        .route("/v1/i", post(identify))
        .route("/v1/g", post(group))
        .route("/v1/p", post(page))
        .route("/v1/s", post(screen))
        .route("/v1/a", post(alias))
        .merge(crate::posthog::routes())
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            origins,
            crate::cors::layer,
        ))
}

/// The raw body, or a JSON refusal when it is over the wire limit.
pub(crate) fn raw_body(raw: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    raw.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!(
                "request body exceeds the limit of {MAX_REQUEST_BYTES} bytes"
            ))
        } else {
            ApiError::BadRequest(format!("request body could not be read: {e}"))
        }
    })
}

pub(crate) fn parse_context(state: &AppState) -> ParseContext {
    ParseContext::new(state.clock.now(), state.retention_days)
}

pub async fn batch(
    State(state): State<AppState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Reply {
    let raw = raw_body(raw)?;
    let text = body_text(&headers, &raw)?;
    let cx = parse_context(&state);
    let parsed = segment::parse_batch(&text, &cx).map_err(request_error)?;
    let trust = authenticate(&state, &headers, parsed.write_key.as_deref())?;
    respond(run(&state, parsed, &cx, trust).await?, true)
}

async fn single(
    state: AppState,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
    kind: EventKind,
) -> Reply {
    let raw = raw_body(raw)?;
    let text = body_text(&headers, &raw)?;
    let cx = parse_context(&state);
    let parsed = segment::parse_single(&text, kind, &cx).map_err(request_error)?;
    let trust = authenticate(&state, &headers, parsed.write_key.as_deref())?;
    respond(run(&state, parsed, &cx, trust).await?, false)
}

pub(crate) async fn run(
    state: &AppState,
    parsed: ParsedBatch,
    cx: &ParseContext,
    trust: KeyTrust,
) -> Result<IngestOutcome, ApiError> {
    let outcome = Ingest::new(state.storage.as_ref())
        .with_signals(&state.signals)
        .with_touches(&state.touches)
        .with_trust(trust, state.write_keys.protected_traits())
        .handle(parsed, cx.received_at)
        .await
        .map_err(|e| match e {
            IngestError::Storage(s) => ApiError::from(s),
        })?;
    if outcome.ignored_traits > 0 {
        tracing::info!(
            ignored_traits = outcome.ignored_traits,
            "protected traits from a client write key were ignored"
        );
    }
    Ok(outcome)
}

/// Segment answers `{"success": true}`; we add what was accepted and which items were refused.
/// A request none of whose items could be accepted is a 400.
pub(crate) fn respond(outcome: IngestOutcome, is_batch: bool) -> Reply {
    if let (0, Some(first)) = (outcome.accepted, outcome.rejected.first()) {
        let message = if is_batch {
            format!(
                "no item accepted; first problem: item {}: {}",
                first.index, first.error
            )
        } else {
            first.error.clone()
        };
        return Ok((
            StatusCode::BAD_REQUEST,
            Json(
                json!({"success": false, "error": {"code": "bad_request", "message": message}, "accepted": 0, "rejected": outcome.rejected}),
            ),
        ));
    }
    Ok((
        StatusCode::OK,
        Json(
            json!({"success": true, "accepted": outcome.accepted, "unattributed": outcome.unattributed, "rejected": outcome.rejected, "ignored_traits": outcome.ignored_traits}),
        ),
    ))
}

/// The write key comes as the HTTP Basic username (Segment libraries), a Bearer token, or in
/// the body (`writeKey`, PostHog's `api_key`); its trust decides which traits are taken.
pub(crate) fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    from_body: Option<&str>,
) -> Result<KeyTrust, ApiError> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let from_header = header.and_then(|h| {
        basic_username(h).or_else(|| h.strip_prefix("Bearer ").map(|t| t.trim().to_string()))
    });
    match from_header.as_deref().or(from_body) {
        Some(key) => state
            .write_keys
            .trust_of(key)
            .ok_or_else(|| ApiError::Unauthorized("write key is not valid".into())),
        None => Err(ApiError::Unauthorized(
            "write key missing: send it as the HTTP Basic username or as \"writeKey\" in the body"
                .into(),
        )),
    }
}

macro_rules! single_endpoint {
    ($name:ident, $kind:expr) => {
        pub async fn $name(
            State(state): State<AppState>,
            headers: HeaderMap,
            raw: Result<Bytes, BytesRejection>,
        ) -> Reply {
            single(state, headers, raw, $kind).await
        }
    };
}

single_endpoint!(track, EventKind::Track);
single_endpoint!(identify, EventKind::Identify);
single_endpoint!(group, EventKind::Group);
single_endpoint!(page, EventKind::Page);
single_endpoint!(screen, EventKind::Screen);
single_endpoint!(alias, EventKind::Alias);
