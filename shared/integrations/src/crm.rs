//! The CRM sinks `[crm]` configures, with their secrets resolved: what the daily run writes
//! back to (`DailyRun::with_crm_sinks`).

use std::sync::{Arc, Mutex, PoisonError};

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

/// The sinks of the last `[crm]` seen, kept by a warm Lambda instance: its HTTP clients and
/// Salesforce session are reused until the configuration (or a secret) changes.
#[derive(Default)]
pub struct SinkCache {
    held: Mutex<Option<Built>>,
}

/// Sinks with the configuration and secret values they were built from.
struct Built {
    config: CrmConfig,
    secrets: Vec<String>,
    sinks: Vec<Arc<dyn CrmSink>>,
}

impl SinkCache {
    /// The sinks for `config`, built again only when it or a secret it names changed.
    pub fn sinks(
        &self,
        config: &CrmConfig,
        secret: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<Arc<dyn CrmSink>>, CrmSetupError> {
        let secrets: Vec<String> = config
            .secret_names()
            .iter()
            .map(|n| secret(n).unwrap_or_default())
            .collect();
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(b) = held
            .as_ref()
            .filter(|b| b.config == *config && b.secrets == secrets)
        {
            return Ok(b.sinks.clone());
        }
        let built = sinks(config, secret)?;
        *held = Some(Built {
            config: config.clone(),
            secrets,
            sinks: built.clone(),
        });
        Ok(built)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals_core::config::HubSpotConfig;

    fn hubspot() -> CrmConfig {
        CrmConfig {
            hubspot: Some(HubSpotConfig {
                token_env: "HUBSPOT_TOKEN".into(),
                base_url: "https://api.hubapi.com".into(),
                id_trait: Some("hubspot_company_id".into()),
                ids: Default::default(),
                log_activities: true,
            }),
            salesforce: None,
        }
    }

    #[test]
    fn a_warm_instance_reuses_its_sinks_until_the_configuration_or_secret_changes() {
        let cache = SinkCache::default();
        let token = |_: &str| Some("pat-1".to_string());
        let first = cache.sinks(&hubspot(), token).unwrap();
        let again = cache.sinks(&hubspot(), token).unwrap();
        assert!(
            Arc::ptr_eq(&first[0], &again[0]),
            "same client, same session"
        );
        let rotated = cache
            .sinks(&hubspot(), |_| Some("pat-2".to_string()))
            .unwrap();
        assert!(
            !Arc::ptr_eq(&first[0], &rotated[0]),
            "a rotated token builds anew"
        );
        assert!(cache
            .sinks(&CrmConfig::default(), token)
            .unwrap()
            .is_empty());
    }
}
