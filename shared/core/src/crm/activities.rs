//! The CRM activity log (seed 002: "all outreach is logged back to the CRM with an automated
//! 7-day follow-up"). After the daily run, what happened on an account since the last write is
//! logged on its CRM record: an outreach sent or drafted, a response, an intervention's effect on
//! the score, a workflow started, an alert acknowledged, snoozed, resolved or reassigned (each a
//! note, a completed activity) and a follow-up that came due (an open task, due that day).
//!
//! The source is the audit log, walked newest first down to each CRM's mark of what it already
//! has, so an entry is logged once per CRM; a crash between a batch and its mark resends at most
//! that batch. Entries younger than [`SETTLE`] wait for the next run: an entry is stamped just
//! before it is stored, so one of the last seconds could still appear behind the mark.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CrmError, CrmSink, CrmSyncError};
use crate::error::StoreError;
use crate::model::{AccountId, AccountRecord, AuditEntry};
use crate::ports::Storage;

/// How old an audit entry must be before it is logged.
pub const SETTLE: Duration = Duration::minutes(5);
/// A CRM's first log reaches back this far, not to the beginning of the audit log.
pub const FIRST_LOOKBACK: Duration = Duration::days(7);
/// Longest subject a CRM is sent (Salesforce's `Subject` holds 255).
const SUBJECT_CHARS: usize = 255;
/// Longest body a CRM is sent (well inside HubSpot's 65,536 and Salesforce's 32,000).
const BODY_CHARS: usize = 4000;
/// Audit entries read per page.
const PAGE: usize = 200;

/// A note is a completed activity on the record's timeline; a task is a to-do due on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ActivityKind {
    Note,
    Task { due: NaiveDate },
}

/// One activity to log on one CRM record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrmActivity {
    /// The audit entry's id: unique, so the CRM's own trace of the request names it.
    pub id: String,
    pub account_id: AccountId,
    pub record_id: String,
    pub at: DateTime<Utc>,
    pub kind: ActivityKind,
    /// An email went out (or was drafted): CRMs file it as an email activity.
    pub email: bool,
    pub subject: String,
    pub body: String,
}

/// How far a CRM's activity log has been written: every audit entry stamped before `through`,
/// and those stamped exactly `through` whose ids are listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityMark {
    pub crm: String,
    pub through: DateTime<Utc>,
    #[serde(default)]
    pub ids_at_through: Vec<String>,
}

impl ActivityMark {
    fn covers(&self, entry: &AuditEntry) -> bool {
        entry.at < self.through
            || (entry.at == self.through && self.ids_at_through.contains(&entry.id))
    }

    /// The mark once `entry` (the newest written so far) is written too.
    fn advanced_to(&mut self, entry: &AuditEntry) {
        if entry.at > self.through {
            self.through = entry.at;
            self.ids_at_through.clear();
        }
        if !self.ids_at_through.contains(&entry.id) {
            self.ids_at_through.push(entry.id.clone());
        }
    }
}

/// What one CRM's activity log did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ActivityReport {
    pub crm: String,
    pub logged: usize,
    /// Activities of accounts without a record id in this CRM.
    pub unmapped: usize,
    pub failed: usize,
    pub batches: usize,
}

/// What an audit entry looks like on a CRM timeline; `None` for entries a CRM user does not
/// need (configuration changes, skipped actions, deliveries to other channels).
pub fn describe(entry: &AuditEntry) -> Option<(ActivityKind, bool, String, String)> {
    let d = &entry.detail;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let workflow = text(&d["workflow"]);
    let (kind, email, subject, body) = match entry.action.as_str() {
        "outreach.sent" | "outreach.drafted" => {
            let o = &d["outreach"];
            let to = match (o["contact"].as_str(), o["to"].as_str()) {
                (Some(name), Some(to)) => format!("{name} <{to}>"),
                (None, Some(to)) => to.to_string(),
                (Some(name), None) => name.to_string(),
                (None, None) => "the account's contact".to_string(),
            };
            let sent = entry.action == "outreach.sent";
            let subject = if sent {
                format!("Vitals outreach sent: {}", text(&o["subject"]))
            } else {
                format!("Outreach drafted for review: {}", text(&o["subject"]))
            };
            let body = if sent {
                format!(
                    "Email to {to} from {}, template \"{}\", workflow \"{workflow}\". A follow-up is due if there is no response.",
                    text(&o["from"]),
                    text(&o["template"])
                )
            } else {
                format!(
                    "A draft to {to} (template \"{}\", workflow \"{workflow}\") waits for the CSM to edit and send it.",
                    text(&o["template"])
                )
            };
            (ActivityKind::Note, true, subject, body)
        }
        "outreach.follow_up_due" => {
            let due = d["due"]
                .as_str()
                .and_then(|s| s.parse::<NaiveDate>().ok())
                .unwrap_or_else(|| entry.at.date_naive());
            (
                ActivityKind::Task { due },
                false,
                "Follow up: no response to Vitals outreach".to_string(),
                format!(
                    "No response since the outreach of intervention {}. Reach out again.",
                    text(&d["intervention"])
                ),
            )
        }
        "outreach.responded" => (
            ActivityKind::Note,
            false,
            "Customer responded to Vitals outreach".to_string(),
            format!(
                "Response recorded on {} (intervention {}).",
                text(&d["on"]),
                text(&d["intervention"])
            ),
        ),
        "intervention.effect" => {
            let change = d["change"].as_f64()?;
            (
                ActivityKind::Note,
                false,
                format!(
                    "Health score {change:+.1} {} days after \"{workflow}\"",
                    d["days"].as_u64()?
                ),
                format!(
                    "Health score now {:.1} (intervention {}).",
                    d["score"].as_f64()?,
                    text(&d["intervention"])
                ),
            )
        }
        "workflow.started" => (
            ActivityKind::Note,
            false,
            format!("Vitals workflow started: {workflow}"),
            text(&d["summary"]),
        ),
        "alert.acknowledged" | "alert.resolved" | "alert.snoozed" | "alert.reassigned" => {
            let verb = entry.action.trim_start_matches("alert.");
            let mut body = format!("Alert {} {verb} by {}.", text(&d["alert_id"]), entry.actor);
            if let Some(until) = d["snoozed_until"].as_str().filter(|_| verb == "snoozed") {
                body.push_str(&format!(" Quiet until {until}."));
            }
            if let Some(owner) = d["owner"].as_str().filter(|_| verb == "reassigned") {
                body.push_str(&format!(" Now owned by {owner}."));
            }
            if let Some(note) = d["note"].as_str() {
                body.push_str(&format!(" Note: {note}"));
            }
            (
                ActivityKind::Note,
                false,
                format!("Vitals health alert {verb}"),
                body,
            )
        }
        _ => return None,
    };
    Some((
        kind,
        email,
        bounded(subject, SUBJECT_CHARS),
        bounded(body, BODY_CHARS),
    ))
}

fn bounded(mut text: String, chars: usize) -> String {
    if let Some((cut, _)) = text.char_indices().nth(chars) {
        text.truncate(cut);
    }
    text
}

/// Logs, on each sink that logs activities, the audit entries it does not have yet. Reads the
/// audit log once for all sinks. A storage failure while reading stops all; a CRM that fails
/// is reported in its place (its mark stays after its last good batch) and the others go on.
pub async fn log_activities<S: Storage + ?Sized>(
    storage: &S,
    sinks: &[&dyn CrmSink],
    now: DateTime<Utc>,
) -> Result<Vec<Result<ActivityReport, CrmSyncError>>, StoreError> {
    let sinks: Vec<&dyn CrmSink> = sinks
        .iter()
        .copied()
        .filter(|s| s.logs_activities())
        .collect();
    if sinks.is_empty() {
        return Ok(Vec::new());
    }
    let settled = now - SETTLE;
    let mut marks = Vec::with_capacity(sinks.len());
    for sink in &sinks {
        let mark = storage
            .crm_activity_mark(sink.name())
            .await?
            .unwrap_or_else(|| ActivityMark {
                crm: sink.name().to_string(),
                through: now - FIRST_LOOKBACK,
                ids_at_through: Vec::new(),
            });
        marks.push(mark);
    }
    let oldest = marks.iter().map(|m| m.through).min().unwrap_or(settled);
    let entries = settled_entries(storage, oldest, settled).await?;
    let mut accounts: BTreeMap<AccountId, Option<AccountRecord>> = BTreeMap::new();
    for entry in &entries {
        if let Some(id) = &entry.account_id {
            if !accounts.contains_key(id) {
                accounts.insert(id.clone(), storage.get_account(id).await?);
            }
        }
    }
    let mut reports = Vec::with_capacity(sinks.len());
    for (sink, mark) in sinks.into_iter().zip(marks) {
        reports.push(log_on(storage, sink, mark, &entries, &accounts, settled).await);
    }
    Ok(reports)
}

/// The audit entries stamped in `[oldest, settled]`, oldest first.
async fn settled_entries<S: Storage + ?Sized>(
    storage: &S,
    oldest: DateTime<Utc>,
    settled: DateTime<Utc>,
) -> Result<Vec<AuditEntry>, StoreError> {
    let mut entries = Vec::new();
    let mut cursor: Option<String> = None;
    'pages: loop {
        let page = storage.list_audit(None, cursor.as_deref(), PAGE).await?;
        for entry in page.items {
            if entry.at < oldest {
                break 'pages;
            }
            if entry.at <= settled {
                entries.push(entry);
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    entries.reverse();
    Ok(entries)
}

async fn log_on<S: Storage + ?Sized>(
    storage: &S,
    sink: &dyn CrmSink,
    mut mark: ActivityMark,
    entries: &[AuditEntry],
    accounts: &BTreeMap<AccountId, Option<AccountRecord>>,
    settled: DateTime<Utc>,
) -> Result<ActivityReport, CrmSyncError> {
    let crm = sink.name().to_string();
    let mut report = ActivityReport {
        crm: crm.clone(),
        ..ActivityReport::default()
    };
    let fresh: Vec<&AuditEntry> = entries.iter().filter(|e| !mark.covers(e)).collect();
    let mut due = Vec::new();
    for entry in &fresh {
        let Some((kind, email, subject, body)) = describe(entry) else {
            continue;
        };
        let record = entry
            .account_id
            .as_ref()
            .and_then(|id| accounts.get(id))
            .and_then(Option::as_ref);
        let Some((account, record_id)) = record.and_then(|r| Some((r, sink.record_ids().of(r)?)))
        else {
            report.unmapped += 1;
            continue;
        };
        due.push(CrmActivity {
            id: entry.id.clone(),
            account_id: account.account_id.clone(),
            record_id,
            at: entry.at,
            kind,
            email,
            subject,
            body,
        });
    }
    let mut done = 0;
    for batch in due.chunks(sink.activity_batch_size().max(1)) {
        let outcome = sink
            .log_activities(batch)
            .await
            .map_err(|source: CrmError| CrmSyncError::Crm {
                crm: crm.clone(),
                source,
            })?;
        report.batches += 1;
        for (id, why) in &outcome.failed {
            tracing::warn!(crm = %crm, activity = %id, problem = %why, "CRM activity not logged");
        }
        report.failed += outcome.failed.len();
        report.logged += batch.len() - outcome.failed.len().min(batch.len());
        // Everything up to the batch's last entry has been considered (entries that are not
        // activities, or have no record, included).
        let last = batch.last().map(|a| a.id.as_str());
        for entry in &fresh[done..] {
            mark.advanced_to(entry);
            done += 1;
            if Some(entry.id.as_str()) == last {
                break;
            }
        }
        storage.put_crm_activity_mark(&mark).await?;
    }
    for entry in &fresh[done..] {
        mark.advanced_to(entry);
    }
    if mark.through < settled {
        mark.through = settled;
        mark.ids_at_through.clear();
    }
    storage.put_crm_activity_mark(&mark).await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn entry(action: &str, detail: Value) -> AuditEntry {
        AuditEntry {
            id: format!("id-{action}"),
            at: Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap(),
            account_id: Some(AccountId::new("acme").unwrap()),
            actor: "dana@example.com".into(),
            action: action.into(),
            detail,
        }
    }

    #[test]
    fn a_sent_outreach_is_an_email_note_naming_the_contact_and_template() {
        let (kind, email, subject, body) = describe(&entry(
            "outreach.sent",
            json!({"workflow": "decline", "outreach": {"route": "sent", "to": "ann@acme.io", "from": "dana@example.com", "subject": "A tip for Reports", "template": "moderate", "contact": "Ann"}}),
        ))
        .unwrap();
        assert_eq!(kind, ActivityKind::Note);
        assert!(email);
        assert_eq!(subject, "Vitals outreach sent: A tip for Reports");
        assert!(
            body.contains("Ann <ann@acme.io>") && body.contains("\"moderate\""),
            "{body}"
        );
    }

    #[test]
    fn a_follow_up_that_came_due_is_a_task_due_that_day() {
        let (kind, email, _, _) = describe(&entry(
            "outreach.follow_up_due",
            json!({"intervention": "decline:e1", "due": "2026-12-08"}),
        ))
        .unwrap();
        assert_eq!(
            kind,
            ActivityKind::Task {
                due: NaiveDate::from_ymd_opt(2026, 12, 8).unwrap()
            }
        );
        assert!(!email);
    }

    #[test]
    fn an_alert_change_names_who_made_it_and_configuration_changes_are_not_logged() {
        let (_, _, subject, body) = describe(&entry(
            "alert.snoozed",
            json!({"alert_id": "a1", "snoozed_until": "2026-12-08T00:00:00Z", "note": "on holiday"}),
        ))
        .unwrap();
        assert_eq!(subject, "Vitals health alert snoozed");
        assert!(
            body.contains("by dana@example.com") && body.contains("on holiday"),
            "{body}"
        );
        assert!(describe(&entry("config.applied", json!({}))).is_none());
    }

    #[test]
    fn long_texts_are_cut_on_a_character_boundary() {
        let note = "é".repeat(5000);
        let (_, _, _, body) = describe(&entry(
            "alert.resolved",
            json!({"alert_id": "a1", "note": note}),
        ))
        .unwrap();
        assert_eq!(body.chars().count(), BODY_CHARS);
    }

    #[test]
    fn a_mark_covers_older_entries_and_the_listed_ones_of_its_instant() {
        let e = entry("alert.resolved", json!({}));
        let mut mark = ActivityMark {
            crm: "hubspot".into(),
            through: e.at,
            ids_at_through: vec![],
        };
        assert!(!mark.covers(&e));
        mark.advanced_to(&e);
        assert!(mark.covers(&e));
        let older = AuditEntry {
            at: e.at - Duration::seconds(1),
            ..entry("x", json!({}))
        };
        assert!(mark.covers(&older));
    }
}
