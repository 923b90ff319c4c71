//! Which non-product events feed which signals (support tickets, surveys, training, check-ins,
//! invoices, outcomes). Defaults follow Segment's spec naming where one exists; help desks, survey
//! tools and billing systems that name events differently are mapped here.

use serde::{Deserialize, Serialize};
use vitals_scoring::{SurveyKind, TicketSeverity};

use super::ConfigIssue;
use crate::model::OutcomeKind;
use crate::rollup::MappedSignal;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignalMapping {
    /// Events that open a support ticket.
    pub ticket_opened_events: Vec<String>,
    /// Events that resolve a support ticket.
    pub ticket_resolved_events: Vec<String>,
    /// Properties holding a ticket's severity, first present wins (`low`, `normal`/`medium`,
    /// `high`, `urgent`/`critical`, `p1`-`p4`, or 1-4 with 1 most severe). Default: normal.
    pub ticket_severity_properties: Vec<String>,
    /// Survey answers whose kind comes from `survey_kind_property` (`nps`, `csat`, `ces`).
    pub survey_events: Vec<String>,
    /// Survey answers that are always NPS (0-10).
    pub nps_events: Vec<String>,
    /// Survey answers that are always CSAT (1-5).
    pub csat_events: Vec<String>,
    /// Survey answers that are always CES (1-7, higher is easier).
    pub ces_events: Vec<String>,
    /// Property naming the survey kind of a `survey_events` answer. Default: NPS.
    pub survey_kind_property: String,
    /// Properties holding the answer, first present wins.
    pub survey_score_properties: Vec<String>,
    pub training_events: Vec<String>,
    pub checkin_events: Vec<String>,
    pub invoice_overdue_events: Vec<String>,
    pub invoice_paid_events: Vec<String>,
    /// Outcome events, recorded on the account profile (`outcomes`).
    pub churned_events: Vec<String>,
    pub renewed_events: Vec<String>,
    pub expanded_events: Vec<String>,
    pub downgraded_events: Vec<String>,
    /// Whether mapped events also count as product usage (activity, users, features).
    pub count_as_usage: bool,
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_string()).collect()
}

impl Default for SignalMapping {
    fn default() -> Self {
        SignalMapping {
            ticket_opened_events: names(&["Ticket Opened", "Ticket Created"]),
            ticket_resolved_events: names(&["Ticket Resolved", "Ticket Closed", "Ticket Solved"]),
            ticket_severity_properties: names(&["severity", "priority"]),
            survey_events: names(&["Survey Responded", "Survey Submitted"]),
            nps_events: names(&["NPS Survey Responded", "NPS Responded"]),
            csat_events: names(&["CSAT Survey Responded"]),
            ces_events: names(&["CES Survey Responded"]),
            survey_kind_property: "survey_type".into(),
            survey_score_properties: names(&["score", "rating", "value"]),
            training_events: names(&["Training Completed", "Course Completed"]),
            checkin_events: names(&["CSM Check-in Logged", "Check-in Completed"]),
            invoice_overdue_events: names(&["Invoice Overdue", "Payment Failed"]),
            invoice_paid_events: names(&["Invoice Paid", "Payment Succeeded"]),
            churned_events: names(&["Account Churned", "Subscription Cancelled"]),
            renewed_events: names(&["Account Renewed", "Subscription Renewed"]),
            expanded_events: names(&["Account Expanded", "Subscription Upgraded"]),
            downgraded_events: names(&["Account Downgraded", "Subscription Downgraded"]),
            count_as_usage: false,
        }
    }
}

impl SignalMapping {
    fn lists(&self) -> [(&'static str, &[String], MappedSignal); 14] {
        [
            (
                "ticket_opened_events",
                &self.ticket_opened_events,
                MappedSignal::TicketOpened,
            ),
            (
                "ticket_resolved_events",
                &self.ticket_resolved_events,
                MappedSignal::TicketResolved,
            ),
            (
                "survey_events",
                &self.survey_events,
                MappedSignal::Survey(None),
            ),
            (
                "nps_events",
                &self.nps_events,
                MappedSignal::Survey(Some(SurveyKind::Nps)),
            ),
            (
                "csat_events",
                &self.csat_events,
                MappedSignal::Survey(Some(SurveyKind::Csat)),
            ),
            (
                "ces_events",
                &self.ces_events,
                MappedSignal::Survey(Some(SurveyKind::Ces)),
            ),
            (
                "training_events",
                &self.training_events,
                MappedSignal::Training,
            ),
            (
                "checkin_events",
                &self.checkin_events,
                MappedSignal::CheckIn,
            ),
            (
                "invoice_overdue_events",
                &self.invoice_overdue_events,
                MappedSignal::InvoiceOverdue,
            ),
            (
                "invoice_paid_events",
                &self.invoice_paid_events,
                MappedSignal::InvoicePaid,
            ),
            (
                "churned_events",
                &self.churned_events,
                MappedSignal::Outcome(OutcomeKind::Churned),
            ),
            (
                "renewed_events",
                &self.renewed_events,
                MappedSignal::Outcome(OutcomeKind::Renewed),
            ),
            (
                "expanded_events",
                &self.expanded_events,
                MappedSignal::Outcome(OutcomeKind::Expanded),
            ),
            (
                "downgraded_events",
                &self.downgraded_events,
                MappedSignal::Outcome(OutcomeKind::Downgraded),
            ),
        ]
    }

    /// The signal an event name is mapped to, if any.
    pub fn signal_of(&self, event: &str) -> Option<MappedSignal> {
        self.lists()
            .into_iter()
            .find(|(_, list, _)| list.iter().any(|n| n == event))
            .map(|(_, _, s)| s)
    }

    /// The severity a ticket event's properties give, normal when none is recognised.
    pub fn ticket_severity(
        &self,
        properties: &serde_json::Map<String, serde_json::Value>,
    ) -> TicketSeverity {
        self.ticket_severity_properties
            .iter()
            .find_map(|p| properties.get(p))
            .and_then(severity_of)
            .unwrap_or(TicketSeverity::Normal)
    }

    /// A survey event's kind and answer, or `None` when it carries no usable answer.
    pub fn survey_answer(
        &self,
        fixed: Option<SurveyKind>,
        properties: &serde_json::Map<String, serde_json::Value>,
    ) -> Option<(SurveyKind, u8)> {
        let kind = match fixed {
            Some(k) => k,
            None => match properties
                .get(&self.survey_kind_property)
                .and_then(serde_json::Value::as_str)
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                None | Some("nps") => SurveyKind::Nps,
                Some("csat") => SurveyKind::Csat,
                Some("ces") => SurveyKind::Ces,
                Some(_) => return None,
            },
        };
        let answer = self
            .survey_score_properties
            .iter()
            .find_map(|p| properties.get(p))
            .and_then(|v| match v {
                serde_json::Value::Number(n) => n.as_f64(),
                serde_json::Value::String(s) => s.trim().parse().ok(),
                _ => None,
            })
            .filter(|f| f.is_finite())?;
        let (lo, hi) = kind.scale();
        (answer >= f64::from(lo) && answer <= f64::from(hi)).then(|| (kind, answer.round() as u8))
    }

    /// Adds this section's problems, each naming its key (`signals.…`).
    pub fn validate(&self, issues: &mut Vec<ConfigIssue>) {
        let mut seen: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
        for (key, list, _) in self.lists() {
            for (i, name) in list.iter().enumerate() {
                if name.trim().is_empty() {
                    issues.push(ConfigIssue {
                        key: format!("signals.{key}[{i}]"),
                        problem: "must not be empty".into(),
                    });
                } else if let Some(other) = seen.insert(name.as_str(), key) {
                    issues.push(ConfigIssue {
                        key: format!("signals.{key}[{i}]"),
                        problem: format!("{name:?} is already mapped by signals.{other}"),
                    });
                }
            }
        }
        for (key, list) in [
            (
                "ticket_severity_properties",
                &self.ticket_severity_properties,
            ),
            ("survey_score_properties", &self.survey_score_properties),
        ] {
            if list.is_empty() {
                issues.push(ConfigIssue {
                    key: format!("signals.{key}"),
                    problem: "must name at least one property".into(),
                });
            }
            for (i, p) in list.iter().enumerate() {
                if p.trim().is_empty() {
                    issues.push(ConfigIssue {
                        key: format!("signals.{key}[{i}]"),
                        problem: "must not be empty".into(),
                    });
                }
            }
        }
        if self.survey_kind_property.trim().is_empty() {
            issues.push(ConfigIssue {
                key: "signals.survey_kind_property".into(),
                problem: "must not be empty".into(),
            });
        }
    }
}

fn severity_of(v: &serde_json::Value) -> Option<TicketSeverity> {
    let text = match v {
        serde_json::Value::String(s) => s.trim().to_ascii_lowercase(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Some(match text.as_str() {
        "low" | "minor" | "trivial" | "p4" | "4" => TicketSeverity::Low,
        "normal" | "medium" | "moderate" | "p3" | "3" => TicketSeverity::Normal,
        "high" | "major" | "p2" | "2" => TicketSeverity::High,
        "urgent" | "critical" | "blocker" | "p1" | "p0" | "1" | "0" => TicketSeverity::Urgent,
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn default_mapping_is_valid_and_follows_spec_names() {
        let m = SignalMapping::default();
        let mut issues = vec![];
        m.validate(&mut issues);
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(
            m.signal_of("Ticket Opened"),
            Some(MappedSignal::TicketOpened)
        );
        assert_eq!(
            m.signal_of("Account Churned"),
            Some(MappedSignal::Outcome(OutcomeKind::Churned))
        );
        assert_eq!(m.signal_of("Report Built"), None);
    }

    #[test]
    fn an_event_mapped_twice_is_named() {
        let m = SignalMapping {
            training_events: vec!["Ticket Opened".into(), " ".into()],
            ..Default::default()
        };
        let mut issues = vec![];
        m.validate(&mut issues);
        let text: Vec<String> = issues.iter().map(|i| i.to_string()).collect();
        assert!(
            text.iter().any(|t| t.contains("signals.training_events[0]")
                && t.contains("already mapped by signals.ticket_opened_events")),
            "{text:?}"
        );
        assert!(text
            .iter()
            .any(|t| t.contains("signals.training_events[1]")));
    }

    #[test]
    fn severity_and_survey_answers_are_read_from_properties() {
        let m = SignalMapping::default();
        let p = json!({"priority": "P1"});
        assert_eq!(
            m.ticket_severity(p.as_object().unwrap()),
            TicketSeverity::Urgent
        );
        let s = json!({"survey_type": "CSAT", "score": "4"});
        assert_eq!(
            m.survey_answer(None, s.as_object().unwrap()),
            Some((SurveyKind::Csat, 4))
        );
        let out_of_scale = json!({"score": 11});
        assert_eq!(
            m.survey_answer(Some(SurveyKind::Nps), out_of_scale.as_object().unwrap()),
            None
        );
    }
}
