//! The CRM sinks `[crm]` configures, with their secrets resolved: what the daily run writes
//! back to (`DailyRun::with_crm_sinks`).

use std::sync::Arc;

use vitals_core::config::CrmConfig;
use vitals_core::crm::CrmSink;
use vitals_core::notify::Secret;

use crate::{HubSpot, IntegrationError, Salesforce};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrmSetupError {
    #[error("{key}: secret {name} is not set (environment variable)")]
    MissingSecret { key: &'static str, name: String },
    #[error(transparent)]
    Client(#[from] IntegrationError),
}

/// The configured CRMs, secrets read with `secret` (the environment variables `[crm]` names,
/// in `vitals serve` and in the score Lambda).
pub fn sinks(
    config: &CrmConfig,
    secret: impl Fn(&str) -> Option<String>,
) -> Result<Vec<Arc<dyn CrmSink>>, CrmSetupError> {
    let get = |key: &'static str, name: &str| {
        secret(name)
            .filter(|v| !v.trim().is_empty())
            .map(|v| Secret::new(v.trim()))
            .ok_or_else(|| CrmSetupError::MissingSecret {
                key,
                name: name.to_string(),
            })
    };
    let mut sinks: Vec<Arc<dyn CrmSink>> = Vec::new();
    if let Some(h) = &config.hubspot {
        let token = get("crm.hubspot.token_env", &h.token_env)?;
        sinks.push(Arc::new(HubSpot::new(h, &token)?));
    }
    if let Some(s) = &config.salesforce {
        let id = get("crm.salesforce.client_id_env", &s.client_id_env)?;
        let secret = get("crm.salesforce.client_secret_env", &s.client_secret_env)?;
        sinks.push(Arc::new(Salesforce::new(s, &id, &secret)?));
    }
    Ok(sinks)
}
