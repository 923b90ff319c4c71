//! The query API and dashboard, per role: a table of role × endpoint → expected status (the
//! denials included), then the behaviours behind it — a CSM sees only their own accounts and
//! gets 404 for anyone else's, alert changes record who made them, invalid configuration is
//! refused with every problem by key. In-memory embedded store, router driven in process.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use vitals_core::clock::FixedClock;
use vitals_core::config::AuthConfig;
use vitals_core::model::{AccountProfile, AccountRecord, AlertStatus, ScoreRecord};
use vitals_core::ports::{AccountStore, AlertStore, AuditLog, ScoreHistoryStore, SummaryStore};
use vitals_embedded::SqliteStore;
use vitals_http::axum::body::Body;
use vitals_http::axum::http::{header, Method, Request, StatusCode};
use vitals_http::tower::ServiceExt;
use vitals_http::{full_router, AppState, LocalTokens, Role, WriteKeys};
use vitals_tests::storage_contract::{acct, alert, audit, day, history_day, summary, window};

const SECRET: [u8; 32] = [42; 32];
const ANA: &str = "ana@example.com";
const BOB: &str = "bob@example.com";
const EVE: &str = "eve@example.com";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T08:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap()
}

fn tokens() -> LocalTokens {
    LocalTokens::new(SECRET.to_vec(), &AuthConfig::default()).unwrap()
}

/// Who calls: the five roles and nobody.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Admin,
    Lead,
    Csm,
    Ae,
    ReadOnly,
    Anonymous,
}

const EVERYONE: [Who; 6] = [
    Who::Admin,
    Who::Lead,
    Who::Csm,
    Who::Ae,
    Who::ReadOnly,
    Who::Anonymous,
];

fn token(who: Who) -> Option<String> {
    let (user, role) = match who {
        Who::Admin => ("root@example.com", Role::Admin),
        Who::Lead => ("lee@example.com", Role::Lead),
        Who::Csm => (ANA, Role::Csm),
        Who::Ae => (EVE, Role::Ae),
        Who::ReadOnly => ("viewer@example.com", Role::ReadOnly),
        Who::Anonymous => return None,
    };
    Some(tokens().mint(user, role, Utc::now(), chrono::Duration::hours(1)))
}

/// An account scored on 2026-03-01 from its own profile and window, as the daily run does.
fn record(id: &str, owner: &str, name: &str) -> AccountRecord {
    let account = acct(id);
    let profile = AccountProfile {
        name: Some(name.into()),
        owner: Some(owner.into()),
        tier: Some("gold".into()),
        region: Some("eu-west".into()),
        mrr: Some(1000.0),
        seats: Some(10),
        renewal_date: Some(day("2026-04-15")),
        ..AccountProfile::default()
    };
    let as_of = day("2026-03-01");
    let window = window(as_of, 30);
    let score = vitals_scoring::score_account(
        &vitals_scoring::ScoringConfig::default(),
        &vitals_core::run::account_facts(&profile),
        &window,
        as_of,
        None,
    );
    AccountRecord {
        account_id: account.clone(),
        profile,
        window,
        score: Some(ScoreRecord {
            account_id: account,
            as_of,
            computed_at: as_of.and_hms_opt(6, 0, 0).unwrap_or_default().and_utc(),
            score,
        }),
        trail: Default::default(),
        provisional: None,
    }
}

/// A store with accounts of Ana (CSM), Bob (another CSM) and Eve (AE), an open alert on Ana's
/// and on Bob's account, audit entries and a portfolio summary.
async fn store() -> Arc<SqliteStore> {
    let store = SqliteStore::open_in_memory().unwrap();
    for (id, owner, name) in [
        ("ana-1", ANA, "Acme"),
        ("ana-2", ANA, "Anvil"),
        ("bob-1", BOB, "Bobcat Secret Co"),
        ("eve-1", EVE, "Evergreen"),
    ] {
        let r = record(id, owner, name);
        store.put_profile(&r.account_id, &r.profile).await.unwrap();
        store.put_scoring_state(&r).await.unwrap();
        store
            .put_history(&[history_day(&r.account_id, day("2026-02-28"), 20.0)])
            .await
            .unwrap();
    }
    let mut ana_alert = alert("alert-ana", &acct("ana-1"), 100, AlertStatus::Open);
    ana_alert.owner = Some(ANA.into());
    let mut bob_alert = alert("alert-bob", &acct("bob-1"), 200, AlertStatus::Open);
    bob_alert.owner = Some(BOB.into());
    store.insert_alert(&ana_alert).await.unwrap();
    store.insert_alert(&bob_alert).await.unwrap();
    store
        .append_audit(&audit("audit-ana", Some(&acct("ana-1")), 300))
        .await
        .unwrap();
    store
        .append_audit(&audit("audit-bob", Some(&acct("bob-1")), 400))
        .await
        .unwrap();
    store
        .put_summary(&summary(day("2026-03-01"), 4))
        .await
        .unwrap();
    Arc::new(store)
}

fn app(store: Arc<SqliteStore>) -> vitals_http::axum::Router {
    full_router(AppState {
        storage: store,
        clock: Arc::new(FixedClock(now())),
        write_keys: Arc::new(WriteKeys::new(["write-key-1".to_string()])),
        retention_days: 730,
        alert_limits: Default::default(),
        signals: Default::default(),
        touches: Default::default(),
        caches: Default::default(),
        authenticator: Arc::new(tokens()),
    })
}

struct Reply {
    status: StatusCode,
    headers: vitals_http::axum::http::HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

async fn call(
    app: &vitals_http::axum::Router,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(t) = bearer {
        request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let request = match body {
        Some(b) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => request.body(Body::empty()),
    }
    .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = vitals_http::axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .unwrap();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn ack(version: u64) -> Value {
    json!({"action": "acknowledge", "version": version, "note": "on it"})
}

fn resolve(version: u64, note: &str) -> Value {
    json!({"action": "resolve", "version": version, "note": note})
}

fn snooze(version: u64, until: &str) -> Value {
    json!({"action": "snooze", "version": version, "reason": "customer on holiday", "until": until})
}

fn reassign(version: u64, owner: &str) -> Value {
    json!({"action": "reassign", "version": version, "owner": owner})
}

/// Role × endpoint → status, for admin, lead, csm (Ana), ae (Eve), read-only, anonymous.
#[tokio::test]
async fn every_endpoint_answers_each_role_as_the_table_says() {
    use Method as M;
    let valid_config = json!({"body": "[retention]\ndays = 400\n"});
    let invalid_config = json!({"body": "[retention]\ndays = 3\n"});
    let long_reason = "x".repeat(3 * 1024);
    #[rustfmt::skip]
    let table: Vec<(Method, &str, Option<Value>, [u16; 6])> = vec![
        //                                                      admin lead csm  ae   ro   anon
        (M::GET, "/v1/portfolio", None,                         [200, 200, 200, 200, 200, 401]),
        (M::GET, "/v1/portfolio?days=30", None,                 [200, 200, 200, 200, 200, 401]),
        (M::GET, "/v1/accounts", None,                          [200, 200, 200, 200, 403, 401]),
        (M::GET, "/v1/accounts?band=bogus", None,               [400, 400, 400, 400, 403, 401]),
        (M::GET, "/v1/accounts/ana-1", None,                    [200, 200, 200, 404, 403, 401]),
        (M::GET, "/v1/accounts/eve-1", None,                    [200, 200, 404, 200, 403, 401]),
        (M::GET, "/v1/accounts/bob-1", None,                    [200, 200, 404, 404, 403, 401]),
        (M::GET, "/v1/accounts/nobody", None,                   [404, 404, 404, 404, 403, 401]),
        (M::GET, "/v1/accounts/ana-1/history", None,            [200, 200, 200, 404, 403, 401]),
        (M::GET, "/v1/accounts/bob-1/history", None,            [200, 200, 404, 404, 403, 401]),
        (M::GET, "/v1/alerts", None,                            [200, 200, 200, 200, 403, 401]),
        (M::GET, "/v1/alerts?status=open&severity=critical", None, [200, 200, 200, 200, 403, 401]),
        (M::GET, "/v1/alerts/alert-ana", None,                  [200, 200, 200, 404, 403, 401]),
        (M::GET, "/v1/alerts/alert-bob", None,                  [200, 200, 404, 404, 403, 401]),
        (M::PATCH, "/v1/alerts/alert-ana", Some(ack(1)),        [200, 200, 200, 403, 403, 401]),
        (M::PATCH, "/v1/alerts/alert-bob", Some(ack(1)),        [200, 200, 404, 403, 403, 401]),
        (M::PATCH, "/v1/alerts/alert-ana", Some(resolve(1, "renewed")), [200, 200, 200, 403, 403, 401]),
        (M::PATCH, "/v1/alerts/alert-ana", Some(snooze(1, "2026-03-09T08:00:00Z")), [200, 200, 200, 403, 403, 401]),
        (M::PATCH, "/v1/alerts/alert-ana", Some(snooze(1, "9999-12-31T00:00:00Z")), [400, 400, 400, 403, 403, 401]),
        (M::PATCH, "/v1/alerts/alert-ana", Some(resolve(1, &long_reason)), [400, 400, 400, 403, 403, 401]),
        (M::PATCH, "/v1/alerts/alert-ana", Some(reassign(1, BOB)), [200, 200, 403, 403, 403, 401]),
        (M::PATCH, "/v1/alerts/alert-bob", Some(reassign(1, ANA)), [200, 200, 403, 403, 403, 401]),
        (M::GET, "/v1/audit", None,                             [200, 400, 400, 400, 403, 401]),
        (M::GET, "/v1/audit?account_id=ana-1", None,            [200, 200, 200, 404, 403, 401]),
        (M::GET, "/v1/audit?account_id=bob-1", None,            [200, 200, 404, 404, 403, 401]),
        (M::GET, "/v1/config", None,                            [200, 403, 403, 403, 403, 401]),
        (M::PUT, "/v1/config", Some(valid_config),              [200, 403, 403, 403, 403, 401]),
        (M::PUT, "/v1/config", Some(invalid_config),            [400, 403, 403, 403, 403, 401]),
        (M::PUT, "/v1/config", Some(json!({"body": ""})),        [400, 403, 403, 403, 403, 401]),
        (M::GET, "/openapi.json", None,                         [200, 200, 200, 200, 200, 200]),
        (M::GET, "/health", None,                               [200, 200, 200, 200, 200, 200]),
        (M::GET, "/dashboard", None,                            [200, 200, 200, 200, 200, 401]),
        (M::GET, "/dashboard/accounts", None,                   [200, 200, 200, 200, 403, 401]),
        (M::GET, "/dashboard/accounts?band=at_risk&sort=-mrr&q=ana", None, [200, 200, 200, 200, 403, 401]),
        (M::GET, "/dashboard/accounts?band=bogus", None,        [400, 400, 400, 400, 403, 401]),
        (M::GET, "/dashboard/accounts.csv", None,               [200, 200, 200, 200, 403, 401]),
        (M::GET, "/dashboard/accounts.csv?sort=sideways", None, [400, 400, 400, 400, 403, 401]),
        (M::GET, "/dashboard/accounts/ana-1", None,             [200, 200, 200, 404, 403, 401]),
        (M::GET, "/dashboard/accounts/bob-1", None,             [200, 200, 404, 404, 403, 401]),
        (M::GET, "/dashboard/alerts", None,                     [200, 200, 200, 200, 403, 401]),
        (M::GET, "/dashboard/alerts?status=resolved", None,     [200, 200, 200, 200, 403, 401]),
        (M::GET, "/dashboard/alerts?status=bogus", None,        [400, 400, 400, 400, 403, 401]),
        (M::GET, "/dashboard/audit", None,                      [200, 200, 403, 403, 403, 401]),
        (M::GET, "/dashboard/settings", None,                   [200, 403, 403, 403, 403, 401]),
    ];
    let mut failures = Vec::new();
    for (method, path, body, expected) in &table {
        for (who, want) in EVERYONE.iter().zip(expected) {
            // A fresh store per cell: PATCH and PUT change state.
            let app = app(store().await);
            let reply = call(
                &app,
                method.clone(),
                path,
                token(*who).as_deref(),
                body.clone(),
            )
            .await;
            if reply.status.as_u16() != *want {
                failures.push(format!(
                    "{method} {path} as {who:?}: expected {want}, got {} ({})",
                    reply.status,
                    reply.body.chars().take(200).collect::<String>()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn a_csm_lists_only_their_own_accounts_and_never_sees_another_owners_data() {
    let app = app(store().await);
    let ana = token(Who::Csm);
    let list = call(&app, Method::GET, "/v1/accounts", ana.as_deref(), None)
        .await
        .json();
    let mut ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["account_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["ana-1", "ana-2"]);
    assert_eq!(list["total"], 2);
    for path in [
        "/v1/accounts/bob-1",
        "/v1/accounts/bob-1/history",
        "/dashboard/accounts/bob-1",
    ] {
        let reply = call(&app, Method::GET, path, ana.as_deref(), None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            !reply.body.contains("Bobcat"),
            "{path} leaked: {}",
            reply.body
        );
    }
    let alerts = call(&app, Method::GET, "/v1/alerts", ana.as_deref(), None)
        .await
        .json();
    let ids: Vec<&str> = alerts["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["alert-ana"]);
}

#[tokio::test]
async fn a_lead_reads_every_book_and_acts_on_any_alert_but_never_the_configuration() {
    let app = app(store().await);
    let lead = token(Who::Lead);
    let admin = token(Who::Admin);
    let list = call(&app, Method::GET, "/v1/accounts", lead.as_deref(), None)
        .await
        .json();
    assert_eq!(list["total"], 4, "a lead lists every owner's accounts");
    let inbox = call(
        &app,
        Method::GET,
        "/dashboard/alerts",
        lead.as_deref(),
        None,
    )
    .await;
    assert_eq!(inbox.status, StatusCode::OK);
    for name in ["Acme", "Bobcat Secret Co"] {
        assert!(inbox.body.contains(name), "inbox lacks {name}");
    }
    assert!(
        inbox
            .body
            .contains(r#"<option value="all">all owners</option>"#),
        "a lead picks an owner or all"
    );
    assert!(inbox.body.contains("new owner email"), "no reassign form");
    let only_bob = call(
        &app,
        Method::GET,
        &format!("/dashboard/alerts?owner={BOB}"),
        lead.as_deref(),
        None,
    )
    .await;
    assert!(only_bob.body.contains("Bobcat Secret Co") && !only_bob.body.contains("Acme"));

    // Reassigning Bob's alert to Ana: done, and recorded under the lead's name.
    let moved = call(
        &app,
        Method::PATCH,
        "/v1/alerts/alert-bob",
        lead.as_deref(),
        Some(reassign(1, ANA)),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    let moved = moved.json();
    assert_eq!(moved["owner"], ANA);
    let last = moved["transitions"].as_array().unwrap().last().unwrap();
    assert_eq!(last["by"], "lee@example.com");

    // An admin changes the configuration: the lead's audit page shows the reassignment, not
    // the configuration change; the admin's shows both.
    let put = call(
        &app,
        Method::PUT,
        "/v1/config",
        admin.as_deref(),
        Some(json!({"body": "[retention]\ndays = 400\n"})),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    let lead_audit = call(&app, Method::GET, "/dashboard/audit", lead.as_deref(), None).await;
    assert!(lead_audit.body.contains("lee@example.com"));
    assert!(!lead_audit.body.contains("config."), "{}", lead_audit.body);
    let admin_audit = call(
        &app,
        Method::GET,
        "/dashboard/audit",
        admin.as_deref(),
        None,
    )
    .await;
    assert!(admin_audit.body.contains("config.applied"));
    for path in ["/v1/config", "/dashboard/settings"] {
        let denied = call(&app, Method::GET, path, lead.as_deref(), None).await;
        assert_eq!(denied.status, StatusCode::FORBIDDEN, "{path}");
    }
}

#[tokio::test]
async fn account_list_filters_sorts_and_pages_with_a_cursor() {
    let app = app(store().await);
    let admin = token(Who::Admin);
    let first = call(
        &app,
        Method::GET,
        "/v1/accounts?sort=name&limit=3",
        admin.as_deref(),
        None,
    )
    .await
    .json();
    let names: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Acme", "Anvil", "Bobcat Secret Co"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = call(
        &app,
        Method::GET,
        &format!("/v1/accounts?sort=name&limit=3&cursor={cursor}"),
        admin.as_deref(),
        None,
    )
    .await
    .json();
    assert_eq!(second["items"][0]["name"], "Evergreen");
    assert!(second["next_cursor"].is_null());
    let owned = call(
        &app,
        Method::GET,
        "/v1/accounts?owner=BOB@example.com&renewal_within_days=60",
        admin.as_deref(),
        None,
    )
    .await
    .json();
    assert_eq!(owned["total"], 1);
    let none = call(
        &app,
        Method::GET,
        "/v1/accounts?region=us-east",
        admin.as_deref(),
        None,
    )
    .await
    .json();
    assert_eq!(none["total"], 0);
    let bad = call(
        &app,
        Method::GET,
        "/v1/accounts?cursor=zzz",
        admin.as_deref(),
        None,
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn account_detail_explains_the_score_and_shows_usage_and_timeline() {
    let app = app(store().await);
    let detail = call(
        &app,
        Method::GET,
        "/v1/accounts/ana-1",
        token(Who::Csm).as_deref(),
        None,
    )
    .await
    .json();
    assert_eq!(detail["account_id"], "ana-1");
    assert_eq!(detail["name"], "Acme");
    let stored = record("ana-1", ANA, "Acme").score.unwrap().score.health;
    assert_eq!(detail["score"].as_f64(), Some(stored.score));
    assert_eq!(detail["band"], serde_json::to_value(stored.band).unwrap());
    assert_eq!(detail["confidence"].as_f64(), Some(stored.confidence));
    let signals = detail["signals"].as_array().unwrap();
    assert!(!signals.is_empty());
    for s in signals {
        for field in ["name", "value", "weight", "points"] {
            assert!(s.get(field).is_some(), "signal lacks {field}: {s}");
        }
    }
    assert!(detail["usage"]["active_users"].as_array().is_some());
    assert!(detail["usage"]["dormant_users"].as_array().is_some());
    assert!(!detail["usage"]["features"].as_array().unwrap().is_empty());
    assert!(!detail["usage"]["sessions_trend"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(detail["contract"]["renewal_date"], "2026-04-15");
    assert_eq!(detail["contract"]["days_to_renewal"], 44);
    let timeline = detail["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 1);
    assert_eq!(timeline[0]["action"], "send_outreach");
    let history = call(
        &app,
        Method::GET,
        "/v1/accounts/ana-1/history",
        token(Who::Csm).as_deref(),
        None,
    )
    .await
    .json();
    let days: Vec<&str> = history["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["as_of"].as_str().unwrap())
        .collect();
    assert_eq!(days, ["2026-02-28"]);
}

#[tokio::test]
async fn alert_changes_record_who_and_when_bump_the_version_and_are_audited() {
    let store = store().await;
    let app = app(store.clone());
    let ana = token(Who::Csm);
    let acked = call(
        &app,
        Method::PATCH,
        "/v1/alerts/alert-ana",
        ana.as_deref(),
        Some(ack(1)),
    )
    .await;
    assert_eq!(acked.status, StatusCode::OK, "{}", acked.body);
    let acked = acked.json();
    assert_eq!(acked["status"], "acknowledged");
    assert_eq!(acked["version"], 2);
    let last = acked["transitions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["by"], ANA);
    assert_eq!(last["at"], "2026-03-02T08:00:00Z");

    // Someone still holding version 1 is told to reload.
    let stale = call(
        &app,
        Method::PATCH,
        "/v1/alerts/alert-ana",
        ana.as_deref(),
        Some(ack(1)),
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);

    let snooze = json!({"action": "snooze", "version": 2, "reason": "customer on holiday", "until": "2026-03-09T00:00:00Z"});
    let snoozed = call(
        &app,
        Method::PATCH,
        "/v1/alerts/alert-ana",
        ana.as_deref(),
        Some(snooze),
    )
    .await
    .json();
    assert_eq!(snoozed["snooze_reason"], "customer on holiday");
    assert_eq!(snoozed["snoozed_until"], "2026-03-09T00:00:00Z");
    let no_reason =
        json!({"action": "snooze", "version": 3, "reason": " ", "until": "2026-03-09T00:00:00Z"});
    let refused = call(
        &app,
        Method::PATCH,
        "/v1/alerts/alert-ana",
        ana.as_deref(),
        Some(no_reason),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let resolved = call(
        &app,
        Method::PATCH,
        "/v1/alerts/alert-ana",
        ana.as_deref(),
        Some(json!({"action": "resolve", "version": 3})),
    )
    .await
    .json();
    assert_eq!(resolved["status"], "resolved");

    let log = store
        .list_audit(Some(&acct("ana-1")), None, 50)
        .await
        .unwrap();
    let actions: Vec<&str> = log.items.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"alert.acknowledged"), "{actions:?}");
    assert!(actions.contains(&"alert.snoozed"), "{actions:?}");
    assert!(actions.contains(&"alert.resolved"), "{actions:?}");
    assert!(log
        .items
        .iter()
        .filter(|e| e.action.starts_with("alert."))
        .all(|e| e.actor == ANA));
}

#[tokio::test]
async fn invalid_configuration_is_refused_listing_every_problem_by_key() {
    let app = app(store().await);
    let admin = token(Who::Admin);
    let body = json!({"body": "[retention]\ndays = 3\n[schedule]\ndaily_at = \"25:00\"\n[auth]\ntoken_ttl_days = 0\n"});
    let reply = call(
        &app,
        Method::PUT,
        "/v1/config",
        admin.as_deref(),
        Some(body),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let keys: Vec<String> = reply.json()["error"]["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_string())
        .collect();
    for key in ["retention.days", "schedule.daily_at", "auth.token_ttl_days"] {
        assert!(keys.iter().any(|k| k == key), "{key} missing from {keys:?}");
    }
}

#[tokio::test]
async fn a_valid_configuration_becomes_a_new_version_with_author_and_summary() {
    let app = app(store().await);
    let admin = token(Who::Admin);
    let before = call(&app, Method::GET, "/v1/config", admin.as_deref(), None)
        .await
        .json();
    assert_eq!(before["version"], 0);
    let body = json!({"body": "[retention]\ndays = 400\n", "base_version": 0});
    let stored = call(
        &app,
        Method::PUT,
        "/v1/config",
        admin.as_deref(),
        Some(body.clone()),
    )
    .await
    .json();
    assert_eq!(stored["version"], 1);
    assert_eq!(stored["author"], "root@example.com");
    assert_eq!(stored["summary"], "defaults, changed retention.days");
    // The same edit based on version 0 again is stale now.
    let stale = call(
        &app,
        Method::PUT,
        "/v1/config",
        admin.as_deref(),
        Some(body),
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    let after = call(&app, Method::GET, "/v1/config", admin.as_deref(), None)
        .await
        .json();
    assert_eq!(after["version"], 1);
}

#[tokio::test]
async fn forged_expired_and_missing_tokens_are_unauthorized() {
    let app = app(store().await);
    let other = LocalTokens::new(vec![1u8; 32], &AuthConfig::default()).unwrap();
    let forged = other.mint(
        "root@example.com",
        Role::Admin,
        Utc::now(),
        chrono::Duration::hours(1),
    );
    let expired = tokens().mint(
        "root@example.com",
        Role::Admin,
        Utc::now() - chrono::Duration::days(2),
        chrono::Duration::days(1),
    );
    for bearer in [
        Some(forged.as_str()),
        Some(expired.as_str()),
        Some("garbage"),
        None,
    ] {
        let reply = call(&app, Method::GET, "/v1/portfolio", bearer, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.headers[header::WWW_AUTHENTICATE], "Bearer");
    }
}

#[tokio::test]
async fn portfolio_reports_distribution_trend_and_null_kpis_with_reasons() {
    let app = app(store().await);
    let p = call(
        &app,
        Method::GET,
        "/v1/portfolio",
        token(Who::ReadOnly).as_deref(),
        None,
    )
    .await
    .json();
    assert_eq!(p["as_of"], "2026-03-01");
    assert_eq!(p["distribution"].as_array().unwrap().len(), 10);
    assert_eq!(p["trend"].as_array().unwrap().len(), 1);
    assert_eq!(p["kpis"]["net_revenue_retention"]["value"], 1.07);
    let churn = &p["kpis"]["churn_prediction_accuracy"];
    assert!(churn["value"].is_null());
    assert!(churn["reason"].is_string());
}

#[tokio::test]
async fn the_dashboard_signs_in_from_a_token_link_and_keeps_it_in_a_cookie() {
    let app = app(store().await);
    let t = token(Who::Csm).unwrap();
    let reply = call(
        &app,
        Method::GET,
        &format!("/dashboard?token={t}"),
        None,
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.headers[header::LOCATION], "/dashboard");
    let cookie = reply.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_string();
    let request = Request::get("/dashboard")
        .header(header::COOKIE, pair)
        .body(Body::empty())
        .unwrap();
    let page = app.clone().oneshot(request).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = vitals_http::axum::body::to_bytes(page.into_body(), 1 << 24)
        .await
        .unwrap();
    let html = String::from_utf8_lossy(&html);
    assert!(html.contains("<svg"), "no chart");
    assert!(html.contains(r#"id="at-risk""#));
    assert!(
        !html.contains("Bobcat"),
        "a CSM's dashboard shows another owner's account"
    );
    let bad = call(&app, Method::GET, "/dashboard?token=nope", None, None).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = app(store().await);
    let admin = token(Who::Admin);
    let doc = call(&app, Method::GET, "/openapi.json", None, None)
        .await
        .json();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let concrete = path.replace(
                "{id}",
                if path.contains("alerts") {
                    "alert-ana"
                } else {
                    "ana-1"
                },
            );
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = match (method.as_str(), path.as_str()) {
                ("PATCH", _) => Some(ack(1)),
                ("PUT", _) => Some(json!({"body": "[retention]\ndays = 400\n"})),
                _ => None,
            };
            let reply = call(&app, method.clone(), &concrete, admin.as_deref(), body).await;
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "{method} {concrete}: {}",
                reply.body
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 12);
}

#[tokio::test]
async fn out_of_bounds_alert_changes_are_refused_naming_the_field_and_change_nothing() {
    let store = store().await;
    let app = app(store.clone());
    let ana = token(Who::Csm);
    let patch = |body: Value| {
        call(
            &app,
            Method::PATCH,
            "/v1/alerts/alert-ana",
            ana.as_deref(),
            Some(body),
        )
    };

    let forever = patch(snooze(1, "9999-12-31T00:00:00Z")).await;
    assert_eq!(forever.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        forever.json()["error"]["message"],
        "until: a snooze may last at most 90 days (until 2026-05-31)"
    );
    let essay = patch(resolve(1, &"x".repeat(3 * 1024))).await;
    assert_eq!(essay.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        essay.json()["error"]["message"],
        "note: at most 2048 bytes (got 3072)"
    );
    let stored = store.get_alert("alert-ana").await.unwrap().unwrap();
    assert_eq!((stored.version, stored.status), (1, AlertStatus::Open));

    // Resolving twice: the second is a conflict with the alert's state, not a bad request.
    assert_eq!(patch(resolve(1, "renewed")).await.status, StatusCode::OK);
    let again = patch(resolve(2, "renewed")).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        again.json()["error"]["message"],
        "the alert is already resolved"
    );
}

#[tokio::test]
async fn an_admin_reassigns_an_alert_and_the_new_owner_sees_it() {
    let store = store().await;
    let app = app(store.clone());
    let admin = token(Who::Admin);
    let moved = call(
        &app,
        Method::PATCH,
        "/v1/alerts/alert-bob",
        admin.as_deref(),
        Some(reassign(1, ANA)),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    let moved = moved.json();
    assert_eq!(moved["owner"], ANA);
    assert_eq!(
        moved["transitions"].as_array().unwrap().last().unwrap()["note"],
        format!("reassigned from {BOB} to {ANA}")
    );
    let ana = token(Who::Csm);
    let seen = call(
        &app,
        Method::GET,
        "/v1/alerts/alert-bob",
        ana.as_deref(),
        None,
    )
    .await;
    assert_eq!(seen.status, StatusCode::OK);
}

#[tokio::test]
async fn an_empty_or_malformed_configuration_is_refused_and_nothing_is_stored() {
    let store = store().await;
    let app = app(store.clone());
    let admin = token(Who::Admin);
    for body in [
        json!({"body": ""}),
        json!({"body": "  \n"}),
        json!({"body": "[retention\ndays ="}),
    ] {
        let reply = call(
            &app,
            Method::PUT,
            "/v1/config",
            admin.as_deref(),
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.body
        );
        assert_eq!(reply.json()["error"]["issues"][0]["key"], "(syntax)");
    }
    // A text body too: an empty PUT is refused, not read as "all defaults".
    let request = Request::builder()
        .method(Method::PUT)
        .uri("/v1/config")
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", admin.as_deref().unwrap()),
        )
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::empty())
        .unwrap();
    let reply = app.clone().oneshot(request).await.unwrap();
    assert_eq!(reply.status(), StatusCode::BAD_REQUEST);
    use vitals_core::ports::ConfigStore;
    assert!(store.list_config_versions(10).await.unwrap().is_empty());
}
