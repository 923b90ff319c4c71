//! CRM write-back (issue 21): after a run, HubSpot companies and Salesforce Accounts receive
//! the health figures of exactly the accounts whose figures changed, once, in the vendors'
//! batch sizes, through a 429 with Retry-After; an unchanged value is never sent twice.
//! Loopback servers check each request against the vendors' documented shapes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};
use vitals_core::config::{HubSpotConfig, SalesforceConfig};
use vitals_core::crm::{push_changes, CrmReport, CrmSink};
use vitals_core::model::{AccountId, AccountProfile, AccountRecord, Band, ScoreRecord};
use vitals_core::notify::Secret;
use vitals_core::ports::AccountStore;
use vitals_embedded::SqliteStore;
use vitals_integrations::{HubSpot, RetryPolicy, Salesforce};
use vitals_scoring::{score_account, AccountFacts, ScoringConfig, UsageWindow};
use vitals_tests::support::Must;

const ACCOUNTS: usize = 250;
const HUBSPOT_TOKEN: &str = "pat-na1-5c0ffee";
const SF_ID: &str = "3MVG9-consumer-key";
const SF_SECRET: &str = "sf-consumer-secret";
const SF_TOKEN: &str = "00Dxx0000001gPL!session";

/// What a vendor received: every record write by record id, the batch sizes, refusals.
#[derive(Clone, Default)]
struct Crm {
    writes: Arc<Mutex<Vec<(String, Value)>>>,
    batches: Arc<Mutex<Vec<usize>>>,
    rate_limit_next: Arc<Mutex<bool>>,
    problems: Arc<Mutex<Vec<String>>>,
    token_requests: Arc<Mutex<u32>>,
    instance_url: Arc<Mutex<String>>,
}

impl Crm {
    fn problem(&self, p: String) {
        self.problems.lock().must("lock").push(p);
    }
    fn take_rate_limit(&self) -> bool {
        std::mem::take(&mut *self.rate_limit_next.lock().must("lock"))
    }
    fn writes(&self) -> Vec<(String, Value)> {
        self.writes.lock().must("lock").clone()
    }
    fn writes_per_record(&self) -> BTreeMap<String, usize> {
        let mut n = BTreeMap::new();
        for (id, _) in self.writes() {
            *n.entry(id).or_default() += 1;
        }
        n
    }
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .must("bind");
    let addr = listener.local_addr().must("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn rate_limited() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [("Retry-After", "1")],
        "rate limited",
    )
        .into_response()
}

// --- HubSpot: POST /crm/v3/objects/companies/batch/update, Bearer private-app token ---

async fn hubspot_update(
    State(crm): State<Crm>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let bearer = format!("Bearer {HUBSPOT_TOKEN}");
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(bearer.as_str()) {
        crm.problem("hubspot: Authorization is not the private app token".into());
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if crm.take_rate_limit() {
        return rate_limited();
    }
    let inputs = body["inputs"].as_array().cloned().unwrap_or_default();
    if inputs.is_empty() || inputs.len() > 100 {
        crm.problem(format!(
            "hubspot: {} inputs (1 to 100 allowed)",
            inputs.len()
        ));
    }
    crm.batches.lock().must("lock").push(inputs.len());
    let mut results = Vec::new();
    for input in &inputs {
        let (Some(id), Some(props)) = (input["id"].as_str(), input["properties"].as_object())
        else {
            crm.problem(format!("hubspot: input without id or properties: {input}"));
            continue;
        };
        for key in [
            "vitals_health_score",
            "vitals_band",
            "vitals_churn_risk",
            "vitals_last_scored",
        ] {
            if !props.get(key).is_some_and(Value::is_string) {
                crm.problem(format!(
                    "hubspot: {id}: property {key} missing or not a string"
                ));
            }
        }
        if !matches!(
            props["vitals_band"].as_str(),
            Some("at_risk" | "monitor" | "healthy")
        ) {
            crm.problem(format!(
                "hubspot: {id}: vitals_band {:?}",
                props["vitals_band"]
            ));
        }
        crm.writes
            .lock()
            .must("lock")
            .push((id.to_string(), Value::Object(props.clone())));
        results.push(json!({"id": id, "properties": props, "archived": false}));
    }
    Json(json!({"status": "COMPLETE", "results": results,
        "startedAt": "2026-03-11T06:00:00Z", "completedAt": "2026-03-11T06:00:01Z"}))
    .into_response()
}

// --- Salesforce: OAuth client credentials, then PATCH composite/sobjects ---

async fn salesforce_token(State(crm): State<Crm>, headers: HeaderMap, body: String) -> Response {
    if headers.get("content-type").and_then(|v| v.to_str().ok())
        != Some("application/x-www-form-urlencoded")
    {
        crm.problem("salesforce: the token request is not a form".into());
    }
    // The test's values need no percent-decoding.
    let form: BTreeMap<String, String> = body
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    *crm.token_requests.lock().must("lock") += 1;
    let ok = form.get("grant_type").map(String::as_str) == Some("client_credentials")
        && form.get("client_id").map(String::as_str) == Some(SF_ID)
        && form.get("client_secret").map(String::as_str) == Some(SF_SECRET);
    if !ok {
        crm.problem(format!(
            "salesforce: token request {:?}",
            form.keys().collect::<Vec<_>>()
        ));
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    Json(json!({"access_token": SF_TOKEN, "token_type": "Bearer",
        "instance_url": crm.instance_url.lock().must("lock").clone(), "issued_at": "1767225600000"}))
    .into_response()
}

async fn salesforce_update(
    State(crm): State<Crm>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let bearer = format!("Bearer {SF_TOKEN}");
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(bearer.as_str()) {
        crm.problem("salesforce: Authorization is not the OAuth access token".into());
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if crm.take_rate_limit() {
        return rate_limited();
    }
    if body["allOrNone"] != json!(false) {
        crm.problem("salesforce: allOrNone is not false".into());
    }
    let records = body["records"].as_array().cloned().unwrap_or_default();
    if records.is_empty() || records.len() > 200 {
        crm.problem(format!(
            "salesforce: {} records (1 to 200 allowed)",
            records.len()
        ));
    }
    crm.batches.lock().must("lock").push(records.len());
    let mut results = Vec::new();
    for r in &records {
        let Some(id) = r["id"].as_str() else {
            crm.problem(format!("salesforce: record without id: {r}"));
            continue;
        };
        if r["attributes"]["type"] != json!("Account") {
            crm.problem(format!("salesforce: {id}: attributes.type is not Account"));
        }
        if !r["Vitals_Health_Score__c"].is_number()
            || !r["Vitals_Band__c"].is_string()
            || !r["Vitals_Last_Scored__c"].is_string()
            || r.get("Vitals_Churn_Risk__c").is_none()
        {
            crm.problem(format!("salesforce: {id}: a Vitals field is missing: {r}"));
        }
        crm.writes
            .lock()
            .must("lock")
            .push((id.to_string(), r.clone()));
        results.push(json!({"id": id, "success": true, "errors": []}));
    }
    Json(Value::Array(results)).into_response()
}

fn retry() -> RetryPolicy {
    RetryPolicy {
        attempts: 4,
        base: Duration::from_millis(20),
        max_wait: Duration::from_secs(2),
    }
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).must_some()
}

trait MustSome<T> {
    fn must_some(self) -> T;
}
impl<T> MustSome<T> for Option<T> {
    #[track_caller]
    fn must_some(self) -> T {
        match self {
            Some(v) => v,
            None => panic!("a value was expected"),
        }
    }
}

/// `ACCOUNTS` accounts with CRM ids as traits (as sent with their group call), plus one
/// without; each scored `score_of(i)` as of `as_of`.
async fn score_all(store: &SqliteStore, as_of: NaiveDate, score_of: impl Fn(usize) -> f64) {
    let template = score_account(
        &ScoringConfig::default(),
        &AccountFacts::default(),
        &UsageWindow::default(),
        as_of,
        None,
    );
    for i in 0..=ACCOUNTS {
        let id = AccountId::new(format!("acct-{i:03}")).must("id");
        let mut profile = AccountProfile {
            name: Some(format!("Customer {i}")),
            ..AccountProfile::default()
        };
        if i < ACCOUNTS {
            profile
                .custom
                .insert("hubspot_company_id".into(), json!(format!("{}", 9000 + i)));
            profile
                .custom
                .insert("salesforce_account_id".into(), json!(format!("001A{i:05}")));
        }
        let mut score = template.clone();
        score.health.score = score_of(i);
        score.health.band = if score_of(i) < 40.0 {
            Band::AtRisk
        } else {
            Band::Healthy
        };
        let record = AccountRecord {
            account_id: id.clone(),
            profile: profile.clone(),
            score: Some(ScoreRecord {
                account_id: id.clone(),
                as_of,
                computed_at: DateTime::<Utc>::default(),
                score,
            }),
            ..AccountRecord::new(id.clone())
        };
        store.put_profile(&id, &profile).await.must("profile");
        store.put_scoring_state(&record).await.must("scoring state");
    }
}

fn now() -> DateTime<Utc> {
    day(12).and_hms_opt(6, 0, 0).must_some().and_utc()
}

async fn hubspot() -> (Crm, Arc<dyn CrmSink>) {
    let crm = Crm::default();
    let base = serve(
        Router::new()
            .route(
                "/crm/v3/objects/companies/batch/update",
                post(hubspot_update),
            )
            .with_state(crm.clone()),
    )
    .await;
    let config = HubSpotConfig {
        token_env: "HUBSPOT_TOKEN".into(),
        base_url: base,
        id_trait: Some("hubspot_company_id".into()),
        ids: BTreeMap::new(),
    };
    let sink = HubSpot::new(&config, &Secret::new(HUBSPOT_TOKEN))
        .must("client")
        .with_retry(retry());
    (crm, Arc::new(sink))
}

async fn salesforce() -> (Crm, Arc<dyn CrmSink>) {
    let crm = Crm::default();
    let base = serve(
        Router::new()
            .route("/services/oauth2/token", post(salesforce_token))
            .route(
                "/services/data/v61.0/composite/sobjects",
                patch(salesforce_update),
            )
            .with_state(crm.clone()),
    )
    .await;
    *crm.instance_url.lock().must("lock") = base.clone();
    let config = SalesforceConfig {
        instance_url: base,
        client_id_env: "SF_ID".into(),
        client_secret_env: "SF_SECRET".into(),
        api_version: "v61.0".into(),
        id_trait: Some("salesforce_account_id".into()),
        ids: BTreeMap::new(),
    };
    let sink = Salesforce::new(&config, &Secret::new(SF_ID), &Secret::new(SF_SECRET))
        .must("client")
        .with_retry(retry());
    (crm, Arc::new(sink))
}

/// Runs the write-back three times: the first run writes every mapped account once (through a
/// 429), an identical second run writes nothing, and after a day in which only three accounts'
/// figures moved, the third writes exactly those three.
async fn writes_exactly_the_changed_accounts(crm: Crm, sink: Arc<dyn CrmSink>, batch_limit: usize) {
    let store = SqliteStore::open_in_memory().must("store");
    score_all(&store, day(10), |i| 30.0 + (i % 50) as f64).await;

    *crm.rate_limit_next.lock().must("lock") = true;
    let first: CrmReport = push_changes(&store, sink.as_ref(), now())
        .await
        .must("first write-back");
    assert_eq!(
        (first.written, first.unmapped, first.unchanged, first.failed),
        (ACCOUNTS, 1, 0, 0),
        "{first:?}"
    );
    let per_record = crm.writes_per_record();
    assert_eq!(per_record.len(), ACCOUNTS);
    assert!(
        per_record.values().all(|n| *n == 1),
        "every account written once, the 429 not double-counted"
    );
    assert!(crm
        .batches
        .lock()
        .must("lock")
        .iter()
        .all(|n| *n <= batch_limit));

    let second = push_changes(&store, sink.as_ref(), now())
        .await
        .must("second write-back");
    assert_eq!(
        (second.written, second.unchanged),
        (0, ACCOUNTS),
        "{second:?}"
    );
    assert_eq!(
        crm.writes().len(),
        ACCOUNTS,
        "nothing unchanged is sent again"
    );

    // The next day: every account rescored, three of them to different figures.
    score_all(&store, day(11), |i| match i {
        7 | 120 | 249 => 12.5,
        _ => 30.0 + (i % 50) as f64,
    })
    .await;
    let third = push_changes(&store, sink.as_ref(), now())
        .await
        .must("third write-back");
    assert_eq!(
        (third.written, third.unchanged),
        (3, ACCOUNTS - 3),
        "{third:?}"
    );
    let writes = crm.writes();
    let last: Vec<&(String, Value)> = writes[ACCOUNTS..].iter().collect();
    assert_eq!(last.len(), 3);
    assert_eq!(
        crm.problems.lock().must("lock").clone(),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn hubspot_companies_receive_exactly_the_changed_accounts_once() {
    let (crm, sink) = hubspot().await;
    writes_exactly_the_changed_accounts(crm.clone(), sink, 100).await;
    let writes = crm.writes();
    let mut moved: Vec<&str> = writes[ACCOUNTS..]
        .iter()
        .map(|(id, _)| id.as_str())
        .collect();
    moved.sort_unstable();
    assert_eq!(moved, ["9007", "9120", "9249"]);
    let props = &writes[ACCOUNTS..]
        .iter()
        .find(|(id, _)| id == "9007")
        .must_some()
        .1;
    assert_eq!(props["vitals_health_score"], "12.5");
    assert_eq!(props["vitals_band"], "at_risk");
    assert_eq!(props["vitals_last_scored"], "2026-03-11");
    assert_eq!(
        props["vitals_churn_risk"], "",
        "no churn model yet: the property is cleared"
    );
    assert_eq!(*crm.batches.lock().must("lock"), vec![100, 100, 50, 3]);
}

#[tokio::test]
async fn salesforce_accounts_receive_exactly_the_changed_accounts_once() {
    let (crm, sink) = salesforce().await;
    writes_exactly_the_changed_accounts(crm.clone(), sink, 200).await;
    let writes = crm.writes();
    let mut moved: Vec<&str> = writes[ACCOUNTS..]
        .iter()
        .map(|(id, _)| id.as_str())
        .collect();
    moved.sort_unstable();
    assert_eq!(moved, ["001A00007", "001A00120", "001A00249"]);
    let record = &writes[ACCOUNTS..]
        .iter()
        .find(|(id, _)| id == "001A00007")
        .must_some()
        .1;
    assert_eq!(record["Vitals_Health_Score__c"], 12.5);
    assert_eq!(record["Vitals_Band__c"], "at_risk");
    assert_eq!(record["Vitals_Last_Scored__c"], "2026-03-11");
    assert_eq!(*crm.batches.lock().must("lock"), vec![200, 50, 3]);
    assert_eq!(
        *crm.token_requests.lock().must("lock"),
        1,
        "the access token is kept between calls"
    );
}
