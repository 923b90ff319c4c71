//! The portfolio page over the reader's book (a CSM's or AE's own accounts, every account for
//! admin and read-only): KPI cards, score distribution, at-risk accounts and MRR at risk per
//! day, at-risk list with reasons and 7-day change, expansion list and alerts needing action.
//!
//! Reads, at once: the listing version (1; the listing, its trend and the reader's books are
//! kept while it is unchanged) and the open alerts (1).

use vitals_core::model::{AlertQuery, AlertStatus, Band};
use vitals_core::query::accounts::{AccountFilter, AccountRow, AccountSort};
use vitals_core::query::portfolio::{kpis_from_rows, portfolio_view, Book, TrendPoint};

use serde::Serialize;

use super::cells::{KpiLine, ListRow, LIST_ROWS};
use super::html::{money, url_segment};
use super::pages::{self, Frame};
use super::svg::{self, Bar};
use crate::authn::Principal;
use crate::query::{alerts, portfolio as portfolio_query, reads};
use crate::{ApiError, AppState};

pub async fn portfolio(
    state: &AppState,
    who: &Principal,
    frame: &Frame,
) -> Result<String, ApiError> {
    let today = state.clock.now().date_naive();
    let open_filter = alerts::AlertFilter {
        query: AlertQuery {
            status: Some(AlertStatus::Open),
            account_id: None,
        },
        ..Default::default()
    };
    let open_alerts = async {
        if who.reads_accounts() {
            alerts::load_alerts(state, who, &open_filter, None, 20)
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    };
    let days = portfolio_query::DEFAULT_TREND_DAYS;
    let (listed, open) = futures::join!(
        reads::listed_with_book(state, today, who, days),
        open_alerts
    );
    let (listed, book) = listed?;
    let open = open?;
    let view = match &book {
        Some(books) => portfolio_query::own_book(state, who, &listed, books),
        // The trend comes with the listing; read the summaries only when it has none yet.
        None if listed.trend.is_empty() => portfolio_query::whole(state, days).await?,
        None => portfolio_view(&listed.trend, None),
    };
    let mut kpis = view.kpis.clone();
    if book.is_none() {
        kpis_from_rows(&mut kpis, &listed.rows);
    }
    let band = |b: &str| view.bands.get(b).copied().unwrap_or(0);
    let bars: Vec<Bar<'_>> = view
        .distribution
        .iter()
        .map(|b| Bar {
            label: format!("{}", b.from),
            value: b.accounts as f64,
            color: svg::score_color(f64::from(b.from) + 5.0),
        })
        .collect();
    let day_label = |t: &TrendPoint| t.as_of.map_or_else(String::new, |d| d.to_string());
    let at_risk: Vec<(String, f64)> = view
        .trend
        .iter()
        .map(|t| (day_label(t), t.at_risk as f64))
        .collect();
    let mrr_at_risk: Vec<(String, f64)> = view
        .trend
        .iter()
        .map(|t| (day_label(t), t.mrr_at_risk))
        .collect();
    let top = |points: &[(String, f64)]| nice_max(points.iter().map(|p| p.1).fold(0.0, f64::max));
    let lists = open.map(|open| {
        let list = |rows: Vec<&AccountRow>| -> Vec<ListRow> {
            rows.into_iter()
                .take(LIST_ROWS)
                .map(|r| ListRow::of(r, today))
                .collect()
        };
        // Each list is its own view of the kept listing: only its rows are read.
        let at_risk = AccountFilter {
            band: Some(Band::AtRisk),
            ..AccountFilter::default()
        };
        let expansion = AccountFilter {
            expansion: Some(true),
            ..AccountFilter::default()
        };
        let now = state.clock.now();
        Lists {
            at_risk: list(listed.rows.first(
                who,
                &at_risk,
                AccountSort::ScoreAsc,
                today,
                LIST_ROWS,
            )),
            expansion: list(listed.rows.first(
                who,
                &expansion,
                AccountSort::ScoreDesc,
                today,
                LIST_ROWS,
            )),
            alerts: open
                .items
                .iter()
                .filter(|a| a.snoozed_until.is_none_or(|u| u <= now))
                .map(|alert| OpenAlert {
                    // The scoring day it is about, not when a backfill processed it.
                    about: alert.about().to_string(),
                    link: url_segment(alert.account_id.as_str()),
                    account_id: alert.account_id.to_string(),
                    severity: format!("{:?}", alert.severity),
                    note: alert
                        .transitions
                        .first()
                        .and_then(|t| t.note.clone())
                        .unwrap_or_else(|| format!("{} ({})", alert.kind, alert.cause)),
                    owner: alert.owner.clone().unwrap_or_default(),
                })
                .collect(),
        }
    });
    let page = PortfolioPage {
        heading: format!(
            "{}{}",
            match view.book {
                Book::All => "Portfolio",
                Book::Owned => "My book",
            },
            view.as_of
                .map_or(" (not scored yet)".to_string(), |d| format!(" as of {d}"))
        ),
        accounts: view.accounts,
        mean_score: format!("{:.1}", view.mean_score),
        at_risk: band("at_risk"),
        monitor: band("monitor"),
        healthy: band("healthy"),
        mrr_at_risk: money(view.revenue.mrr_at_risk),
        mrr_share: view
            .revenue
            .at_risk_share
            .map_or(String::new(), |s| format!(" ({:.0}% of MRR)", s * 100.0)),
        expansion_candidates: view.expansion.candidates,
        distribution_chart: svg::bar_chart("Accounts per score bucket", &bars, 520, 200),
        at_risk_chart: svg::line_chart(
            "At-risk accounts per day",
            &at_risk,
            top(&at_risk),
            &[],
            520,
            120,
        ),
        mrr_chart: svg::line_chart(
            "MRR at risk per day",
            &mrr_at_risk,
            top(&mrr_at_risk),
            &[],
            520,
            120,
        ),
        lists,
        kpis: [
            ("Seat adoption", &kpis.seat_adoption),
            ("Feature adoption", &kpis.feature_adoption),
            ("Time to value", &kpis.time_to_value_days),
            ("High renewal risk", &kpis.renewal_risk_high),
            ("Medium renewal risk", &kpis.renewal_risk_medium),
            ("Net revenue retention", &kpis.net_revenue_retention),
            ("Gross revenue retention", &kpis.gross_revenue_retention),
            ("Time to intervention", &kpis.time_to_intervention_days),
            (
                "Intervention effectiveness",
                &kpis.intervention_effectiveness,
            ),
            ("Churn prediction accuracy", &kpis.churn_prediction_accuracy),
        ]
        .into_iter()
        .map(|(name, kpi)| KpiLine::of(name, kpi))
        .collect(),
    };
    pages::render("portfolio.html", frame, page)
}

/// The portfolio page's view: tiles, charts (markup from `svg`), the lists and the KPIs.
#[derive(Serialize)]
struct PortfolioPage {
    heading: String,
    accounts: u64,
    mean_score: String,
    at_risk: u64,
    monitor: u64,
    healthy: u64,
    mrr_at_risk: String,
    /// " (12% of MRR)", or nothing.
    mrr_share: String,
    expansion_candidates: u64,
    distribution_chart: String,
    at_risk_chart: String,
    mrr_chart: String,
    /// `None` for a role that sees no account (read-only).
    lists: Option<Lists>,
    kpis: Vec<KpiLine>,
}

#[derive(Serialize)]
struct Lists {
    at_risk: Vec<ListRow>,
    expansion: Vec<ListRow>,
    alerts: Vec<OpenAlert>,
}

/// An alert needing action, as the portfolio lists it.
#[derive(Serialize)]
struct OpenAlert {
    about: String,
    link: String,
    account_id: String,
    severity: String,
    note: String,
    owner: String,
}

/// A chart's top: the largest value rounded up to 1, 2 or 5 times a power of ten, so the axis
/// reads in round numbers.
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|top| *top >= max)
        .unwrap_or(max)
}
