//! The vocabulary of `[alerts]` workflows: triggers, conditions, actions, channels and
//! templates. [`crate::config::AlertsConfig`] holds them with their defaults and validation.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::model::{Band, Severity};
use crate::notify::Secret;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    /// Sender when the account has no owner address.
    pub default_from: String,
    /// `vitals serve`: write emails as `.eml` files to this directory (default
    /// `<data>/outbox`) instead of sending them. Ignored when `smtp` is set.
    pub outbox: Option<PathBuf>,
    /// `vitals serve`: send through this SMTP server instead of the outbox.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp: Option<SmtpConfig>,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            default_from: "success@example.com".into(),
            outbox: None,
            smtp: None,
        }
    }
}

/// `[alerts.email.smtp]`: a mail server (submission with STARTTLS by default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default = "submission_port")]
    pub port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Inline password (prefer `password_env`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// Environment variable holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// Upgrade the connection with STARTTLS (required, certificate verified). `false` sends in
    /// plain text: only for a relay on the same host, and never with credentials.
    #[serde(default = "yes")]
    pub starttls: bool,
    /// Envelope sender (`MAIL FROM`); default: the email's `From` (the owner's address for
    /// outreach). Set it when the server only relays for one account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

fn submission_port() -> u16 {
    587
}

fn yes() -> bool {
    true
}

impl EmailConfig {
    /// Problems of `[alerts.email]`, each naming its key.
    pub fn validate(&self, issues: &mut Vec<crate::config::ConfigIssue>) {
        let Some(smtp) = &self.smtp else {
            return;
        };
        let mut issue = |key: &str, problem: &str| {
            issues.push(crate::config::ConfigIssue {
                key: format!("alerts.email.smtp.{key}"),
                problem: problem.into(),
            })
        };
        if smtp.host.trim().is_empty() {
            issue("host", "must name the mail server");
        }
        if smtp.port == 0 {
            issue("port", "must be between 1 and 65535");
        }
        let has_password = smtp.password.is_some() || smtp.password_env.is_some();
        if has_password && smtp.username.is_none() {
            issue("username", "is required with a password");
        }
        if smtp.username.is_some() && !has_password {
            issue(
                "password_env",
                "a username needs `password_env` (or `password`)",
            );
        }
        if has_password && !smtp.starttls {
            issue(
                "starttls",
                "must be true when credentials are set: they are never sent in plain text",
            );
        }
    }
}

/// Where notifications go. Secrets can be given inline or, better, through `*_env` (an
/// environment variable holding the value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChannelConfig {
    /// A Slack incoming webhook; messages use Block Kit.
    Slack {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<Secret>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url_env: Option<String>,
    },
    /// Email: SES in Lambda, the outbox directory (or SMTP) in `vitals serve`. Recipients come
    /// from the action (owner, manager, contact) unless `to` is set.
    Email {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        to: Vec<String>,
    },
    /// A generic webhook, signed with HMAC-SHA256 (`X-Vitals-Signature`). With `template`
    /// (minijinja rendering a JSON body) it creates CRM or helpdesk tasks.
    Webhook {
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret: Option<Secret>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret_env: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        template: Option<String>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
    },
    /// Recorded on the account (audit log, dashboard timeline) only: the default for tasks and
    /// tickets until a CRM or helpdesk is connected.
    Log,
    /// A Zendesk Support ticket (Tickets API, API token). `base_url`: `https://{subdomain}.zendesk.com`;
    /// `email`: the agent the token belongs to.
    Zendesk {
        base_url: String,
        email: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<Secret>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token_env: Option<String>,
    },
    /// A Linear issue in one team (GraphQL `issueCreate`, personal API key).
    Linear {
        team_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_key: Option<Secret>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_key_env: Option<String>,
        /// The GraphQL endpoint; left out: `https://api.linear.app/graphql`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_url: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateConfig {
    pub subject: String,
    pub body: String,
}

/// A rule: when `trigger` fires for an account and `when` holds, run `actions` in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    pub name: String,
    #[serde(default = "enabled")]
    pub enabled: bool,
    pub trigger: Trigger,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    pub actions: Vec<Action>,
}

fn enabled() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclineLevel {
    Moderate,
    Severe,
}

/// What starts a workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "on", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// The score changed by at least `min_change` points (negative: a drop of at least that).
    ScoreChanged {
        #[serde(default)]
        min_drop: Option<f64>,
    },
    /// The band changed, optionally to / from a given band.
    BandChanged {
        #[serde(default)]
        to: Option<Band>,
        #[serde(default)]
        from: Option<Band>,
    },
    /// Seed 002's usage decline, optionally only one severity.
    Decline {
        #[serde(default)]
        severity: Option<DeclineLevel>,
    },
    UsageMilestone {
        #[serde(default)]
        milestone: Option<String>,
    },
    /// Another workflow opened an alert (optionally of a kind / at least a severity).
    AlertFired {
        #[serde(default)]
        kind: Option<String>,
        #[serde(default)]
        severity: Option<Severity>,
    },
    /// The renewal is at most `days` away.
    RenewalWithin { days: i64 },
    /// High and rising score, seats near the limit, many active stakeholders.
    ExpansionSignal,
    /// An outreach got no response event within `alerts.follow_up_days`.
    NoResponse,
}

/// Conditions over the account and the event. Exactly one form per condition:
/// `{ all = [...] }`, `{ any = [...] }`, `{ not = {...} }`, or a test of `field` with one of
/// `equals`, `one_of`, `at_least`, `below`, `present`.
///
/// Fields: `tier`, `plan`, `region`, `product_line`, `owner`, `owner_manager`, `name`, `mrr`,
/// `arr`, `seats`, `score`, `band`, `high_value`, `decline`, `custom.<key>` (any attribute).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Condition {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub all: Vec<Condition>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub any: Vec<Condition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not: Option<Box<Condition>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub equals: Option<toml::Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub one_of: Vec<toml::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_least: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
}

impl Condition {
    pub fn field_equals(field: &str, value: impl Into<toml::Value>) -> Self {
        Condition {
            field: Some(field.into()),
            equals: Some(value.into()),
            ..Condition::default()
        }
    }

    pub fn all(conditions: Vec<Condition>) -> Self {
        Condition {
            all: conditions,
            ..Condition::default()
        }
    }

    pub fn any(conditions: Vec<Condition>) -> Self {
        Condition {
            any: conditions,
            ..Condition::default()
        }
    }
}

/// Who an outreach goes out as / to whom a draft is routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutreachMode {
    /// Sent to the contact from the owner's address.
    Auto,
    /// Routed to the owning CSM as an editable draft.
    Review,
    /// `auto` for standard accounts, `review` for high-value ones.
    ByValue,
}

/// Who receives a notification (email recipients, Slack mentions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    Owner,
    Manager,
    None,
}

/// What a workflow does, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Opens an alert (one per dedupe key: account + kind + cause) and notifies `channel`.
    /// Its severity follows the cause (`[alerts.severity]`); `severity` here applies to
    /// triggers without one (renewals, milestones...), default warning.
    Alert {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        severity: Option<Severity>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        channel: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        priority: Option<String>,
    },
    /// Notifies a channel about the event.
    Notify {
        channel: String,
        #[serde(default = "owner")]
        to: Recipient,
    },
    /// Creates a task for the owning CSM.
    Task {
        title: String,
        #[serde(default = "log_channel")]
        channel: String,
    },
    /// Creates a support ticket.
    Ticket {
        title: String,
        #[serde(default = "log_channel")]
        channel: String,
        #[serde(default = "normal")]
        priority: String,
    },
    /// A personalised outreach from `template`.
    Outreach {
        template: String,
        mode: OutreachMode,
        #[serde(default = "email_channel")]
        channel: String,
        /// Where high-value drafts are routed for review (besides the owner's email).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        review_channel: Option<String>,
    },
    /// Schedules a follow-up reminder: a `no_response` trigger after `alerts.follow_up_days`
    /// unless a response event arrives first.
    FollowUp,
    /// Escalates to the owner's manager.
    Escalate {
        #[serde(default = "email_channel")]
        channel: String,
    },
    /// Calls a webhook channel with the event.
    Webhook { channel: String },
    /// Starts an email or in-app campaign through a webhook channel.
    Campaign {
        campaign: String,
        #[serde(default = "email_medium")]
        medium: String,
        channel: String,
    },
}

fn owner() -> Recipient {
    Recipient::Owner
}
fn log_channel() -> String {
    "log".into()
}
fn email_channel() -> String {
    "email".into()
}
fn normal() -> String {
    "normal".into()
}
fn email_medium() -> String {
    "email".into()
}

impl Action {
    /// Short name for logs and the audit trail.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Alert { .. } => "alert",
            Action::Notify { .. } => "notify",
            Action::Task { .. } => "task",
            Action::Ticket { .. } => "ticket",
            Action::Outreach { .. } => "outreach",
            Action::FollowUp => "follow_up",
            Action::Escalate { .. } => "escalate",
            Action::Webhook { .. } => "webhook",
            Action::Campaign { .. } => "campaign",
        }
    }

    /// The channel the action delivers through, if any.
    pub fn channels(&self) -> Vec<&str> {
        match self {
            Action::Alert { channel, .. } => channel.as_deref().into_iter().collect(),
            Action::Notify { channel, .. }
            | Action::Task { channel, .. }
            | Action::Ticket { channel, .. }
            | Action::Escalate { channel }
            | Action::Webhook { channel }
            | Action::Campaign { channel, .. } => vec![channel.as_str()],
            Action::Outreach {
                channel,
                review_channel,
                ..
            } => std::iter::once(channel.as_str())
                .chain(review_channel.as_deref())
                .collect(),
            Action::FollowUp => vec![],
        }
    }
}

/// Condition fields that are not `custom.<key>`.
pub const CONDITION_FIELDS: [&str; 15] = [
    "tier",
    "plan",
    "region",
    "product_line",
    "owner",
    "owner_manager",
    "name",
    "mrr",
    "arr",
    "seats",
    "score",
    "band",
    "high_value",
    "decline",
    "account_id",
];
