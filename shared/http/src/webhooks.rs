//! Destinations that push to Vitals, for teams that keep their SDKs pointed at Segment or
//! PostHog: Segment's Webhooks (Actions) destination (`POST /v1/segment/webhook`, signed with
//! `X-Signature`) and PostHog's HTTP webhook destination (`POST /v1/posthog/webhook`, a static
//! secret header). Both feed the same ingest use case as the tracking API, so a redelivered
//! message is deduplicated by its message id.

use std::borrow::Cow;

/// Events a destination forwards may have come from a browser source in the customer's
/// workspace, whose key is public: they may not set protected traits (owner, MRR...), as from a
/// client key. Those come from a server key, a CRM import or an admin.
const FORWARDED: vitals_core::ingest::KeyTrust = vitals_core::ingest::KeyTrust::Client;

use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;
use vitals_core::config::IngestConfig;
use vitals_core::ingest::posthog::{parse_capture, PostHogOptions};
use vitals_core::ingest::segment;
use vitals_core::notify::Secret;

use crate::body::{body_text, request_error};
use crate::error::ApiError;
use crate::ingest::{parse_context, raw_body, respond, run, Reply};
use crate::AppState;

/// The header Segment signs requests with: hex HMAC-SHA1 of the raw body.
pub const SEGMENT_SIGNATURE_HEADER: &str = "x-signature";
/// The header the PostHog destination is configured to send the shared secret in.
pub const POSTHOG_SECRET_HEADER: &str = "x-vitals-webhook-secret";

/// The destinations' shared secrets; a destination without one refuses every request.
#[derive(Debug, Clone, Default)]
pub struct WebhookSecrets {
    pub segment: Option<Secret>,
    pub posthog: Option<Secret>,
}

impl WebhookSecrets {
    /// Resolves the secrets `[ingest]` names with `lookup` (the environment in `vitals serve`;
    /// the environment, then Secrets Manager, in the ingest Lambda). A name that resolves to
    /// nothing leaves that destination closed, and says so in the log.
    pub fn from_config(config: &IngestConfig, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let resolve = |name: &Option<String>| {
            let name = name.as_deref()?;
            let value = lookup(name).filter(|v| !v.trim().is_empty());
            if value.is_none() {
                tracing::warn!(
                    secret = name,
                    "webhook secret is not set: that destination refuses every request"
                );
            }
            value.map(|v| Secret::new(v.trim()))
        };
        WebhookSecrets {
            segment: resolve(&config.segment_webhook_secret_env),
            posthog: resolve(&config.posthog_webhook_secret_env),
        }
    }
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/segment/webhook", post(segment_webhook))
        .route("/v1/posthog/webhook", post(posthog_webhook))
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::body::MAX_REQUEST_BYTES,
        ))
}

/// One Segment message (a single event, the default mapping) or a JSON array of them (the
/// destination's batching), or a `{"batch": [...]}` body.
async fn segment_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Reply {
    let raw = raw_body(raw)?;
    let secret = state.write_keys.webhook_secrets().segment.as_ref();
    verify_segment_signature(secret, &headers, &raw)?;
    let text = body_text(&headers, &raw)?;
    let trimmed = text.trim_start();
    let batch: Cow<'_, str> = if trimmed.starts_with('[') {
        Cow::Owned(format!("{{\"batch\":{text}}}"))
    } else if has_batch_key(trimmed) {
        text
    } else {
        Cow::Owned(format!("{{\"batch\":[{text}]}}"))
    };
    let cx = parse_context(&state);
    let parsed = segment::parse_batch(&batch, &cx).map_err(request_error)?;
    respond(run(&state, parsed, &cx, FORWARDED).await?, true)
}

fn has_batch_key(object: &str) -> bool {
    serde_json::from_str::<Map<String, Value>>(object).is_ok_and(|m| m.contains_key("batch"))
}

/// `X-Signature` must be the hex HMAC-SHA1 of the raw body under the shared secret, compared in
/// constant time so timing does not reveal how much of a forged signature matched.
fn verify_segment_signature(
    secret: Option<&Secret>,
    headers: &HeaderMap,
    raw: &[u8],
) -> Result<(), ApiError> {
    let secret = secret.ok_or_else(|| {
        ApiError::Unauthorized(
            "the Segment webhook is not enabled: set [ingest] segment_webhook_secret_env".into(),
        )
    })?;
    let given = headers
        .get(SEGMENT_SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::Unauthorized("X-Signature header missing".into()))?;
    let given = hex::decode(given.trim())
        .map_err(|_| ApiError::Unauthorized("X-Signature is not a hex HMAC-SHA1".into()))?;
    let expected = segment_signature(secret.expose().as_bytes(), raw);
    if bool::from(expected.as_slice().ct_eq(given.as_slice())) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized(
            "X-Signature does not match the body and shared secret".into(),
        ))
    }
}

/// HMAC-SHA1 of `body` under `secret`: what Segment sends, hex-encoded, in `X-Signature`.
pub fn segment_signature(secret: &[u8], body: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = match Hmac::<sha1::Sha1>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return Vec::new(),
    };
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// PostHog's webhook body, as its destination's JSON body setting
/// `{"event": "{event}", "person": "{person}", "groups": "{groups}"}` renders it: `event` is the
/// captured event, `person` its person, `groups` the event's groups by type.
async fn posthog_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Reply {
    let raw = raw_body(raw)?;
    let secret = state.write_keys.webhook_secrets().posthog.as_ref();
    verify_static_secret(secret, &headers)?;
    let text = body_text(&headers, &raw)?;
    let body: Value = serde_json::from_str(&text)
        .map_err(|e| ApiError::BadRequest(format!("body is not valid JSON: {e}")))?;
    let items = match body {
        Value::Array(items) => items,
        other => vec![other],
    };
    let events = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            capture_event(item).map_err(|m| ApiError::BadRequest(format!("item {i}: {m}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let capture = Value::Array(events).to_string();
    let cx = parse_context(&state);
    let parsed = parse_capture(&capture, &cx, &PostHogOptions::default()).map_err(request_error)?;
    respond(run(&state, parsed, &cx, FORWARDED).await?, true)
}

fn verify_static_secret(secret: Option<&Secret>, headers: &HeaderMap) -> Result<(), ApiError> {
    let secret = secret.ok_or_else(|| {
        ApiError::Unauthorized(
            "the PostHog webhook is not enabled: set [ingest] posthog_webhook_secret_env".into(),
        )
    })?;
    let given = headers
        .get(POSTHOG_SECRET_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::Unauthorized("X-Vitals-Webhook-Secret header missing".into()))?;
    if bool::from(secret.expose().as_bytes().ct_eq(given.trim().as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized(
            "X-Vitals-Webhook-Secret is not the configured secret".into(),
        ))
    }
}

/// The webhook's `{event, person, groups}` as the capture event PostHog's SDKs would have sent:
/// the groups become `properties.$groups` (type → key) when the event lacks them, and an
/// `$identify` carries the person's properties as `$set` traits.
fn capture_event(item: Value) -> Result<Value, String> {
    let Value::Object(mut item) = item else {
        return Err("must be an object with \"event\"".into());
    };
    let mut event = match item.remove("event") {
        Some(Value::Object(event)) => event,
        Some(_) => {
            return Err("event: must be an object (use \"{event}\" in the JSON body)".into())
        }
        None => return Err("event: is required".into()),
    };
    let props = event
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    if !props.is_object() {
        return Err("event.properties: must be an object".into());
    }
    if let (Some(Value::Object(groups)), Some(props)) = (item.get("groups"), props.as_object_mut())
    {
        if !props.contains_key("$groups") && !groups.is_empty() {
            let keys: Map<String, Value> = groups
                .iter()
                .filter_map(|(kind, g)| Some((kind.clone(), g.get("id")?.clone())))
                .collect();
            props.insert("$groups".into(), Value::Object(keys));
        }
    }
    let is_identify = event.get("event").and_then(Value::as_str) == Some("$identify");
    if is_identify && !event.contains_key("$set") {
        if let Some(person_props) = item.get("person").and_then(|p| p.get("properties")) {
            event.insert("$set".into(), person_props.clone());
        }
    }
    Ok(Value::Object(event))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn groups_become_the_account_of_the_event() {
        let item = json!({
            "event": {"uuid": "0190-a", "event": "Report Built", "distinct_id": "u1",
                      "timestamp": "2026-03-10T09:00:00Z", "properties": {"format": "pdf"}},
            "person": {"id": "p1", "properties": {"email": "ana@acme.test"}},
            "groups": {"company": {"id": "acme", "type": "company", "index": 0, "properties": {}}}
        });
        let event = capture_event(item).unwrap();
        assert_eq!(event["properties"]["$groups"], json!({"company": "acme"}));
        assert!(event.get("$set").is_none());
    }

    #[test]
    fn an_identify_carries_the_person_properties() {
        let item = json!({
            "event": {"uuid": "0190-b", "event": "$identify", "distinct_id": "u1", "properties": {}},
            "person": {"properties": {"email": "ana@acme.test"}}
        });
        assert_eq!(
            capture_event(item).unwrap()["$set"],
            json!({"email": "ana@acme.test"})
        );
    }

    #[test]
    fn a_body_without_event_names_the_field() {
        assert_eq!(
            capture_event(json!({"person": {}})).unwrap_err(),
            "event: is required"
        );
    }
}
