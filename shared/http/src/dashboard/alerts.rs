//! The alerts inbox (`/dashboard/alerts`): the reader's alerts by status (open by default),
//! critical first, each with its account's name, what fired and why, its age, its history and
//! the buttons to act on it. CSMs and AEs see their own; an admin sees everyone's or picks an
//! owner. 50 per page, "More" for the next.
//!
//! Reads: the alerts page (1, up to 4 when many belong to others) and the precomputed listing
//! for account names and owners (1), at once.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use vitals_core::model::{Alert, AlertQuery, AlertStatus, Severity};

use serde::Serialize;

use super::forms::Buttons;
use super::html::url_segment;
use super::pages::{self, Frame};
use crate::authn::Principal;
use crate::query::{alerts, reads};
use crate::{ApiError, AppState};

/// Alerts per page.
const PAGE: usize = 50;

/// What fired, in words: "Severe usage decline", "Entered the at-risk band".
pub fn what_fired(alert: &Alert) -> String {
    match (alert.kind.as_str(), alert.cause.as_str()) {
        ("usage_decline", "severe") => "Severe usage decline".into(),
        ("usage_decline", "moderate") => "Moderate usage decline".into(),
        ("at_risk", _) => "Entered the at-risk band".into(),
        (kind, cause) => {
            let kind = kind.replace('_', " ");
            let mut words = kind.chars();
            let kind = words
                .next()
                .map_or(String::new(), |c| c.to_uppercase().chain(words).collect());
            if cause.is_empty() || cause == alert.kind {
                kind
            } else {
                format!("{kind} ({})", cause.replace('_', " "))
            }
        }
    }
}

/// Why it fired: the sentence recorded when it opened ("score fell 18: ...").
pub fn why_fired(alert: &Alert) -> String {
    alert
        .transitions
        .first()
        .and_then(|t| t.note.clone())
        .unwrap_or_default()
}

/// "3 days", "5 hours", "just now".
pub fn age(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let d = now - since;
    let (n, unit) = if d.num_days() >= 1 {
        (d.num_days(), "day")
    } else if d.num_hours() >= 1 {
        (d.num_hours(), "hour")
    } else if d.num_minutes() >= 1 {
        (d.num_minutes(), "minute")
    } else {
        return "just now".into();
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// The inbox's filters, from the query string.
struct View {
    status: AlertStatus,
    /// `None`: every owner the reader may see (admins and leads only).
    owner: Option<String>,
    cursor: Option<String>,
}

impl View {
    fn of(who: &Principal, params: &HashMap<String, String>) -> Result<View, ApiError> {
        let get = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
        let status = match get("status") {
            None | Some("open") => AlertStatus::Open,
            Some("acknowledged") => AlertStatus::Acknowledged,
            Some("resolved") => AlertStatus::Resolved,
            Some(_) => {
                return Err(ApiError::BadRequest(
                    "status: open, acknowledged or resolved".into(),
                ))
            }
        };
        // Mine by default; an admin's or lead's default is everyone's, as they own few
        // accounts.
        let owner = if who.reads_every_account() {
            get("owner").filter(|o| *o != "all").map(str::to_string)
        } else {
            Some(who.user.clone())
        };
        Ok(View {
            status,
            owner,
            cursor: get("cursor").map(str::to_string),
        })
    }

    fn link(&self, status: AlertStatus, cursor: Option<&str>) -> String {
        let mut s = format!("/dashboard/alerts?status={}", status.as_str());
        if let Some(o) = &self.owner {
            s.push_str(&format!("&owner={}", url_segment(o)));
        }
        if let Some(c) = cursor {
            s.push_str(&format!("&cursor={}", url_segment(c)));
        }
        s
    }
}

pub async fn inbox(
    state: &AppState,
    who: &Principal,
    csrf: &str,
    params: &HashMap<String, String>,
    frame: &Frame,
) -> Result<String, ApiError> {
    if !who.reads_accounts() {
        return Err(ApiError::Forbidden);
    }
    let view = View::of(who, params)?;
    let filter = alerts::AlertFilter {
        query: AlertQuery {
            status: Some(view.status),
            account_id: None,
        },
        severity: None,
        owner: view.owner.clone(),
    };
    let today = state.clock.now().date_naive();
    let (page, listed) = futures::join!(
        alerts::load_alerts(state, who, &filter, view.cursor.as_deref(), PAGE),
        reads::listed_rows(state, today)
    );
    let page = page?;
    let listed = listed?;
    let now = state.clock.now();
    let here = view.link(view.status, view.cursor.as_deref());
    let snoozed = |a: &&Alert| a.snoozed_until.is_some_and(|u| u > now);
    let line = |a: &Alert| {
        let name = listed.rows.name_of(a.account_id.as_str());
        AlertLine::of(a, name, who, csrf, &here, now)
    };
    let group = |title: &'static str, alerts: Vec<&Alert>| Group {
        title,
        alerts: alerts.into_iter().map(line).collect(),
    };
    let of = |severity: Severity| -> Vec<&Alert> {
        page.items
            .iter()
            .filter(|a| a.severity == severity && !snoozed(a))
            .collect()
    };
    let groups = [
        group("Critical", of(Severity::Critical)),
        group("Warning", of(Severity::Warning)),
        group("Snoozed", page.items.iter().filter(snoozed).collect()),
    ]
    .into_iter()
    .filter(|g| !g.alerts.is_empty())
    .collect();
    let inbox = Inbox {
        statuses: [
            AlertStatus::Open,
            AlertStatus::Acknowledged,
            AlertStatus::Resolved,
        ]
        .into_iter()
        .map(|status| StatusLink {
            name: status.as_str(),
            current: status == view.status,
            href: view.link(status, None),
        })
        .collect(),
        status: view.status.as_str(),
        owners: who.reads_every_account().then(|| {
            listed
                .owners
                .iter()
                .map(|o| OwnerChoice {
                    selected: view.owner.as_deref() == Some(o.as_str()),
                    value: o.clone(),
                })
                .collect()
        }),
        reader: who.user.clone(),
        groups,
        empty: page.items.is_empty(),
        more: page
            .next_cursor
            .as_deref()
            .map(|next| view.link(view.status, Some(next))),
    };
    pages::render("alerts.html", frame, inbox)
}

/// The inbox's view: status tabs, the owner choice, the alerts by group and the next page.
#[derive(Serialize)]
struct Inbox {
    statuses: Vec<StatusLink>,
    status: &'static str,
    /// Every owner, for readers of every book; `None`: the reader's own alerts only.
    owners: Option<Vec<OwnerChoice>>,
    reader: String,
    groups: Vec<Group>,
    empty: bool,
    more: Option<String>,
}

#[derive(Serialize)]
struct StatusLink {
    name: &'static str,
    current: bool,
    href: String,
}

#[derive(Serialize)]
struct OwnerChoice {
    value: String,
    selected: bool,
}

#[derive(Serialize)]
struct Group {
    title: &'static str,
    alerts: Vec<AlertLine>,
}

/// One alert as a table row (`alert_rows.html`), also on the account page.
#[derive(Serialize)]
pub struct AlertLine {
    id: String,
    link: String,
    name: String,
    what: String,
    why: String,
    history: Vec<Step>,
    age: String,
    owner: String,
    status: String,
    buttons: Option<Buttons>,
}

/// A status change: when, who, to what, and the note.
#[derive(Serialize)]
struct Step {
    at: String,
    by: String,
    to: &'static str,
    note: Option<String>,
}

impl AlertLine {
    pub fn of(
        a: &Alert,
        name: Option<&str>,
        who: &Principal,
        csrf: &str,
        back: &str,
        now: DateTime<Utc>,
    ) -> AlertLine {
        let id = a.account_id.as_str();
        let status = match a.snoozed_until.filter(|u| *u > now) {
            Some(until) => format!(
                "snoozed until {}{}",
                until.format("%Y-%m-%d"),
                a.snooze_reason
                    .as_deref()
                    .map_or(String::new(), |r| format!(": {r}"))
            ),
            None => a.status.as_str().to_string(),
        };
        AlertLine {
            id: a.id.clone(),
            link: url_segment(id),
            name: name.unwrap_or(id).to_string(),
            what: what_fired(a),
            why: why_fired(a),
            history: a
                .transitions
                .iter()
                .map(|t| Step {
                    at: t.at.format("%Y-%m-%d %H:%M").to_string(),
                    by: t.by.clone(),
                    to: t.to.as_str(),
                    note: t.note.clone(),
                })
                .collect(),
            age: age(a.opened_at, now),
            owner: a.owner.clone().unwrap_or_else(|| "–".into()),
            status,
            buttons: Buttons::of(a, who, csrf, back),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_in_the_largest_whole_unit() {
        let now = Utc::now();
        assert_eq!(age(now - chrono::Duration::days(3), now), "3 days");
        assert_eq!(age(now - chrono::Duration::hours(1), now), "1 hour");
        assert_eq!(age(now, now), "just now");
    }
}
