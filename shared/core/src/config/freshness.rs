//! Fresh scores (`[freshness]`): how often accounts that received events get a provisional
//! "today so far" score between daily runs (see `crate::freshness`).

use serde::{Deserialize, Serialize};

use super::ConfigIssue;

/// The longest interval: one day (a longer one would never refresh within the day it scores).
const MAX_INTERVAL_MINUTES: u32 = 1440;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FreshnessConfig {
    /// Minutes between provisional refreshes (and the unit in which ingest records which
    /// accounts received events). 0 turns provisional scores off.
    pub interval_minutes: u32,
}

impl Default for FreshnessConfig {
    fn default() -> Self {
        FreshnessConfig {
            interval_minutes: 15,
        }
    }
}

impl FreshnessConfig {
    /// Whether provisional scores are on.
    pub fn is_on(&self) -> bool {
        self.interval_minutes > 0
    }

    /// Adds this section's problems, each naming its key (`freshness.…`).
    pub fn validate(&self, issues: &mut Vec<ConfigIssue>) {
        if self.interval_minutes > MAX_INTERVAL_MINUTES {
            issues.push(ConfigIssue {
                key: "freshness.interval_minutes".into(),
                problem: format!(
                    "must be from 1 to {MAX_INTERVAL_MINUTES} minutes, or 0 to turn provisional \
                     scores off (got {})",
                    self.interval_minutes
                ),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::VitalsConfig;

    #[test]
    fn provisional_scores_refresh_every_15_minutes_unless_configured() {
        let config = VitalsConfig::parse("").unwrap();
        assert_eq!(config.freshness.interval_minutes, 15);
        let off = VitalsConfig::parse("[freshness]\ninterval_minutes = 0\n").unwrap();
        assert!(!off.freshness.is_on());
    }

    #[test]
    fn an_interval_over_a_day_is_refused_by_its_key() {
        let err = VitalsConfig::parse("[freshness]\ninterval_minutes = 2000\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("freshness.interval_minutes: must be from 1 to 1440 minutes, or 0"),
            "{err}"
        );
    }
}
