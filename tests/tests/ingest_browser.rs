//! Browser SDKs and write-key trust: analytics.js's short paths with `text/plain` bodies and the
//! key in the body, CORS preflights and headers (allowed and refused origins, none on the query
//! API), posthog-js's flags/config calls and compressed bodies, session recordings dropped, and
//! a client key that cannot change who owns an account or what it is worth.

use std::io::Write;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use base64::Engine;
use chrono::NaiveDate;
use serde_json::{json, Value};
use tower::ServiceExt;
use vitals_core::clock::FixedClock;
use vitals_core::config::IngestConfig;
use vitals_core::ingest::KeyTrust;
use vitals_core::model::{AccountId, AccountProfile};
use vitals_core::ports::{AccountStore, ConfigStore, EventStore};
use vitals_embedded::SqliteStore;
use vitals_http::{AllowedOrigins, AppState, WriteKeys};
use vitals_tests::support::Must;

const CLIENT_KEY: &str = "wk_browser_public";
const SERVER_KEY: &str = "wk_backend_secret";
const NOW: &str = "2026-03-10T12:00:00Z";
const APP_ORIGIN: &str = "https://app.example.com";

fn keys() -> WriteKeys {
    WriteKeys::client([CLIENT_KEY.to_string()]).with_csv(KeyTrust::Server, SERVER_KEY)
}

fn state(store: Arc<SqliteStore>, keys: WriteKeys) -> AppState {
    AppState {
        storage: store,
        clock: Arc::new(FixedClock(NOW.parse().must("time"))),
        write_keys: Arc::new(keys),
        retention_days: 730,
        alert_limits: Default::default(),
        signals: Default::default(),
        touches: Default::default(),
        caches: Default::default(),
        authenticator: Arc::new(vitals_http::DenyAll),
    }
}

fn app_with(keys: WriteKeys) -> (Router, Arc<SqliteStore>) {
    let store = Arc::new(SqliteStore::open_in_memory().must("open in-memory store"));
    (
        vitals_http::ingest_router(state(store.clone(), keys)),
        store,
    )
}

fn app() -> (Router, Arc<SqliteStore>) {
    app_with(keys())
}

fn acct(id: &str) -> AccountId {
    AccountId::new(id).must("account id")
}

async fn send(
    router: &Router,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = router.clone().oneshot(request).await.must("request");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .must("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, body)
}

/// A POST the way analytics.js sends it: `text/plain`, the write key in the body.
fn text_plain(path: &str, body: &Value) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "text/plain")
        .header(header::ORIGIN, APP_ORIGIN)
        .body(Body::from(body.to_string()))
        .must("request")
}

fn preflight(path: &str, origin: &str) -> Request<Body> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri(path)
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "authorization,content-type",
        )
        .body(Body::empty())
        .must("request")
}

async fn events_stored(store: &SqliteStore, account: &str) -> usize {
    let day = NaiveDate::from_ymd_opt(2026, 3, 10).must_some("day");
    store
        .chunks_for_account_day(&acct(account), day)
        .await
        .must("chunks")
        .iter()
        .map(|c| c.events.len())
        .sum()
}

trait MustSome<T> {
    fn must_some(self, what: &str) -> T;
}

impl<T> MustSome<T> for Option<T> {
    #[track_caller]
    fn must_some(self, what: &str) -> T {
        match self {
            Some(v) => v,
            None => panic!("{what} is missing"),
        }
    }
}

async fn profile(store: &SqliteStore, account: &str) -> AccountProfile {
    store
        .get_account(&acct(account))
        .await
        .must("get_account")
        .must_some("account")
        .profile
}

fn event(kind: &str, id: &str, extra: Value) -> Value {
    let mut e = json!({"type": kind, "messageId": id, "userId": "u1", "writeKey": CLIENT_KEY,
        "timestamp": "2026-03-10T09:00:00Z", "context": {"groupId": "acme"}});
    if let (Some(e), Some(extra)) = (e.as_object_mut(), extra.as_object()) {
        e.extend(extra.clone());
    }
    e
}

#[tokio::test]
async fn analytics_js_short_paths_take_text_plain_bodies_with_the_key_inside() {
    let (router, store) = app();
    let calls = [
        (
            "/v1/g",
            event(
                "group",
                "g1",
                json!({"groupId": "acme", "traits": {"name": "Acme"}}),
            ),
        ),
        (
            "/v1/i",
            event(
                "identify",
                "i1",
                json!({"traits": {"email": "ann@acme.com"}}),
            ),
        ),
        (
            "/v1/t",
            event("track", "t1", json!({"event": "Report Built"})),
        ),
        ("/v1/p", event("page", "p1", json!({"name": "Home"}))),
        ("/v1/s", event("screen", "s1", json!({"name": "Home"}))),
    ];
    for (path, body) in &calls {
        let (status, headers, reply) = send(&router, text_plain(path, body)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {reply}");
        assert_eq!(reply["accepted"], 1, "{path}: {reply}");
        assert_eq!(
            headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            APP_ORIGIN,
            "{path}: the browser must be allowed to read the answer"
        );
    }
    let batch = json!({"writeKey": CLIENT_KEY, "sentAt": NOW, "batch": [
        event("track", "b1", json!({"event": "Report Built"})),
        event("track", "b2", json!({"event": "Report Shared"})),
    ]});
    let (status, _, reply) = send(&router, text_plain("/v1/b", &batch)).await;
    assert_eq!(
        (status, reply["accepted"].clone()),
        (StatusCode::OK, json!(2)),
        "{reply}"
    );
    assert_eq!(events_stored(&store, "acme").await, 7);
    assert_eq!(profile(&store, "acme").await.name.as_deref(), Some("Acme"));
}

#[tokio::test]
async fn a_missing_or_unknown_key_in_a_text_plain_body_is_refused() {
    let (router, store) = app();
    let mut body = event("track", "t1", json!({"event": "Report Built"}));
    body["writeKey"] = json!("wk_not_a_key");
    let (status, _, reply) = send(&router, text_plain("/v1/t", &body)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{reply}");
    if let Some(o) = body.as_object_mut() {
        o.remove("writeKey");
    }
    let (status, _, reply) = send(&router, text_plain("/v1/t", &body)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("writeKey"),
        "{reply}"
    );
    assert_eq!(events_stored(&store, "acme").await, 0);
}

#[tokio::test]
async fn preflights_from_allowed_origins_are_answered_and_others_refused() {
    let only_app = keys().with_allowed_origins(AllowedOrigins::new(&[APP_ORIGIN.to_string()]));
    let (router, store) = app_with(only_app);
    for path in [
        "/v1/t",
        "/v1/b",
        "/v1/batch",
        "/e/",
        "/i/v0/e/",
        "/flags/",
        "/decide/",
    ] {
        let (status, headers, _) = send(&router, preflight(path, APP_ORIGIN)).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{path}");
        assert_eq!(
            headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            APP_ORIGIN,
            "{path}"
        );
        let methods = headers[header::ACCESS_CONTROL_ALLOW_METHODS]
            .to_str()
            .must("methods");
        assert!(methods.contains("POST"), "{path}: {methods}");
        assert_eq!(
            headers[header::ACCESS_CONTROL_ALLOW_HEADERS],
            "authorization,content-type",
            "{path}: the headers the SDK asked for"
        );

        let (status, headers, reply) = send(&router, preflight(path, "https://evil.example")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(reply["error"]["code"], "origin_not_allowed", "{path}");
        assert!(
            headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(),
            "{path}"
        );
    }
    // A text/plain POST needs no preflight: from a refused origin it is refused all the same,
    // and nothing is stored.
    let mut request = text_plain("/v1/t", &event("track", "t1", json!({"event": "X"})));
    request.headers_mut().insert(
        header::ORIGIN,
        "https://evil.example".parse().must("origin"),
    );
    let (status, headers, reply) = send(&router, request).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{reply}");
    assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    assert_eq!(events_stored(&store, "acme").await, 0);
    // Back-end libraries send no Origin: unaffected.
    let mut request = text_plain("/v1/t", &event("track", "t2", json!({"event": "X"})));
    request.headers_mut().remove(header::ORIGIN);
    let (status, _, reply) = send(&router, request).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(events_stored(&store, "acme").await, 1);
}

#[tokio::test]
async fn by_default_any_origin_may_send_events() {
    let config = IngestConfig {
        write_keys: vec![CLIENT_KEY.to_string()],
        ..IngestConfig::default()
    };
    let (router, _) = app_with(WriteKeys::configured(&config, "", ""));
    let (status, headers, _) = send(&router, preflight("/v1/t", "http://localhost:5173")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "http://localhost:5173"
    );
}

#[tokio::test]
async fn the_query_api_and_dashboard_stay_same_origin() {
    let store = Arc::new(SqliteStore::open_in_memory().must("store"));
    let router = vitals_http::full_router(state(store, keys()));
    for path in ["/v1/portfolio", "/v1/accounts", "/dashboard"] {
        let (status, headers, _) = send(&router, preflight(path, APP_ORIGIN)).await;
        assert_ne!(status, StatusCode::NO_CONTENT, "{path}");
        assert!(
            headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(),
            "{path}"
        );
        let get = Request::get(path)
            .header(header::ORIGIN, APP_ORIGIN)
            .body(Body::empty())
            .must("request");
        let (_, headers, _) = send(&router, get).await;
        assert!(
            headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(),
            "{path}"
        );
    }
    // On the same port, the ingest routes still answer browsers.
    let (status, _, _) = send(&router, preflight("/v1/t", APP_ORIGIN)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn posthog_js_is_told_no_flags_and_capture_on() {
    let (router, _) = app();
    let requests = [
        Request::post("/decide/?v=3").body(Body::from("data=e30%3D")),
        Request::post("/flags/?v=2").body(Body::from(r#"{"token":"phc_x","distinct_id":"u1"}"#)),
        Request::get("/flags/?v=2").body(Body::empty()),
        Request::get("/array/phc_x/config").body(Body::empty()),
    ];
    for request in requests {
        let request = request.must("request");
        let path = request.uri().to_string();
        let (status, _, reply) = send(&router, request).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(reply["flags"], json!({}), "{path}: no flags");
        assert_eq!(reply["featureFlags"], json!({}), "{path}");
        assert_eq!(reply["errorsWhileComputingFlags"], false, "{path}");
        assert_eq!(reply["sessionRecording"], false, "{path}: no recordings");
        // Any value, even false, makes posthog-js load its survey script.
        assert!(reply.get("surveys").is_none(), "{path}");
        assert_eq!(reply["siteApps"], json!([]), "{path}");
        assert!(
            reply["supportedCompression"]
                .as_array()
                .is_some_and(|c| c.contains(&json!("gzip-js"))),
            "{path}: {reply}"
        );
    }
    let script = Request::get("/array/phc_x/config.js")
        .body(Body::empty())
        .must("request");
    let response = router.clone().oneshot(script).await.must("request");
    assert_eq!(response.status(), StatusCode::OK);
    let text = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .must("body");
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("_POSTHOG_REMOTE_CONFIG[\"phc_x\"]"), "{text}");
}

fn posthog_batch(key: &str) -> Value {
    json!({"api_key": key, "batch": [
        {"event": "Report Built", "distinct_id": "p1", "uuid": "0190a0b6-6a4e-7c3a-9a0b-0c1d2e3f4a5b",
         "timestamp": "2026-03-10T09:30:00Z", "properties": {"$groups": {"company": "acme"}}}
    ]})
}

#[tokio::test]
async fn posthog_js_gzip_and_base64_bodies_are_captured() {
    let (router, store) = app();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(posthog_batch(CLIENT_KEY).to_string().as_bytes())
        .must("gzip");
    let gzipped = Request::post("/e/?ip=1&_=1700000000000&ver=1.200.0&compression=gzip-js")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(gz.finish().must("gzip")))
        .must("request");
    let (status, _, reply) = send(&router, gzipped).await;
    assert_eq!(
        (status, reply["accepted"].clone()),
        (StatusCode::OK, json!(1)),
        "{reply}"
    );

    // Recent posthog-js versions send gzip as text/plain without saying so anywhere.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(posthog_batch(CLIENT_KEY).to_string().as_bytes())
        .must("gzip");
    let unmarked = Request::post("/e/")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(gz.finish().must("gzip")))
        .must("request");
    let (status, _, reply) = send(&router, unmarked).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["accepted"], 1, "{reply}");

    let encoded =
        base64::engine::general_purpose::STANDARD.encode(posthog_batch(CLIENT_KEY).to_string());
    let form = Request::post("/i/v0/e/?compression=base64")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "data={}",
            encoded
                .replace('+', "%2B")
                .replace('/', "%2F")
                .replace('=', "%3D")
        )))
        .must("request");
    let (status, _, reply) = send(&router, form).await;
    assert_eq!(
        (status, reply["accepted"].clone()),
        (StatusCode::OK, json!(1)),
        "{reply}"
    );
    // The same event twice: stored once.
    assert_eq!(events_stored(&store, "acme").await, 1);
}

#[tokio::test]
async fn session_recordings_are_acknowledged_and_not_stored() {
    let (router, store) = app();
    let snapshot = json!({"api_key": CLIENT_KEY, "batch": [{"event": "$snapshot", "distinct_id": "p1",
        "timestamp": "2026-03-10T09:30:00Z",
        "properties": {"$groups": {"company": "acme"}, "$snapshot_data": [{"type": 3}]}}]});
    let request = Request::post("/s/?compression=gzip-js")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(snapshot.to_string()))
        .must("request");
    let (status, _, reply) = send(&router, request).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["status"], 1);
    assert_eq!(events_stored(&store, "acme").await, 0);
    assert!(store.get_account(&acct("acme")).await.must("get").is_none());
}

/// Sets the account's owner, MRR and tier as a CRM import would.
async fn owned_account(store: &SqliteStore) {
    let profile = AccountProfile {
        name: Some("Acme".into()),
        owner: Some("dana@vendor.io".into()),
        mrr: Some(4_000.0),
        tier: Some("Enterprise".into()),
        ..Default::default()
    };
    store
        .put_profile(&acct("acme"), &profile)
        .await
        .must("put_profile");
}

fn hijack_traits() -> Value {
    json!({"owner": "mallory@evil.example", "csm_email": "mallory@evil.example", "mrr": 1,
        "tier": "Free", "employees": 12})
}

fn segment_group(key: &str) -> Request<Body> {
    let mut body = event(
        "group",
        "g-hijack",
        json!({"groupId": "acme", "traits": hijack_traits()}),
    );
    body["writeKey"] = json!(key);
    text_plain("/v1/g", &body)
}

fn posthog_groupidentify(key: &str) -> Request<Body> {
    let body = json!({"api_key": key, "batch": [{"event": "$groupidentify", "distinct_id": "p1",
        "uuid": "0190a0b6-6a4e-7c3a-9a0b-0c1d2e3f4a60", "timestamp": "2026-03-10T09:40:00Z",
        "properties": {"$group_type": "company", "$group_key": "acme", "$group_set": hijack_traits()}}]});
    Request::post("/i/v0/e/")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(body.to_string()))
        .must("request")
}

#[tokio::test]
async fn a_client_key_cannot_change_an_accounts_owner_mrr_or_tier() {
    for (sdk, request) in [
        ("segment group", segment_group(CLIENT_KEY)),
        ("posthog $groupidentify", posthog_groupidentify(CLIENT_KEY)),
    ] {
        let (router, store) = app();
        owned_account(&store).await;
        let (status, _, reply) = send(&router, request).await;
        assert_eq!(status, StatusCode::OK, "{sdk}: {reply}");
        assert_eq!(
            reply["ignored_traits"], 4,
            "{sdk}: counted in the answer: {reply}"
        );
        let p = profile(&store, "acme").await;
        assert_eq!(p.owner.as_deref(), Some("dana@vendor.io"), "{sdk}");
        assert_eq!(p.mrr, Some(4_000.0), "{sdk}");
        assert_eq!(p.tier.as_deref(), Some("Enterprise"), "{sdk}");
        assert_eq!(
            p.custom["employees"], 12,
            "{sdk}: harmless traits are taken"
        );
    }
}

#[tokio::test]
async fn a_server_key_can_change_an_accounts_owner_mrr_and_tier() {
    for (sdk, request) in [
        ("segment group", segment_group(SERVER_KEY)),
        ("posthog $groupidentify", posthog_groupidentify(SERVER_KEY)),
    ] {
        let (router, store) = app();
        owned_account(&store).await;
        let (status, _, reply) = send(&router, request).await;
        assert_eq!(status, StatusCode::OK, "{sdk}: {reply}");
        assert_eq!(reply["ignored_traits"], 0, "{sdk}: {reply}");
        let p = profile(&store, "acme").await;
        assert_eq!(p.owner.as_deref(), Some("mallory@evil.example"), "{sdk}");
        assert_eq!(p.mrr, Some(1.0), "{sdk}");
        assert_eq!(p.tier.as_deref(), Some("Free"), "{sdk}");
    }
}

/// The ingest Lambda's way: keys and trust from the configuration stored in DynamoDB plus the
/// environment's `VITALS_WRITE_KEYS` / `VITALS_SERVER_WRITE_KEYS`, profiles written to DynamoDB.
/// Needs `VITALS_TEST_DYNAMODB_ENDPOINT` (skipped without it, failing instead when `CI=true`).
#[tokio::test]
async fn on_dynamodb_the_stored_configuration_decides_each_keys_trust() {
    use vitals_core::config::VitalsConfig;
    use vitals_core::model::ConfigVersion;
    use vitals_tests::support::emulator_sdk_config;

    let Some(endpoint) = vitals_tests::emulator_endpoint("VITALS_TEST_DYNAMODB_ENDPOINT") else {
        return;
    };
    let client = aws_sdk_dynamodb::Client::new(&emulator_sdk_config(&endpoint).await);
    let table = vitals_tests::unique_name("vitals-trust");
    vitals_aws::create_table(&client, &table)
        .await
        .must("create_table");
    let store = Arc::new(vitals_aws::DynamoStore::new(client, table));
    let body = format!(
        "[ingest]\nwrite_keys = [\"{CLIENT_KEY}\"]\nserver_write_keys = [\"{SERVER_KEY}\"]\n"
    );
    store
        .put_config_version(&ConfigVersion {
            version: 1,
            author: "admin@example.com".into(),
            created_at: NOW.parse().must("time"),
            body,
            summary: "keys".into(),
        })
        .await
        .must("put_config_version");
    let stored = store
        .latest_config()
        .await
        .must("latest_config")
        .must_some("config");
    let config = VitalsConfig::parse(&stored.body).must("parse config");
    let env_server_key = "wk_env_server_secret";
    let keys = WriteKeys::configured(&config.ingest, "wk_env_browser_key", env_server_key);
    let router = vitals_http::ingest_router(AppState {
        storage: store.clone(),
        clock: Arc::new(FixedClock(NOW.parse().must("time"))),
        write_keys: Arc::new(keys),
        retention_days: 730,
        alert_limits: Default::default(),
        signals: Default::default(),
        touches: Default::default(),
        caches: Default::default(),
        authenticator: Arc::new(vitals_http::DenyAll),
    });
    let profile = AccountProfile {
        owner: Some("dana@vendor.io".into()),
        mrr: Some(4_000.0),
        tier: Some("Enterprise".into()),
        ..Default::default()
    };
    store
        .put_profile(&acct("acme"), &profile)
        .await
        .must("put_profile");
    let current = |store: Arc<vitals_aws::DynamoStore>| async move {
        store
            .get_account(&acct("acme"))
            .await
            .must("get_account")
            .must_some("account")
            .profile
    };

    for key in [CLIENT_KEY, "wk_env_browser_key"] {
        let (status, _, reply) = send(&router, posthog_groupidentify(key)).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        assert_eq!(reply["ignored_traits"], 4, "{key}: {reply}");
        let p = current(store.clone()).await;
        assert_eq!(p.owner.as_deref(), Some("dana@vendor.io"), "{key}");
        assert_eq!(
            (p.mrr, p.tier.as_deref()),
            (Some(4_000.0), Some("Enterprise")),
            "{key}"
        );
    }
    let (status, _, reply) = send(&router, segment_group(env_server_key)).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let p = current(store.clone()).await;
    assert_eq!(p.owner.as_deref(), Some("mallory@evil.example"));
    assert_eq!((p.mrr, p.tier.as_deref()), (Some(1.0), Some("Free")));
}
