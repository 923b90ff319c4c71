//! API tokens and roles for the query API and dashboard.

use serde::{Deserialize, Serialize};

use super::ConfigIssue;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {}

impl AuthConfig {
    /// Adds this section's problems, each naming its key (`auth.…`).
    pub fn validate(&self, _issues: &mut Vec<ConfigIssue>) {}
}
