//! The reminder when a snooze ends: the alert is back, so whoever was notified when it opened
//! hears about it again. Delivered at least once under the delivery key
//! `snooze-ended:{alert}:{until}` (receivers and the outbox drop duplicates by it).

use serde_json::json;

use super::plan::{account_title, drivers_of};
use super::{Dispatch, DispatchError, DispatchReport, SnoozeEnded};
use crate::alerts::rules::{Action, ChannelConfig};
use crate::model::{AccountRecord, Alert, AlertStatus, AuditEntry, Severity};
use crate::notify::{Notification, NotificationKind};

impl Dispatch<'_> {
    pub(super) async fn remind_snooze_ended(
        &self,
        ended: &SnoozeEnded,
    ) -> Result<DispatchReport, DispatchError> {
        let mut report = DispatchReport::default();
        let Some(alert) = self.storage.get_alert(&ended.alert_id).await? else {
            report.skipped += 1;
            return Ok(report);
        };
        // Resolved meanwhile, or snoozed again: nothing to remind about now.
        let now = self.clock.now();
        if alert.status == AlertStatus::Resolved || alert.snoozed_until.is_some_and(|u| u > now) {
            report.skipped += 1;
            return Ok(report);
        }
        let account = self
            .storage
            .get_account(&alert.account_id)
            .await?
            .unwrap_or_else(|| AccountRecord::new(alert.account_id.clone()));
        let n = self.reminder(ended, &alert, &account);
        let detail = match self.config.channel(&n.channel) {
            Some(ChannelConfig::Log) => "recorded on the account".to_string(),
            None => {
                return Err(DispatchError::Permanent(format!(
                    "{}: unknown channel {:?}",
                    n.key, n.channel
                )))
            }
            Some(_) => match self.notifier.deliver(&n).await {
                Ok(d) => d.detail,
                Err(e) if e.is_retryable() => {
                    return Err(DispatchError::Retryable(format!("{}: {e}", n.key)))
                }
                Err(e) => return Err(DispatchError::Permanent(format!("{}: {e}", n.key))),
            },
        };
        self.storage
            .append_audit(&AuditEntry {
                id: n.key.clone(),
                at: now,
                account_id: Some(alert.account_id.clone()),
                actor: "vitals".into(),
                action: "alert.reminder".into(),
                detail: json!({"alert_id": alert.id, "channel": n.channel, "snoozed_until": ended.until, "reason": ended.reason, "detail": detail}),
            })
            .await?;
        report.delivered += 1;
        Ok(report)
    }

    fn reminder(
        &self,
        ended: &SnoozeEnded,
        alert: &Alert,
        account: &AccountRecord,
    ) -> Notification {
        let name = account_title(&account.profile, &alert.account_id);
        let recipients: Vec<String> = alert.owner.iter().cloned().collect();
        let channel = self.reminder_channel(alert, !recipients.is_empty());
        let severity = match alert.severity {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
        };
        let reason = ended
            .reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        let score = account.score.as_ref().map(|s| s.health().score);
        Notification {
            key: ended.delivery_key(),
            channel,
            kind: NotificationKind::Reminder,
            account_id: alert.account_id.clone(),
            account_name: account.profile.name.clone(),
            title: format!(
                "Snooze ended: {} alert for {name}",
                alert.kind.replace('_', " ")
            ),
            summary: format!(
                "The {severity} alert for {name} was snoozed until {}{reason}; it is {} again.",
                ended.until.format("%Y-%m-%d %H:%M UTC"),
                alert.status.as_str()
            ),
            severity: Some(alert.severity),
            score,
            previous_score: None,
            band: None,
            drivers: drivers_of(account),
            link: Some(self.links.account(&alert.account_id)),
            recipients,
            draft: None,
            workflow: alert
                .details
                .get("workflow")
                .and_then(|w| w.as_str())
                .unwrap_or("snooze")
                .to_string(),
            data: json!({"alert_id": alert.id, "snoozed_until": ended.until, "reason": ended.reason}),
        }
    }

    /// Where the reminder goes: the channel the alert was announced on by its workflow; else
    /// the owner's email; else the account's log (audit and timeline only).
    fn reminder_channel(&self, alert: &Alert, has_recipient: bool) -> String {
        let announced = alert
            .details
            .get("workflow")
            .and_then(|w| w.as_str())
            .and_then(|name| self.config.workflows.iter().find(|w| w.name == name))
            .and_then(|w| {
                w.actions.iter().find_map(|a| match a {
                    Action::Alert {
                        channel: Some(c), ..
                    } => Some(c.clone()),
                    _ => None,
                })
            });
        let needs_recipient = |c: &str| matches!(self.config.channel(c), Some(ChannelConfig::Email { to }) if to.is_empty());
        match announced {
            Some(c) if has_recipient || !needs_recipient(&c) => c,
            _ if has_recipient => "email".into(),
            _ => "log".into(),
        }
    }
}
