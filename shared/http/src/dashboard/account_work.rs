//! The working half of the account page: how the score moved over a week and a month and why,
//! and the account's outreach and interventions (draft status, follow-ups, score change after).
//! Its open alerts are the inbox's rows ([`super::alerts::AlertLine`]).

use serde::Serialize;
use vitals_core::history::HistoryDay;
use vitals_core::model::{Intervention, OutreachRoute};
use vitals_core::query::score_change::change_over;

/// "Week over week" or "Over 30 days": the sentence of the signals that moved, or none yet.
#[derive(Serialize)]
pub struct Change {
    label: &'static str,
    days: u32,
    sentence: Option<String>,
    since: Option<String>,
}

/// "Since last week" and "over 30 days" with the signals that moved.
pub fn changes(history: &[HistoryDay]) -> Vec<Change> {
    [(7, "Week over week"), (30, "Over 30 days")]
        .into_iter()
        .map(|(days, label)| {
            let change = change_over(history, days);
            Change {
                label,
                days,
                sentence: change.as_ref().map(|c| c.change.sentence()),
                since: change.map(|c| c.since.to_string()),
            }
        })
        .collect()
}

/// An intervention: when, which workflow, its outreach, where it stands, what it did.
#[derive(Serialize)]
pub struct InterventionLine {
    started: String,
    workflow: String,
    outreach: Option<Outreach>,
    status: String,
    /// "+5 after 7 days, +8 after 30 days"; empty: not measured yet.
    effect: String,
}

#[derive(Serialize)]
struct Outreach {
    subject: String,
    to: String,
}

impl InterventionLine {
    pub fn of(i: &Intervention) -> InterventionLine {
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
        InterventionLine {
            started: i.created_at.format("%Y-%m-%d").to_string(),
            workflow: i.workflow.replace('_', " "),
            outreach: i.outreach.as_ref().map(|o| Outreach {
                subject: o.subject.clone(),
                to: o
                    .contact_name
                    .as_deref()
                    .or(o.to.as_deref())
                    .unwrap_or("–")
                    .to_string(),
            }),
            status,
            effect: i
                .effect
                .iter()
                .map(|e| format!("{:+.0} after {} days", e.change, e.days))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}
