//! The delivery port: how a workflow action reaches people (Slack, email, signed webhooks,
//! CRM/helpdesk tasks). Use cases build a [`Notification`] naming a configured channel; the
//! adapters in `vitals-notify` format and send it. Every notification carries an idempotency
//! key that receivers also get, so a redelivered message is recognisable downstream.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::model::{AccountId, Band, Severity};

/// A secret value (signing key, webhook URL with a token, SMTP password). Its `Debug` and
/// `Display` never show the value, so it cannot end up in a log line by accident.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one place that needs it (signing, connecting).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// What a notification is about, for formatting and for receivers that route by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// An alert for the CS team.
    Alert,
    /// A task for the owning CSM (e.g. an expansion opportunity).
    Task,
    /// A support ticket.
    Ticket,
    /// An outreach email sent to the customer's contact.
    Outreach,
    /// An outreach draft routed to the CSM for review before sending.
    OutreachReview,
    /// A reminder that something is due (follow-up).
    Reminder,
    /// An escalation to the owner's manager.
    Escalation,
    /// An email or in-app campaign started for the account.
    Campaign,
    /// A generic webhook call with the triggering event.
    Webhook,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Alert => "alert",
            NotificationKind::Task => "task",
            NotificationKind::Ticket => "ticket",
            NotificationKind::Outreach => "outreach",
            NotificationKind::OutreachReview => "outreach_review",
            NotificationKind::Reminder => "reminder",
            NotificationKind::Escalation => "escalation",
            NotificationKind::Campaign => "campaign",
            NotificationKind::Webhook => "webhook",
        }
    }
}

/// An outreach draft: what would be (or was) sent to the customer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub to: Option<String>,
    pub to_name: Option<String>,
    pub from: Option<String>,
    pub subject: String,
    pub body: String,
}

/// One notification to deliver through one configured channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Idempotency key: the same key is never delivered twice by Vitals, and receivers get it
    /// (`X-Vitals-Delivery`) to dedupe the rare redelivery after a crash.
    pub key: String,
    /// Name of a channel in `[alerts.channels]`.
    pub channel: String,
    pub kind: NotificationKind,
    pub account_id: AccountId,
    pub account_name: Option<String>,
    pub title: String,
    /// One or two sentences: what happened and why.
    pub summary: String,
    pub severity: Option<Severity>,
    pub score: Option<f64>,
    pub previous_score: Option<f64>,
    pub band: Option<Band>,
    /// The biggest score drivers, in words ("seat adoption 41% → 22%").
    #[serde(default)]
    pub drivers: Vec<String>,
    /// Link to the account in the dashboard.
    pub link: Option<String>,
    /// Email recipients (owner, manager, contact); Slack and webhooks may mention them.
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Outreach draft, when the action has one.
    pub draft: Option<Draft>,
    /// The workflow that produced it.
    pub workflow: String,
    /// Extra figures (the score event, priority, campaign name...), for webhook templates.
    #[serde(default)]
    pub data: serde_json::Value,
}

/// Receipt of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivered {
    /// What the receiver said (HTTP status, message id, outbox file), for the audit log.
    pub detail: String,
}

/// A delivery failure, split by whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    /// Timeouts, connection failures, 5xx and 429: worth another attempt later.
    #[error("delivery failed, will retry: {0}")]
    Retryable(String),
    /// 4xx, an invalid payload or template: retrying the same thing cannot help.
    #[error("delivery failed permanently: {0}")]
    Permanent(String),
    /// The destination is a private, loopback, link-local or metadata address not allowed by
    /// `alerts.allow_private_destinations`, or redirects there.
    #[error("destination refused: {0}")]
    Refused(String),
    #[error("no channel named {0:?} is configured")]
    UnknownChannel(String),
}

impl NotifyError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, NotifyError::Retryable(_))
    }
}

/// Delivers notifications. Implementations must not log secrets or message bodies.
#[async_trait]
pub trait Notifier: Send + Sync {
    async fn deliver(&self, notification: &Notification) -> Result<Delivered, NotifyError>;
}

/// A notifier that records what it was asked to deliver: for tests and dry runs.
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    sent: std::sync::Mutex<Vec<Notification>>,
}

impl RecordingNotifier {
    pub fn sent(&self) -> Vec<Notification> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Notifier for RecordingNotifier {
    async fn deliver(&self, notification: &Notification) -> Result<Delivered, NotifyError> {
        if let Ok(mut sent) = self.sent.lock() {
            sent.push(notification.clone());
        }
        Ok(Delivered {
            detail: "recorded".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_or_display() {
        let s = Secret::new("hunter2-signing-key");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(s.expose(), "hunter2-signing-key");
    }
}
