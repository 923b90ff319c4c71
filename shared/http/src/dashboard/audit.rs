//! The audit page (`/dashboard/audit`, admins and leads; a lead does not see configuration
//! changes): who did what when, newest first, filtered by account and by user, 50 per page
//! with "More".
//!
//! Reads: one audit page (up to four when the user filter drops entries) and the precomputed
//! listing for account names, at once.

use std::collections::HashMap;

use vitals_core::model::{AccountId, AuditEntry};
use vitals_core::StoreError;

use serde::Serialize;

use super::html::url_segment;
use super::pages::{self, Frame};
use crate::authn::Principal;
use crate::query::reads;
use crate::{ApiError, AppState};

const PAGE: usize = 50;
/// Store pages read at most to fill one page filtered by user.
const MAX_STORE_PAGES: usize = 4;

pub async fn audit(
    state: &AppState,
    who: &Principal,
    params: &HashMap<String, String>,
    frame: &Frame,
) -> Result<String, ApiError> {
    if !who.reads_every_account() {
        return Err(ApiError::Forbidden);
    }
    let get = |k: &str| params.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let account = get("account")
        .map(|a| {
            AccountId::new(a).map_err(|_| ApiError::BadRequest("account: not an account id".into()))
        })
        .transpose()?;
    let user = get("user");
    let today = state.clock.now().date_naive();
    let (entries, listed) = futures::join!(
        entries(state, who, account.as_ref(), user, get("cursor")),
        reads::listed_rows(state, today)
    );
    let (entries, next) = entries?;
    let listed = listed?;

    let more = next.map(|next| {
        let mut link = format!("/dashboard/audit?cursor={}", url_segment(&next));
        if let Some(a) = &account {
            link.push_str(&format!("&account={}", url_segment(a.as_str())));
        }
        if let Some(u) = user {
            link.push_str(&format!("&user={}", url_segment(u)));
        }
        link
    });
    let page = AuditPage {
        account: account.as_ref().map_or("", |a| a.as_str()),
        user: user.unwrap_or(""),
        entries: entries
            .iter()
            .map(|e| Entry {
                at: e.at.format("%Y-%m-%d %H:%M").to_string(),
                actor: &e.actor,
                action: &e.action,
                account: e.account_id.as_ref().map(|a| AccountLink {
                    link: url_segment(a.as_str()),
                    name: listed.rows.name_of(a.as_str()).unwrap_or(a.as_str()),
                }),
                detail: detail(e),
            })
            .collect(),
        more,
    };
    pages::render("audit.html", frame, page)
}

/// The audit page's view: the filters, one page of entries and the next page's link.
#[derive(Serialize)]
struct AuditPage<'a> {
    account: &'a str,
    user: &'a str,
    entries: Vec<Entry<'a>>,
    more: Option<String>,
}

#[derive(Serialize)]
struct Entry<'a> {
    at: String,
    actor: &'a str,
    action: &'a str,
    account: Option<AccountLink<'a>>,
    detail: String,
}

#[derive(Serialize)]
struct AccountLink<'a> {
    link: String,
    name: &'a str,
}

/// One page of entries matching the filters, and the cursor of the next.
async fn entries(
    state: &AppState,
    who: &Principal,
    account: Option<&AccountId>,
    user: Option<&str>,
    cursor: Option<&str>,
) -> Result<(Vec<AuditEntry>, Option<String>), ApiError> {
    let mut found = Vec::new();
    let mut cursor = cursor.map(str::to_string);
    for _ in 0..MAX_STORE_PAGES {
        let page = state
            .storage
            .list_audit(account, cursor.as_deref(), PAGE - found.len())
            .await
            .map_err(|e| match e {
                StoreError::Rejected(_) => {
                    ApiError::BadRequest("cursor: not a cursor this page made".into())
                }
                other => other.into(),
            })?;
        found.extend(
            page.items
                .into_iter()
                .filter(|e| user.is_none_or(|u| e.actor.eq_ignore_ascii_case(u)))
                .filter(|e| who.is_admin() || !is_config_change(e)),
        );
        cursor = page.next;
        if cursor.is_none() || found.len() >= PAGE {
            break;
        }
    }
    Ok((found, cursor))
}

/// Configuration changes are an admin's to read.
fn is_config_change(e: &AuditEntry) -> bool {
    e.action.starts_with("config")
}

/// The entry's detail in words: its note, status and snooze for alert changes, else its
/// summary or reason (a workflow's, named), else the JSON.
fn detail(e: &AuditEntry) -> String {
    let d = &e.detail;
    let text = |k: &str| d.get(k).and_then(|v| v.as_str());
    let mut parts: Vec<String> = Vec::new();
    if let Some(s) = text("status") {
        parts.push(s.to_string());
    }
    // A snooze's note names its end already.
    if let (Some(u), None) = (text("snoozed_until"), text("note")) {
        parts.push(format!("snoozed until {}", u.get(..10).unwrap_or(u)));
    }
    if let Some(n) = text("note").or_else(|| text("summary")) {
        parts.push(n.to_string());
    } else if let Some(r) = text("reason") {
        parts.extend(text("workflow").map(str::to_string));
        parts.push(r.to_string());
    }
    if parts.is_empty() && !d.is_null() {
        parts.push(d.to_string());
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(action: &str, detail: serde_json::Value) -> AuditEntry {
        AuditEntry {
            id: "x".into(),
            at: chrono::DateTime::UNIX_EPOCH,
            account_id: None,
            actor: "workflow".into(),
            action: action.into(),
            detail,
        }
    }

    #[test]
    fn audit_details_read_as_words() {
        let e = entry(
            "workflow.suppressed",
            json!({"workflow": "severe-decline", "trigger": "decline_severe",
                   "reason": "acted on this account within 14 days; triggers until 2026-03-15 are not acted on"}),
        );
        assert_eq!(
            detail(&e),
            "severe-decline · acted on this account within 14 days; triggers until 2026-03-15 are not acted on"
        );
        let note = entry(
            "alert.resolved",
            json!({"status": "resolved", "note": "call booked"}),
        );
        assert_eq!(detail(&note), "resolved · call booked");
    }
}
