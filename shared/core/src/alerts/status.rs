//! What a person (or the scheduler) may do to an alert's status: acknowledge, resolve, snooze
//! or reassign it. [`AlertLifecycle::change_status`](super::lifecycle::AlertLifecycle::change_status)
//! is the one command every caller goes through (API, dashboard, auto-resolve); this module
//! holds the pure part: bounding the input and applying the change to an alert.

use chrono::{DateTime, Duration, Utc};

use super::lifecycle::LifecycleError;
use crate::model::{Alert, AlertStatus, AlertTransition};

/// Reasons, notes and owners longer than this are refused (they are shown on pages and kept
/// in the audit log forever).
pub const MAX_TEXT_BYTES: usize = 2048;

/// The requested change, as the API, the dashboard and the scheduler express it.
#[derive(Debug, Clone, PartialEq)]
pub enum StatusChange {
    Acknowledge {
        note: Option<String>,
    },
    Resolve {
        note: Option<String>,
    },
    /// Quiet the alert until `until`; the status stays as it was.
    Snooze {
        reason: String,
        until: DateTime<Utc>,
    },
    /// Hand the alert to another owner; the status stays as it was.
    Reassign {
        owner: String,
        note: Option<String>,
    },
}

/// Bounds from `[alerts]` that a status change must respect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusLimits {
    /// `[alerts] max_snooze_days`: the furthest a snooze may reach.
    pub max_snooze_days: u32,
}

impl Default for StatusLimits {
    fn default() -> Self {
        StatusLimits {
            max_snooze_days: 90,
        }
    }
}

impl StatusChange {
    /// The audit action and the past-tense word shown in history.
    pub fn verb(&self) -> &'static str {
        match self {
            StatusChange::Acknowledge { .. } => "acknowledged",
            StatusChange::Resolve { .. } => "resolved",
            StatusChange::Snooze { .. } => "snoozed",
            StatusChange::Reassign { .. } => "reassigned",
        }
    }

    /// Trims texts (an all-blank note is no note) and refuses what is out of bounds, naming the
    /// field, before anything is read.
    pub fn checked(
        self,
        limits: StatusLimits,
        now: DateTime<Utc>,
    ) -> Result<StatusChange, LifecycleError> {
        Ok(match self {
            StatusChange::Acknowledge { note } => StatusChange::Acknowledge {
                note: optional_text("note", note)?,
            },
            StatusChange::Resolve { note } => StatusChange::Resolve {
                note: optional_text("note", note)?,
            },
            StatusChange::Snooze { reason, until } => {
                let reason = optional_text("reason", Some(reason))?
                    .ok_or_else(|| invalid("reason", "a snooze needs a reason"))?;
                if until <= now {
                    return Err(invalid("until", "must be in the future"));
                }
                let furthest = now + Duration::days(i64::from(limits.max_snooze_days));
                if until > furthest {
                    return Err(invalid(
                        "until",
                        &format!(
                            "a snooze may last at most {} days (until {})",
                            limits.max_snooze_days,
                            furthest.format("%Y-%m-%d")
                        ),
                    ));
                }
                StatusChange::Snooze { reason, until }
            }
            StatusChange::Reassign { owner, note } => StatusChange::Reassign {
                owner: optional_text("owner", Some(owner))?
                    .ok_or_else(|| invalid("owner", "name the new owner"))?,
                note: optional_text("note", note)?,
            },
        })
    }

    /// Applies a checked change to `alert` (a transition by `by` at `now`), refusing a change
    /// that makes no sense in the alert's status.
    pub(crate) fn apply(
        &self,
        alert: &mut Alert,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LifecycleError> {
        if alert.status == AlertStatus::Resolved {
            return Err(LifecycleError::Already(AlertStatus::Resolved));
        }
        let note = match self {
            StatusChange::Acknowledge { note } => {
                if alert.status == AlertStatus::Acknowledged {
                    return Err(LifecycleError::Already(AlertStatus::Acknowledged));
                }
                alert.status = AlertStatus::Acknowledged;
                note.clone()
            }
            StatusChange::Resolve { note } => {
                alert.status = AlertStatus::Resolved;
                alert.snoozed_until = None;
                note.clone()
            }
            StatusChange::Snooze { reason, until } => {
                alert.snoozed_until = Some(*until);
                alert.snooze_reason = Some(reason.clone());
                Some(format!(
                    "snoozed until {}: {reason}",
                    until.format("%Y-%m-%d %H:%M UTC")
                ))
            }
            StatusChange::Reassign { owner, note } => {
                let from = alert.owner.replace(owner.clone());
                let moved = format!(
                    "reassigned from {} to {owner}",
                    from.as_deref().unwrap_or("nobody")
                );
                Some(match note {
                    Some(n) => format!("{moved}: {n}"),
                    None => moved,
                })
            }
        };
        alert.transitions.push(AlertTransition {
            at: now,
            by: by.to_string(),
            to: alert.status,
            note,
        });
        Ok(())
    }
}

fn invalid(field: &'static str, problem: &str) -> LifecycleError {
    LifecycleError::Invalid {
        field,
        problem: problem.to_string(),
    }
}

fn optional_text(
    field: &'static str,
    text: Option<String>,
) -> Result<Option<String>, LifecycleError> {
    let Some(text) = text else { return Ok(None) };
    let text = text.trim();
    if text.len() > MAX_TEXT_BYTES {
        return Err(invalid(
            field,
            &format!("at most {MAX_TEXT_BYTES} bytes (got {})", text.len()),
        ));
    }
    Ok((!text.is_empty()).then(|| text.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T06:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn snooze(reason: &str, days: i64) -> Result<StatusChange, LifecycleError> {
        StatusChange::Snooze {
            reason: reason.into(),
            until: now() + Duration::days(days),
        }
        .checked(StatusLimits::default(), now())
    }

    fn field_of(e: LifecycleError) -> &'static str {
        match e {
            LifecycleError::Invalid { field, .. } => field,
            other => panic!("expected a refused field, got {other:?}"),
        }
    }

    #[test]
    fn a_snooze_needs_a_reason_and_an_end_within_the_configured_maximum() {
        assert_eq!(field_of(snooze("  ", 7).unwrap_err()), "reason");
        assert_eq!(field_of(snooze("holiday", -1).unwrap_err()), "until");
        assert_eq!(field_of(snooze("holiday", 91).unwrap_err()), "until");
        assert_eq!(
            snooze("  customer on holiday ", 90).unwrap(),
            StatusChange::Snooze {
                reason: "customer on holiday".into(),
                until: now() + Duration::days(90)
            }
        );
    }

    #[test]
    fn notes_are_trimmed_and_bounded() {
        let resolve = |note: &str| {
            StatusChange::Resolve {
                note: Some(note.into()),
            }
            .checked(StatusLimits::default(), now())
        };
        assert_eq!(
            resolve("  renewed  ").unwrap(),
            StatusChange::Resolve {
                note: Some("renewed".into())
            }
        );
        assert_eq!(
            resolve("   ").unwrap(),
            StatusChange::Resolve { note: None }
        );
        assert_eq!(
            field_of(resolve(&"x".repeat(MAX_TEXT_BYTES + 1)).unwrap_err()),
            "note"
        );
    }
}
