//! An alert's lifecycle, changed by people: open → acknowledged → resolved, and snooze until a
//! date with a reason. Every change is kept on the alert (`transitions`, who and when) and in
//! the audit log. Writes are optimistic (version + 1) and re-read on a lost race.
//!
//! A snooze quiets an alert: while it lasts, the same problem notifies nobody (dispatch skips
//! it) and the dashboard leaves it out of the open alerts. When it ends, [`AlertLifecycle::
//! wake_snoozed`] (run by `vitals serve` every minute and by the daily run) clears it and
//! queues a reminder to whoever the alert was announced to.

use chrono::{DateTime, NaiveDate, Utc};

use super::clearing::{cleared, AccountNow};
use super::dispatch::{DispatchMessage, SnoozeEnded};
use crate::clock::Clock;
use crate::error::{QueueError, StoreError};
use crate::model::{AccountId, Alert, AlertQuery, AlertStatus, AlertTransition, AuditEntry};
use crate::ports::{AccountStore, AlertStore, AuditLog, Queue};

/// Who resolves an alert whose condition cleared, in its transitions and the audit log.
pub const AUTO_RESOLVER: &str = "vitals";

/// Why a lifecycle change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    /// HTTP 404.
    #[error("no alert {0}")]
    NotFound(String),
    /// HTTP 409: e.g. acknowledging a resolved alert.
    #[error("an alert that is {from} cannot become {to}", from = .from.as_str(), to = .to.as_str())]
    InvalidTransition { from: AlertStatus, to: AlertStatus },
    /// HTTP 409: e.g. resolving a resolved alert.
    #[error("the alert is already {}", .0.as_str())]
    Already(AlertStatus),
    /// HTTP 422: a snooze needs a future date and a reason.
    #[error("invalid snooze: {0}")]
    InvalidSnooze(String),
    /// HTTP 503 when retryable, else 500.
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

impl<S: AccountStore + AlertStore + AuditLog + ?Sized> AlertLifecycle<'_, S> {
    /// Every open or acknowledged alert checked against its account's record as of `day` (the
    /// daily run's day): resolves those whose condition cleared, and every alert of an account
    /// that churned. One read of the open alerts and one per account that has any.
    pub async fn resolve_all_cleared(&self, day: NaiveDate) -> Result<Vec<String>, LifecycleError> {
        let mut open = Vec::new();
        for status in [AlertStatus::Open, AlertStatus::Acknowledged] {
            open.extend(
                self.unresolved(AlertQuery {
                    status: Some(status),
                    account_id: None,
                })
                .await?,
            );
        }
        open.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        let mut resolved = Vec::new();
        for group in open.chunk_by(|a, b| a.account_id == b.account_id) {
            let Some(record) = self.storage.get_account(&group[0].account_id).await? else {
                continue;
            };
            let Some(now) = AccountNow::of_record(&record, day) else {
                continue;
            };
            resolved.extend(
                self.resolve_each(group.iter().filter_map(|a| Some((a, cleared(a, &now)?))))
                    .await?,
            );
        }
        Ok(resolved)
    }
}

/// How often a lost optimistic race is retried before giving up with `Conflict`.
const ATTEMPTS: usize = 3;

pub struct AlertLifecycle<'a, S: AlertStore + AuditLog + ?Sized> {
    storage: &'a S,
    clock: &'a dyn Clock,
}

impl<'a, S: AlertStore + AuditLog + ?Sized> AlertLifecycle<'a, S> {
    pub fn new(storage: &'a S, clock: &'a dyn Clock) -> Self {
        AlertLifecycle { storage, clock }
    }

    /// open → acknowledged.
    pub async fn acknowledge(
        &self,
        alert_id: &str,
        by: &str,
        note: Option<&str>,
    ) -> Result<Alert, LifecycleError> {
        self.change(alert_id, by, "alert.acknowledged", |alert, now| {
            match alert.status {
                AlertStatus::Open => {}
                AlertStatus::Acknowledged => {
                    return Err(LifecycleError::Already(AlertStatus::Acknowledged))
                }
                AlertStatus::Resolved => {
                    return Err(LifecycleError::InvalidTransition {
                        from: alert.status,
                        to: AlertStatus::Acknowledged,
                    })
                }
            }
            alert.status = AlertStatus::Acknowledged;
            alert.transitions.push(AlertTransition {
                at: now,
                by: by.to_string(),
                to: AlertStatus::Acknowledged,
                note: note.map(str::to_string),
            });
            Ok(true)
        })
        .await
    }

    /// open or acknowledged → resolved.
    pub async fn resolve(
        &self,
        alert_id: &str,
        by: &str,
        note: Option<&str>,
    ) -> Result<Alert, LifecycleError> {
        self.change(alert_id, by, "alert.resolved", |alert, now| {
            if alert.status == AlertStatus::Resolved {
                return Err(LifecycleError::Already(AlertStatus::Resolved));
            }
            alert.status = AlertStatus::Resolved;
            alert.snoozed_until = None;
            alert.transitions.push(AlertTransition {
                at: now,
                by: by.to_string(),
                to: AlertStatus::Resolved,
                note: note.map(str::to_string),
            });
            Ok(true)
        })
        .await
    }

    /// Resolves the account's open (or acknowledged) alerts whose condition no longer holds
    /// given `now` ([`cleared`]), as [`AUTO_RESOLVER`] with the reason as the note (audited as
    /// `alert.resolved`). Returns the ids resolved.
    pub async fn resolve_cleared(
        &self,
        account: &AccountId,
        now: &AccountNow,
    ) -> Result<Vec<String>, LifecycleError> {
        let open = self
            .unresolved(AlertQuery {
                status: None,
                account_id: Some(account.clone()),
            })
            .await?;
        self.resolve_each(open.iter().filter_map(|a| Some((a, cleared(a, now)?))))
            .await
    }

    async fn resolve_each<'x>(
        &self,
        todo: impl Iterator<Item = (&'x Alert, String)>,
    ) -> Result<Vec<String>, LifecycleError> {
        let mut resolved = Vec::new();
        for (alert, why) in todo {
            let note = format!("condition cleared: {why}");
            match self.resolve(&alert.id, AUTO_RESOLVER, Some(&note)).await {
                Ok(_) => resolved.push(alert.id.clone()),
                Err(LifecycleError::Already(_)) | Err(LifecycleError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(resolved)
    }

    /// The alerts matching `query` that are open or acknowledged.
    async fn unresolved(&self, query: AlertQuery) -> Result<Vec<Alert>, LifecycleError> {
        let mut found = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .storage
                .list_alerts(&query, cursor.as_deref(), 100)
                .await?;
            found.extend(
                page.items
                    .into_iter()
                    .filter(|a| a.status != AlertStatus::Resolved),
            );
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(found),
            }
        }
    }

    /// Snoozes an open or acknowledged alert until `until` (in the future) for `reason`: the
    /// same problem notifies nobody until then. The status stays as it was.
    pub async fn snooze(
        &self,
        alert_id: &str,
        by: &str,
        reason: &str,
        until: DateTime<Utc>,
    ) -> Result<Alert, LifecycleError> {
        if reason.trim().is_empty() {
            return Err(LifecycleError::InvalidSnooze("a reason is required".into()));
        }
        if until <= self.clock.now() {
            return Err(LifecycleError::InvalidSnooze(format!(
                "{until} is not in the future"
            )));
        }
        self.change(alert_id, by, "alert.snoozed", |alert, now| {
            if alert.status == AlertStatus::Resolved {
                return Err(LifecycleError::Already(AlertStatus::Resolved));
            }
            alert.snoozed_until = Some(until);
            alert.snooze_reason = Some(reason.to_string());
            alert.transitions.push(AlertTransition {
                at: now,
                by: by.to_string(),
                to: alert.status,
                note: Some(format!("snoozed until {}: {reason}", until.to_rfc3339())),
            });
            Ok(true)
        })
        .await
    }

    /// Ends every snooze that is over: queues a [`SnoozeEnded`] reminder per alert, then clears
    /// the snooze (a transition by `vitals`, audited as `alert.snooze_ended`). Queueing comes
    /// first, so a failure in between queues the reminder again (same delivery key) rather than
    /// losing it. Returns the ids of the alerts woken.
    pub async fn wake_snoozed(&self, queue: &dyn Queue) -> Result<Vec<String>, LifecycleError> {
        let now = self.clock.now();
        let mut due: Vec<SnoozeEnded> = Vec::new();
        for status in [AlertStatus::Open, AlertStatus::Acknowledged] {
            let query = AlertQuery {
                status: Some(status),
                account_id: None,
            };
            let mut cursor: Option<String> = None;
            loop {
                let page = self
                    .storage
                    .list_alerts(&query, cursor.as_deref(), 100)
                    .await?;
                due.extend(
                    page.items
                        .into_iter()
                        .filter_map(|a| match a.snoozed_until {
                            Some(until) if until <= now => Some(SnoozeEnded {
                                alert_id: a.id,
                                until,
                                reason: a.snooze_reason,
                            }),
                            _ => None,
                        }),
                );
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        let mut woken = Vec::new();
        for ended in due {
            let message = DispatchMessage::SnoozeEnded(ended.clone())
                .to_outgoing()
                .map_err(|e| QueueError::Rejected(e.to_string()))?;
            queue.send(&[message]).await?;
            let note = format!(
                "snooze until {} ended{}",
                ended.until.to_rfc3339(),
                ended
                    .reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            );
            let result = self
                .change(
                    &ended.alert_id,
                    "vitals",
                    "alert.snooze_ended",
                    |alert, now| {
                        // Snoozed again or resolved since it was listed: not this snooze's end.
                        if alert.snoozed_until != Some(ended.until) {
                            return Ok(false);
                        }
                        alert.snoozed_until = None;
                        alert.snooze_reason = None;
                        alert.transitions.push(AlertTransition {
                            at: now,
                            by: "vitals".into(),
                            to: alert.status,
                            note: Some(note.clone()),
                        });
                        Ok(true)
                    },
                )
                .await;
            match result {
                Ok(_) | Err(LifecycleError::NotFound(_)) => woken.push(ended.alert_id),
                Err(e) => return Err(e),
            }
        }
        Ok(woken)
    }

    pub(crate) async fn change(
        &self,
        alert_id: &str,
        by: &str,
        action: &str,
        mut apply: impl FnMut(&mut Alert, DateTime<Utc>) -> Result<bool, LifecycleError>,
    ) -> Result<Alert, LifecycleError> {
        let mut last_conflict = None;
        for _ in 0..ATTEMPTS {
            let mut alert = self
                .storage
                .get_alert(alert_id)
                .await?
                .ok_or_else(|| LifecycleError::NotFound(alert_id.to_string()))?;
            let now = self.clock.now();
            if !apply(&mut alert, now)? {
                return Ok(alert);
            }
            alert.updated_at = now;
            alert.version += 1;
            match self.storage.update_alert(&alert).await {
                Ok(()) => {
                    let transition = alert.transitions.last().cloned();
                    self.storage
                        .append_audit(&AuditEntry {
                            id: format!("alert:{}:v{}", alert.id, alert.version),
                            at: now,
                            account_id: Some(alert.account_id.clone()),
                            actor: by.to_string(),
                            action: action.to_string(),
                            detail: serde_json::json!({
                                "alert_id": alert.id,
                                "status": alert.status,
                                "note": transition.and_then(|t| t.note),
                                "snoozed_until": alert.snoozed_until,
                            }),
                        })
                        .await?;
                    return Ok(alert);
                }
                Err(StoreError::Conflict(e)) => last_conflict = Some(e),
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict(last_conflict.unwrap_or_default()).into())
    }
}
