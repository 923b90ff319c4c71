//! Property tests of every edge that parses what a stranger sends: Segment and PostHog bodies,
//! the query API's parameters and the configuration. Whatever arrives, the answer is never a
//! panic and never a 5xx; a refusal is JSON whose message names what was wrong.
//!
//! Cases per property: `PROPTEST_CASES` (default 256 here); failures print the smallest input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use chrono::Utc;
use proptest::prelude::*;
use serde_json::{json, Value};
use tower::ServiceExt;
use vitals_core::clock::FixedClock;
use vitals_core::config::{AuthConfig, VitalsConfig};
use vitals_embedded::SqliteStore;
use vitals_http::{full_router, AppState, LocalTokens, Role, WriteKeys};

const KEY: &str = "fuzz-write-key";
const SECRET: [u8; 32] = [7; 32];

fn cases() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

struct Edge {
    router: Router,
    admin: String,
    runtime: tokio::runtime::Runtime,
}

impl Edge {
    fn new() -> Self {
        let tokens = LocalTokens::new(SECRET.to_vec(), &AuthConfig::default()).unwrap();
        let admin = tokens.mint(
            "admin@example.com",
            Role::Admin,
            Utc::now(),
            chrono::Duration::hours(1),
        );
        let state = AppState {
            storage: Arc::new(SqliteStore::open_in_memory().unwrap()),
            clock: Arc::new(FixedClock("2026-03-10T12:00:00Z".parse().unwrap())),
            write_keys: Arc::new(WriteKeys::new([KEY.to_string()])),
            retention_days: 730,
            alert_limits: Default::default(),
            signals: Default::default(),
            touches: Default::default(),
            caches: Default::default(),
            authenticator: Arc::new(tokens),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Self {
            router: full_router(state),
            admin,
            runtime,
        }
    }

    /// Status and body text of one request.
    fn call(&self, method: Method, uri: &str, auth: &str, body: Vec<u8>) -> (StatusCode, String) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, auth)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap();
        self.runtime.block_on(async {
            let response = self.router.clone().oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        })
    }

    fn ingest(&self, path: &str, body: Vec<u8>) -> (StatusCode, String) {
        self.call(Method::POST, path, &basic(), body)
    }

    fn query(&self, uri: &str) -> (StatusCode, String) {
        self.call(
            Method::GET,
            uri,
            &format!("Bearer {}", self.admin),
            Vec::new(),
        )
    }
}

fn basic() -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{KEY}:"));
    format!("Basic {encoded}")
}

/// A refusal is a JSON error with a message; nothing is a 5xx.
fn check_answer(status: StatusCode, body: &str, what: &str) -> Result<String, TestCaseError> {
    prop_assert!(
        !status.is_server_error(),
        "{what}: {status} {body}",
        body = body.chars().take(300).collect::<String>()
    );
    if status.is_client_error() {
        let parsed: Value = serde_json::from_str(body).map_err(|e| {
            TestCaseError::fail(format!("{what}: {status} body is not JSON ({e}): {body}"))
        })?;
        let message = parsed["error"]["message"].as_str().unwrap_or_default();
        prop_assert!(
            !message.is_empty(),
            "{what}: {status} without a message: {body}"
        );
        return Ok(message.to_string());
    }
    Ok(String::new())
}

// ---- generators ------------------------------------------------------------------------------

/// Any JSON value, a few levels deep, with the awkward cases (huge and negative numbers, NaN-ish
/// strings, unicode, empty containers).
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("JSON has no NaN", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        Just(json!("2026-03-09T10:00:00Z")),
        Just(json!("9999-99-99T99:99:99Z")),
        Just(json!("")),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(".{0,12}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const SEGMENT_FIELDS: [&str; 12] = [
    "type",
    "userId",
    "anonymousId",
    "groupId",
    "event",
    "messageId",
    "timestamp",
    "sentAt",
    "properties",
    "traits",
    "context",
    "name",
];

/// A plausible Segment message with some fields replaced by anything at all.
fn segment_message() -> impl Strategy<Value = Value> {
    let kind = prop::sample::select(vec![
        "track", "identify", "group", "page", "screen", "alias", "nonsense",
    ]);
    (
        kind,
        "[a-z0-9-]{0,12}",
        prop::collection::vec(
            (prop::sample::select(SEGMENT_FIELDS.to_vec()), any_json()),
            0..4,
        ),
    )
        .prop_map(|(kind, id, damage)| {
            let mut m = json!({
                "type": kind,
                "userId": format!("u-{id}"),
                "groupId": format!("acct-{id}"),
                "event": "Report Built",
                "messageId": format!("m-{id}"),
                "timestamp": "2026-03-09T10:00:00Z",
                "properties": {"n": 1},
                "traits": {"name": "Acme", "plan": "pro"},
                "context": {"groupId": format!("acct-{id}")}
            });
            for (field, value) in damage {
                m[field] = value;
            }
            m
        })
}

fn segment_batch() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(segment_message(), 0..6).prop_map(|batch| {
            json!({"batch": batch, "sentAt": "2026-03-09T10:00:01Z"})
                .to_string()
                .into_bytes()
        }),
        any_json().prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..200),
    ]
}

fn posthog_body() -> impl Strategy<Value = Vec<u8>> {
    let event = (
        prop::sample::select(vec![
            "$pageview",
            "$groupidentify",
            "$identify",
            "Report Built",
        ]),
        "[a-z0-9-]{0,10}",
        prop::collection::vec(
            (
                prop::sample::select(vec![
                    "event",
                    "distinct_id",
                    "properties",
                    "timestamp",
                    "uuid",
                    "api_key",
                ]),
                any_json(),
            ),
            0..3,
        ),
    )
        .prop_map(|(name, id, damage)| {
            let mut e = json!({
                "event": name,
                "distinct_id": format!("u-{id}"),
                "api_key": KEY,
                "timestamp": "2026-03-09T10:00:00Z",
                "properties": {"$groups": {"company": format!("acct-{id}")},
                               "$group_type": "company", "$group_key": format!("acct-{id}")}
            });
            for (field, value) in damage {
                e[field] = value;
            }
            e
        })
        .boxed();
    prop_oneof![
        prop::collection::vec(event.clone(), 0..5).prop_map(|batch| {
            json!({"api_key": KEY, "batch": batch})
                .to_string()
                .into_bytes()
        }),
        event.prop_map(|e| e.to_string().into_bytes()),
        any_json().prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..200),
    ]
}

/// Query strings built from the parameters the API knows and some it does not.
fn query_string() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "limit",
        "cursor",
        "sort",
        "order",
        "band",
        "owner",
        "tier",
        "region",
        "lifecycle",
        "status",
        "kind",
        "account_id",
        "from",
        "to",
        "since",
        "q",
        "decline",
        "expansion",
        "renewal_within_days",
        "bogus",
    ]);
    let value = prop_oneof![
        "[ -~]{0,20}",
        any::<i64>().prop_map(|n| n.to_string()),
        Just("2026-02-30".to_string()),
        Just("%FF%FE".to_string()),
        Just("-1".to_string()),
        Just("99999999999999999999".to_string()),
    ];
    prop::collection::vec((key, value), 0..5).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={}", urlencode(&v)))
            .collect::<Vec<_>>()
            .join("&")
    })
}

/// Percent-encodes all but unreserved characters (a raw `%FF%FE` is kept raw on purpose).
fn urlencode(s: &str) -> String {
    if s == "%FF%FE" {
        return s.to_string();
    }
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The default configuration with one key's value replaced by anything.
fn damaged_config() -> impl Strategy<Value = (String, String)> {
    let default: toml::Table = VitalsConfig::default_toml().parse().unwrap();
    let mut keys = Vec::new();
    for (section, value) in &default {
        match value {
            toml::Value::Table(t) => keys.extend(t.keys().map(|k| format!("{section}.{k}"))),
            _ => keys.push(section.clone()),
        }
    }
    let value = prop_oneof![
        Just(toml::Value::String(String::new())),
        ".{0,20}".prop_map(toml::Value::String),
        any::<i64>().prop_map(toml::Value::Integer),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(toml::Value::Float),
        any::<bool>().prop_map(toml::Value::Boolean),
        Just(toml::Value::Array(vec![])),
        Just(toml::Value::Table(toml::Table::new())),
    ];
    (prop::sample::select(keys), value).prop_map(move |(key, value)| {
        let mut config = default.clone();
        match key.split_once('.') {
            Some((section, k)) => {
                if let Some(toml::Value::Table(t)) = config.get_mut(section) {
                    t.insert(k.to_string(), value);
                }
            }
            None => {
                config.insert(key.clone(), value);
            }
        }
        (key, toml::to_string(&config).unwrap_or_default())
    })
}

// ---- properties ------------------------------------------------------------------------------

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn segment_bodies_never_crash_the_ingest_api(body in segment_batch()) {
        let edge = Edge::new();
        let (status, text) = edge.ingest("/v1/batch", body.clone());
        check_answer(status, &text, "POST /v1/batch")?;
        let (status, text) = edge.ingest("/v1/track", body);
        check_answer(status, &text, "POST /v1/track")?;
    }

    #[test]
    fn a_wrongly_typed_field_is_named_in_the_refusal(
        field in prop::sample::select(vec!["userId", "messageId", "timestamp", "properties", "traits", "event"]),
        value in prop_oneof![Just(json!([1, 2])), Just(json!({"x": 1})), Just(json!(true)), Just(json!(12.5))],
    ) {
        // Only wrong types for the field: an object is right for properties and traits.
        let wrong = match field {
            "properties" | "traits" => !value.is_object(),
            // Ids given as numbers are taken as their text, as Segment's own API does.
            "userId" | "messageId" => !value.is_string() && !value.is_number(),
            _ => !value.is_string(),
        };
        prop_assume!(wrong);
        let mut message = json!({
            "type": "track", "userId": "u-1", "event": "Report Built", "messageId": "m-1",
            "timestamp": "2026-03-09T10:00:00Z", "properties": {}, "traits": {},
            "context": {"groupId": "acct-1"}
        });
        message[field] = value;
        let edge = Edge::new();
        let (status, text) = edge.ingest("/v1/batch", json!({"batch": [message]}).to_string().into_bytes());
        let refusal = check_answer(status, &text, "POST /v1/batch")?;
        let said = if status.is_success() {
            let parsed: Value = serde_json::from_str(&text).unwrap();
            parsed["rejected"][0]["error"].as_str().unwrap_or_default().to_string()
        } else {
            refusal
        };
        prop_assert!(said.contains(field), "{field}: {status} {text}");
    }

    #[test]
    fn posthog_bodies_never_crash_the_capture_api(body in posthog_body()) {
        let edge = Edge::new();
        for path in ["/capture/", "/batch/"] {
            let (status, text) = edge.ingest(path, body.clone());
            check_answer(status, &text, path)?;
        }
    }

    #[test]
    fn query_parameters_never_crash_the_query_api(query in query_string()) {
        let edge = Edge::new();
        for path in ["/v1/accounts", "/v1/alerts", "/v1/audit", "/v1/portfolio", "/v1/accounts/acme/history"] {
            let uri = format!("{path}?{query}");
            let (status, text) = edge.query(&uri);
            let refusal = check_answer(status, &text, &uri)?;
            if status == StatusCode::BAD_REQUEST {
                let names_one = query
                    .split('&')
                    .filter_map(|pair| pair.split('=').next())
                    .any(|key| !key.is_empty() && refusal.contains(key));
                prop_assert!(names_one, "{uri}: the refusal names no parameter: {refusal}");
            }
        }
    }

    #[test]
    fn a_damaged_configuration_is_refused_by_key_or_accepted_never_a_crash((key, text) in damaged_config()) {
        if let Err(e) = VitalsConfig::parse(&text) {
            let said = e.to_string();
            let leaf = key.rsplit('.').next().unwrap_or(&key);
            prop_assert!(said.contains(leaf), "{key}: {said}");
        }
        let edge = Edge::new();
        let (status, body) = edge.call(
            Method::PUT,
            "/v1/config",
            &format!("Bearer {}", edge.admin),
            json!({"body": text}).to_string().into_bytes(),
        );
        check_answer(status, &body, "PUT /v1/config")?;
    }
}

#[test]
fn config_put_of_non_toml_is_a_4xx() {
    let edge = Edge::new();
    let (status, body) = edge.call(
        Method::PUT,
        "/v1/config",
        &format!("Bearer {}", edge.admin),
        b"\xff\xfe not json".to_vec(),
    );
    assert!(status.is_client_error(), "{status} {body}");
}
