//! The dashboard's forms: alert actions posted from the inbox and the account page.
//!
//! A browser sends the session cookie with any request to this site, so a form post must prove
//! it came from one of our pages: every form carries a CSRF token, an HMAC of the session token
//! (which another site cannot read: the cookie is `HttpOnly` and `SameSite=Lax`), checked in
//! constant time on POST. A post without it, or with another session's, is refused with 403.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use vitals_core::model::{Alert, AlertStatus};
use vitals_core::query::alert_action::AlertAction;

use serde::Serialize;

use super::html::url_segment;
use crate::authn::Principal;
use crate::ApiError;

/// The hidden field carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// Snooze lengths offered on the pages (the configured maximum still applies).
pub const SNOOZE_PRESETS: [u32; 4] = [1, 3, 7, 30];

/// The CSRF token of a session: stable for the session, useless without it.
pub fn csrf_token(session_token: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(session_token.as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; unreachable, and an empty token then matches nothing.
        Err(_) => return String::new(),
    };
    mac.update(b"vitals dashboard form");
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Whether a posted form carries the session's CSRF token.
pub fn csrf_ok(session_token: &str, form: &HashMap<String, String>) -> bool {
    let expected = csrf_token(session_token);
    form.get(CSRF_FIELD).is_some_and(|given| {
        !expected.is_empty() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
    })
}

/// Where to go after an action: a dashboard page of ours, never another site.
pub fn back_to(form: &HashMap<String, String>) -> String {
    form.get("back")
        .filter(|b| b.starts_with("/dashboard") && !b.contains("//") && !b.contains('\\'))
        .cloned()
        .unwrap_or_else(|| "/dashboard/alerts".into())
}

/// `back` with `notice=<text>` added (replacing an earlier notice).
pub fn with_notice(back: &str, notice: &str) -> String {
    let (path, query) = back.split_once('?').unwrap_or((back, ""));
    let mut params: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("notice="))
        .collect();
    let notice = format!("notice={}", url_segment(notice));
    params.push(&notice);
    format!("{path}?{}", params.join("&"))
}

/// The action a form asks for, or a 400 naming the field.
pub fn action_of(
    form: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<AlertAction, ApiError> {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let text = |k: &str| Some(get(k).to_string()).filter(|t| !t.trim().is_empty());
    let version: u64 = get("version")
        .parse()
        .map_err(|_| ApiError::BadRequest("version: reload the page and retry".into()))?;
    Ok(match get("action") {
        "acknowledge" => AlertAction::Acknowledge {
            version,
            note: text("note"),
        },
        "resolve" => AlertAction::Resolve {
            version,
            note: text("reason"),
        },
        "snooze" => {
            let days: u32 = get("days").parse().map_err(|_| {
                ApiError::BadRequest("days: pick how many days to snooze for".into())
            })?;
            AlertAction::Snooze {
                version,
                reason: get("reason").to_string(),
                until: now + Duration::days(i64::from(days)),
            }
        }
        "reassign" => AlertAction::Reassign {
            version,
            owner: get("owner").to_string(),
            note: text("note"),
        },
        _ => {
            return Err(ApiError::BadRequest(
                "action: acknowledge, resolve, snooze or reassign".into(),
            ))
        }
    })
}

/// The notice shown after an action succeeded.
pub fn notice_of(action: &AlertAction, alert: &Alert) -> String {
    match action {
        AlertAction::Acknowledge { .. } => "Alert acknowledged.".into(),
        AlertAction::Resolve { .. } => "Alert resolved.".into(),
        AlertAction::Snooze { .. } => format!(
            "Alert snoozed until {}.",
            alert
                .snoozed_until
                .map_or("–".into(), |u| u.format("%Y-%m-%d %H:%M UTC").to_string())
        ),
        AlertAction::Reassign { .. } => format!(
            "Alert reassigned to {}.",
            alert.owner.as_deref().unwrap_or("nobody")
        ),
    }
}

/// The buttons of one alert (in `alert_rows.html`): acknowledge, snooze (presets), resolve
/// (with a reason) and, for admins, reassign; each form carries the session's CSRF token.
#[derive(Debug, Serialize)]
pub struct Buttons {
    /// Where the forms post.
    action: String,
    csrf: String,
    version: u64,
    back: String,
    /// The forms shown, in order: acknowledge (open alerts), snooze, resolve, reassign (admins).
    actions: Vec<&'static str>,
    snooze_days: [u32; 4],
}

impl Buttons {
    /// None for roles that may not change alerts or for a resolved alert.
    pub fn of(alert: &Alert, who: &Principal, csrf: &str, back: &str) -> Option<Buttons> {
        if !who.writes_alerts() || alert.status == AlertStatus::Resolved {
            return None;
        }
        Some(Buttons {
            action: format!("/dashboard/alerts/{}", url_segment(&alert.id)),
            csrf: csrf.to_string(),
            version: alert.version,
            back: back.to_string(),
            actions: [
                (alert.status == AlertStatus::Open).then_some("acknowledge"),
                Some("snooze"),
                Some("resolve"),
                who.reassigns_alerts().then_some("reassign"),
            ]
            .into_iter()
            .flatten()
            .collect(),
            snooze_days: SNOOZE_PRESETS,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_form_needs_the_sessions_own_csrf_token() {
        let form = |csrf: &str| HashMap::from([(CSRF_FIELD.to_string(), csrf.to_string())]);
        assert!(csrf_ok("session-a", &form(&csrf_token("session-a"))));
        assert!(!csrf_ok("session-a", &form(&csrf_token("session-b"))));
        assert!(!csrf_ok("session-a", &HashMap::new()));
    }

    #[test]
    fn after_an_action_the_browser_goes_back_to_our_page_with_a_notice() {
        let form = |b: &str| HashMap::from([("back".to_string(), b.to_string())]);
        assert_eq!(back_to(&form("https://evil.example")), "/dashboard/alerts");
        assert_eq!(back_to(&form("//evil.example")), "/dashboard/alerts");
        assert_eq!(
            with_notice("/dashboard/alerts?owner=all&notice=old", "Alert resolved."),
            "/dashboard/alerts?owner=all&notice=Alert%20resolved."
        );
    }
}
