//! Applying a configuration: validate it, then store it as the next version with who, when and
//! what changed. Used by `vitals config apply` and `PUT /v1/config`.

use crate::clock::Clock;
use crate::error::StoreError;
use crate::model::ConfigVersion;
use crate::ports::ConfigStore;

use super::{ConfigError, VitalsConfig};

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Invalid(#[from] ConfigError),
    /// Nothing differs from the latest version; no version was written.
    #[error("the configuration is identical to version {0}; nothing to apply")]
    Unchanged(u64),
    #[error(transparent)]
    Storage(#[from] StoreError),
}

/// Validates a draft without storing it: the configuration it stands for, or why it is refused.
/// An empty draft is refused although it would parse as the defaults: applying one is almost
/// always a mistake (a lost body), and it would silently undo every setting.
pub fn check_draft(text: &str) -> Result<VitalsConfig, ConfigError> {
    if text.trim().is_empty() {
        return Err(ConfigError::Syntax(
            "the configuration is empty: send the whole configuration as TOML".into(),
        ));
    }
    VitalsConfig::parse(text)
}

/// Validates `text` ([`check_draft`]) and stores it as the next version. Two admins applying at once: one wins,
/// the other gets `StoreError::Conflict` and can retry on the new latest version.
pub async fn apply_config<S: ConfigStore + ?Sized>(
    store: &S,
    clock: &dyn Clock,
    text: &str,
    author: &str,
) -> Result<ConfigVersion, ApplyError> {
    let config = check_draft(text)?;
    let latest = store.latest_config().await?;
    let previous = match &latest {
        Some(v) => VitalsConfig::parse(&v.body).ok(),
        None => None,
    };
    let summary = match (&latest, &previous) {
        (Some(v), Some(prev)) => {
            let changed = changed_keys(prev, &config);
            if changed.is_empty() {
                return Err(ApplyError::Unchanged(v.version));
            }
            format!("changed {}", changed.join(", "))
        }
        (Some(_), None) => "replaced a configuration that no longer parses".to_string(),
        (None, _) => {
            let changed = changed_keys(&VitalsConfig::default(), &config);
            if changed.is_empty() {
                "defaults".to_string()
            } else {
                format!("defaults, changed {}", changed.join(", "))
            }
        }
    };
    let version = ConfigVersion {
        version: latest.map_or(1, |v| v.version + 1),
        author: author.to_string(),
        created_at: clock.now(),
        body: text.to_string(),
        summary,
    };
    store.put_config_version(&version).await?;
    Ok(version)
}

/// Dotted keys whose values differ between two configurations (leaves of their TOML trees).
pub fn changed_keys(before: &VitalsConfig, after: &VitalsConfig) -> Vec<String> {
    let to_value = |c: &VitalsConfig| serde_json::to_value(c).unwrap_or_default();
    let mut out = Vec::new();
    diff("", &to_value(before), &to_value(after), &mut out);
    out
}

fn diff(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff(
                    &child,
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        _ if a != b => out.push(path.to_string()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_keys_names_the_leaves_that_differ() {
        let before = VitalsConfig::default();
        let mut after = VitalsConfig::default();
        after.retention.days = 400;
        after.scoring.bands.at_risk_below = 35.0;
        assert_eq!(
            changed_keys(&before, &after),
            vec!["retention.days", "scoring.bands.at_risk_below"]
        );
    }
}
