//! HubSpot companies: `POST /crm/v3/objects/companies/batch/update` (at most 100 inputs) with a
//! private app's token as Bearer. The custom company properties `vitals_health_score`,
//! `vitals_band`, `vitals_churn_risk` and `vitals_last_scored` must exist (see the README).
//! A 207 answer lists the companies it could not update; the rest were.
//!
//! Activities go on the company's timeline: notes (`POST /crm/v3/objects/notes/batch/create`,
//! associated to the company with HubSpot's note→company type 190) and, for follow-ups, tasks
//! (`/crm/v3/objects/tasks/batch/create`, task→company type 192). Each input carries its
//! activity id as `objectWriteTraceId`, which a 207 answer's errors name.

use async_trait::async_trait;
use serde_json::{json, Value};
use vitals_core::config::HubSpotConfig;
use vitals_core::crm::{
    ActivityKind, CrmActivity, CrmBatchOutcome, CrmError, CrmSink, CrmSinkInfo, CrmUpdate,
};
use vitals_core::notify::Secret;

use crate::{http_client, status_error, transport_error, IntegrationError, RetryPolicy};

const VENDOR: &str = "hubspot";
/// HubSpot's batch limit.
pub const BATCH_LIMIT: usize = 100;

pub struct HubSpot {
    base_url: String,
    token: Secret,
    info: CrmSinkInfo,
    retry: RetryPolicy,
    http: reqwest::Client,
}

/// HubSpot-defined association types from an engagement to a company.
const NOTE_TO_COMPANY: u32 = 190;
const TASK_TO_COMPANY: u32 = 192;

impl std::fmt::Debug for HubSpot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubSpot")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl HubSpot {
    pub fn new(config: &HubSpotConfig, token: &Secret) -> Result<Self, IntegrationError> {
        Ok(HubSpot {
            base_url: config.base_url.trim_end_matches('/').to_string(),
            token: token.clone(),
            info: CrmSinkInfo {
                name: VENDOR,
                batch_size: BATCH_LIMIT,
                record_ids: config.record_ids(),
                logs_activities: config.log_activities,
                activity_batch_size: BATCH_LIMIT,
            },
            retry: RetryPolicy::default(),
            http: http_client(VENDOR)?,
        })
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Posts one batch call; a 207 answer's errors name what failed under `context[key]`.
    async fn batch(
        &self,
        path: &str,
        what: &'static str,
        context_key: &str,
        body: &Value,
    ) -> Result<CrmBatchOutcome, IntegrationError> {
        let response = self
            .http
            .post(format!("{}{path}", self.base_url))
            .bearer_auth(self.token.expose())
            .json(body)
            .send()
            .await
            .map_err(|e| transport_error(VENDOR, &e))?;
        let status = response.status().as_u16();
        if !matches!(status, 200 | 201 | 207) {
            return Err(status_error(VENDOR, what, &response));
        }
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        let mut outcome = CrmBatchOutcome::default();
        for error in answer["errors"].as_array().into_iter().flatten() {
            let why = error["message"].as_str().unwrap_or("refused").to_string();
            let named = &error["context"][context_key];
            let ids = named
                .as_array()
                .cloned()
                .unwrap_or_else(|| vec![named.clone()]);
            for id in ids {
                if let Some(id) = id.as_str() {
                    outcome.failed.push((id.to_string(), why.clone()));
                }
            }
        }
        Ok(outcome)
    }
}

/// HubSpot property values are strings; an empty one clears the property.
pub fn properties(u: &CrmUpdate) -> Value {
    json!({
        "vitals_health_score": format!("{:.1}", u.values.health_score),
        "vitals_band": u.values.band.as_str(),
        "vitals_churn_risk": u.values.churn_risk.map(|r| format!("{r:.2}")).unwrap_or_default(),
        "vitals_last_scored": u.values.last_scored.to_string(),
    })
}

#[async_trait]
impl CrmSink for HubSpot {
    fn info(&self) -> &CrmSinkInfo {
        &self.info
    }

    async fn write(&self, batch: &[CrmUpdate]) -> Result<CrmBatchOutcome, CrmError> {
        let inputs: Vec<Value> = batch
            .iter()
            .map(|u| json!({"id": u.record_id, "properties": properties(u)}))
            .collect();
        let body = json!({ "inputs": inputs });
        self.retry
            .run(|| {
                self.batch(
                    "/crm/v3/objects/companies/batch/update",
                    "companies batch update",
                    "ids",
                    &body,
                )
            })
            .await
            .map_err(crm_error)
    }

    async fn log_activities(&self, batch: &[CrmActivity]) -> Result<CrmBatchOutcome, CrmError> {
        let (tasks, notes): (Vec<&CrmActivity>, Vec<&CrmActivity>) = batch
            .iter()
            .partition(|a| matches!(a.kind, ActivityKind::Task { .. }));
        let mut outcome = CrmBatchOutcome::default();
        for (objects, list) in [("notes", notes), ("tasks", tasks)] {
            if list.is_empty() {
                continue;
            }
            let inputs: Vec<Value> = list.iter().map(|a| activity_input(a)).collect();
            let body = json!({ "inputs": inputs });
            let path = format!("/crm/v3/objects/{objects}/batch/create");
            let what = if objects == "notes" {
                "notes batch create"
            } else {
                "tasks batch create"
            };
            let part = self
                .retry
                .run(|| self.batch(&path, what, "objectWriteTraceId", &body))
                .await
                .map_err(crm_error)?;
            outcome.failed.extend(part.failed);
        }
        Ok(outcome)
    }
}

/// One note or task of a batch create, on the company's timeline.
pub fn activity_input(a: &CrmActivity) -> Value {
    let at = a.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let (properties, association) = match a.kind {
        ActivityKind::Note => (
            json!({
                "hs_timestamp": at,
                "hs_note_body": format!("{}\n\n{}", a.subject, a.body),
            }),
            NOTE_TO_COMPANY,
        ),
        ActivityKind::Task { due } => (
            json!({
                // A task's timestamp is its due date (noon UTC, so it shows on that day).
                "hs_timestamp": format!("{due}T12:00:00.000Z"),
                "hs_task_subject": a.subject,
                "hs_task_body": a.body,
                "hs_task_status": "NOT_STARTED",
                "hs_task_priority": "HIGH",
                "hs_task_type": if a.email { "EMAIL" } else { "TODO" },
            }),
            TASK_TO_COMPANY,
        ),
    };
    json!({
        "objectWriteTraceId": a.id,
        "properties": properties,
        "associations": [{
            "to": {"id": a.record_id},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": association}],
        }],
    })
}

pub(crate) fn crm_error(e: IntegrationError) -> CrmError {
    if e.is_retryable() {
        CrmError::Retryable(e.to_string())
    } else {
        CrmError::Permanent(e.to_string())
    }
}
