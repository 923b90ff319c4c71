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

use super::forms::{alert_buttons, history};
use super::html::{escape, url_segment};
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
            put!(s, "&owner={}", url_segment(o));
        }
        if let Some(c) = cursor {
            put!(s, "&cursor={}", url_segment(c));
        }
        s
    }
}

pub async fn inbox(
    state: &AppState,
    who: &Principal,
    csrf: &str,
    params: &HashMap<String, String>,
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
        reads::listed_rows(&state.storage, today)
    );
    let page = page?;
    let listed = listed?;
    let now = state.clock.now();
    let here = view.link(view.status, view.cursor.as_deref());

    let mut s = String::from("<h1>Alerts</h1>");
    s.push_str(r#"<div class="card" id="inbox-filters">"#);
    for status in [
        AlertStatus::Open,
        AlertStatus::Acknowledged,
        AlertStatus::Resolved,
    ] {
        let label = status.as_str();
        if status == view.status {
            put!(s, "<b>{label}</b> · ");
        } else {
            put!(
                s,
                r#"<a href="{}">{label}</a> · "#,
                escape(&view.link(status, None))
            );
        }
    }
    if who.reads_every_account() {
        let owners = listed.owners.iter().map(String::as_str);
        put!(
            s,
            r#"<form method="get" action="/dashboard/alerts" style="display:inline"><input type="hidden" name="status" value="{}"><select name="owner" aria-label="owner"><option value="all">all owners</option>"#,
            view.status.as_str()
        );
        for o in owners {
            put!(
                s,
                r#"<option value="{0}"{1}>{0}</option>"#,
                escape(o),
                if view.owner.as_deref() == Some(o) {
                    " selected"
                } else {
                    ""
                }
            );
        }
        s.push_str("</select> <button>Show</button></form>");
    } else {
        put!(
            s,
            r#"<span class="muted">alerts owned by {}</span>"#,
            escape(&who.user)
        );
    }
    s.push_str("</div>");

    let snoozed = |a: &&Alert| a.snoozed_until.is_some_and(|u| u > now);
    let groups: [(&str, Vec<&Alert>); 3] = [
        (
            "Critical",
            page.items
                .iter()
                .filter(|a| a.severity == Severity::Critical && !snoozed(a))
                .collect(),
        ),
        (
            "Warning",
            page.items
                .iter()
                .filter(|a| a.severity == Severity::Warning && !snoozed(a))
                .collect(),
        ),
        ("Snoozed", page.items.iter().filter(snoozed).collect()),
    ];
    for (title, items) in groups {
        if items.is_empty() {
            continue;
        }
        put!(
            s,
            r#"<div class="card" id="group-{}"><h2>{title} ({})</h2><table><tr><th>Account</th><th>What fired and why</th><th>Age</th><th>Owner</th><th>Status</th><th>Actions</th></tr>"#,
            title.to_lowercase(),
            items.len()
        );
        for a in items {
            let name = listed.rows.name_of(a.account_id.as_str());
            s.push_str(&alert_row(a, name, who, csrf, &here, now));
        }
        s.push_str("</table></div>");
    }
    if page.items.is_empty() {
        put!(
            s,
            r#"<div class="card muted" id="inbox-empty">No {} alerts.</div>"#,
            view.status.as_str()
        );
    }
    if let Some(next) = &page.next_cursor {
        put!(
            s,
            r#"<p><a id="more" href="{}">More</a></p>"#,
            escape(&view.link(view.status, Some(next)))
        );
    }
    Ok(s)
}

/// One alert as a table row, also used by the account page.
pub fn alert_row(
    a: &Alert,
    name: Option<&str>,
    who: &Principal,
    csrf: &str,
    back: &str,
    now: DateTime<Utc>,
) -> String {
    let id = a.account_id.as_str();
    let status = match a.snoozed_until.filter(|u| *u > now) {
        Some(until) => format!(
            "snoozed until {}{}",
            until.format("%Y-%m-%d"),
            a.snooze_reason
                .as_deref()
                .map_or(String::new(), |r| format!(": {}", escape(r)))
        ),
        None => a.status.as_str().to_string(),
    };
    format!(
        r#"<tr id="alert-{aid}"><td><a href="/dashboard/accounts/{seg}">{name}</a></td><td><b>{what}</b><br><span class="muted">{why}</span>{hist}</td><td>{age}</td><td>{owner}</td><td>{status}</td><td>{buttons}</td></tr>"#,
        aid = escape(&a.id),
        seg = url_segment(id),
        name = escape(name.unwrap_or(id)),
        what = escape(&what_fired(a)),
        why = escape(&why_fired(a)),
        hist = history(a),
        age = age(a.opened_at, now),
        owner = escape(a.owner.as_deref().unwrap_or("–")),
        buttons = alert_buttons(a, who, csrf, back),
    )
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
