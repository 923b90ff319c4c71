//! Workflows (trigger, conditions, actions), notification channels, outreach templates and the
//! alerting policy (cooldown, high-value threshold, follow-up and effectiveness windows).
//!
//! The shipped defaults implement seeds 000 and 002: at-risk → churn-prevention alert and
//! ticket; healthy and rising → expansion task; moderate decline on a standard account →
//! automatic personalised check-in; severe decline or a high-value account → CSM alert with
//! high priority and an editable outreach draft; no response in 7 days → follow-up.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ConfigIssue;
pub use crate::alerts::rules::{
    Action, ChannelConfig, Condition, DeclineLevel, EmailConfig, OutreachMode, SmtpConfig,
    TemplateConfig, Trigger, Workflow, CONDITION_FIELDS,
};
use crate::model::{Band, Severity};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Deprecated: links use `[server] public_url`. Still read (a stored configuration may set
    /// it) and used when `public_url` is left at its default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_url: Option<String>,
    /// Score events about days more than this many days before the run that found them (a
    /// backfill, a late re-run) record history and alert state but notify nobody: no email,
    /// Slack, webhook or outreach, so a backfill never floods channels.
    pub notify_within_days: u32,
    /// The severity of an alert by its cause.
    pub severity: SeverityConfig,
    /// Accounts with at least this MRR are high-value: outreach goes to the CSM for review.
    pub high_value_mrr: f64,
    /// A workflow acts at most once per account within this many days (a decline reported
    /// again by the next daily run is not a new problem).
    pub cooldown_days: u32,
    /// After an alert is resolved, the same problem does not open a new one for this long.
    pub alert_cooldown_hours: u32,
    /// A follow-up is due this many days after an outreach without a response event.
    pub follow_up_days: u32,
    /// Days after an intervention at which the score change is recorded.
    pub effectiveness_days: Vec<u32>,
    /// Track events from the account that count as a response to outreach.
    pub response_events: Vec<String>,
    /// Hosts, IPs or CIDRs that webhooks and Slack may reach although they are private,
    /// loopback or link-local (SSRF protection). Empty in production; tests list 127.0.0.1.
    pub allow_private_destinations: Vec<String>,
    /// Attempts before a message goes to the dead-letter queue (the queue's receive limit).
    pub max_attempts: u32,
    /// The furthest a snooze may reach, in days from when it is set.
    pub max_snooze_days: u32,
    /// Email delivery in `vitals serve` (Lambda uses SES).
    pub email: EmailConfig,
    /// Named notification channels that actions refer to.
    pub channels: BTreeMap<String, ChannelConfig>,
    /// Outreach templates (minijinja), by name.
    pub templates: BTreeMap<String, TemplateConfig>,
    /// A helpful tip per use case: keyed by feature, product line or tier; `default` otherwise.
    pub tips: BTreeMap<String, String>,
    pub workflows: Vec<Workflow>,
}

impl AlertsConfig {
    /// The bounds a status change must respect.
    pub fn status_limits(&self) -> crate::alerts::status::StatusLimits {
        crate::alerts::status::StatusLimits {
            max_snooze_days: self.max_snooze_days,
        }
    }
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            app_url: None,
            notify_within_days: 2,
            severity: SeverityConfig::default(),
            high_value_mrr: 5000.0,
            cooldown_days: 14,
            alert_cooldown_hours: 72,
            follow_up_days: 7,
            effectiveness_days: vec![14, 30],
            response_events: vec![
                "Email Replied".into(),
                "Outreach Replied".into(),
                "Meeting Booked".into(),
            ],
            allow_private_destinations: vec![],
            max_attempts: 5,
            max_snooze_days: 90,
            email: EmailConfig::default(),
            channels: default_channels(),
            templates: default_templates(),
            tips: default_tips(),
            workflows: default_workflows(),
        }
    }
}

/// `[alerts.severity]`: how serious an alert is follows what caused it. An alert action's own
/// `severity` applies only to triggers without a cause here (renewals, milestones...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeverityConfig {
    /// Seed 002: 40-60% below the 90-day average.
    pub decline_moderate: Severity,
    /// Seed 002: more than 60% below.
    pub decline_severe: Severity,
    /// The account entered the at-risk band.
    pub at_risk: Severity,
}

impl Default for SeverityConfig {
    fn default() -> Self {
        SeverityConfig {
            decline_moderate: Severity::Warning,
            decline_severe: Severity::Critical,
            at_risk: Severity::Critical,
        }
    }
}

impl SeverityConfig {
    /// The severity an event's cause calls for, if it has one.
    pub fn for_event(&self, event: &crate::score_event::ScoreEvent) -> Option<Severity> {
        use crate::score_event::ScoreEventKind;
        match event.kind {
            ScoreEventKind::DeclineModerate => Some(self.decline_moderate),
            ScoreEventKind::DeclineSevere => Some(self.decline_severe),
            ScoreEventKind::BandChanged if event.band == Band::AtRisk => Some(self.at_risk),
            _ => None,
        }
    }
}

fn default_channels() -> BTreeMap<String, ChannelConfig> {
    BTreeMap::from([
        ("email".to_string(), ChannelConfig::Email { to: vec![] }),
        ("log".to_string(), ChannelConfig::Log),
    ])
}

fn default_templates() -> BTreeMap<String, TemplateConfig> {
    BTreeMap::from([
        (
            "check_in".to_string(),
            TemplateConfig {
                subject: "Checking in on {{ account.name }}".into(),
                body: "Hi {{ contact.first_name }},\n\n\
I noticed it has been a little while since you last used {{ product }}\
{% if last_active %} (your last visit was on {{ last_active }}){% endif %}. \
{% if feature %}Last time you were working with {{ feature }}. {% endif %}\
Here is something that might help: {{ tip }}\n\n\
Is there anything I can help with? Just reply to this email.\n\n\
Best,\n{{ sender.name }}"
                    .into(),
            },
        ),
        (
            "follow_up".to_string(),
            TemplateConfig {
                subject: "Following up: {{ account.name }}".into(),
                body: "Hi {{ contact.first_name }},\n\n\
Following up on my note from last week. {% if feature %}If {{ feature }} is still \
part of your workflow, {% endif %}{{ tip }}\n\n\
Would 20 minutes this week work for a quick call?\n\n\
Best,\n{{ sender.name }}"
                    .into(),
            },
        ),
    ])
}

fn default_tips() -> BTreeMap<String, String> {
    BTreeMap::from([(
        "default".to_string(),
        "our quick-start guide walks through the three features teams like yours get the most out of.".to_string(),
    )])
}

fn default_workflows() -> Vec<Workflow> {
    let high_value = || Condition::field_equals("high_value", true);
    let standard = || Condition::field_equals("high_value", false);
    vec![
        Workflow {
            name: "churn-prevention".into(),
            enabled: true,
            trigger: Trigger::BandChanged {
                to: Some(Band::AtRisk),
                from: None,
            },
            when: None,
            actions: vec![
                Action::Alert {
                    severity: None,
                    kind: Some("at_risk".into()),
                    channel: Some("email".into()),
                    priority: None,
                },
                Action::Ticket {
                    title: "Churn risk: {{ account.name }} is at risk (score {{ score }})".into(),
                    channel: "log".into(),
                    priority: "high".into(),
                },
            ],
        },
        Workflow {
            name: "expansion".into(),
            enabled: true,
            trigger: Trigger::ExpansionSignal,
            when: None,
            actions: vec![Action::Task {
                title: "Expansion opportunity: {{ account.name }} is healthy and rising".into(),
                channel: "log".into(),
            }],
        },
        Workflow {
            name: "decline-check-in".into(),
            enabled: true,
            trigger: Trigger::Decline {
                severity: Some(DeclineLevel::Moderate),
            },
            when: Some(standard()),
            actions: vec![
                Action::Outreach {
                    template: "check_in".into(),
                    mode: OutreachMode::Auto,
                    channel: "email".into(),
                    review_channel: None,
                },
                Action::FollowUp,
            ],
        },
        Workflow {
            name: "decline-csm-alert".into(),
            enabled: true,
            trigger: Trigger::Decline { severity: None },
            when: Some(Condition::any(vec![
                Condition::field_equals("decline", "severe"),
                high_value(),
            ])),
            actions: vec![
                Action::Alert {
                    severity: None,
                    kind: Some("usage_decline".into()),
                    channel: None,
                    priority: Some("high".into()),
                },
                Action::Outreach {
                    template: "check_in".into(),
                    mode: OutreachMode::Review,
                    channel: "email".into(),
                    review_channel: None,
                },
                Action::FollowUp,
            ],
        },
        Workflow {
            name: "outreach-follow-up".into(),
            enabled: true,
            trigger: Trigger::NoResponse,
            when: None,
            actions: vec![
                Action::Outreach {
                    template: "follow_up".into(),
                    mode: OutreachMode::ByValue,
                    channel: "email".into(),
                    review_channel: None,
                },
                Action::Task {
                    title: "No response from {{ account.name }} after {{ follow_up_days }} days: follow up".into(),
                    channel: "log".into(),
                },
            ],
        },
        Workflow {
            name: "renewal-preparation".into(),
            enabled: true,
            trigger: Trigger::RenewalWithin { days: 60 },
            when: None,
            actions: vec![Action::Task {
                title: "Prepare the renewal of {{ account.name }}".into(),
                channel: "log".into(),
            }],
        },
    ]
}

impl AlertsConfig {
    /// A channel by name; `email` and `log` exist even when `[alerts.channels]` omits them.
    pub fn channel(&self, name: &str) -> Option<ChannelConfig> {
        self.channels.get(name).cloned().or_else(|| match name {
            "email" => Some(ChannelConfig::Email { to: vec![] }),
            "log" => Some(ChannelConfig::Log),
            _ => None,
        })
    }

    /// Every channel, the built-in `email` and `log` included.
    pub fn all_channels(&self) -> BTreeMap<String, ChannelConfig> {
        let mut all = default_channels();
        all.extend(self.channels.clone());
        all
    }

    /// Adds this section's problems, each naming its key (`alerts.…`).
    pub fn validate(&self, issues: &mut Vec<ConfigIssue>) {
        let mut issue = |key: String, problem: String| issues.push(ConfigIssue { key, problem });
        if !(self.high_value_mrr.is_finite() && self.high_value_mrr >= 0.0) {
            issue(
                "alerts.high_value_mrr".into(),
                "must be a non-negative amount".into(),
            );
        }
        if self.follow_up_days == 0 {
            issue("alerts.follow_up_days".into(), "must be at least 1".into());
        }
        if self.max_attempts == 0 {
            issue("alerts.max_attempts".into(), "must be at least 1".into());
        }
        if self.max_snooze_days == 0 || self.max_snooze_days > 3650 {
            issue(
                "alerts.max_snooze_days".into(),
                "must be between 1 and 3650".into(),
            );
        }
        for (i, d) in self.effectiveness_days.iter().enumerate() {
            if *d == 0 || *d > 365 {
                issue(
                    format!("alerts.effectiveness_days[{i}]"),
                    "must be between 1 and 365".into(),
                );
            }
        }
        if let Some(url) = &self.app_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                issue(
                    "alerts.app_url".into(),
                    "must be an http:// or https:// URL".into(),
                );
            }
        }
        if self.notify_within_days > 3650 {
            issue(
                "alerts.notify_within_days".into(),
                "must be at most 3650".into(),
            );
        }
        for (i, entry) in self.allow_private_destinations.iter().enumerate() {
            if entry.trim().is_empty() {
                issue(
                    format!("alerts.allow_private_destinations[{i}]"),
                    "must be a host name, an IP address or a CIDR".into(),
                );
            }
        }
        for (name, channel) in &self.channels {
            let key = format!("alerts.channels.{name}");
            match channel {
                ChannelConfig::Slack { url, url_env } => match (url, url_env) {
                    (None, None) => issue(key, "a slack channel needs `url` or `url_env`".into()),
                    (Some(url), _)
                        if !url.expose().starts_with("https://")
                            && !url.expose().starts_with("http://") =>
                    {
                        issue(format!("{key}.url"), "must be an http(s) URL".into())
                    }
                    _ => {}
                },
                ChannelConfig::Webhook { url, template, .. } => {
                    if !(url.starts_with("https://") || url.starts_with("http://")) {
                        issue(format!("{key}.url"), "must be an http(s) URL".into());
                    }
                    if let Some(t) = template {
                        if let Err(e) = minijinja::Environment::new().template_from_str(t) {
                            issue(
                                format!("{key}.template"),
                                format!("is not a valid template: {e}"),
                            );
                        }
                    }
                }
                ChannelConfig::Zendesk {
                    base_url,
                    email,
                    token,
                    token_env,
                } => {
                    if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
                        issue(
                            format!("{key}.base_url"),
                            "must be an http(s) URL, e.g. \"https://acme.zendesk.com\"".into(),
                        );
                    }
                    if !email.contains('@') {
                        issue(
                            format!("{key}.email"),
                            "must be the email of the agent the API token belongs to".into(),
                        );
                    }
                    if token.is_none() && token_env.is_none() {
                        issue(
                            key.clone(),
                            "a zendesk channel needs `token` or `token_env`".into(),
                        );
                    }
                }
                ChannelConfig::Linear {
                    team_id,
                    api_key,
                    api_key_env,
                    api_url,
                } => {
                    if team_id.trim().is_empty() {
                        issue(format!("{key}.team_id"), "must name the Linear team".into());
                    }
                    if api_key.is_none() && api_key_env.is_none() {
                        issue(
                            key.clone(),
                            "a linear channel needs `api_key` or `api_key_env`".into(),
                        );
                    }
                    if let Some(url) = api_url {
                        if !(url.starts_with("https://") || url.starts_with("http://")) {
                            issue(format!("{key}.api_url"), "must be an http(s) URL".into());
                        }
                    }
                }
                ChannelConfig::Email { .. } | ChannelConfig::Log => {}
            }
        }
        for (name, t) in &self.templates {
            for (part, text) in [("subject", &t.subject), ("body", &t.body)] {
                if let Err(e) = minijinja::Environment::new().template_from_str(text) {
                    issue(
                        format!("alerts.templates.{name}.{part}"),
                        format!("is not a valid template: {e}"),
                    );
                }
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, w) in self.workflows.iter().enumerate() {
            let key = format!("alerts.workflows[{i}]");
            if w.name.trim().is_empty() {
                issue(format!("{key}.name"), "must not be empty".into());
            } else if !names.insert(w.name.as_str()) {
                issue(
                    format!("{key}.name"),
                    format!("{:?} is used by another workflow", w.name),
                );
            }
            if let Trigger::RenewalWithin { days } = w.trigger {
                if days <= 0 {
                    issue(format!("{key}.trigger.days"), "must be at least 1".into());
                }
            }
            if let Some(c) = &w.when {
                validate_condition(c, &format!("{key}.when"), &mut issue);
            }
            if w.actions.is_empty() {
                issue(
                    format!("{key}.actions"),
                    "must list at least one action".into(),
                );
            }
            for (j, a) in w.actions.iter().enumerate() {
                let akey = format!("{key}.actions[{j}]");
                for channel in a.channels() {
                    if self.channel(channel).is_none() {
                        issue(
                            format!("{akey}.channel"),
                            format!("unknown channel {channel:?} (not in alerts.channels)"),
                        );
                    }
                }
                match a {
                    Action::Outreach { template, .. } if !self.templates.contains_key(template) => {
                        issue(
                            format!("{akey}.template"),
                            format!("unknown template {template:?} (not in alerts.templates)"),
                        );
                    }
                    Action::Task { title, .. } | Action::Ticket { title, .. } => {
                        if let Err(e) = minijinja::Environment::new().template_from_str(title) {
                            issue(
                                format!("{akey}.title"),
                                format!("is not a valid template: {e}"),
                            );
                        }
                    }
                    _ => {}
                }
            }
        }
        self.email.validate(issues);
    }
}

fn validate_condition(c: &Condition, key: &str, issue: &mut impl FnMut(String, String)) {
    let forms = usize::from(!c.all.is_empty())
        + usize::from(!c.any.is_empty())
        + usize::from(c.not.is_some())
        + usize::from(c.field.is_some());
    if forms != 1 {
        issue(
            key.to_string(),
            "must have exactly one of `all`, `any`, `not` or `field`".into(),
        );
        return;
    }
    for (i, sub) in c.all.iter().enumerate() {
        validate_condition(sub, &format!("{key}.all[{i}]"), issue);
    }
    for (i, sub) in c.any.iter().enumerate() {
        validate_condition(sub, &format!("{key}.any[{i}]"), issue);
    }
    if let Some(sub) = &c.not {
        validate_condition(sub, &format!("{key}.not"), issue);
    }
    if let Some(field) = &c.field {
        let known = CONDITION_FIELDS.contains(&field.as_str())
            || field.strip_prefix("custom.").is_some_and(|k| !k.is_empty());
        if !known {
            issue(
                format!("{key}.field"),
                format!(
                    "unknown field {field:?}; use one of {} or custom.<attribute>",
                    CONDITION_FIELDS.join(", ")
                ),
            );
        }
        let tests = usize::from(c.equals.is_some())
            + usize::from(!c.one_of.is_empty())
            + usize::from(c.at_least.is_some())
            + usize::from(c.below.is_some())
            + usize::from(c.present.is_some());
        if tests != 1 {
            issue(
                key.to_string(),
                "a field condition needs exactly one of `equals`, `one_of`, `at_least`, `below`, `present`".into(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ChannelConfig;
    use crate::config::VitalsConfig;

    #[test]
    fn defaults_are_valid_and_round_trip() {
        let text = VitalsConfig::default_toml();
        let parsed = VitalsConfig::parse(&text).unwrap();
        assert_eq!(parsed.alerts, super::AlertsConfig::default());
    }

    #[test]
    fn a_workflow_can_be_written_in_toml() {
        let text = r#"
[alerts]
allow_private_destinations = ["127.0.0.1"]

[alerts.channels.cs-slack]
type = "slack"
url = "https://hooks.slack.com/services/T/B/X"

[[alerts.workflows]]
name = "emea-enterprise-at-risk"
trigger = { on = "band_changed", to = "at_risk" }
when = { all = [ { field = "tier", equals = "enterprise" }, { field = "region", one_of = ["emea", "uk"] }, { field = "mrr", at_least = 1000.0 } ] }
actions = [ { type = "alert", severity = "critical", channel = "cs-slack" }, { type = "escalate" } ]
"#;
        let config = VitalsConfig::parse(text).unwrap();
        assert_eq!(config.alerts.workflows.len(), 1);
        assert_eq!(config.alerts.workflows[0].actions.len(), 2);
    }

    #[test]
    fn problems_name_their_keys() {
        let text = r#"
[alerts]
follow_up_days = 0

[alerts.channels.hook]
type = "webhook"
url = "ftp://example.com"

[[alerts.workflows]]
name = "x"
trigger = { on = "renewal_within", days = 0 }
when = { field = "colour", equals = "red" }
actions = [ { type = "notify", channel = "nowhere" }, { type = "outreach", template = "nope", mode = "auto" } ]
"#;
        let err = VitalsConfig::parse(text).unwrap_err().to_string();
        for expected in [
            "alerts.follow_up_days: must be at least 1",
            "alerts.channels.hook.url: must be an http(s) URL",
            "alerts.workflows[0].trigger.days: must be at least 1",
            "alerts.workflows[0].when.field: unknown field \"colour\"",
            "alerts.workflows[0].actions[0].channel: unknown channel \"nowhere\"",
            "alerts.workflows[0].actions[1].template: unknown template \"nope\"",
        ] {
            assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
        }
    }

    #[test]
    fn help_desk_channels_read_as_the_readme_shows_and_name_missing_credentials() {
        let text = r#"
[alerts.channels.zendesk]
type = "zendesk"
base_url = "https://acme.zendesk.com"
email = "cs-bot@acme.com"
token_env = "ZENDESK_API_TOKEN"

[alerts.channels.linear]
type = "linear"
team_id = "9cfb482a-81e3-4154-b5b9-2c805e70a02d"
api_key_env = "LINEAR_API_KEY"

[[alerts.workflows]]
name = "at-risk-ticket"
trigger = { on = "band_changed", to = "at_risk" }

[[alerts.workflows.actions]]
type = "ticket"
title = "Churn risk: {{ account.name }} (score {{ score }})"
priority = "high"
channel = "zendesk"
"#;
        let config = VitalsConfig::parse(text).unwrap();
        assert!(matches!(
            config.alerts.channels["linear"],
            ChannelConfig::Linear { api_url: None, .. }
        ));
        let err = VitalsConfig::parse(
            "[alerts.channels.z]\ntype = \"zendesk\"\nbase_url = \"acme\"\nemail = \"x\"\n",
        )
        .unwrap_err()
        .to_string();
        for expected in [
            "alerts.channels.z.base_url: must be an http(s) URL",
            "alerts.channels.z.email: must be the email",
            "alerts.channels.z: a zendesk channel needs `token` or `token_env`",
        ] {
            assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
        }
    }

    #[test]
    fn conditions_need_exactly_one_form() {
        let text = r#"
[[alerts.workflows]]
name = "x"
trigger = { on = "expansion_signal" }
when = { field = "tier", equals = "a", below = 3.0 }
actions = [ { type = "follow_up" } ]
"#;
        let err = VitalsConfig::parse(text).unwrap_err().to_string();
        assert!(
            err.contains("alerts.workflows[0].when: a field condition needs exactly one"),
            "{err}"
        );
    }
}
