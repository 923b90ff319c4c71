//! The configuration file: every key, its default and its validation in one typed struct.
//! Errors name the key path and the problem, so `vitals config validate` can point at them.

pub mod alerts;
mod auth;
mod churn;
mod crm;
mod freshness;
mod signals;
mod versions;

use serde::{Deserialize, Serialize};
pub use vitals_scoring::ConfigIssue;
use vitals_scoring::ScoringConfig;

pub use alerts::AlertsConfig;
pub use auth::AuthConfig;
pub use churn::ChurnConfig;
pub use crm::{CrmConfig, CrmIds, HubSpotConfig, SalesforceConfig};
pub use freshness::FreshnessConfig;
pub use signals::SignalMapping;
pub use versions::{apply_config, changed_keys, check_draft, ApplyError};

/// The whole `vitals.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VitalsConfig {
    pub ingest: IngestConfig,
    pub retention: RetentionConfig,
    pub schedule: ScheduleConfig,
    pub usage: UsageMapping,
    /// Non-product events (tickets, surveys, invoices, outcomes) and the signals they feed.
    pub signals: SignalMapping,
    pub scoring: ScoringConfig,
    /// Workflows, routing and notification channels.
    pub alerts: AlertsConfig,
    /// API tokens and roles.
    pub auth: AuthConfig,
    /// The churn risk model the daily run refits.
    pub churn: ChurnConfig,
    /// Provisional "today so far" scores between daily runs.
    pub freshness: FreshnessConfig,
    /// How the deployment is reached from outside (links in notifications).
    pub server: ServerConfig,
    /// Health figures written back to the team's CRM after each daily run.
    pub crm: CrmConfig,
}

/// The default `[server] public_url`: `vitals serve` on its default port.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// The base URL people open the dashboard at; links in emails and Slack are
    /// `{public_url}/dashboard/accounts/{id}`.
    pub public_url: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            public_url: DEFAULT_PUBLIC_URL.into(),
        }
    }
}

/// Where links in notifications point: the dashboard's pages under the public base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    base: String,
}

impl Links {
    pub fn new(public_url: &str) -> Self {
        Links {
            base: public_url.trim_end_matches('/').to_string(),
        }
    }

    /// The dashboard's page of an account.
    pub fn account(&self, account: &crate::model::AccountId) -> String {
        format!(
            "{}/dashboard/accounts/{}",
            self.base,
            path_segment(account.as_str())
        )
    }
}

/// Percent-encodes everything but unreserved characters (an account id may hold `/` or `?`):
/// a path or query segment of a link.
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Default for Links {
    fn default() -> Self {
        Links::new(DEFAULT_PUBLIC_URL)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Client write keys, one per source: may be public (browser and mobile apps), so the
    /// `protected_traits` are ignored from them. `VITALS_WRITE_KEYS` (comma-separated) adds to
    /// these.
    pub write_keys: Vec<String>,
    /// Server write keys: secret (back-end libraries, ETL), every trait is taken from them.
    /// `VITALS_SERVER_WRITE_KEYS` adds to these.
    pub server_write_keys: Vec<String>,
    /// Traits that decide who sees an account or what it is worth, taken only from server
    /// keys, CRM imports and admins. Matched by meaning: `owner` covers `csm_email` too.
    pub protected_traits: Vec<String>,
    /// Browser origins (`https://app.example.com`) that may send events to the ingest routes;
    /// `"*"` allows any. The query API and dashboard never answer other origins.
    pub allowed_origins: Vec<String>,
    /// Name of the secret (an environment variable; in AWS, also `{SecretsPrefix}{name}` in
    /// Secrets Manager) holding the Segment Webhooks (Actions) shared secret. Unset:
    /// `/v1/segment/webhook` refuses every request.
    pub segment_webhook_secret_env: Option<String>,
    /// Name of the secret the PostHog HTTP webhook destination sends in its
    /// `X-Vitals-Webhook-Secret` header. Unset: `/v1/posthog/webhook` refuses every request.
    pub posthog_webhook_secret_env: Option<String>,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            write_keys: Vec::new(),
            server_write_keys: Vec::new(),
            protected_traits: crate::ingest::DEFAULT_PROTECTED_TRAITS
                .iter()
                .map(|t| t.to_string())
                .collect(),
            allowed_origins: vec!["*".to_string()],
            segment_webhook_secret_env: None,
            posthog_webhook_secret_env: None,
        }
    }
}

impl IngestConfig {
    fn validate(&self, issue: &mut impl FnMut(&str, &str)) {
        let keys = [
            ("write_keys", &self.write_keys),
            ("server_write_keys", &self.server_write_keys),
        ];
        for (list, keys) in keys {
            for (i, key) in keys.iter().enumerate() {
                if key.trim().len() < 8 {
                    issue(
                        &format!("ingest.{list}[{i}]"),
                        "must be at least 8 characters",
                    );
                }
            }
        }
        for (i, key) in self.server_write_keys.iter().enumerate() {
            if self.write_keys.iter().any(|k| k.trim() == key.trim()) {
                issue(
                    &format!("ingest.server_write_keys[{i}]"),
                    "is also a client key in ingest.write_keys; a key has one trust level",
                );
            }
        }
        for (i, name) in self.protected_traits.iter().enumerate() {
            if !name.chars().any(char::is_alphanumeric) {
                issue(
                    &format!("ingest.protected_traits[{i}]"),
                    "must be a trait name such as \"owner\" or \"mrr\"",
                );
            }
        }
        for (i, origin) in self.allowed_origins.iter().enumerate() {
            if !is_origin(origin) {
                issue(
                    &format!("ingest.allowed_origins[{i}]"),
                    "must be \"*\" or an origin such as \"https://app.example.com\" (scheme, host, optional port; no path)",
                );
            }
        }
    }
}

/// `*`, or `http(s)://host[:port]` without a path.
fn is_origin(origin: &str) -> bool {
    if origin == "*" {
        return true;
    }
    let Some(rest) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// How long events and score history are kept.
    pub days: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig { days: 730 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
    /// Local time of the daily scoring run, `HH:MM`.
    pub daily_at: String,
    /// IANA time zone name of `daily_at` (only `UTC` and fixed offsets like `+02:00` locally).
    pub timezone: String,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            daily_at: "06:00".into(),
            timezone: "UTC".into(),
        }
    }
}

/// How product events become usage counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UsageMapping {
    /// Track events that start a session (page and screen views also count as activity).
    pub session_events: Vec<String>,
    /// Property of a session event holding its duration in seconds.
    pub session_duration_property: String,
    /// Track events that each count as one API call.
    pub api_call_events: Vec<String>,
    /// Events that are not product usage (ignored for activity).
    pub ignored_events: Vec<String>,
}

impl Default for UsageMapping {
    fn default() -> Self {
        UsageMapping {
            session_events: vec!["Session Started".into(), "Application Opened".into()],
            session_duration_property: "duration_seconds".into(),
            api_call_events: vec!["API Call".into(), "API Request".into()],
            ignored_events: vec![],
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration is not valid TOML: {0}")]
    Syntax(String),
    #[error("configuration has {} problem(s):\n{}", .0.len(), .0.iter().map(|i| format!("  - {i}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<ConfigIssue>),
}

impl VitalsConfig {
    /// Parses and validates configuration text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let config: VitalsConfig =
            toml::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?;
        let issues = config.validate();
        if issues.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid(issues))
        }
    }

    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut issue = |key: &str, problem: &str| {
            issues.push(ConfigIssue {
                key: key.into(),
                problem: problem.into(),
            })
        };
        if self.retention.days < 120 {
            issue(
                "retention.days",
                "must be at least 120 (the scoring window needs 104 days of history)",
            );
        }
        if parse_hh_mm(&self.schedule.daily_at).is_none() {
            issue(
                "schedule.daily_at",
                "must be a time of day as HH:MM, e.g. \"06:00\"",
            );
        }
        if parse_utc_offset(&self.schedule.timezone).is_none() {
            issue(
                "schedule.timezone",
                "must be \"UTC\" or a fixed offset such as \"+02:00\"",
            );
        }
        self.ingest.validate(&mut issue);
        for (key, name) in [
            (
                "ingest.segment_webhook_secret_env",
                &self.ingest.segment_webhook_secret_env,
            ),
            (
                "ingest.posthog_webhook_secret_env",
                &self.ingest.posthog_webhook_secret_env,
            ),
        ] {
            if name.as_ref().is_some_and(|n| n.trim().is_empty()) {
                issue(
                    key,
                    "must name a secret (e.g. \"SEGMENT_WEBHOOK_SECRET\") or be left out",
                );
            }
        }
        if self.usage.session_duration_property.trim().is_empty() {
            issue("usage.session_duration_property", "must not be empty");
        }
        if let Err(scoring) = self.scoring.validate() {
            issues.extend(scoring);
        }
        self.signals.validate(&mut issues);
        self.alerts.validate(&mut issues);
        self.auth.validate(&mut issues);
        self.churn.validate(&mut issues);
        self.freshness.validate(&mut issues);
        self.crm.validate(&mut issues);
        let url = &self.server.public_url;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            issues.push(ConfigIssue {
                key: "server.public_url".into(),
                problem: "must be an http:// or https:// URL".into(),
            });
        }
        issues
    }

    /// The base URL of links in notifications: `[server] public_url`, or the deprecated
    /// `[alerts] app_url` when `public_url` is left at its default.
    pub fn links(&self) -> Links {
        match &self.alerts.app_url {
            Some(old) if self.server.public_url == DEFAULT_PUBLIC_URL => Links::new(old),
            _ => Links::new(&self.server.public_url),
        }
    }

    /// The default configuration as commented TOML, for `vitals config init` and the docs.
    pub fn default_toml() -> String {
        toml::to_string_pretty(&VitalsConfig::default()).unwrap_or_default()
    }
}

/// `HH:MM` → minutes after midnight.
pub fn parse_hh_mm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// `UTC`, `Z` or `±HH:MM` → offset in minutes east of UTC.
pub fn parse_utc_offset(s: &str) -> Option<i32> {
    match s {
        "UTC" | "Etc/UTC" | "Z" => Some(0),
        _ => {
            let sign = match s.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let minutes = parse_hh_mm(&s[1..])?;
            Some(sign * i32::try_from(minutes).ok()?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_default_configuration() {
        assert_eq!(VitalsConfig::parse("").unwrap(), VitalsConfig::default());
    }

    #[test]
    fn default_configuration_round_trips_through_toml() {
        assert_eq!(
            VitalsConfig::parse(&VitalsConfig::default_toml()).unwrap(),
            VitalsConfig::default()
        );
    }

    #[test]
    fn ingest_keys_origins_and_protected_traits_are_checked_by_key() {
        let text = "[ingest]\nwrite_keys = [\"wk_shared_key\"]\nserver_write_keys = [\"wk_shared_key\", \"short\"]\nallowed_origins = [\"https://app.example.com\", \"app.example.com/path\"]\nprotected_traits = [\"-\"]\n";
        let err = VitalsConfig::parse(text).unwrap_err().to_string();
        for key in [
            "ingest.server_write_keys[0]",
            "ingest.server_write_keys[1]",
            "ingest.allowed_origins[1]",
            "ingest.protected_traits[0]",
        ] {
            assert!(err.contains(key), "{key} missing from: {err}");
        }
        assert!(!err.contains("ingest.allowed_origins[0]"), "{err}");
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let err = VitalsConfig::parse("[retention]\nday = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `day`"), "{err}");
    }

    #[test]
    fn invalid_values_name_their_key() {
        let err = VitalsConfig::parse("[schedule]\ndaily_at = \"25:00\"\n[retention]\ndays = 30\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("schedule.daily_at: must be a time of day"),
            "{err}"
        );
        assert!(
            err.contains("retention.days: must be at least 120"),
            "{err}"
        );
    }
}
