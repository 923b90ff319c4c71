//! Which non-product events feed which signals (support tickets, surveys, training, check-ins,
//! invoices, outcomes).

use serde::{Deserialize, Serialize};

use super::ConfigIssue;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignalMapping {}

impl SignalMapping {
    /// Adds this section's problems, each naming its key (`signals.…`).
    pub fn validate(&self, _issues: &mut Vec<ConfigIssue>) {}
}
