//! `GET /v1/portfolio`: the precomputed portfolio view over the caller's book (a CSM's or AE's
//! own accounts; every account for admin and read-only).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::Json;
use vitals_core::model::BookDay;
use vitals_core::query::portfolio::{portfolio_view, PortfolioView};

use super::reads::Listed;
use super::{parse_param, reads, Caller};
use crate::authn::Principal;
use crate::{ApiError, AppState};

/// Default trend length in days: the trend the precomputed listing carries for the dashboard.
pub const DEFAULT_TREND_DAYS: u32 = vitals_core::model::AccountListing::TREND_DAYS;

pub async fn get_portfolio(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<PortfolioView>, ApiError> {
    let days = parse_param(
        "days",
        params.get("days").map(String::as_str),
        |v| v.parse::<u32>().ok().filter(|d| (1..=730).contains(d)),
        "an integer from 1 to 730",
    )?
    .unwrap_or(DEFAULT_TREND_DAYS);
    Ok(Json(load(&state, &caller.0, days).await?))
}

/// The portfolio view of the last `days` days over `who`'s book.
pub async fn load(state: &AppState, who: &Principal, days: u32) -> Result<PortfolioView, ApiError> {
    let today = state.clock.now().date_naive();
    if who.reads_whole_portfolio() {
        return whole(state, days).await;
    }
    let (listed, book) = reads::listed_with_book(state, today, who, days).await?;
    let books = book.as_deref().map(Vec::as_slice).unwrap_or_default();
    Ok(own_book(state, who, &listed, books))
}

/// The whole portfolio from the stored summaries.
pub async fn whole(state: &AppState, days: u32) -> Result<PortfolioView, ApiError> {
    let today = state.clock.now().date_naive();
    let (trend, latest) = reads::portfolio_summaries(state.storage.as_ref(), today, days).await?;
    Ok(portfolio_view(&trend, latest.as_ref()))
}

/// `who`'s own book: every row they may see (churned ones count in the churn figures), and
/// their books for the trend.
pub fn own_book(
    state: &AppState,
    who: &Principal,
    listed: &Listed,
    books: &[BookDay],
) -> PortfolioView {
    let today = state.clock.now().date_naive();
    PortfolioView::clone(&listed.rows.book_view(who, books, today))
}
