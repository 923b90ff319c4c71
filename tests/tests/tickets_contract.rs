//! The `ticket` action files help desk tickets (issue 21): Zendesk through its Tickets API and
//! Linear through GraphQL `issueCreate`, checked by loopback servers that hold the vendors'
//! documented request shapes. A delivery key files one ticket however often it is delivered,
//! a rate limit is a retryable failure, and the credentials never show in errors.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};
use vitals_core::alerts::rules::ChannelConfig;
use vitals_core::config::AlertsConfig;
use vitals_core::model::{AccountId, Band};
use vitals_core::notify::{Notification, NotificationKind, Notifier, NotifyError, Secret};
use vitals_notify::{HttpNotifier, Outbox};
use vitals_tests::support::{serve_loopback, Must};

const ZENDESK_TOKEN: &str = "zd-token-6a1f9c";
const LINEAR_KEY: &str = "lin_api_7b2e0d";

/// The vendor's state and what it was sent; `rate_limit_next`: answer the next create with 429.
#[derive(Clone, Default)]
struct Desk {
    tickets: Arc<Mutex<Vec<Value>>>,
    creates: Arc<Mutex<u32>>,
    rate_limit_next: Arc<Mutex<bool>>,
    problems: Arc<Mutex<Vec<String>>>,
}

impl Desk {
    fn problem(&self, p: String) {
        self.problems.lock().must("lock").push(p);
    }
    fn take_rate_limit(&self) -> bool {
        std::mem::take(&mut *self.rate_limit_next.lock().must("lock"))
    }
    fn tickets(&self) -> Vec<Value> {
        self.tickets.lock().must("lock").clone()
    }
    fn problems(&self) -> Vec<String> {
        self.problems.lock().must("lock").clone()
    }
}

fn rate_limited() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [("Retry-After", "1")],
        "slow down",
    )
        .into_response()
}

// --- Zendesk: GET/POST /api/v2/tickets.json, Basic `{email}/token:{token}` ---

fn zendesk_auth_ok(desk: &Desk, headers: &HeaderMap) -> bool {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("agent@acme.test/token:{ZENDESK_TOKEN}"))
    );
    let ok = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str());
    if !ok {
        desk.problem("zendesk: Authorization is not email/token:TOKEN basic auth".into());
    }
    ok
}

async fn zendesk_list(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    if !zendesk_auth_ok(&desk, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Some(external_id) = q.get("external_id") else {
        desk.problem("zendesk: list without external_id".into());
        return StatusCode::BAD_REQUEST.into_response();
    };
    let found: Vec<Value> = desk
        .tickets()
        .into_iter()
        .filter(|t| t["external_id"].as_str() == Some(external_id.as_str()))
        .collect();
    Json(json!({"tickets": found, "count": found.len(), "next_page": null})).into_response()
}

async fn zendesk_create(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !zendesk_auth_ok(&desk, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if desk.take_rate_limit() {
        return rate_limited();
    }
    let t = &body["ticket"];
    for field in ["subject", "external_id"] {
        if !t[field].is_string() {
            desk.problem(format!("zendesk: ticket.{field} missing"));
        }
    }
    if !t["comment"]["body"].is_string() {
        desk.problem("zendesk: ticket.comment.body missing".into());
    }
    if !matches!(
        t["priority"].as_str(),
        Some("low" | "normal" | "high" | "urgent")
    ) {
        desk.problem(format!("zendesk: ticket.priority {:?}", t["priority"]));
    }
    *desk.creates.lock().must("lock") += 1;
    let mut tickets = desk.tickets.lock().must("lock");
    let id = 1000 + tickets.len() as u64;
    let mut stored = t.clone();
    stored["id"] = json!(id);
    stored["url"] = json!(format!("https://acme.zendesk.com/api/v2/tickets/{id}.json"));
    stored["description"] = t["comment"]["body"].clone();
    tickets.push(stored.clone());
    (StatusCode::CREATED, Json(json!({"ticket": stored}))).into_response()
}

// --- Linear: POST /graphql, `Authorization: <API key>` ---

async fn linear_graphql(
    State(desk): State<Desk>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(LINEAR_KEY) {
        desk.problem("linear: Authorization is not the API key".into());
        return (StatusCode::BAD_REQUEST, Json(json!({"errors": [{"message": "Authentication required", "extensions": {"code": "AUTHENTICATION_ERROR"}}]}))).into_response();
    }
    let query = body["query"].as_str().unwrap_or_default();
    let vars = &body["variables"];
    if query.contains("issues(") {
        let needle = vars["filter"]["description"]["contains"]
            .as_str()
            .unwrap_or_default();
        if needle.is_empty() {
            desk.problem("linear: issues lookup without a description filter".into());
        }
        let nodes: Vec<Value> = desk
            .tickets()
            .into_iter()
            .filter(|i| {
                !needle.is_empty()
                    && i["description"]
                        .as_str()
                        .is_some_and(|d| d.contains(needle))
            })
            .collect();
        return Json(json!({"data": {"issues": {"nodes": nodes}}})).into_response();
    }
    if !query.contains("issueCreate(") {
        desk.problem(format!("linear: unexpected operation {query}"));
        return StatusCode::BAD_REQUEST.into_response();
    }
    if desk.take_rate_limit() {
        return (StatusCode::BAD_REQUEST, Json(json!({"errors": [{"message": "Rate limit exceeded", "extensions": {"code": "RATELIMITED"}}]}))).into_response();
    }
    let input = &vars["input"];
    if input["teamId"] != json!("team-cs") {
        desk.problem(format!("linear: input.teamId {:?}", input["teamId"]));
    }
    for field in ["title", "description"] {
        if !input[field].is_string() {
            desk.problem(format!("linear: input.{field} missing"));
        }
    }
    if input["priority"].as_u64().is_none_or(|p| p > 4) {
        desk.problem(format!("linear: input.priority {:?}", input["priority"]));
    }
    *desk.creates.lock().must("lock") += 1;
    let mut issues = desk.tickets.lock().must("lock");
    let n = issues.len() + 1;
    let issue = json!({"id": format!("uuid-{n}"), "identifier": format!("CS-{n}"),
        "url": format!("https://linear.app/acme/issue/CS-{n}"), "description": input["description"],
        "title": input["title"], "priority": input["priority"]});
    issues.push(issue.clone());
    Json(json!({"data": {"issueCreate": {"success": true, "issue": issue}}})).into_response()
}

fn notifier(channel: ChannelConfig) -> HttpNotifier {
    let config = AlertsConfig {
        allow_private_destinations: vec!["127.0.0.1".into()],
        channels: BTreeMap::from([("desk".to_string(), channel)]),
        ..AlertsConfig::default()
    };
    let outbox = std::env::temp_dir().join("vitals-tickets-contract-outbox");
    HttpNotifier::from_config(&config, Arc::new(Outbox::new(&outbox)), |name| {
        (name == "LINEAR_API_KEY").then(|| LINEAR_KEY.to_string())
    })
    .must("notifier")
}

fn ticket(key: &str) -> Notification {
    Notification {
        key: key.into(),
        channel: "desk".into(),
        kind: NotificationKind::Ticket,
        account_id: AccountId::new("acme").must("id"),
        account_name: Some("Acme".into()),
        title: "Churn risk: Acme".into(),
        summary: "Weekly active users fell 40% in three weeks.".into(),
        severity: None,
        score: Some(31.0),
        previous_score: Some(58.0),
        band: Some(Band::AtRisk),
        drivers: vec!["seat adoption 41% → 22%".into()],
        link: Some("https://vitals.example/dashboard/accounts/acme".into()),
        recipients: vec!["csm@vendor.test".into()],
        draft: None,
        workflow: "churn_risk".into(),
        data: json!({"priority": "high"}),
    }
}

/// Delivers until the desk stops rate limiting (the dispatcher retries retryable failures).
async fn deliver(notifier: &HttpNotifier, n: &Notification) -> String {
    for _ in 0..3 {
        match notifier.deliver(n).await {
            Ok(d) => return d.detail,
            Err(e @ NotifyError::Retryable(_)) => assert!(
                !e.to_string().contains(ZENDESK_TOKEN) && !e.to_string().contains(LINEAR_KEY)
            ),
            Err(e) => panic!("permanent failure: {e}"),
        }
    }
    panic!("still failing after 3 attempts")
}

#[tokio::test]
async fn zendesk_files_one_ticket_per_delivery_key_with_the_account_context() {
    let desk = Desk::default();
    let base = serve_loopback(
        Router::new()
            .route(
                "/api/v2/tickets.json",
                get(zendesk_list).post(zendesk_create),
            )
            .with_state(desk.clone()),
    )
    .await;
    let notifier = notifier(ChannelConfig::Zendesk {
        base_url: base,
        email: "agent@acme.test".into(),
        token: Some(Secret::new(ZENDESK_TOKEN)),
        token_env: None,
    });
    *desk.rate_limit_next.lock().must("lock") = true;
    let first = deliver(&notifier, &ticket("wf:evt-1#1")).await;
    assert!(first.contains("filed"), "{first}");
    let again = deliver(&notifier, &ticket("wf:evt-1#1")).await;
    assert!(again.contains("already filed"), "{again}");
    deliver(&notifier, &ticket("wf:evt-2#1")).await;

    assert_eq!(desk.problems(), Vec::<String>::new());
    let tickets = desk.tickets();
    assert_eq!(
        tickets.len(),
        2,
        "one ticket per delivery key, the 429 not counted"
    );
    let t = &tickets[0];
    assert_eq!(t["external_id"], "wf:evt-1#1");
    assert_eq!(t["subject"], "Churn risk: Acme");
    assert_eq!(t["priority"], "high");
    let body = t["comment"]["body"].as_str().unwrap_or_default();
    assert!(
        body.contains("Acme (acme)") && body.contains("58 → 31"),
        "{body}"
    );
    assert!(
        body.contains("https://vitals.example/dashboard/accounts/acme"),
        "{body}"
    );
}

#[tokio::test]
async fn linear_files_one_issue_per_delivery_key_and_survives_its_rate_limit() {
    let desk = Desk::default();
    let base = serve_loopback(
        Router::new()
            .route("/graphql", post(linear_graphql))
            .with_state(desk.clone()),
    )
    .await;
    let notifier = notifier(ChannelConfig::Linear {
        team_id: "team-cs".into(),
        api_key: None,
        api_key_env: Some("LINEAR_API_KEY".into()),
        api_url: Some(format!("{base}/graphql")),
    });
    *desk.rate_limit_next.lock().must("lock") = true;
    let first = deliver(&notifier, &ticket("wf:evt-9#0")).await;
    assert!(first.contains("CS-1 filed"), "{first}");
    let again = deliver(&notifier, &ticket("wf:evt-9#0")).await;
    assert!(again.contains("CS-1 already filed"), "{again}");

    assert_eq!(desk.problems(), Vec::<String>::new());
    let issues = desk.tickets();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0]["priority"], 2, "high is Linear's 2");
    let description = issues[0]["description"].as_str().unwrap_or_default();
    assert!(
        description.contains("https://vitals.example/dashboard/accounts/acme"),
        "{description}"
    );
}

#[tokio::test]
async fn a_wrong_token_is_a_permanent_failure_that_does_not_show_the_token() {
    let desk = Desk::default();
    let base = serve_loopback(
        Router::new()
            .route(
                "/api/v2/tickets.json",
                get(zendesk_list).post(zendesk_create),
            )
            .with_state(desk.clone()),
    )
    .await;
    let notifier = notifier(ChannelConfig::Zendesk {
        base_url: base,
        email: "agent@acme.test".into(),
        token: Some(Secret::new("revoked-token-123")),
        token_env: None,
    });
    let Err(err) = notifier.deliver(&ticket("k")).await else {
        panic!("a wrong token must be refused");
    };
    assert!(matches!(err, NotifyError::Permanent(_)), "{err}");
    assert!(!err.to_string().contains("revoked-token-123"), "{err}");
    assert!(desk.tickets().is_empty());
}
