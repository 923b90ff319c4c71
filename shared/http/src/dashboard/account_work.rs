//! The working half of the account page: how the score moved over a week and a month and why,
//! the account's open alerts with their buttons, and its outreach and interventions (draft
//! status, follow-ups, score change after).

use chrono::{DateTime, Utc};
use vitals_core::model::{Alert, Intervention, OutreachRoute, ScoreRecord};
use vitals_core::query::score_change::change_over;

use super::alerts::alert_row;
use super::html::escape;
use crate::authn::Principal;

/// "Since last week" and "over 30 days" with the signals that moved.
pub fn change_card(history: &[ScoreRecord]) -> String {
    let mut s = String::from(r#"<div class="card" id="score-change"><h2>Score change</h2><table>"#);
    for (days, label) in [(7, "Week over week"), (30, "Over 30 days")] {
        match change_over(history, days) {
            Some(c) => put!(
                s,
                r#"<tr><th>{label}</th><td>{}</td><td class="muted">since {}</td></tr>"#,
                escape(&c.change.sentence()),
                c.since
            ),
            None => put!(
                s,
                r#"<tr><th>{label}</th><td class="muted">no score from {days} days before the latest yet</td><td></td></tr>"#
            ),
        }
    }
    s.push_str("</table></div>");
    s
}

/// The account's unresolved alerts, with the inbox's row and buttons.
pub fn alerts_card(
    open: &[Alert],
    name: Option<&str>,
    who: &Principal,
    csrf: &str,
    back: &str,
    now: DateTime<Utc>,
) -> String {
    let mut s = String::from(
        r#"<div class="card" id="open-alerts"><h2>Open alerts</h2><table><tr><th>Account</th><th>What fired and why</th><th>Age</th><th>Owner</th><th>Status</th><th>Actions</th></tr>"#,
    );
    for a in open {
        s.push_str(&alert_row(a, name, who, csrf, back, now));
    }
    if open.is_empty() {
        s.push_str(r#"<tr><td colspan="6" class="muted">No open alert.</td></tr>"#);
    }
    s.push_str("</table></div>");
    s
}

/// Outreach drafts and sends, and what each intervention did to the score.
pub fn interventions_card(interventions: &[Intervention]) -> String {
    let mut s = String::from(
        r#"<div class="card" id="interventions"><h2>Outreach and interventions</h2><table><tr><th>Started</th><th>Workflow</th><th>Outreach</th><th>Status</th><th>Score after</th></tr>"#,
    );
    for i in interventions {
        let outreach = i.outreach.as_ref().map_or_else(
            || r#"<span class="muted">none</span>"#.to_string(),
            |o| {
                format!(
                    "{}<br><span class=\"muted\">to {}</span>",
                    escape(&o.subject),
                    escape(o.contact_name.as_deref().or(o.to.as_deref()).unwrap_or("–"))
                )
            },
        );
        let status = match (&i.outreach, i.responded_on, i.follow_up_due) {
            (_, Some(day), _) => format!("answered on {day}"),
            (Some(o), None, due) => {
                let sent = match o.route {
                    OutreachRoute::Review => "draft for the CSM to review",
                    OutreachRoute::Sent => "sent",
                };
                match due {
                    Some(d) if i.follow_up_sent => format!("{sent}; followed up ({d})"),
                    Some(d) => format!("{sent}; follow-up due {d}"),
                    None => sent.to_string(),
                }
            }
            (None, None, _) if i.is_complete() => "done".into(),
            _ => "in progress".into(),
        };
        let effect = if i.effect.is_empty() {
            r#"<span class="muted">not measured yet</span>"#.to_string()
        } else {
            i.effect
                .iter()
                .map(|e| format!("{:+.0} after {} days", e.change, e.days))
                .collect::<Vec<_>>()
                .join(", ")
        };
        put!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{outreach}</td><td>{}</td><td>{effect}</td></tr>",
            i.created_at.format("%Y-%m-%d"),
            escape(&i.workflow.replace('_', " ")),
            escape(&status)
        );
    }
    if interventions.is_empty() {
        s.push_str(r#"<tr><td colspan="5" class="muted">No intervention yet.</td></tr>"#);
    }
    s.push_str("</table></div>");
    s
}
