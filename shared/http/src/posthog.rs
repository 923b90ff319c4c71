//! PostHog capture handlers (`/capture/`, `/batch/`, `/e/`, `/i/v0/e/`): read the body the ways
//! PostHog's libraries send it (JSON; gzip, marked by a header, by `?compression=gzip-js` or not
//! at all; or a form field `data` holding base64 JSON), translate through the core's PostHog
//! parser, and ingest.
//!
//! posthog-js also asks for its remote configuration and feature flags before it captures
//! (`/decide/` in older versions; `/array/{token}/config` and `/flags/` now): Vitals has no
//! flags, so it answers "no flags, capture on, nothing else enabled". Session recordings
//! (`/s/`) are acknowledged and dropped: they are not product usage Vitals scores.

use std::borrow::Cow;

use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use bytes::Bytes;
use serde_json::{json, Value};
use vitals_core::ingest::posthog::{parse_capture, PostHogOptions};

use crate::body::{body_text, checked_text, gunzip_limited, request_error};
use crate::error::ApiError;
use crate::ingest::{authenticate, parse_context, raw_body, respond, run, Reply};
use crate::AppState;

pub(crate) fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for path in [
        "/capture",
        "/capture/",
        "/batch",
        "/batch/",
        "/e",
        "/e/",
        "/i/v0/e",
        "/i/v0/e/",
    ] {
        router = router.route(path, post(capture));
    }
    for path in ["/decide", "/decide/", "/flags", "/flags/"] {
        router = router.route(path, get(no_flags).post(no_flags));
    }
    for path in ["/s", "/s/"] {
        router = router.route(path, post(recording_ignored));
    }
    router
        .route("/array/{token}/config", get(remote_config))
        .route("/array/{token}/config.js", get(remote_config_script))
}

/// posthog-js's remote configuration and flags in one body (`/decide/` answered both): no
/// feature flags, events captured (gzip or base64 bodies), recordings, heatmaps, autocaptured
/// exceptions and site apps off, so the SDK loads nothing more. `surveys` is left out on
/// purpose: posthog-js loads its survey script for any value, even `false`.
fn no_flags_capture_on() -> Value {
    json!({
        "flags": {},
        "featureFlags": {},
        "featureFlagPayloads": {},
        "errorsWhileComputingFlags": false,
        "quotaLimited": [],
        "hasFeatureFlags": false,
        "supportedCompression": ["gzip-js", "base64"],
        "config": {"enable_collect_everything": true},
        "autocapture_opt_out": false,
        "autocaptureExceptions": false,
        "capturePerformance": false,
        "sessionRecording": false,
        "productTours": false,
        "heatmaps": false,
        "captureDeadClicks": false,
        "siteApps": [],
        "toolbarParams": {},
        "isAuthenticated": false,
        "defaultIdentifiedOnly": true,
        "elementsChainAsString": true,
    })
}

async fn no_flags() -> Json<Value> {
    Json(no_flags_capture_on())
}

async fn remote_config(Path(token): Path<String>) -> Json<Value> {
    let mut config = no_flags_capture_on();
    config["token"] = json!(token);
    Json(config)
}

/// The script form posthog-js can load instead of the JSON: it leaves the same configuration
/// where the SDK looks for it.
async fn remote_config_script(Path(token): Path<String>) -> Response {
    let config = json!({"config": no_flags_capture_on(), "siteApps": []});
    // JSON string escaping makes the token safe inside the script.
    let body = format!(
        "(function(){{var w=window;w._POSTHOG_REMOTE_CONFIG=w._POSTHOG_REMOTE_CONFIG||{{}};w._POSTHOG_REMOTE_CONFIG[{}]={};}})();",
        json!(token).to_string().replace('<', "\\u003c"),
        config
    );
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/javascript; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// Session recordings: acknowledged so the SDK does not retry, never stored.
async fn recording_ignored() -> Json<Value> {
    Json(json!({"status": 1, "stored": false}))
}

/// The first bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

async fn capture(
    State(state): State<AppState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Reply {
    let raw = raw_body(raw)?;
    let is_form = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let text: Cow<'_, str> = if is_form {
        form_data(&raw)?
    } else if raw.starts_with(&GZIP_MAGIC) {
        // posthog-js marks gzip with `?compression=gzip-js`, or (recent versions) not at all;
        // JSON never starts with these bytes, so the body says it.
        checked_text(Cow::Owned(gunzip_limited(&raw)?))?
    } else {
        body_text(&headers, &raw)?
    };
    let cx = parse_context(&state);
    let parsed = parse_capture(&text, &cx, &PostHogOptions::default()).map_err(request_error)?;
    let trust = authenticate(&state, &headers, parsed.write_key.as_deref())?;
    let outcome = run(&state, parsed, &cx, trust).await?;
    let (status, Json(mut body)) = respond(outcome, true)?;
    if status == StatusCode::OK {
        body["status"] = json!(1);
    }
    Ok((status, Json(body)))
}

/// The `data` field of a form body: base64 (PostHog's legacy encoding) or plain JSON.
fn form_data(raw: &[u8]) -> Result<Cow<'static, str>, ApiError> {
    let form = std::str::from_utf8(raw)
        .map_err(|_| ApiError::BadRequest("form body is not valid UTF-8".into()))?;
    let data = form
        .split('&')
        .find_map(|pair| pair.strip_prefix("data="))
        .ok_or_else(|| ApiError::BadRequest("form body: field \"data\" is required".into()))?;
    let decoded = percent_decode(data)?;
    let trimmed = decoded.trim();
    let bytes = if trimmed.starts_with('{') || trimmed.starts_with('[') {
        decoded.into_bytes()
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(trimmed)
            .map_err(|_| ApiError::BadRequest("form field \"data\" is not base64 JSON".into()))?
    };
    checked_text(Cow::Owned(bytes)).map(|t| Cow::Owned(t.into_owned()))
}

fn percent_decode(s: &str) -> Result<String, ApiError> {
    let bad = || ApiError::BadRequest("form field \"data\" is not URL-encoded".into());
    let mut out = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
                let text = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(text, 16).map_err(|_| bad())?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad())
}
