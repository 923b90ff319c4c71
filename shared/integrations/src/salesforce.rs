//! Salesforce Accounts: the custom fields `Vitals_Health_Score__c`, `Vitals_Band__c`,
//! `Vitals_Churn_Risk__c` and `Vitals_Last_Scored__c`, updated with the REST composite
//! collection `PATCH /services/data/{version}/composite/sobjects` (at most 200 records,
//! `allOrNone: false`: each record succeeds or fails alone). The token comes from the OAuth
//! client credentials flow (`POST /services/oauth2/token`) and is kept until it is refused.
//!
//! Activities are Tasks on the Account (`WhatId`), created with the same collection (`POST`):
//! a note is a completed Task (an email one for outreach), a follow-up an open Task due that day.

use async_trait::async_trait;
use serde_json::{json, Value};
use tokio::sync::Mutex;
use vitals_core::config::SalesforceConfig;
use vitals_core::crm::{
    ActivityKind, CrmActivity, CrmBatchOutcome, CrmError, CrmSink, CrmSinkInfo, CrmUpdate,
};
use vitals_core::notify::Secret;

use crate::hubspot::crm_error;
use crate::{http_client, status_error, transport_error, IntegrationError, RetryPolicy};

const VENDOR: &str = "salesforce";
/// The composite collection limit.
pub const BATCH_LIMIT: usize = 200;

/// An access token and the instance URL it is good for.
#[derive(Clone)]
struct Session {
    token: Secret,
    instance_url: String,
}

pub struct Salesforce {
    instance_url: String,
    api_version: String,
    client_id: Secret,
    client_secret: Secret,
    info: CrmSinkInfo,
    retry: RetryPolicy,
    http: reqwest::Client,
    session: Mutex<Option<Session>>,
}

impl std::fmt::Debug for Salesforce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Salesforce")
            .field("instance_url", &self.instance_url)
            .finish_non_exhaustive()
    }
}

impl Salesforce {
    /// One composite collection call (each record succeeds or fails alone), retried as the
    /// policy says; `ids` name the records in order.
    async fn send_records(
        &self,
        method: reqwest::Method,
        records: Vec<Value>,
        ids: &[String],
    ) -> Result<CrmBatchOutcome, CrmError> {
        let body = json!({"allOrNone": false, "records": records});
        self.retry
            .run(|| self.collection(method.clone(), &body, ids))
            .await
            .map_err(crm_error)
    }

    pub fn new(
        config: &SalesforceConfig,
        client_id: &Secret,
        client_secret: &Secret,
    ) -> Result<Self, IntegrationError> {
        Ok(Salesforce {
            instance_url: config.instance_url.trim_end_matches('/').to_string(),
            api_version: config.api_version.clone(),
            client_id: client_id.clone(),
            client_secret: client_secret.clone(),
            info: CrmSinkInfo {
                name: VENDOR,
                batch_size: BATCH_LIMIT,
                record_ids: config.record_ids(),
                logs_activities: config.log_activities,
                activity_batch_size: BATCH_LIMIT,
            },
            retry: RetryPolicy::default(),
            http: http_client(VENDOR)?,
            session: Mutex::new(None),
        })
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    async fn session(&self) -> Result<Session, IntegrationError> {
        let mut held = self.session.lock().await;
        if let Some(s) = held.as_ref() {
            return Ok(s.clone());
        }
        let response = self
            .http
            .post(format!("{}/services/oauth2/token", self.instance_url))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id.expose()),
                ("client_secret", self.client_secret.expose()),
            ])
            .send()
            .await
            .map_err(|e| transport_error(VENDOR, &e))?;
        if !response.status().is_success() {
            return Err(status_error(VENDOR, "the OAuth token request", &response));
        }
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        let token = answer["access_token"]
            .as_str()
            .ok_or_else(|| IntegrationError::Permanent {
                vendor: VENDOR,
                detail: "the OAuth answer has no access_token".into(),
            })?;
        let session = Session {
            token: Secret::new(token),
            instance_url: answer["instance_url"]
                .as_str()
                .unwrap_or(&self.instance_url)
                .trim_end_matches('/')
                .to_string(),
        };
        *held = Some(session.clone());
        Ok(session)
    }

    /// One composite collection call: `PATCH` updates records, `POST` creates them. Failures
    /// are named by the record's `id`, else by `ids[i]` of the i-th record sent.
    async fn collection(
        &self,
        method: reqwest::Method,
        body: &Value,
        ids: &[String],
    ) -> Result<CrmBatchOutcome, IntegrationError> {
        let session = self.session().await?;
        let what = if method == reqwest::Method::POST {
            "composite sobjects create"
        } else {
            "composite sobjects update"
        };
        let response = self
            .http
            .request(
                method,
                format!(
                    "{}/services/data/{}/composite/sobjects",
                    session.instance_url, self.api_version
                ),
            )
            .bearer_auth(session.token.expose())
            .json(body)
            .send()
            .await
            .map_err(|e| transport_error(VENDOR, &e))?;
        if response.status().as_u16() == 401 {
            // The token expired or was revoked: the next attempt asks for a new one.
            *self.session.lock().await = None;
            return Err(IntegrationError::Retryable {
                vendor: VENDOR,
                detail: "the access token was refused".into(),
                retry_after: Some(0),
            });
        }
        if response.status().as_u16() == 403 {
            // 403 is also the org's rolling 24-hour API quota (REQUEST_LIMIT_EXCEEDED): worth
            // retrying on a later run, unlike a missing permission.
            let answer = response.text().await.unwrap_or_default();
            return Err(if answer.contains("REQUEST_LIMIT_EXCEEDED") {
                IntegrationError::Retryable {
                    vendor: VENDOR,
                    detail: format!("{what}: the org's daily API request limit is reached"),
                    retry_after: Some(3600),
                }
            } else {
                IntegrationError::Permanent {
                    vendor: VENDOR,
                    detail: format!(
                        "{what} answered 403 (check the integration user's permissions)"
                    ),
                }
            });
        }
        if !response.status().is_success() {
            return Err(status_error(VENDOR, what, &response));
        }
        let results: Value = response.json().await.unwrap_or(Value::Null);
        let mut outcome = CrmBatchOutcome::default();
        for (i, result) in results.as_array().into_iter().flatten().enumerate() {
            if result["success"] == json!(true) {
                continue;
            }
            let id = ids.get(i).cloned().unwrap_or_default();
            let why = result["errors"][0]["message"]
                .as_str()
                .unwrap_or("refused")
                .to_string();
            outcome.failed.push((id, why));
        }
        Ok(outcome)
    }
}

/// One Account of the composite body.
pub fn record(u: &CrmUpdate) -> Value {
    json!({
        "attributes": {"type": "Account"},
        "id": u.record_id,
        "Vitals_Health_Score__c": u.values.health_score,
        "Vitals_Band__c": u.values.band.as_str(),
        "Vitals_Churn_Risk__c": u.values.churn_risk,
        "Vitals_Last_Scored__c": u.values.last_scored.to_string(),
    })
}

#[async_trait]
impl CrmSink for Salesforce {
    fn info(&self) -> &CrmSinkInfo {
        &self.info
    }

    async fn write(&self, batch: &[CrmUpdate]) -> Result<CrmBatchOutcome, CrmError> {
        let ids: Vec<String> = batch.iter().map(|u| u.record_id.clone()).collect();
        let records = batch.iter().map(record).collect();
        self.send_records(reqwest::Method::PATCH, records, &ids)
            .await
    }

    async fn log_activities(&self, batch: &[CrmActivity]) -> Result<CrmBatchOutcome, CrmError> {
        let ids: Vec<String> = batch.iter().map(|a| a.id.clone()).collect();
        let records = batch.iter().map(task).collect();
        self.send_records(reqwest::Method::POST, records, &ids)
            .await
    }
}

/// One activity as a Task on the Account: completed for what happened, open for a follow-up.
pub fn task(a: &CrmActivity) -> Value {
    let (status, day) = match a.kind {
        ActivityKind::Note => ("Completed", a.at.date_naive()),
        ActivityKind::Task { due } => ("Not Started", due),
    };
    json!({
        "attributes": {"type": "Task"},
        "WhatId": a.record_id,
        "Subject": a.subject,
        "Description": a.body,
        "ActivityDate": day.to_string(),
        "Status": status,
        "Priority": if matches!(a.kind, ActivityKind::Task { .. }) { "High" } else { "Normal" },
        "TaskSubtype": if a.email { "Email" } else { "Task" },
    })
}
