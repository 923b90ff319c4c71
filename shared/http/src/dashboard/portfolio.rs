//! The portfolio page over the reader's book (a CSM's or AE's own accounts, every account for
//! admin and read-only): KPI cards, score distribution, at-risk accounts and MRR at risk per
//! day, at-risk list with reasons and 7-day change, expansion list and alerts needing action.
//!
//! Reads, at once: the listing version (1; the listing, its trend and the reader's books are
//! kept while it is unchanged) and the open alerts (1).

use vitals_core::model::{AlertQuery, AlertStatus, Band};
use vitals_core::query::accounts::{AccountFilter, AccountRow, AccountSort};
use vitals_core::query::portfolio::{kpis_from_rows, portfolio_view, Book, TrendPoint};

use super::cells::*;
use super::html::{escape, money, url_segment};
use super::svg::{self, Bar};
use crate::authn::Principal;
use crate::query::{alerts, portfolio as portfolio_query, reads};
use crate::{ApiError, AppState};

pub async fn portfolio(state: &AppState, who: &Principal) -> Result<String, ApiError> {
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
        reads::listed_with_book(&state.storage, today, who, days),
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
    let rows = listed
        .rows
        .visible(who, &AccountFilter::default(), AccountSort::ScoreAsc, today);

    let mut s = String::new();
    put!(
        s,
        "<h1>{}{}</h1>",
        match view.book {
            Book::All => "Portfolio",
            Book::Owned => "My book",
        },
        view.as_of
            .map_or(" (not scored yet)".to_string(), |d| format!(" as of {d}"))
    );
    let band = |b: &str| view.bands.get(b).copied().unwrap_or(0);
    let share = view
        .revenue
        .at_risk_share
        .map_or(String::new(), |s| format!(" ({:.0}% of MRR)", s * 100.0));
    put!(
        s,
        r#"<div class="kpis" id="kpis"><div class="kpi"><b>{}</b><span>accounts</span></div><div class="kpi"><b>{:.1}</b><span>mean score</span></div><div class="kpi"><b class="band-at_risk">{}</b><span>at risk</span></div><div class="kpi"><b class="band-monitor">{}</b><span>monitor</span></div><div class="kpi"><b class="band-healthy">{}</b><span>healthy</span></div><div class="kpi" id="revenue-at-risk"><b>{}</b><span>MRR at risk{share}</span></div><div class="kpi"><b>{}</b><span>expansion candidates</span></div></div><br>"#,
        view.accounts,
        view.mean_score,
        band("at_risk"),
        band("monitor"),
        band("healthy"),
        money(view.revenue.mrr_at_risk),
        view.expansion.candidates
    );

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
    put!(
        s,
        r#"<div class="grid"><div class="card" id="distribution"><h2>Score distribution</h2>{}</div><div class="card" id="trend"><h2>At-risk accounts per day, last 90 days</h2>{}<h2>MRR at risk per day</h2>{}</div></div>"#,
        svg::bar_chart("Accounts per score bucket", &bars, 520, 200),
        svg::line_chart(
            "At-risk accounts per day",
            &at_risk,
            top(&at_risk),
            &[],
            520,
            120
        ),
        svg::line_chart(
            "MRR at risk per day",
            &mrr_at_risk,
            top(&mrr_at_risk),
            &[],
            520,
            120
        )
    );

    if let Some(open) = open {
        put!(
            s,
            r#"<div class="card" id="at-risk"><h2>At risk</h2><table><tr><th>Account</th><th>Score</th><th title="score change over the last 7 days">7-day change</th><th>Why</th><th>Owner</th><th>MRR</th></tr>"#
        );
        let at_risk: Vec<&AccountRow> = rows
            .iter()
            .copied()
            .filter(|r| r.band == Some(Band::AtRisk))
            .take(LIST_ROWS)
            .collect();
        for row in &at_risk {
            put!(
                s,
                r#"<tr class="at-risk-row"><td>{}</td><td class="band-at_risk">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                account_link(row),
                score_cell(row, today),
                opt_num(row.change_7d, 0),
                escape(&row.reason),
                escape(row.owner.as_deref().unwrap_or("")),
                row.mrr.map_or(String::new(), money)
            );
        }
        if at_risk.is_empty() {
            s.push_str(r#"<tr><td colspan="6" class="muted">No account at risk.</td></tr>"#);
        }
        s.push_str("</table></div>");

        let mut expansion: Vec<&AccountRow> =
            rows.iter().copied().filter(|r| r.expansion).collect();
        expansion.sort_by(|a, b| b.score.unwrap_or(0.0).total_cmp(&a.score.unwrap_or(0.0)));
        put!(
            s,
            r#"<div class="card" id="expansion"><h2>Expansion pipeline</h2><table><tr><th>Account</th><th>Score</th><th>Signals</th><th>Owner</th><th>MRR</th></tr>"#
        );
        for row in expansion.iter().take(LIST_ROWS) {
            put!(
                s,
                r#"<tr><td>{}</td><td class="band-healthy">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                account_link(row),
                score_cell(row, today),
                escape(&row.reason),
                escape(row.owner.as_deref().unwrap_or("")),
                row.mrr.map_or(String::new(), money)
            );
        }
        if expansion.is_empty() {
            s.push_str(r#"<tr><td colspan="5" class="muted">No expansion candidate.</td></tr>"#);
        }
        s.push_str("</table></div>");

        let now = state.clock.now();
        put!(
            s,
            r#"<div class="card" id="alerts"><h2>Alerts needing action</h2><table><tr><th>About</th><th>Account</th><th>Severity</th><th>Alert</th><th>Owner</th></tr>"#
        );
        let mut shown = 0;
        for alert in open
            .items
            .iter()
            .filter(|a| a.snoozed_until.is_none_or(|u| u <= now))
        {
            shown += 1;
            let note = alert
                .transitions
                .first()
                .and_then(|t| t.note.clone())
                .unwrap_or_else(|| format!("{} ({})", alert.kind, alert.cause));
            put!(
                s,
                r#"<tr><td>{}</td><td><a href="/dashboard/accounts/{}">{}</a></td><td>{:?}</td><td>{}</td><td>{}</td></tr>"#,
                // The scoring day it is about, not when a backfill processed it.
                alert.about(),
                url_segment(alert.account_id.as_str()),
                escape(alert.account_id.as_str()),
                alert.severity,
                escape(&note),
                escape(alert.owner.as_deref().unwrap_or(""))
            );
        }
        if shown == 0 {
            s.push_str(r#"<tr><td colspan="5" class="muted">Nothing open.</td></tr>"#);
        }
        s.push_str("</table></div>");
    } else {
        s.push_str(
            r#"<div class="card muted">Your role (read-only) shows portfolio metrics only.</div>"#,
        );
    }

    s.push_str(r#"<div class="card" id="kpi-table"><h2>KPIs</h2><table><tr><th>KPI</th><th>Value</th><th>Note</th></tr>"#);
    for (name, kpi) in [
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
    ] {
        s.push_str(&kpi_row(name, kpi));
    }
    s.push_str("</table></div>");
    Ok(s)
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
