//! What a person can do to an alert from the dashboard or API: acknowledge, resolve, or snooze
//! it with a reason and an end. Each action bumps the alert's version (optimistic concurrency),
//! records who and when in its transitions, and yields the audit entry to append.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::model::{Alert, AlertStatus, AlertTransition, AuditEntry};

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
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AlertActionError {
    /// The alert changed since the caller read it.
    #[error("alert is at version {stored}, not {given}: reload it and retry")]
    StaleVersion { stored: u64, given: u64 },
    /// The action makes no sense in the alert's state or with these values.
    #[error("{0}")]
    Invalid(String),
}

impl AlertAction {
    fn version(&self) -> u64 {
        match self {
            AlertAction::Acknowledge { version, .. }
            | AlertAction::Resolve { version, .. }
            | AlertAction::Snooze { version, .. } => *version,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            AlertAction::Acknowledge { .. } => "acknowledged",
            AlertAction::Resolve { .. } => "resolved",
            AlertAction::Snooze { .. } => "snoozed",
        }
    }

    /// The changed alert (version + 1) and the audit entry recording the change.
    pub fn apply(
        &self,
        alert: &Alert,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(Alert, AuditEntry), AlertActionError> {
        if self.version() != alert.version {
            return Err(AlertActionError::StaleVersion {
                stored: alert.version,
                given: self.version(),
            });
        }
        if alert.status == AlertStatus::Resolved {
            return Err(AlertActionError::Invalid(
                "alert is already resolved".into(),
            ));
        }
        let mut next = alert.clone();
        let note = match self {
            AlertAction::Acknowledge { note, .. } => {
                if alert.status == AlertStatus::Acknowledged {
                    return Err(AlertActionError::Invalid(
                        "alert is already acknowledged".into(),
                    ));
                }
                next.status = AlertStatus::Acknowledged;
                note.clone()
            }
            AlertAction::Resolve { note, .. } => {
                next.status = AlertStatus::Resolved;
                next.snoozed_until = None;
                note.clone()
            }
            AlertAction::Snooze { reason, until, .. } => {
                if reason.trim().is_empty() {
                    return Err(AlertActionError::Invalid(
                        "reason: a snooze needs a reason".into(),
                    ));
                }
                if *until <= now {
                    return Err(AlertActionError::Invalid(
                        "until: must be in the future".into(),
                    ));
                }
                next.snoozed_until = Some(*until);
                next.snooze_reason = Some(reason.trim().to_string());
                Some(format!(
                    "snoozed until {}: {}",
                    until.to_rfc3339(),
                    reason.trim()
                ))
            }
        };
        next.version = alert.version + 1;
        next.updated_at = now;
        next.transitions.push(AlertTransition {
            at: now,
            by: by.to_string(),
            to: next.status,
            note: note.clone(),
        });
        let audit = AuditEntry {
            id: format!("alert-{}:{}:v{}", self.name(), alert.id, next.version),
            at: now,
            account_id: Some(alert.account_id.clone()),
            actor: by.to_string(),
            action: format!("alert.{}", self.name()),
            detail: serde_json::json!({
                "alert_id": alert.id,
                "status": next.status,
                "version": next.version,
                "note": note,
                "snoozed_until": next.snoozed_until,
            }),
        };
        Ok((next, audit))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::{AccountId, Severity};

    fn alert() -> Alert {
        let at = DateTime::parse_from_rfc3339("2026-03-01T06:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        Alert {
            id: "a1".into(),
            account_id: AccountId::new("acme").unwrap(),
            dedupe_key: "acme:at_risk:band".into(),
            kind: "at_risk".into(),
            cause: "band".into(),
            severity: Severity::Critical,
            status: AlertStatus::Open,
            about_day: None,
            owner: Some("ana@example.com".into()),
            opened_at: at,
            updated_at: at,
            snoozed_until: None,
            snooze_reason: None,
            transitions: vec![],
            details: serde_json::Value::Null,
            version: 3,
        }
    }

    #[test]
    fn acknowledging_records_who_and_bumps_the_version() {
        let now = Utc::now();
        let (next, audit) = AlertAction::Acknowledge {
            version: 3,
            note: None,
        }
        .apply(&alert(), "ana@example.com", now)
        .unwrap();
        assert_eq!(next.status, AlertStatus::Acknowledged);
        assert_eq!(next.version, 4);
        assert_eq!(next.transitions.last().unwrap().by, "ana@example.com");
        assert_eq!(audit.action, "alert.acknowledged");
    }

    #[test]
    fn a_stale_version_is_refused() {
        let err = AlertAction::Resolve {
            version: 2,
            note: None,
        }
        .apply(&alert(), "ana", Utc::now())
        .unwrap_err();
        assert_eq!(
            err,
            AlertActionError::StaleVersion {
                stored: 3,
                given: 2
            }
        );
    }

    #[test]
    fn snooze_needs_a_reason_and_a_future_end() {
        let now = Utc::now();
        let snooze = |reason: &str, until| AlertAction::Snooze {
            version: 3,
            reason: reason.into(),
            until,
        };
        assert!(snooze("", now + chrono::Duration::days(1))
            .apply(&alert(), "ana", now)
            .is_err());
        assert!(snooze("on holiday", now - chrono::Duration::days(1))
            .apply(&alert(), "ana", now)
            .is_err());
        let (next, _) = snooze("customer on holiday", now + chrono::Duration::days(7))
            .apply(&alert(), "ana", now)
            .unwrap();
        assert_eq!(next.snooze_reason.as_deref(), Some("customer on holiday"));
        assert_eq!(next.status, AlertStatus::Open);
    }
}
