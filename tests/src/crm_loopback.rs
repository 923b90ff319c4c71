//! Loopback CRMs for the write-back tests: HubSpot's companies batch update and its notes and
//! tasks batch create, Salesforce's OAuth client credentials and composite collections (PATCH
//! to update Accounts, POST to create Tasks). Each handler checks the request against the
//! vendor's documented shape and records what it received and any problem with it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use vitals_core::config::{HubSpotConfig, SalesforceConfig};
use vitals_core::crm::CrmSink;
use vitals_core::notify::Secret;
use vitals_integrations::{HubSpot, RetryPolicy, Salesforce};

use crate::support::{serve_loopback, Must};

pub const HUBSPOT_TOKEN: &str = "pat-na1-5c0ffee";
pub const SF_ID: &str = "3MVG9-consumer-key";
pub const SF_SECRET: &str = "sf-consumer-secret";
pub const SF_TOKEN: &str = "00Dxx0000001gPL!session";

/// What a vendor received: every record write by record id, the batch sizes, refusals.
#[derive(Clone, Default)]
pub struct Crm {
    pub writes: Arc<Mutex<Vec<(String, Value)>>>,
    pub batches: Arc<Mutex<Vec<usize>>>,
    pub rate_limit_next: Arc<Mutex<bool>>,
    pub problems: Arc<Mutex<Vec<String>>>,
    pub token_requests: Arc<Mutex<u32>>,
    /// The loopback server's base URL (Salesforce's `instance_url`, HubSpot's base URL).
    pub instance_url: Arc<Mutex<String>>,
    /// Activities logged: (object, trace id or subject, the body sent for it).
    pub activities: Arc<Mutex<Vec<(String, String, Value)>>>,
    /// Salesforce: the next call answers 403 REQUEST_LIMIT_EXCEEDED (the daily quota).
    pub quota_exceeded_next: Arc<Mutex<bool>>,
    /// Salesforce: a created Task whose Subject contains this is refused (success: false).
    pub refuse_subject: Arc<Mutex<Option<String>>>,
}

impl Crm {
    pub fn problem(&self, p: String) {
        self.problems.lock().must("lock").push(p);
    }
    pub fn take_rate_limit(&self) -> bool {
        std::mem::take(&mut *self.rate_limit_next.lock().must("lock"))
    }
    pub fn writes(&self) -> Vec<(String, Value)> {
        self.writes.lock().must("lock").clone()
    }
    pub fn writes_per_record(&self) -> BTreeMap<String, usize> {
        let mut n = BTreeMap::new();
        for (id, _) in self.writes() {
            *n.entry(id).or_default() += 1;
        }
        n
    }
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
    if !hubspot_authorized(&crm, &headers) {
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
    if !salesforce_authorized(&crm, &headers) {
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

pub fn retry() -> RetryPolicy {
    RetryPolicy {
        attempts: 4,
        base: Duration::from_millis(20),
        max_wait: Duration::from_secs(2),
    }
}

pub async fn hubspot() -> (Crm, Arc<dyn CrmSink>) {
    let crm = Crm::default();
    let base = serve_loopback(
        Router::new()
            .route(
                "/crm/v3/objects/companies/batch/update",
                post(hubspot_update),
            )
            .route("/crm/v3/objects/notes/batch/create", post(hubspot_notes))
            .route("/crm/v3/objects/tasks/batch/create", post(hubspot_tasks))
            .with_state(crm.clone()),
    )
    .await;
    *crm.instance_url.lock().must("lock") = base;
    let sink = hubspot_sink(&crm, true);
    (crm, sink)
}

/// Another HubSpot client of the same loopback server, with activities turned off.
pub fn hubspot_without_activities(crm: &Crm) -> Arc<dyn CrmSink> {
    hubspot_sink(crm, false)
}

fn hubspot_sink(crm: &Crm, log_activities: bool) -> Arc<dyn CrmSink> {
    let config = HubSpotConfig {
        token_env: "HUBSPOT_TOKEN".into(),
        base_url: crm.instance_url.lock().must("lock").clone(),
        id_trait: Some("hubspot_company_id".into()),
        ids: BTreeMap::new(),
        log_activities,
    };
    let sink = HubSpot::new(&config, &Secret::new(HUBSPOT_TOKEN))
        .must("client")
        .with_retry(retry());
    Arc::new(sink)
}

pub async fn salesforce() -> (Crm, Arc<dyn CrmSink>) {
    let crm = Crm::default();
    let base = serve_loopback(
        Router::new()
            .route("/services/oauth2/token", post(salesforce_token))
            .route(
                "/services/data/v61.0/composite/sobjects",
                patch(salesforce_update).post(salesforce_create),
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
        log_activities: true,
    };
    let sink = Salesforce::new(&config, &Secret::new(SF_ID), &Secret::new(SF_SECRET))
        .must("client")
        .with_retry(retry());
    (crm, Arc::new(sink))
}

impl Crm {
    pub fn activities(&self) -> Vec<(String, String, Value)> {
        self.activities.lock().must("lock").clone()
    }
    pub fn problems(&self) -> Vec<String> {
        self.problems.lock().must("lock").clone()
    }
}

fn salesforce_authorized(crm: &Crm, headers: &HeaderMap) -> bool {
    let bearer = format!("Bearer {SF_TOKEN}");
    let ok = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(bearer.as_str());
    if !ok {
        crm.problem("salesforce: Authorization is not the OAuth access token".into());
    }
    ok
}

fn hubspot_authorized(crm: &Crm, headers: &HeaderMap) -> bool {
    let bearer = format!("Bearer {HUBSPOT_TOKEN}");
    let ok = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(bearer.as_str());
    if !ok {
        crm.problem("hubspot: Authorization is not the private app token".into());
    }
    ok
}

// --- HubSpot: POST /crm/v3/objects/{notes,tasks}/batch/create, associated to companies ---

async fn hubspot_notes(
    State(crm): State<Crm>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    hubspot_create(crm, headers, body, "notes").await
}

async fn hubspot_tasks(
    State(crm): State<Crm>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    hubspot_create(crm, headers, body, "tasks").await
}

async fn hubspot_create(crm: Crm, headers: HeaderMap, body: Value, object: &str) -> Response {
    if !hubspot_authorized(&crm, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if crm.take_rate_limit() {
        return rate_limited();
    }
    let inputs = body["inputs"].as_array().cloned().unwrap_or_default();
    if inputs.is_empty() || inputs.len() > 100 {
        crm.problem(format!(
            "hubspot {object}: {} inputs (1 to 100 allowed)",
            inputs.len()
        ));
    }
    let (association, required): (u64, &[&str]) = if object == "notes" {
        (190, &["hs_timestamp", "hs_note_body"])
    } else {
        (
            192,
            &[
                "hs_timestamp",
                "hs_task_subject",
                "hs_task_body",
                "hs_task_status",
                "hs_task_priority",
                "hs_task_type",
            ],
        )
    };
    let mut results = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let trace = input["objectWriteTraceId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        for key in required {
            if !input["properties"][key].is_string() {
                crm.problem(format!(
                    "hubspot {object} {trace}: property {key} missing or not a string"
                ));
            }
        }
        let when = input["properties"]["hs_timestamp"]
            .as_str()
            .unwrap_or_default();
        if chrono::DateTime::parse_from_rfc3339(when).is_err() {
            crm.problem(format!(
                "hubspot {object} {trace}: hs_timestamp {when:?} is not UTC format"
            ));
        }
        if object == "tasks"
            && !matches!(
                input["properties"]["hs_task_status"].as_str(),
                Some("NOT_STARTED" | "COMPLETED" | "IN_PROGRESS" | "WAITING" | "DEFERRED")
            )
        {
            crm.problem(format!(
                "hubspot tasks {trace}: hs_task_status {:?}",
                input["properties"]["hs_task_status"]
            ));
        }
        let to = &input["associations"][0];
        let types = &to["types"][0];
        if !to["to"]["id"].is_string()
            || types["associationCategory"] != json!("HUBSPOT_DEFINED")
            || types["associationTypeId"] != json!(association)
        {
            crm.problem(format!("hubspot {object} {trace}: association to a company is not type {association}: {to}"));
        }
        crm.activities
            .lock()
            .must("lock")
            .push((object.to_string(), trace, input.clone()));
        results.push(json!({"id": format!("{}", 50_000 + i), "properties": input["properties"], "archived": false}));
    }
    (
        StatusCode::CREATED,
        Json(json!({"status": "COMPLETE", "results": results,
        "startedAt": "2026-03-11T06:00:00Z", "completedAt": "2026-03-11T06:00:01Z"})),
    )
        .into_response()
}

// --- Salesforce: POST composite/sobjects creating Tasks on Accounts ---

async fn salesforce_create(
    State(crm): State<Crm>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !salesforce_authorized(&crm, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if std::mem::take(&mut *crm.quota_exceeded_next.lock().must("lock")) {
        return (
            StatusCode::FORBIDDEN,
            Json(json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])),
        )
            .into_response();
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
    let refuse = crm.refuse_subject.lock().must("lock").clone();
    let mut results = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let subject = r["Subject"].as_str().unwrap_or_default().to_string();
        if r["attributes"]["type"] != json!("Task") || r.get("id").is_some() {
            crm.problem(format!(
                "salesforce: a created record is not a new Task: {r}"
            ));
        }
        if !r["WhatId"].is_string() || subject.is_empty() || subject.chars().count() > 255 {
            crm.problem(format!(
                "salesforce: Task without WhatId or with a bad Subject: {r}"
            ));
        }
        if !matches!(r["Status"].as_str(), Some("Not Started" | "Completed"))
            || r["ActivityDate"]
                .as_str()
                .and_then(|d| d.parse::<chrono::NaiveDate>().ok())
                .is_none()
            || !matches!(r["TaskSubtype"].as_str(), Some("Task" | "Email" | "Call"))
        {
            crm.problem(format!(
                "salesforce: Task Status/ActivityDate/TaskSubtype: {r}"
            ));
        }
        if refuse.as_deref().is_some_and(|s| subject.contains(s)) {
            results.push(json!({"success": false, "errors": [{"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "message": "refused by a validation rule", "fields": ["Subject"]}]}));
            continue;
        }
        crm.activities
            .lock()
            .must("lock")
            .push(("Task".into(), subject, r.clone()));
        results.push(json!({"id": format!("00T{i:012}"), "success": true, "errors": []}));
    }
    Json(Value::Array(results)).into_response()
}
