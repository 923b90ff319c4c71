//! `GET /v1/accounts` (filters, sort, cursor paging), `GET /v1/accounts/{id}` and
//! `GET /v1/accounts/{id}/history`, scoped to the caller's own accounts unless admin.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use vitals_core::model::{AccountId, AccountRecord, Alert, Band, Intervention};
use vitals_core::query::account::{account_detail, history_points, AccountDetail, HistoryPoint};
use vitals_core::query::accounts::{
    AccountFilter, AccountRow, AccountSort, DeclineFilter, LifecycleFilter,
};

use super::{page_limit, parse_param, reads, Caller};
use crate::authn::Principal;
use crate::{ApiError, AppState};

#[derive(Debug, Serialize)]
pub struct AccountList {
    pub items: Vec<AccountRow>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
    /// Accounts matching the filters (all pages).
    pub total: usize,
}

fn parse_band(v: &str) -> Option<Band> {
    match v {
        "at_risk" => Some(Band::AtRisk),
        "monitor" => Some(Band::Monitor),
        "healthy" => Some(Band::Healthy),
        _ => None,
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// The filters and sort of a list request.
pub(crate) fn list_request(
    params: &HashMap<String, String>,
) -> Result<(AccountFilter, AccountSort), ApiError> {
    let get = |k: &str| params.get(k).map(String::as_str);
    let text = |k: &str| get(k).filter(|v| !v.is_empty()).map(str::to_string);
    let filter = AccountFilter {
        band: parse_param(
            "band",
            get("band"),
            parse_band,
            "at_risk, monitor or healthy",
        )?,
        owner: text("owner"),
        tier: text("tier"),
        region: text("region"),
        product_line: text("product_line"),
        search: text("q")
            .map(|q| q.trim().to_string())
            .filter(|q| !q.is_empty()),
        renewal_within_days: parse_param(
            "renewal_within_days",
            get("renewal_within_days"),
            |v| v.parse::<i64>().ok().filter(|d| (0..=3650).contains(d)),
            "an integer from 0 to 3650",
        )?,
        decline: parse_param(
            "decline",
            get("decline"),
            DeclineFilter::parse,
            "any, moderate, severe or none",
        )?,
        expansion: parse_param("expansion", get("expansion"), parse_bool, "true or false")?,
        lifecycle: parse_param(
            "lifecycle",
            get("lifecycle"),
            LifecycleFilter::parse,
            &LifecycleFilter::NAMES.join(", "),
        )?,
    };
    let sort = parse_param(
        "sort",
        get("sort"),
        AccountSort::parse,
        &AccountSort::NAMES.join(", "),
    )?
    .unwrap_or_default();
    Ok((filter, sort))
}

/// One page of the caller's accounts matching the filter, sorted, from the precomputed listing
/// (see [`reads::listed_rows`] for its reads), and how many match: rows are as of each
/// segment's latest run, days to renewal as of today.
pub(crate) async fn visible_page(
    state: &AppState,
    who: &Principal,
    filter: &AccountFilter,
    sort: AccountSort,
    offset: usize,
    limit: usize,
) -> Result<(Vec<AccountRow>, usize), ApiError> {
    let today = state.clock.now().date_naive();
    let listed = reads::listed_rows(state, today).await?;
    let rows = listed.rows.visible(who, filter, sort, today);
    let page = rows
        .iter()
        .skip(offset)
        .take(limit)
        .map(|r| (*r).clone().on(today))
        .collect();
    Ok((page, rows.len()))
}

fn decode_cursor(cursor: Option<&str>) -> Result<usize, ApiError> {
    let Some(cursor) = cursor.filter(|c| !c.is_empty()) else {
        return Ok(0);
    };
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("o:")?.parse().ok())
        .ok_or_else(super::bad_cursor)
}

fn encode_cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("o:{offset}"))
}

pub async fn list_accounts(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<AccountList>, ApiError> {
    let who = caller.require_accounts()?;
    let (filter, sort) = list_request(&params)?;
    let limit = page_limit(params.get("limit").map(String::as_str), 50, 500)?;
    let offset = decode_cursor(params.get("cursor").map(String::as_str))?;
    let (items, total) = visible_page(&state, who, &filter, sort, offset, limit).await?;
    let end = offset.saturating_add(limit).min(total);
    Ok(Json(AccountList {
        items,
        next_cursor: (end < total).then(|| encode_cursor(end)),
        total,
    }))
}

/// Audit entries (the timeline), alerts and interventions read with an account, at most: the
/// API's account view and the dashboard's account page show the same ones.
pub const ACTIVITY_LIMIT: usize = 50;

/// An account as its view shows it: the detail (with the churn risk) and the rest of what was
/// read with it (the dashboard's account page shows its alerts and interventions too).
pub(crate) struct AccountView {
    pub record: AccountRecord,
    pub detail: AccountDetail,
    pub alerts: Vec<Alert>,
    pub interventions: Vec<Intervention>,
    /// What the dashboard's score-change card compares (`account_page_reads`).
    pub history: Vec<vitals_core::history::HistoryDay>,
}

/// The account view, for the API and the dashboard alike: the account's activity (its record,
/// with at most [`ACTIVITY_LIMIT`] audit entries, alerts and interventions) read at once with
/// the latest churn model (kept in [`AppState::caches`] a few minutes). 404 when the account is
/// missing or not the caller's, 403 for roles that see no accounts.
pub(crate) async fn load_account(
    state: &AppState,
    who: &Principal,
    id: &str,
) -> Result<AccountView, ApiError> {
    if !who.reads_accounts() {
        return Err(ApiError::Forbidden);
    }
    let account = AccountId::new(id).map_err(|_| ApiError::NotFound)?;
    let storage = state.storage.as_ref();
    let today = state.clock.now().date_naive();
    let (activity, churn_model) = futures::join!(
        vitals_core::query::account_page::account_page_reads(
            storage,
            &account,
            ACTIVITY_LIMIT,
            today
        ),
        state.caches.churn_model.latest(storage)
    );
    let activity = activity?;
    let record = match activity.record {
        Some(record) if who.sees(&record.profile) => record,
        _ => return Err(ApiError::NotFound),
    };
    let detail = account_detail(&record, &activity.audit, today)
        .with_churn_risk(&record, churn_model?.as_deref());
    Ok(AccountView {
        record,
        detail,
        alerts: activity.alerts,
        interventions: activity.interventions,
        history: activity.history,
    })
}

pub async fn get_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<AccountDetail>, ApiError> {
    Ok(Json(load_account(&state, &caller.0, &id).await?.detail))
}

#[derive(Debug, Serialize)]
pub struct History {
    pub account_id: String,
    /// Oldest first.
    pub points: Vec<HistoryPoint>,
}

/// The account's score history over the last `days` days (2 requests, read at once).
pub(crate) async fn load_history(
    state: &AppState,
    who: &Principal,
    id: &str,
    days: u32,
) -> Result<History, ApiError> {
    let account_id = AccountId::new(id).map_err(|_| ApiError::NotFound)?;
    let storage = state.storage.as_ref();
    let to = state.clock.now().date_naive();
    let from = to - chrono::Days::new(u64::from(days));
    // From the day before, so the first point's change is known.
    let before = from.pred_opt().unwrap_or(from);
    let (record, history) = futures::join!(
        reads::visible_account(storage, who, id),
        storage.history(&account_id, before, to)
    );
    record?;
    Ok(History {
        account_id: account_id.to_string(),
        points: history_points(&history?, from),
    })
}

pub async fn get_history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<History>, ApiError> {
    let days = parse_param(
        "days",
        params.get("days").map(String::as_str),
        |v| v.parse::<u32>().ok().filter(|d| (1..=730).contains(d)),
        "an integer from 1 to 730",
    )?
    .unwrap_or(90);
    Ok(Json(load_history(&state, &caller.0, &id, days).await?))
}
