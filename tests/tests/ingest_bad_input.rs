//! The bad-input corpus: every way a client can get a request wrong, with the status and the
//! message it gets back. A bad request is a 4xx naming the problem (413 for size); a bad item
//! inside a valid batch is listed in `rejected` while the others are accepted; nothing is a 500.

use std::io::Write;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use tower::ServiceExt;
use vitals_core::clock::FixedClock;
use vitals_embedded::SqliteStore;
use vitals_http::{AppState, WriteKeys};
use vitals_tests::support::Must;

const KEY: &str = "test-write-key";
const NOW: &str = "2026-03-10T12:00:00Z";

fn router() -> Router {
    let store = SqliteStore::open_in_memory().must("open in-memory store");
    let state = AppState {
        storage: Arc::new(store),
        clock: Arc::new(FixedClock(NOW.parse().must("time"))),
        write_keys: Arc::new(WriteKeys::new([KEY.to_string()])),
        retention_days: 730,
        alert_limits: Default::default(),
        signals: Default::default(),
        touches: Default::default(),
        caches: Default::default(),
        authenticator: Arc::new(vitals_http::DenyAll),
    };
    vitals_http::ingest_router(state)
}

/// base64("test-write-key:")
fn basic() -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{KEY}:"))
    )
}

struct Case {
    name: &'static str,
    path: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    status: StatusCode,
    /// Expected in `error.message` (4xx) or in `rejected[0].error` (2xx).
    message: String,
}

fn case(name: &'static str, body: impl Into<Vec<u8>>, status: u16, message: &str) -> Case {
    Case {
        name,
        path: "/v1/batch",
        headers: vec![("authorization", basic())],
        body: body.into(),
        status: StatusCode::from_u16(status).must("status"),
        message: message.to_string(),
    }
}

fn at(path: &'static str, mut c: Case) -> Case {
    c.path = path;
    c
}

fn with_header(mut c: Case, name: &'static str, value: &str) -> Case {
    c.headers.retain(|(n, _)| *n != name);
    c.headers.push((name, value.to_string()));
    c
}

fn without_auth(mut c: Case) -> Case {
    c.headers.retain(|(n, _)| *n != "authorization");
    c
}

fn good() -> Value {
    json!({"type": "track", "messageId": "good-1", "userId": "u1", "event": "Report Built",
        "timestamp": "2026-03-10T10:00:00Z", "context": {"groupId": "acme"}})
}

/// A batch holding one valid item and `bad`: 200 with `bad` listed as rejected.
fn mixed(name: &'static str, bad: Value, message: &str) -> Case {
    case(
        name,
        json!({"batch": [good(), bad]}).to_string(),
        200,
        message,
    )
}

/// A batch of `bad` alone: 400 naming the item's problem.
fn alone(name: &'static str, bad: Value, message: &str) -> Case {
    case(
        name,
        json!({"batch": [bad]}).to_string(),
        400,
        &format!("no item accepted; first problem: item 0: {message}"),
    )
}

fn track(extra: Value) -> Value {
    let mut item =
        json!({"type": "track", "messageId": "bad-1", "userId": "u1", "event": "Report Built"});
    if let (Some(o), Some(e)) = (item.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            o.insert(k.clone(), v.clone());
        }
    }
    item
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).must("gzip");
    enc.finish().must("gzip")
}

fn item_cases() -> Vec<(&'static str, Value, String)> {
    let many: serde_json::Map<String, Value> =
        (0..300).map(|i| (format!("p{i}"), json!(i))).collect();
    let mut deep = json!(1);
    for _ in 0..200 {
        deep = json!({ "a": deep });
    }
    vec![
        (
            "missing user and anonymous id",
            json!({"type": "track", "event": "x"}),
            "userId: userId or anonymousId is required".into(),
        ),
        (
            "null user id and no anonymous id",
            json!({"type": "track", "event": "x", "userId": null}),
            "userId: userId or anonymousId is required".into(),
        ),
        (
            "missing event name",
            json!({"type": "track", "userId": "u"}),
            "event: is required for track".into(),
        ),
        (
            "empty event name",
            json!({"type": "track", "userId": "u", "event": ""}),
            "event: is required for track".into(),
        ),
        (
            "unknown type",
            json!({"type": "bogus", "userId": "u"}),
            "type: unknown type \"bogus\"".into(),
        ),
        (
            "missing type",
            json!({"userId": "u", "event": "x"}),
            "type: is required".into(),
        ),
        (
            "type of the wrong JSON type",
            json!({"type": 3, "userId": "u"}),
            "type: must be a string".into(),
        ),
        (
            "user id an object",
            track(json!({"userId": {"id": 1}})),
            "userId: must be a string or a number".into(),
        ),
        (
            "message id an array",
            track(json!({"messageId": [1]})),
            "messageId: must be a string or a number".into(),
        ),
        (
            "user id too long",
            track(json!({"userId": "u".repeat(300)})),
            "userId: is longer than 256 bytes".into(),
        ),
        (
            "control character in an id",
            track(json!({"userId": "u\u{0007}1"})),
            "userId: must not contain control characters".into(),
        ),
        (
            "event name too long",
            track(json!({"event": "e".repeat(2000)})),
            "event: is longer than 1024 bytes".into(),
        ),
        (
            "event over 32 KB",
            track(json!({"properties": {"blob": "x".repeat(33 * 1024)}})),
            "item: event is ".into(),
        ),
        (
            "timestamp far in the future",
            track(json!({"timestamp": "2030-01-01T00:00:00Z"})),
            "timestamp: is more than 24 hours in the future".into(),
        ),
        (
            "timestamp far in the past",
            track(json!({"timestamp": "2001-01-01T00:00:00Z"})),
            "timestamp: is older than the retention period (before 2024-03-10)".into(),
        ),
        (
            "timestamp not a date",
            track(json!({"timestamp": "yesterday"})),
            "timestamp: must be an ISO 8601 date-time".into(),
        ),
        (
            "timestamp a number",
            track(json!({"timestamp": 1_700_000_000})),
            "timestamp: must be an ISO 8601 date-time string".into(),
        ),
        (
            "sentAt not a date",
            track(json!({"sentAt": "soon"})),
            "sentAt: must be an ISO 8601 date-time".into(),
        ),
        (
            "properties an array",
            track(json!({"properties": [1, 2]})),
            "properties: must be an object".into(),
        ),
        (
            "properties a string",
            track(json!({"properties": "a=1"})),
            "properties: must be an object".into(),
        ),
        (
            "huge property map",
            track(json!({"properties": many})),
            "properties: has 300 keys; the limit is 256".into(),
        ),
        (
            "properties nested too deep",
            track(json!({"properties": deep})),
            "properties: recursion limit exceeded".into(),
        ),
        (
            "traits a number",
            json!({"type": "identify", "userId": "u", "traits": 5}),
            "traits: must be an object".into(),
        ),
        (
            "context an array",
            track(json!({"context": []})),
            "context: must be an object".into(),
        ),
        (
            "context group id an object",
            track(json!({"context": {"groupId": {"id": "acme"}}})),
            "context.groupId: must be a string or a number".into(),
        ),
        (
            "group without group id",
            json!({"type": "group", "userId": "u", "traits": {"name": "Acme"}}),
            "groupId: is required for group".into(),
        ),
        (
            "alias without previous id",
            json!({"type": "alias", "userId": "u"}),
            "previousId: is required for alias".into(),
        ),
        (
            "item a number",
            json!(42),
            "item: must be a JSON object".into(),
        ),
        (
            "item null",
            Value::Null,
            "item: must be a JSON object".into(),
        ),
        (
            "item a string",
            json!("track"),
            "item: must be a JSON object".into(),
        ),
    ]
}

fn corpus() -> Vec<Case> {
    let mut cases = vec![
        case(
            "truncated JSON",
            r#"{"batch": ["#,
            400,
            "body is not valid JSON: unexpected end of input at line 1 column 11",
        ),
        case(
            "JSON syntax error",
            r#"{"batch": [}"#,
            400,
            "body is not valid JSON: syntax error at line 1 column 12",
        ),
        case("empty body", "", 400, "body is empty; expected a JSON object"),
        case("blank body", "  \n ", 400, "body is empty; expected a JSON object"),
        case(
            "body an array",
            "[1, 2]",
            400,
            "body must be a JSON object with a \"batch\" array",
        ),
        case(
            "body a string",
            "\"hello\"",
            400,
            "body must be a JSON object with a \"batch\" array",
        ),
        case("batch an object", r#"{"batch": {}}"#, 400, "batch: must be an array"),
        case("batch a string", r#"{"batch": "[]"}"#, 400, "batch: must be an array"),
        case("batch missing", r#"{"context": {}}"#, 400, "batch: is required"),
        case("batch null", r#"{"batch": null}"#, 400, "batch: is required"),
        case(
            "duplicate batch key",
            r#"{"batch": [], "batch": []}"#,
            400,
            "body: duplicate field `batch`",
        ),
        case(
            "batch context not an object",
            r#"{"batch": [], "context": 3}"#,
            400,
            "context: must be an object",
        ),
        case(
            "batch sentAt not a date",
            r#"{"batch": [], "sentAt": "now"}"#,
            400,
            "sentAt: must be an ISO 8601 date-time",
        ),
        case(
            "invalid UTF-8",
            b"{\"batch\": [\"\xff\xfe\"]}".to_vec(),
            400,
            "body is not valid UTF-8 (at byte 12)",
        ),
        with_header(
            case("gzip header on a plain body", good().to_string(), 400, "body is not valid gzip"),
            "content-encoding",
            "gzip",
        ),
        with_header(
            case(
                "unsupported content encoding",
                good().to_string(),
                415,
                "Content-Encoding \"br\" is not supported; use gzip or none",
            ),
            "content-encoding",
            "br",
        ),
        with_header(
            case(
                "wrong write key",
                json!({"batch": [good()]}).to_string(),
                401,
                "write key is not valid",
            ),
            "authorization",
            "Basic d3Jvbmc6",
        ),
        without_auth(case(
            "no write key",
            json!({"batch": [good()]}).to_string(),
            401,
            "write key missing",
        )),
        without_auth(case(
            "wrong write key in the body",
            json!({"writeKey": "nope", "batch": [good()]}).to_string(),
            401,
            "write key is not valid",
        )),
        case(
            "batch over 500 KB",
            json!({"batch": [good()], "pad": "x".repeat(520 * 1024)}).to_string(),
            413,
            "request body is 532",
        ),
        case(
            "request over the wire limit",
            json!({"batch": [], "pad": "x".repeat(700 * 1024)}).to_string(),
            413,
            "request body exceeds the limit of 577536 bytes",
        ),
        with_header(
            case(
                "gzip bomb",
                gzip(&vec![b' '; 4 * 1024 * 1024]),
                413,
                "decompressed body exceeds the limit of 512000 bytes",
            ),
            "content-encoding",
            "gzip",
        ),
        case(
            "too many items",
            json!({"batch": vec![json!({}); 2501]}).to_string(),
            413,
            "batch: has 2501 items; the limit is 2500",
        ),
        at(
            "/v1/track",
            case(
                "single endpoint with another type",
                json!({"type": "identify", "userId": "u"}).to_string(),
                400,
                "type: is \"identify\" but this endpoint takes \"track\" messages",
            ),
        ),
        at(
            "/v1/track",
            case(
                "single track without event",
                json!({"userId": "u"}).to_string(),
                400,
                "event: is required for track",
            ),
        ),
        at(
            "/v1/group",
            case(
                "single group not an object",
                "[]",
                400,
                "body must be a JSON object",
            ),
        ),
        at(
            "/capture/",
            case(
                "posthog body without event or batch",
                json!({"api_key": KEY}).to_string(),
                400,
                "body: expected \"event\" (one event) or \"batch\" (an array of events)",
            ),
        ),
        at(
            "/batch/",
            without_auth(case(
                "posthog wrong api key",
                json!({"api_key": "nope", "batch": [{"event": "x", "distinct_id": "u"}]})
                    .to_string(),
                401,
                "write key is not valid",
            )),
        ),
        at(
            "/batch/",
            without_auth(case(
                "posthog item without distinct id",
                json!({"api_key": KEY, "batch": [{"event": "x", "distinct_id": "u"}, {"event": "y"}]})
                    .to_string(),
                200,
                "distinct_id: is required",
            )),
        ),
        at(
            "/i/v0/e/",
            without_auth(case(
                "posthog groups not an object",
                json!({"api_key": KEY, "event": "x", "distinct_id": "u", "properties": {"$groups": "acme"}})
                    .to_string(),
                400,
                "no item accepted; first problem: item 0: properties.$groups: must be an object",
            )),
        ),
        case(
            "nested nulls are fine",
            json!({"batch": [good(), track(json!({"messageId": "n1", "anonymousId": null, "context": null,
                "properties": {"a": {"b": null}, "c": [null]}, "traits": null, "timestamp": null}))]})
            .to_string(),
            200,
            "",
        ),
    ];
    for (name, item, message) in item_cases() {
        cases.push(mixed(name, item.clone(), &message));
        cases.push(alone(name, item, &message));
    }
    cases
}

async fn send(router: &Router, c: &Case) -> (StatusCode, Value) {
    let mut req = Request::post(c.path).header(header::CONTENT_TYPE, "application/json");
    for (name, value) in &c.headers {
        req = req.header(*name, value);
    }
    let response = router
        .clone()
        .oneshot(req.body(Body::from(c.body.clone())).must("request"))
        .await
        .must("router");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .must("body");
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| json!({"unparsed": String::from_utf8_lossy(&bytes).to_string()}));
    (status, body)
}

#[tokio::test]
async fn every_bad_request_gets_a_4xx_naming_its_problem() {
    let router = router();
    let cases = corpus();
    assert!(cases.len() > 80, "the corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let (status, body) = send(&router, c).await;
        let message = if status.is_success() {
            body["rejected"][0]["error"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        } else {
            body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        let shape_ok = if status.is_success() {
            body["success"] == true
                && (c.message.is_empty() || body["accepted"].as_u64() == Some(1))
        } else {
            body["success"] == false && body["error"]["code"].is_string()
        };
        if status != c.status || !message.starts_with(&c.message) || !shape_ok {
            failures.push(format!(
                "{}: expected {} {:?}, got {status} {body}",
                c.name, c.status, c.message
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn no_truncation_of_a_valid_batch_is_a_server_error() {
    let router = router();
    let body = json!({"batch": [good(), track(json!({"messageId": "t2", "properties": {"a": [1, {"b": "é"}]}}))]})
        .to_string()
        .into_bytes();
    for cut in 0..body.len() {
        let c = case("truncated", body[..cut].to_vec(), 400, "");
        let (status, answer) = send(&router, &c).await;
        assert!(status.is_client_error(), "cut at {cut}: {status} {answer}");
    }
}
