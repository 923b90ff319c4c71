//! HubSpot companies: `POST /crm/v3/objects/companies/batch/update` (at most 100 inputs) with a
//! private app's token as Bearer. The custom company properties `vitals_health_score`,
//! `vitals_band`, `vitals_churn_risk` and `vitals_last_scored` must exist (see the README).
//! A 207 answer lists the companies it could not update; the rest were.

use async_trait::async_trait;
use serde_json::{json, Value};
use vitals_core::config::{CrmIds, HubSpotConfig};
use vitals_core::crm::{CrmBatchOutcome, CrmError, CrmSink, CrmUpdate};
use vitals_core::notify::Secret;

use crate::{http_client, status_error, transport_error, IntegrationError, RetryPolicy};

const VENDOR: &str = "hubspot";
/// HubSpot's batch limit.
pub const BATCH_LIMIT: usize = 100;

pub struct HubSpot {
    base_url: String,
    token: Secret,
    ids: CrmIds,
    retry: RetryPolicy,
    http: reqwest::Client,
}

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
            ids: config.record_ids(),
            retry: RetryPolicy::default(),
            http: http_client(VENDOR)?,
        })
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    async fn update(&self, body: &Value) -> Result<CrmBatchOutcome, IntegrationError> {
        let response = self
            .http
            .post(format!(
                "{}/crm/v3/objects/companies/batch/update",
                self.base_url
            ))
            .bearer_auth(self.token.expose())
            .json(body)
            .send()
            .await
            .map_err(|e| transport_error(VENDOR, &e))?;
        let status = response.status().as_u16();
        if !(status == 200 || status == 207) {
            return Err(status_error(VENDOR, "companies batch update", &response));
        }
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        let mut outcome = CrmBatchOutcome::default();
        for error in answer["errors"].as_array().into_iter().flatten() {
            let why = error["message"].as_str().unwrap_or("refused").to_string();
            for id in error["context"]["ids"].as_array().into_iter().flatten() {
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
    fn name(&self) -> &str {
        VENDOR
    }

    fn batch_size(&self) -> usize {
        BATCH_LIMIT
    }

    fn record_ids(&self) -> &CrmIds {
        &self.ids
    }

    async fn write(&self, batch: &[CrmUpdate]) -> Result<CrmBatchOutcome, CrmError> {
        let inputs: Vec<Value> = batch
            .iter()
            .map(|u| json!({"id": u.record_id, "properties": properties(u)}))
            .collect();
        let body = json!({ "inputs": inputs });
        self.retry
            .run(|| self.update(&body))
            .await
            .map_err(crm_error)
    }
}

pub(crate) fn crm_error(e: IntegrationError) -> CrmError {
    if e.is_retryable() {
        CrmError::Retryable(e.to_string())
    } else {
        CrmError::Permanent(e.to_string())
    }
}
