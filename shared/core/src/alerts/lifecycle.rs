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
use super::collect_alerts;
use super::dispatch::{DispatchMessage, SnoozeEnded};
use super::status::{StatusChange, StatusLimits};
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
    /// HTTP 409: the alert changed since the caller read it.
    #[error("the alert is at version {stored}, not {given}: reload it and retry")]
    Stale { stored: u64, given: u64 },
    /// HTTP 409: e.g. resolving (or acknowledging, snoozing) a resolved alert.
    #[error("the alert is already {}", .0.as_str())]
    Already(AlertStatus),
    /// HTTP 400: the input is out of bounds; `field` names it.
    #[error("{field}: {problem}")]
    Invalid {
        field: &'static str,
        problem: String,
    },
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

    /// The one status command (API, dashboard, auto-resolve): checks and bounds the change,
    /// re-reads the alert, refuses it if `expected_version` (what the caller saw) is not the
    /// stored version, applies it as a transition by `by`, writes version + 1 and audits it as
    /// `alert.<verb>` with id `alert:<id>:v<version>`. A lost write race is retried (re-read);
    /// with an expected version the retry then answers [`LifecycleError::Stale`].
    pub async fn change_status(
        &self,
        alert_id: &str,
        by: &str,
        expected_version: Option<u64>,
        change: StatusChange,
        limits: StatusLimits,
    ) -> Result<Alert, LifecycleError> {
        let change = change.checked(limits, self.clock.now())?;
        let action = format!("alert.{}", change.verb());
        self.change(alert_id, by, &action, |alert, now| {
            if let Some(given) = expected_version.filter(|v| *v != alert.version) {
                return Err(LifecycleError::Stale {
                    stored: alert.version,
                    given,
                });
            }
            change.apply(alert, by, now)?;
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
            let change = StatusChange::Resolve { note: Some(note) };
            let limits = StatusLimits::default();
            match self
                .change_status(&alert.id, AUTO_RESOLVER, None, change, limits)
                .await
            {
                Ok(_) => resolved.push(alert.id.clone()),
                Err(LifecycleError::Already(_)) | Err(LifecycleError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(resolved)
    }

    /// The alerts matching `query` that are open or acknowledged.
    async fn unresolved(&self, query: AlertQuery) -> Result<Vec<Alert>, LifecycleError> {
        let unresolved = |a: Alert| (a.status != AlertStatus::Resolved).then_some(a);
        Ok(collect_alerts(self.storage, &query, unresolved).await?)
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
            let ended = |a: Alert| match a.snoozed_until {
                Some(until) if until <= now => Some(SnoozeEnded {
                    alert_id: a.id,
                    until,
                    reason: a.snooze_reason,
                }),
                _ => None,
            };
            due.extend(collect_alerts(self.storage, &query, ended).await?);
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
                                "version": alert.version,
                                "owner": alert.owner,
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
