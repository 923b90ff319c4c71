//! The two dashboard pages. Portfolio: KPI cards, score distribution, score trend, at-risk list
//! with reasons, expansion list, revenue at risk and alerts needing action. Account: score
//! history, signal breakdown and what changed, active vs dormant users, feature adoption,
//! sessions, contract and timeline.
//!
//! Reads: the portfolio page reads the precomputed listing with the trend (1) and the open
//! alerts (1), at once; the account page reads the account record and its audit entries at
//! once (2), drawing the score chart from the record's trail (an account scored before trails
//! existed reads its history instead, until its next run: 3).

use chrono::{DateTime, NaiveDate, Utc};
use vitals_core::churn::cache::ModelCache;
use vitals_core::lifecycle::AccountState;
use vitals_core::model::{AccountId, AccountRecord, AlertQuery, AlertStatus, Band};
use vitals_core::ports::Storage;
use vitals_core::query::account::{account_detail, history_points, AccountDetail};
use vitals_core::query::accounts::{AccountFilter, AccountRow, AccountSort};
use vitals_core::query::listing::visible_rows;
use vitals_core::query::portfolio::{kpis_from_rows, portfolio_view, Kpi};

use super::html::{escape, money, url_segment};
use super::svg::{self, Bar};
use crate::authn::Principal;
use crate::query::{alerts, portfolio as portfolio_query, reads};
use crate::{ApiError, AppState};

/// Rows in each list of the portfolio page.
const LIST_ROWS: usize = 15;

fn band_cell(band: Option<Band>) -> String {
    match band {
        Some(b) => format!(r#"<span class="band-{0}">{0}</span>"#, b.as_str()),
        None => r#"<span class="null">not scored</span>"#.into(),
    }
}

fn opt_num(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(
        || r#"<span class="null">–</span>"#.to_string(),
        |v| {
            let text = format!("{v:.decimals$}");
            // A small negative rounds to "-0": show it as 0.
            if text
                .trim_start_matches('-')
                .chars()
                .all(|c| c == '0' || c == '.')
            {
                text.trim_start_matches('-').to_string()
            } else {
                text
            }
        },
    )
}

/// "provisional: today so far, 14:30 UTC": said wherever a provisional score is shown, so
/// nobody mistakes it for a complete day's.
fn provisional_label(day: NaiveDate, computed_at: DateTime<Utc>, today: NaiveDate) -> String {
    let so_far = if day == today {
        "today so far".to_string()
    } else {
        format!("{day} so far")
    };
    format!("provisional: {so_far}, {} UTC", computed_at.format("%H:%M"))
}

/// A list's score cell: the daily score, then the provisional one when there is a newer one.
fn score_cell(row: &AccountRow, today: NaiveDate) -> String {
    let daily = opt_num(row.score, 0);
    match &row.provisional {
        Some(p) => format!(
            r#"{daily} <span class="provisional" title="{label}">→ {score:.0} ({label})</span>"#,
            label = escape(&provisional_label(p.day, p.computed_at, today)),
            score = p.score
        ),
        None => daily,
    }
}

fn account_link(row: &AccountRow) -> String {
    format!(
        r#"<a href="/dashboard/accounts/{}">{}</a>"#,
        url_segment(&row.account_id),
        escape(row.name.as_deref().unwrap_or(&row.account_id))
    )
}

fn kpi_row(name: &str, kpi: &Kpi) -> String {
    let value = match kpi.value {
        Some(v) if kpi.unit == "ratio" => format!("{:.0}%", v * 100.0),
        Some(v) => format!("{v:.1} {}", kpi.unit),
        None => r#"<span class="null">null</span>"#.into(),
    };
    let note = match (&kpi.reason, kpi.source, kpi.n) {
        (Some(reason), _, _) => escape(reason),
        (None, Some(source), Some(n)) => format!("from {source}, {n} accounts"),
        (None, Some(source), None) => format!("from {source}"),
        _ => String::new(),
    };
    format!(
        r#"<tr><td>{}</td><td>{value}</td><td class="muted">{note}</td></tr>"#,
        escape(name)
    )
}

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
    let (listed, open) = futures::join!(reads::listed_rows(&state.storage, today), open_alerts);
    let listed = listed?;
    let open = open?;
    // The trend comes with the listing; read the summaries only when it has none yet.
    let view = if listed.trend.is_empty() {
        portfolio_query::load(state, portfolio_query::DEFAULT_TREND_DAYS).await?
    } else {
        portfolio_view(&listed.trend, None)
    };
    // Portfolio-wide figures: from every row, whoever asks.
    let mut kpis = view.kpis.clone();
    kpis_from_rows(&mut kpis, &listed.rows);
    let rows = visible_rows(
        &listed.rows,
        who,
        &AccountFilter::default(),
        AccountSort::ScoreAsc,
        today,
    );

    let mut s = String::new();
    put!(
        s,
        "<h1>Portfolio{}</h1>",
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
    let trend: Vec<(String, f64)> = view
        .trend
        .iter()
        .map(|t| {
            (
                t.as_of.map_or_else(String::new, |d| d.to_string()),
                t.mean_score,
            )
        })
        .collect();
    put!(
        s,
        r#"<div class="grid"><div class="card" id="distribution"><h2>Score distribution</h2>{}</div><div class="card" id="trend"><h2>Mean score, last 90 days</h2>{}</div></div>"#,
        svg::bar_chart("Accounts per score bucket", &bars, 520, 200),
        svg::line_chart(
            "Mean score over time",
            &trend,
            100.0,
            &[(40.0, svg::RED), (80.0, svg::GREEN)],
            520,
            200
        )
    );

    if let Some(open) = open {
        put!(
            s,
            r#"<div class="card" id="at-risk"><h2>At risk</h2><table><tr><th>Account</th><th>Score</th><th>Change</th><th>Why</th><th>Owner</th><th>MRR</th></tr>"#
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
                opt_num(row.change, 0),
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

pub async fn account(
    state: &AppState,
    who: &Principal,
    id: &str,
) -> Result<(String, String), ApiError> {
    let storage = state.storage.as_ref();
    if !who.reads_accounts() {
        return Err(ApiError::Forbidden);
    }
    let account = AccountId::new(id).map_err(|_| ApiError::NotFound)?;
    // The timeline is read beside the record and only shown once the record says who may see it.
    let (record, audit, churn_model) = futures::join!(
        reads::visible_account(storage, who, id),
        storage.list_audit(Some(&account), None, 50),
        ModelCache::shared().latest(&state.storage)
    );
    let record = record?;
    let today = state.clock.now().date_naive();
    let points = score_points(storage, &record, today).await?;
    let d = account_detail(&record, &audit?.items, today)
        .with_churn_risk(&record, churn_model?.as_deref());
    let title = d.name.clone().unwrap_or_else(|| d.account_id.clone());

    let mut s = String::new();
    put!(
        s,
        r#"<h1>{} <span class="muted">{}</span></h1>"#,
        escape(&title),
        escape(&d.account_id)
    );
    if let AccountState::Churned { on, last_mrr } = d.lifecycle {
        // A churned account: its last score, frozen, and what was lost; no band, no renewal.
        put!(
            s,
            r#"<div class="kpis" id="lifecycle"><div class="kpi"><b class="band-at_risk">churned</b><span>on {on}</span></div><div class="kpi"><b>{}</b><span>last MRR</span></div><div class="kpi"><b>{}</b><span>last score{}</span></div><div class="kpi"><b>{}</b><span>owner</span></div></div><br>"#,
            last_mrr.map_or("–".into(), money),
            opt_num(d.score, 0),
            d.as_of.map_or(String::new(), |a| format!(" ({a})")),
            escape(d.owner.as_deref().unwrap_or("–")),
        );
    } else {
        let band = match d.lifecycle {
            AccountState::NotStarted => r#"<span class="muted">not started</span>"#.to_string(),
            _ => band_cell(d.band),
        };
        put!(
            s,
            r#"<div class="kpis"><div class="kpi"><b>{}</b><span>score{}</span></div><div class="kpi"><b>{}</b><span>band</span></div><div class="kpi"><b>{}</b><span>confidence</span></div><div class="kpi"><b>{}</b><span>owner</span></div><div class="kpi"><b>{}</b><span>MRR</span></div><div class="kpi"><b>{}</b><span>renewal{}</span></div></div><br>"#,
            opt_num(d.score, 0),
            d.as_of.map_or(String::new(), |a| format!(" as of {a}")),
            band,
            d.confidence
                .map_or("–".into(), |c| format!("{:.0}%", c * 100.0)),
            escape(d.owner.as_deref().unwrap_or("–")),
            d.contract.mrr.map_or("–".into(), money),
            d.contract
                .renewal_date
                .map_or("–".into(), |r| r.to_string()),
            d.contract
                .days_to_renewal
                .map_or(String::new(), |n| format!(" in {n} days"))
        );
    }

    if let Some(p) = &d.provisional {
        // Beside the daily score, never in its place: the day is not over.
        put!(
            s,
            r#"<div class="kpis" id="provisional"><div class="kpi"><b class="provisional">{}</b><span class="provisional">{}</span></div><div class="kpi"><b>{}</b><span>band so far</span></div><div class="kpi"><span class="muted">{}</span></div></div><br>"#,
            opt_num(Some(p.score), 0),
            escape(&provisional_label(p.day, p.computed_at, today)),
            band_cell(Some(p.band)),
            escape(&p.changes.as_ref().map_or_else(
                || "first score: no daily score to compare with".to_string(),
                |c| format!("since the last daily score: {}", c.sentence)
            ))
        );
    }
    s.push_str(&churn_risk_card(&d));

    let changed = d.changes.as_ref().map_or_else(
        || r#"<p class="muted">No previous run to compare with.</p>"#.to_string(),
        |c| {
            format!(
                r#"<p id="what-changed"><b>What changed:</b> {}</p>"#,
                escape(&c.sentence)
            )
        },
    );
    put!(
        s,
        r#"<div class="grid"><div class="card" id="history"><h2>Score history</h2>{}</div><div class="card" id="signals"><h2>Signals</h2>{changed}{}</div></div>"#,
        svg::line_chart(
            "Score history",
            &points,
            100.0,
            &[(40.0, svg::RED), (80.0, svg::GREEN)],
            520,
            200
        ),
        svg::hbars(
            "Points per signal",
            &d.signals
                .iter()
                .map(|sig| (
                    sig.name.clone(),
                    sig.value.unwrap_or(0.0),
                    match sig.value {
                        Some(v) => format!(
                            "{v:.0}/100 × {:.0}% = {:.1} pts",
                            sig.weight * 100.0,
                            sig.points
                        ),
                        None => "no data".to_string(),
                    },
                    sig.value.map_or(svg::GREY, svg::score_color),
                ))
                .collect::<Vec<_>>(),
            100.0,
            520
        )
    );

    let u = &d.usage;
    let sessions: Vec<Bar<'_>> = u
        .sessions_trend
        .iter()
        .rev()
        .take(30)
        .rev()
        .map(|day| Bar {
            label: day.day.format("%d").to_string(),
            value: f64::from(day.sessions),
            color: svg::BLUE,
        })
        .collect();
    put!(
        s,
        r#"<div class="grid"><div class="card" id="users"><h2>Users: active vs dormant</h2>{}<p class="muted">Active: used the product in the last 30 days; dormant: seen in the last 120 days but not the last 30.{}</p></div><div class="card" id="sessions"><h2>Sessions, last 30 active days</h2>{}</div></div>"#,
        svg::hbars(
            "Active and dormant users",
            &[
                (
                    "active".to_string(),
                    u.active_users.len() as f64,
                    format!("{} users", u.active_users.len()),
                    svg::GREEN
                ),
                (
                    "dormant".to_string(),
                    u.dormant_users.len() as f64,
                    format!("{} users", u.dormant_users.len()),
                    svg::GREY
                ),
            ],
            (u.active_users.len() + u.dormant_users.len()).max(u.seats.unwrap_or(0) as usize)
                as f64,
            520
        ),
        u.seats
            .map_or(String::new(), |seats| format!(" {seats} seats licensed.")),
        svg::bar_chart("Sessions per day", &sessions, 520, 160)
    );

    put!(
        s,
        r#"<div class="grid"><div class="card" id="features"><h2>Feature adoption{}</h2><table><tr><th>Feature</th><th>Last used</th><th>Status</th></tr>"#,
        u.feature_adoption.map_or(String::new(), |f| format!(
            " ({:.0}% of key features)",
            f * 100.0
        ))
    );
    for f in &u.features {
        put!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&f.feature),
            f.last_used,
            if f.active { "active" } else { "dormant" }
        );
    }
    if u.features.is_empty() {
        s.push_str(r#"<tr><td colspan="3" class="muted">No feature usage recorded.</td></tr>"#);
    }
    s.push_str("</table></div>");
    s.push_str(r#"<div class="card" id="timeline"><h2>Timeline</h2><table><tr><th>When</th><th>What</th><th>By</th><th>Detail</th></tr>"#);
    for t in &d.timeline {
        put!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            t.at.format("%Y-%m-%d %H:%M"),
            escape(&t.action),
            escape(&t.actor),
            escape(t.summary.as_deref().unwrap_or(""))
        );
    }
    if d.timeline.is_empty() {
        s.push_str(r#"<tr><td colspan="4" class="muted">No alerts, outreach or workflow actions yet.</td></tr>"#);
    }
    s.push_str("</table></div></div>");
    Ok((title, s))
}

/// The score chart's points over the last 180 days: the record's trail, or the score history
/// for an account last scored before trails existed (one more request, until its next run).
async fn score_points(
    storage: &dyn Storage,
    record: &AccountRecord,
    today: NaiveDate,
) -> Result<Vec<(String, f64)>, ApiError> {
    let from = today - chrono::Days::new(180);
    if !record.trail.is_empty() || record.score.is_none() {
        return Ok(record
            .trail
            .points()
            .iter()
            .filter(|p| (from..=today).contains(&p.day))
            .map(|p| (p.day.to_string(), f64::from(p.score)))
            .collect());
    }
    let history = storage.history(&record.account_id, from, today).await?;
    Ok(history_points(&history)
        .iter()
        .map(|p| (p.as_of.to_string(), p.score))
        .collect())
}

/// The churn prediction beside the score: probability over the horizon, the model's day and
/// the signals that push it most (red raises the risk, green lowers it), or why there is none.
fn churn_risk_card(d: &AccountDetail) -> String {
    let mut s = String::from(r#"<div class="card" id="churn-risk"><h2>Churn risk</h2>"#);
    match &d.churn_risk {
        Some(risk) => {
            put!(
                s,
                r#"<p><b>{:.0}%</b> chance of churning within {} days <span class="muted">(model of {}{}, signals as of {})</span></p>"#,
                risk.probability * 100.0,
                risk.horizon_days,
                risk.model_as_of,
                if risk.calibrated { ", calibrated" } else { "" },
                risk.as_of
            );
            let bars: Vec<(String, f64, String, &str)> = risk
                .contributors
                .iter()
                .map(|c| {
                    (
                        c.name.clone(),
                        c.effect.abs(),
                        format!(
                            "{} risk ({:+.2} log-odds)",
                            if c.effect > 0.0 { "raises" } else { "lowers" },
                            c.effect
                        ),
                        if c.effect > 0.0 { svg::RED } else { svg::GREEN },
                    )
                })
                .collect();
            let max = bars.iter().map(|b| b.1).fold(0.0, f64::max);
            if bars.is_empty() {
                s.push_str(
                    r#"<p class="muted">No signal stands out from the average account.</p>"#,
                );
            } else {
                s.push_str(&svg::hbars("Churn risk contributors", &bars, max, 520));
            }
        }
        None => put!(
            s,
            r#"<p class="muted">No prediction: {}.</p>"#,
            escape(
                d.churn_risk_unavailable
                    .as_deref()
                    .unwrap_or("no churn model")
            )
        ),
    }
    s.push_str("</div><br>");
    s
}

#[cfg(test)]
mod tests {
    use super::{opt_num, provisional_label};
    use chrono::{NaiveDate, TimeZone, Utc};

    #[test]
    fn a_provisional_score_says_it_is_the_day_so_far_and_when() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        let at = Utc.with_ymd_and_hms(2026, 3, 10, 14, 30, 12).unwrap();
        assert_eq!(
            provisional_label(today, at, today),
            "provisional: today so far, 14:30 UTC"
        );
        let tomorrow = today.succ_opt().unwrap();
        assert_eq!(
            provisional_label(today, at, tomorrow),
            "provisional: 2026-03-10 so far, 14:30 UTC"
        );
    }

    #[test]
    fn numbers_that_round_to_zero_show_no_minus_sign() {
        assert_eq!(opt_num(Some(-0.2), 0), "0");
        assert_eq!(opt_num(Some(-0.04), 1), "0.0");
        assert_eq!(opt_num(Some(-1.6), 0), "-2");
        assert_eq!(opt_num(Some(3.0), 0), "3");
    }
}
