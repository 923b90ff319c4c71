//! Segment HTTP Tracking API handlers: translate a request into the ingest use case and its
//! outcome into Segment's response shape.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::{json, Map, Value};
use vitals_core::ingest::{Ingest, IngestError, IngestOutcome, IngestRequest};
use vitals_core::model::EventKind;

use crate::auth::basic_username;
use crate::body::json_body;
use crate::error::ApiError;
use crate::AppState;

type Reply = Result<(StatusCode, Json<Value>), ApiError>;

/// Every ingestion route.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/batch", post(batch))
        .route("/v1/import", post(batch))
        .route("/v1/track", post(track))
        .route("/v1/identify", post(identify))
        .route("/v1/group", post(group))
        .route("/v1/page", post(page))
        .route("/v1/screen", post(screen))
        .route("/v1/alias", post(alias))
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::body::MAX_REQUEST_BYTES,
        ))
}

pub async fn batch(State(state): State<AppState>, headers: HeaderMap, raw: Bytes) -> Reply {
    let body = json_body(&headers, &raw)?;
    let obj = body.as_object().ok_or_else(|| {
        ApiError::BadRequest("body must be a JSON object with a \"batch\" array".into())
    })?;
    authenticate(&state, &headers, obj)?;
    let items = match obj.get("batch") {
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return Err(ApiError::BadRequest("batch: must be an array".into())),
        None => return Err(ApiError::BadRequest("batch: is required".into())),
    };
    if items.len() > vitals_core::ingest::MAX_BATCH_ITEMS {
        return Err(ApiError::PayloadTooLarge(format!(
            "batch: has {} items; the limit is {}",
            items.len(),
            vitals_core::ingest::MAX_BATCH_ITEMS
        )));
    }
    let batch_context = match obj.get("context") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m.clone()),
        Some(_) => return Err(ApiError::BadRequest("context: must be an object".into())),
    };
    let batch_sent_at = match obj.get("sentAt") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            Some(vitals_core::ingest::message::parse_time(s).ok_or_else(|| {
                ApiError::BadRequest("sentAt: must be an ISO 8601 date-time".into())
            })?)
        }
        Some(_) => {
            return Err(ApiError::BadRequest(
                "sentAt: must be an ISO 8601 date-time string".into(),
            ))
        }
    };
    let req = IngestRequest {
        items,
        kind_hint: None,
        batch_context,
        batch_sent_at,
        received_at: state.clock.now(),
    };
    respond(run(&state, req).await?, true)
}

async fn single(state: AppState, headers: HeaderMap, raw: Bytes, kind: EventKind) -> Reply {
    let body = json_body(&headers, &raw)?;
    let obj = body
        .as_object()
        .ok_or_else(|| ApiError::BadRequest("body must be a JSON object".into()))?;
    authenticate(&state, &headers, obj)?;
    if let Some(Value::String(t)) = obj.get("type") {
        let declared = vitals_core::ingest::message::parse_kind(t)
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        if declared != kind {
            return Err(ApiError::BadRequest(format!(
                "type: is {t:?} but this endpoint takes {:?} messages",
                format!("{kind:?}").to_lowercase()
            )));
        }
    }
    let req = IngestRequest {
        items: vec![body.clone()],
        kind_hint: Some(kind),
        batch_context: None,
        batch_sent_at: None,
        received_at: state.clock.now(),
    };
    respond(run(&state, req).await?, false)
}

async fn run(state: &AppState, req: IngestRequest) -> Result<IngestOutcome, ApiError> {
    Ingest::new(state.storage.as_ref(), state.retention_days)
        .handle(req)
        .await
        .map_err(|e| match e {
            IngestError::Storage(s) => ApiError::from(s),
        })
}

/// Segment answers `{"success": true}`; we add what was accepted and which items were refused.
/// A request none of whose items could be accepted is a 400.
fn respond(outcome: IngestOutcome, is_batch: bool) -> Reply {
    if outcome.accepted == 0 && !outcome.rejected.is_empty() {
        let message = if is_batch {
            format!(
                "no item accepted; first problem: item {}: {}",
                outcome.rejected[0].index, outcome.rejected[0].error
            )
        } else {
            outcome.rejected[0].error.clone()
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
            json!({"success": true, "accepted": outcome.accepted, "unattributed": outcome.unattributed, "rejected": outcome.rejected}),
        ),
    ))
}

/// The write key comes as the HTTP Basic username (Segment libraries) or `writeKey` in the body.
fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    body: &Map<String, Value>,
) -> Result<(), ApiError> {
    let from_header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(basic_username);
    let from_body = body
        .get("writeKey")
        .and_then(Value::as_str)
        .map(str::to_string);
    match from_header.or(from_body) {
        Some(key) if state.write_keys.accepts(&key) => Ok(()),
        Some(_) => Err(ApiError::Unauthorized("write key is not valid".into())),
        None => Err(ApiError::Unauthorized(
            "write key missing: send it as the HTTP Basic username or as \"writeKey\" in the body"
                .into(),
        )),
    }
}

macro_rules! single_endpoint {
    ($name:ident, $kind:expr) => {
        pub async fn $name(State(state): State<AppState>, headers: HeaderMap, raw: Bytes) -> Reply {
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
