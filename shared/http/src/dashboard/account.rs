//! The account page: score history, signal breakdown and what changed, the week's and month's
//! change with its drivers, open alerts with their buttons, outreach and interventions, active
//! vs dormant users, feature adoption, sessions, contract and timeline.
//!
//! Reads, at once: the account's activity (its record, audit entries, alerts and interventions:
//! one request on the embedded store, see `AccountActivityStore`) and its last 40 days of
//! history (the week's and month's drivers), drawing the score chart from the record's trail (an
//! account scored before trails existed reads 180 days of history instead, until its next run).

use chrono::NaiveDate;
use vitals_core::churn::cache::ModelCache;
use vitals_core::lifecycle::AccountState;
use vitals_core::model::{AccountId, AccountRecord, AlertStatus};
use vitals_core::ports::Storage;
use vitals_core::query::account::{account_detail, history_points, AccountDetail};
use vitals_core::query::account_page::account_page_reads;

use super::account_work::{alerts_card, change_card, interventions_card};
use super::cells::*;
use super::html::{escape, money, url_segment};
use super::svg::{self, Bar};
use crate::authn::Principal;
use crate::query::alerts;
use crate::{ApiError, AppState};

/// Audit entries (timeline), alerts and interventions shown at most.
const ACTIVITY_LIMIT: usize = 50;

pub async fn account(
    state: &AppState,
    who: &Principal,
    csrf: &str,
    id: &str,
) -> Result<(String, String), ApiError> {
    let storage = state.storage.as_ref();
    if !who.reads_accounts() {
        return Err(ApiError::Forbidden);
    }
    let account = AccountId::new(id).map_err(|_| ApiError::NotFound)?;
    // The timeline, alerts, interventions and the history the score-change card compares are
    // read beside the record and only shown once the record says who may see them.
    let today = state.clock.now().date_naive();
    let (activity, churn_model) = futures::join!(
        account_page_reads(storage, &account, ACTIVITY_LIMIT, today),
        ModelCache::shared().latest(&state.storage),
    );
    let activity = activity?;
    let record = match activity.record {
        Some(record) if who.sees(&record.profile) => record,
        _ => return Err(ApiError::NotFound),
    };
    let points = score_points(storage, &record, today).await?;
    let d = account_detail(&record, &activity.audit, today)
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
    let now = state.clock.now();
    let open: Vec<_> = activity
        .alerts
        .into_iter()
        .filter(|a| a.status != AlertStatus::Resolved && alerts::visible(who, a))
        .collect();
    let here = format!("/dashboard/accounts/{}", url_segment(&d.account_id));
    put!(
        s,
        // Full width each: the alerts' action forms need the room.
        r#"{}<br>{}<br>"#,
        change_card(&activity.history),
        alerts_card(&open, d.name.as_deref(), who, csrf, &here, now)
    );
    s.push_str(&interventions_card(&activity.interventions));

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
                    sig.label.clone(),
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
                        c.label.clone(),
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
