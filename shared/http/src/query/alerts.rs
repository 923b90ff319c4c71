//! `GET /v1/alerts` (status, severity, owner, account filters), `GET /v1/alerts/{id}` and
//! `PATCH /v1/alerts/{id}` (acknowledge, resolve, snooze, reassign). CSMs and AEs see the alerts
//! they own; CSMs and admins may change them, admins reassign them; another owner's alert
//! answers 404.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Serialize;
use vitals_core::alerts::lifecycle::AlertLifecycle;
use vitals_core::model::{AccountId, Alert, AlertQuery, AlertStatus, Severity};
use vitals_core::query::alert_action::AlertAction;

use super::{page_limit, parse_param, Caller};
use crate::authn::Principal;
use crate::{ApiError, AppState};

/// Store pages read at most to fill one filtered page.
const MAX_STORE_PAGES: usize = 4;

#[derive(Debug, Serialize)]
pub struct AlertList {
    pub items: Vec<Alert>,
    pub next_cursor: Option<String>,
}

/// Filters applied after the store's own (status, account).
#[derive(Debug, Clone, Default)]
pub(crate) struct AlertFilter {
    pub query: AlertQuery,
    pub severity: Option<Severity>,
    pub owner: Option<String>,
}

/// Whether the caller may see (and so act on) the alert: their own, or any for admins and
/// leads.
pub(crate) fn visible(who: &Principal, alert: &Alert) -> bool {
    who.reads_every_account() || (who.reads_accounts() && who.owns(alert.owner.as_deref()))
}

/// Alerts the caller may see that match the filter, newest first: one store page per request
/// unless filters drop items (then up to four).
pub(crate) async fn load_alerts(
    state: &AppState,
    who: &Principal,
    filter: &AlertFilter,
    cursor: Option<&str>,
    limit: usize,
) -> Result<AlertList, ApiError> {
    if !who.reads_accounts() {
        return Err(ApiError::Forbidden);
    }
    let mut items = Vec::new();
    let mut cursor = cursor.filter(|c| !c.is_empty()).map(str::to_string);
    for _ in 0..MAX_STORE_PAGES {
        let page = state
            .storage
            .list_alerts(&filter.query, cursor.as_deref(), limit - items.len())
            .await
            .map_err(super::listing_error)?;
        items.extend(page.items.into_iter().filter(|a| {
            visible(who, a)
                && filter.severity.is_none_or(|s| a.severity == s)
                && filter.owner.as_deref().is_none_or(|o| {
                    a.owner
                        .as_deref()
                        .is_some_and(|ao| ao.eq_ignore_ascii_case(o))
                })
        }));
        cursor = page.next;
        if cursor.is_none() || items.len() >= limit {
            break;
        }
    }
    Ok(AlertList {
        items,
        next_cursor: cursor,
    })
}

fn parse_status(v: &str) -> Option<AlertStatus> {
    match v {
        "open" => Some(AlertStatus::Open),
        "acknowledged" => Some(AlertStatus::Acknowledged),
        "resolved" => Some(AlertStatus::Resolved),
        _ => None,
    }
}

fn parse_severity(v: &str) -> Option<Severity> {
    match v {
        "warning" => Some(Severity::Warning),
        "critical" => Some(Severity::Critical),
        _ => None,
    }
}

pub async fn list_alerts(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<AlertList>, ApiError> {
    let get = |k: &str| params.get(k).map(String::as_str);
    let filter = AlertFilter {
        query: AlertQuery {
            status: parse_param(
                "status",
                get("status"),
                parse_status,
                "open, acknowledged or resolved",
            )?,
            account_id: parse_param(
                "account_id",
                get("account_id"),
                |v| AccountId::new(v).ok(),
                "an account id",
            )?,
        },
        severity: parse_param(
            "severity",
            get("severity"),
            parse_severity,
            "warning or critical",
        )?,
        owner: get("owner").filter(|o| !o.is_empty()).map(str::to_string),
    };
    let limit = page_limit(get("limit"), 50, 200)?;
    Ok(Json(
        load_alerts(&state, &caller.0, &filter, get("cursor"), limit).await?,
    ))
}

async fn visible_alert(state: &AppState, who: &Principal, id: &str) -> Result<Alert, ApiError> {
    if !who.reads_accounts() {
        return Err(ApiError::Forbidden);
    }
    match state.storage.get_alert(id).await? {
        Some(alert) if visible(who, &alert) => Ok(alert),
        _ => Err(ApiError::NotFound),
    }
}

pub async fn get_alert(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Alert>, ApiError> {
    Ok(Json(visible_alert(&state, &caller.0, &id).await?))
}

pub async fn patch_alert(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Alert>, ApiError> {
    let action: AlertAction = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "body: expected {{\"action\": \"acknowledge\"|\"resolve\"|\"snooze\"|\"reassign\", \"version\": n, ...}} ({e})"
        ))
    })?;
    Ok(Json(act_on_alert(&state, &caller.0, &id, action).await?))
}

/// The API's and the dashboard's way to change an alert: who may (CSMs and admins on the alerts
/// they see; reassigning is for admins and leads), then the one core command.
pub(crate) async fn act_on_alert(
    state: &AppState,
    who: &Principal,
    id: &str,
    action: AlertAction,
) -> Result<Alert, ApiError> {
    if !who.writes_alerts() {
        return Err(ApiError::Forbidden);
    }
    if matches!(action, AlertAction::Reassign { .. }) && !who.reassigns_alerts() {
        return Err(ApiError::Forbidden);
    }
    visible_alert(state, who, id).await?;
    let version = action.version();
    let lifecycle = AlertLifecycle::new(state.storage.as_ref(), state.clock.as_ref());
    Ok(lifecycle
        .change_status(
            id,
            &who.user,
            Some(version),
            action.into_change(),
            state.alert_limits,
        )
        .await?)
}
