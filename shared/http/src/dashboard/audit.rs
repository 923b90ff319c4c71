//! The audit page (`/dashboard/audit`, admins and leads; a lead does not see configuration
//! changes): who did what when, newest first, filtered by account and by user, 50 per page
//! with "More".
//!
//! Reads: one audit page (up to four when the user filter drops entries) and the precomputed
//! listing for account names, at once.

use std::collections::HashMap;

use vitals_core::model::{AccountId, AuditEntry};
use vitals_core::StoreError;

use super::html::{escape, url_segment};
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
        reads::listed_rows(&state.storage, today)
    );
    let (entries, next) = entries?;
    let listed = listed?;

    let mut s = String::from("<h1>Audit log</h1>");
    put!(
        s,
        r#"<div class="card"><form method="get" action="/dashboard/audit">Account <input name="account" value="{}" aria-label="account id" placeholder="account id"> User <input name="user" value="{}" aria-label="user" placeholder="who (email)"> <button>Filter</button> <a href="/dashboard/audit">clear</a></form></div>"#,
        escape(account.as_ref().map_or("", |a| a.as_str())),
        escape(user.unwrap_or(""))
    );
    s.push_str(r#"<div class="card" id="audit"><table><tr><th>When</th><th>Who</th><th>What</th><th>Account</th><th>Detail</th></tr>"#);
    for e in &entries {
        let account = e.account_id.as_ref().map_or(String::new(), |a| {
            format!(
                r#"<a href="/dashboard/accounts/{}">{}</a>"#,
                url_segment(a.as_str()),
                escape(listed.rows.name_of(a.as_str()).unwrap_or(a.as_str()))
            )
        });
        put!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{account}</td><td>{}</td></tr>",
            e.at.format("%Y-%m-%d %H:%M"),
            escape(&e.actor),
            escape(&e.action),
            escape(&detail(e))
        );
    }
    if entries.is_empty() {
        s.push_str(
            r#"<tr><td colspan="5" class="muted">Nothing recorded for this filter.</td></tr>"#,
        );
    }
    s.push_str("</table></div>");
    if let Some(next) = next {
        let mut link = format!("/dashboard/audit?cursor={}", url_segment(&next));
        if let Some(a) = &account {
            put!(link, "&account={}", url_segment(a.as_str()));
        }
        if let Some(u) = user {
            put!(link, "&user={}", url_segment(u));
        }
        put!(
            s,
            r#"<p><a id="more" href="{}">More</a></p>"#,
            escape(&link)
        );
    }
    Ok(s)
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
/// summary, else the JSON.
fn detail(e: &AuditEntry) -> String {
    let d = &e.detail;
    let text = |k: &str| d.get(k).and_then(|v| v.as_str());
    let mut parts: Vec<String> = Vec::new();
    if let Some(s) = text("status") {
        parts.push(s.to_string());
    }
    if let Some(u) = text("snoozed_until") {
        parts.push(format!("snoozed until {}", u.get(..10).unwrap_or(u)));
    }
    if let Some(n) = text("note").or_else(|| text("summary")) {
        parts.push(n.to_string());
    }
    if parts.is_empty() && !d.is_null() {
        parts.push(d.to_string());
    }
    parts.join(" · ")
}
