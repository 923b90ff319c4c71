//! Workflows (trigger, conditions, actions), routing and notification channels.

use serde::{Deserialize, Serialize};

use super::ConfigIssue;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {}

impl AlertsConfig {
    /// Adds this section's problems, each naming its key (`alerts.…`).
    pub fn validate(&self, _issues: &mut Vec<ConfigIssue>) {}
}
