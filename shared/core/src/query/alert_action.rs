//! The body of `PATCH /v1/alerts/{id}` (and of the dashboard's alert forms, once read): what a
//! person asks to do to an alert, with the version they saw. It only translates the request;
//! the change itself is [`AlertLifecycle::change_status`](crate::alerts::lifecycle::AlertLifecycle::change_status).

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::alerts::status::StatusChange;

/// A requested change.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum AlertAction {
    Acknowledge {
        /// The version the caller saw; a different stored version means someone else changed it.
        version: u64,
        #[serde(default)]
        note: Option<String>,
    },
    Resolve {
        version: u64,
        #[serde(default)]
        note: Option<String>,
    },
    Snooze {
        version: u64,
        reason: String,
        until: DateTime<Utc>,
    },
    /// Admins only: hand the alert to another owner.
    Reassign {
        version: u64,
        owner: String,
        #[serde(default)]
        note: Option<String>,
    },
}

impl AlertAction {
    /// The version the caller saw.
    pub fn version(&self) -> u64 {
        match self {
            AlertAction::Acknowledge { version, .. }
            | AlertAction::Resolve { version, .. }
            | AlertAction::Snooze { version, .. }
            | AlertAction::Reassign { version, .. } => *version,
        }
    }

    pub fn into_change(self) -> StatusChange {
        match self {
            AlertAction::Acknowledge { note, .. } => StatusChange::Acknowledge { note },
            AlertAction::Resolve { note, .. } => StatusChange::Resolve { note },
            AlertAction::Snooze { reason, until, .. } => StatusChange::Snooze { reason, until },
            AlertAction::Reassign { owner, note, .. } => StatusChange::Reassign { owner, note },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_body_names_the_action_and_the_version_seen() {
        let action: AlertAction = serde_json::from_str(
            r#"{"action":"snooze","version":3,"reason":"holiday","until":"2026-03-08T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(action.version(), 3);
        assert!(
            matches!(action.into_change(), StatusChange::Snooze { reason, .. } if reason == "holiday")
        );
        assert!(serde_json::from_str::<AlertAction>(r#"{"action":"resolve"}"#).is_err());
    }
}
