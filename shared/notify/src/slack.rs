//! Slack incoming-webhook messages in Block Kit: a header, the account with its score and band,
//! the drivers, the outreach draft (when there is one) and a button to open the account.

use serde_json::{json, Value};
use vitals_core::model::Severity;
use vitals_core::notify::{Notification, NotificationKind};

/// Slack limits a section's text to 3,000 characters.
const SECTION_MAX: usize = 2900;

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

/// The webhook body for a notification.
pub fn payload(n: &Notification) -> Value {
    let icon = match (n.severity, n.kind) {
        (Some(Severity::Critical), _) => ":red_circle:",
        (Some(Severity::Warning), _) => ":large_orange_circle:",
        (_, NotificationKind::Task) => ":white_check_mark:",
        (_, NotificationKind::OutreachReview | NotificationKind::Outreach) => ":email:",
        (_, NotificationKind::Escalation) => ":rotating_light:",
        _ => ":bell:",
    };
    let account = n
        .account_name
        .clone()
        .unwrap_or_else(|| n.account_id.to_string());
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": clip(&n.title, 140), "emoji": true}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(&format!("{icon} {}", n.summary), SECTION_MAX)}}),
    ];
    let mut fields = vec![json!({"type": "mrkdwn", "text": format!("*Account*\n{account}")})];
    if let Some(score) = n.score {
        let change = n
            .previous_score
            .map(|p| format!(" ({:+.0})", score - p))
            .unwrap_or_default();
        fields.push(json!({"type": "mrkdwn", "text": format!("*Score*\n{score:.0}{change}")}));
    }
    if let Some(band) = n.band {
        fields.push(json!({"type": "mrkdwn", "text": format!("*Band*\n{}", band.as_str().replace('_', " "))}));
    }
    if let Some(sev) = n.severity {
        let word = match sev {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
        };
        fields.push(json!({"type": "mrkdwn", "text": format!("*Severity*\n{word}")}));
    }
    if let Some(p) = n.data.get("priority").and_then(Value::as_str) {
        fields.push(json!({"type": "mrkdwn", "text": format!("*Priority*\n{p}")}));
    }
    if !n.recipients.is_empty() {
        fields
            .push(json!({"type": "mrkdwn", "text": format!("*For*\n{}", n.recipients.join(", "))}));
    }
    blocks.push(json!({"type": "section", "fields": fields}));
    if !n.drivers.is_empty() {
        let list = n
            .drivers
            .iter()
            .map(|d| format!("• {d}"))
            .collect::<Vec<_>>()
            .join("\n");
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(&format!("*Drivers*\n{list}"), SECTION_MAX)}}));
    }
    if let Some(draft) = &n.draft {
        blocks.push(json!({"type": "divider"}));
        let to = draft
            .to
            .as_deref()
            .map(|t| format!(" to {t}"))
            .unwrap_or_default();
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(
            &format!("*Outreach draft{to}*\n*Subject:* {}\n```{}```", draft.subject, draft.body),
            SECTION_MAX,
        )}}));
    }
    if let Some(link) = &n.link {
        blocks.push(json!({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open account"}, "url": link, "action_id": "open_account"}
        ]}));
    }
    blocks.push(json!({"type": "context", "elements": [
        {"type": "mrkdwn", "text": format!("workflow `{}` · delivery `{}`", n.workflow, n.key)}
    ]}));
    json!({
        // Notification text (mobile push, screen readers), then the blocks.
        "text": clip(&format!("{}: {}", n.title, n.summary), 300),
        "blocks": blocks,
    })
}
