//! `GET /v1/portfolio`: the precomputed portfolio view, for every role.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::Json;
use vitals_core::query::portfolio::{portfolio_view, PortfolioView};

use super::{parse_param, reads, Caller};
use crate::{ApiError, AppState};

/// Default trend length in days: the trend the precomputed listing carries for the dashboard.
pub const DEFAULT_TREND_DAYS: u32 = vitals_core::model::AccountListing::TREND_DAYS;

pub async fn get_portfolio(
    State(state): State<AppState>,
    _caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<PortfolioView>, ApiError> {
    let days = parse_param(
        "days",
        params.get("days").map(String::as_str),
        |v| v.parse::<u32>().ok().filter(|d| (1..=730).contains(d)),
        "an integer from 1 to 730",
    )?
    .unwrap_or(DEFAULT_TREND_DAYS);
    Ok(Json(load(&state, days).await?))
}

/// The portfolio view of the last `days` days.
pub async fn load(state: &AppState, days: u32) -> Result<PortfolioView, ApiError> {
    let today = state.clock.now().date_naive();
    let (trend, latest) = reads::portfolio_summaries(state.storage.as_ref(), today, days).await?;
    Ok(portfolio_view(&trend, latest.as_ref()))
}
