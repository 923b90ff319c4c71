//! CRM write-back (`[crm]`): which CRMs get each account's health figures after the daily run,
//! with what credentials (named secrets, never inline), and how an account finds its record
//! there (an explicit id map, else one of the account's traits).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ConfigIssue;
use crate::model::AccountRecord;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrmConfig {
    /// HubSpot companies (`vitals_health_score`, `vitals_band`, `vitals_churn_risk`,
    /// `vitals_last_scored` custom properties).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hubspot: Option<HubSpotConfig>,
    /// Salesforce Accounts (`Vitals_Health_Score__c`, `Vitals_Band__c`, `Vitals_Churn_Risk__c`,
    /// `Vitals_Last_Scored__c` custom fields).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub salesforce: Option<SalesforceConfig>,
}

/// Which CRM record is an account's: `ids` first, else the account trait `id_trait` (sent with
/// its group call, e.g. `hubspot_company_id`). Accounts with neither are not written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CrmIds {
    pub id_trait: Option<String>,
    pub ids: BTreeMap<String, String>,
}

impl CrmIds {
    pub fn of(&self, record: &AccountRecord) -> Option<String> {
        if let Some(id) = self.ids.get(record.account_id.as_str()) {
            return Some(id.clone());
        }
        let value = record.profile.custom.get(self.id_trait.as_deref()?)?;
        let id = match value {
            serde_json::Value::String(s) => s.trim().to_string(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return None,
        };
        (!id.is_empty()).then_some(id)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubSpotConfig {
    /// Secret holding the private app's access token (scopes `crm.objects.companies.write`,
    /// and `crm.objects.contacts.write` for notes and tasks when `log_activities` is on).
    pub token_env: String,
    #[serde(default = "default_hubspot_url")]
    pub base_url: String,
    /// The account trait holding the record's id (e.g. sent with the group call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_trait: Option<String>,
    /// Account id → record id; wins over `id_trait`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ids: BTreeMap<String, String>,
    /// Log outreach, follow-ups, intervention results and alert changes on the record's
    /// timeline (seed 002: "all outreach is logged back to the CRM").
    #[serde(default = "yes")]
    pub log_activities: bool,
}

fn yes() -> bool {
    true
}

fn default_hubspot_url() -> String {
    "https://api.hubapi.com".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SalesforceConfig {
    /// `https://{your-domain}.my.salesforce.com`.
    pub instance_url: String,
    /// Secrets holding the connected app's consumer key and secret (client credentials flow).
    pub client_id_env: String,
    pub client_secret_env: String,
    #[serde(default = "default_salesforce_version")]
    pub api_version: String,
    /// The account trait holding the record's id (e.g. sent with the group call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_trait: Option<String>,
    /// Account id → record id; wins over `id_trait`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ids: BTreeMap<String, String>,
    /// Log outreach, follow-ups, intervention results and alert changes on the record's
    /// timeline (seed 002: "all outreach is logged back to the CRM").
    #[serde(default = "yes")]
    pub log_activities: bool,
}

fn default_salesforce_version() -> String {
    "v61.0".into()
}

impl HubSpotConfig {
    pub fn record_ids(&self) -> CrmIds {
        CrmIds {
            id_trait: self.id_trait.clone(),
            ids: self.ids.clone(),
        }
    }
}

impl SalesforceConfig {
    pub fn record_ids(&self) -> CrmIds {
        CrmIds {
            id_trait: self.id_trait.clone(),
            ids: self.ids.clone(),
        }
    }
}

impl CrmConfig {
    pub fn is_on(&self) -> bool {
        self.hubspot.is_some() || self.salesforce.is_some()
    }

    /// The secret names `[crm]` refers to.
    pub fn secret_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if let Some(h) = &self.hubspot {
            names.push(h.token_env.clone());
        }
        if let Some(s) = &self.salesforce {
            names.push(s.client_id_env.clone());
            names.push(s.client_secret_env.clone());
        }
        names
    }

    pub fn validate(&self, issues: &mut Vec<ConfigIssue>) {
        let mut issue = |key: &str, problem: &str| {
            issues.push(ConfigIssue {
                key: key.into(),
                problem: problem.into(),
            })
        };
        let is_url = |u: &str| u.starts_with("https://") || u.starts_with("http://");
        if let Some(h) = &self.hubspot {
            if h.token_env.trim().is_empty() {
                issue(
                    "crm.hubspot.token_env",
                    "must name the secret holding the token",
                );
            }
            if !is_url(&h.base_url) {
                issue("crm.hubspot.base_url", "must be an http(s) URL");
            }
            if h.id_trait.is_none() && h.ids.is_empty() {
                issue(
                    "crm.hubspot",
                    "needs `id_trait` or `ids` to find each account's company",
                );
            }
        }
        if let Some(s) = &self.salesforce {
            if !is_url(&s.instance_url) {
                issue(
                    "crm.salesforce.instance_url",
                    "must be an http(s) URL, e.g. \"https://acme.my.salesforce.com\"",
                );
            }
            for (key, name) in [
                ("crm.salesforce.client_id_env", &s.client_id_env),
                ("crm.salesforce.client_secret_env", &s.client_secret_env),
            ] {
                if name.trim().is_empty() {
                    issue(key, "must name a secret");
                }
            }
            let v = s.api_version.strip_prefix('v').unwrap_or_default();
            if v.split('.').count() != 2 || v.split('.').any(|p| p.parse::<u32>().is_err()) {
                issue("crm.salesforce.api_version", "must look like \"v61.0\"");
            }
            if s.id_trait.is_none() && s.ids.is_empty() {
                issue(
                    "crm.salesforce",
                    "needs `id_trait` or `ids` to find each account's record",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::VitalsConfig;

    #[test]
    fn a_hubspot_section_reads_with_its_defaults_and_id_mapping() {
        let config = VitalsConfig::parse(
            "[crm.hubspot]\ntoken_env = \"HUBSPOT_TOKEN\"\nid_trait = \"hubspot_company_id\"\n\
             [crm.hubspot.ids]\nacme = \"1234\"\n",
        )
        .unwrap();
        let h = config.crm.hubspot.unwrap();
        assert_eq!(h.base_url, "https://api.hubapi.com");
        assert_eq!(h.ids["acme"], "1234");
        assert!(h.log_activities, "activities are logged unless turned off");
    }

    #[test]
    fn a_salesforce_section_without_a_way_to_find_records_is_refused_by_key() {
        let err = VitalsConfig::parse(
            "[crm.salesforce]\ninstance_url = \"acme\"\nclient_id_env = \"A\"\nclient_secret_env = \"B\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("crm.salesforce.instance_url"), "{err}");
        assert!(err.contains("crm.salesforce: needs `id_trait`"), "{err}");
    }
}
