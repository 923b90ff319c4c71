//! The account page: score history, signal breakdown and what changed, the week's and month's
//! change with its drivers, open alerts with their buttons, outreach and interventions, active
//! vs dormant users, feature adoption, sessions, contract and timeline.
//!
//! Reads the account view of the API (`query::accounts::load_account`: its record, audit
//! entries, alerts, interventions and the history records the week's and month's drivers
//! compare, one request on the embedded store and two on DynamoDB, see
//! `core::query::account_page`, and the cached churn model), drawing the score chart from the
//! record's trail (an account scored before trails existed reads 180 days of history instead,
//! until its next run).

use chrono::NaiveDate;
use serde::Serialize;
use vitals_core::lifecycle::AccountState;
use vitals_core::model::{AccountId, AccountRecord, AlertStatus, Band};
use vitals_core::ports::Storage;
use vitals_core::query::account::{history_points, AccountDetail};

use super::account_work::{changes, Change, InterventionLine};
use super::alerts::AlertLine;
use super::cells::{opt_num, provisional_label};
use super::html::{money, url_segment};
use super::pages::{self, Frame};
use super::svg::{self, Bar};
use crate::authn::Principal;
use crate::query::accounts::{load_account, AccountView};
use crate::query::alerts;
use crate::{ApiError, AppState};

/// The account id of a link (404 when it cannot be one).
fn account_id(id: &str) -> Result<AccountId, ApiError> {
    AccountId::new(id).map_err(|_| ApiError::NotFound)
}

pub async fn account(
    state: &AppState,
    who: &Principal,
    csrf: &str,
    id: &str,
    frame: Frame,
) -> Result<String, ApiError> {
    let storage = state.storage.as_ref();
    if !who.reads_accounts() {
        return Err(ApiError::Forbidden);
    }
    account_id(id)?;
    let today = state.clock.now().date_naive();
    // The account view's reads (the API's), with the history its score-change card compares.
    let AccountView {
        record,
        detail: d,
        alerts: account_alerts,
        interventions,
        history: recent,
    } = load_account(state, who, id).await?;
    let points = score_points(storage, &record, today).await?;
    let title = d.name.clone().unwrap_or_else(|| d.account_id.clone());
    let now = state.clock.now();
    let here = format!("/dashboard/accounts/{}", url_segment(&d.account_id));
    let alerts: Vec<AlertLine> = account_alerts
        .iter()
        .filter(|a| a.status != AlertStatus::Resolved && alerts::visible(who, a))
        .map(|a| AlertLine::of(a, d.name.as_deref(), who, csrf, &here, now))
        .collect();
    let dash = || "–".to_string();
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
    let page = AccountPage {
        title: title.clone(),
        account_id: d.account_id.clone(),
        churned: match d.lifecycle {
            AccountState::Churned { on, last_mrr } => Some(Churned {
                on: on.to_string(),
                last_mrr: last_mrr.map_or_else(dash, money),
                as_of: d.as_of.map_or(String::new(), |a| format!(" ({a})")),
            }),
            _ => None,
        },
        score: opt_num(d.score, 0),
        as_of: d.as_of.map_or(String::new(), |a| format!(" as of {a}")),
        not_started: matches!(d.lifecycle, AccountState::NotStarted),
        band: d.band.map(Band::as_str),
        confidence: d
            .confidence
            .map_or_else(dash, |c| format!("{:.0}%", c * 100.0)),
        owner: d.owner.clone().unwrap_or_else(dash),
        mrr: d.contract.mrr.map_or_else(dash, money),
        renewal: d.contract.renewal_date.map_or_else(dash, |r| r.to_string()),
        renewal_in: d
            .contract
            .days_to_renewal
            .map_or(String::new(), |n| format!(" in {n} days")),
        provisional: d.provisional.as_ref().map(|p| Provisional {
            score: format!("{:.0}", p.score),
            label: provisional_label(p.day, p.computed_at, today),
            band: p.band.as_str(),
            change: p.changes.as_ref().map_or_else(
                || "first score: no daily score to compare with".to_string(),
                |c| format!("since the last daily score: {}", c.sentence),
            ),
        }),
        churn_risk: churn_risk(&d),
        no_prediction: d
            .churn_risk_unavailable
            .clone()
            .unwrap_or_else(|| "no churn model".into()),
        changes: changes(&recent),
        alerts,
        interventions: interventions.iter().map(InterventionLine::of).collect(),
        history_chart: svg::line_chart(
            "Score history",
            &points,
            100.0,
            &[(40.0, svg::RED), (80.0, svg::GREEN)],
            520,
            200,
        ),
        what_changed: d.changes.as_ref().map(|c| c.sentence.clone()),
        signals_chart: svg::hbars(
            "Points per signal",
            &d.signals
                .iter()
                .map(|sig| {
                    (
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
                    )
                })
                .collect::<Vec<_>>(),
            100.0,
            520,
        ),
        users_chart: svg::hbars(
            "Active and dormant users",
            &[
                (
                    "active".to_string(),
                    u.active_users.len() as f64,
                    format!("{} users", u.active_users.len()),
                    svg::GREEN,
                ),
                (
                    "dormant".to_string(),
                    u.dormant_users.len() as f64,
                    format!("{} users", u.dormant_users.len()),
                    svg::GREY,
                ),
            ],
            (u.active_users.len() + u.dormant_users.len()).max(u.seats.unwrap_or(0) as usize)
                as f64,
            520,
        ),
        seats: u
            .seats
            .map_or(String::new(), |seats| format!(" {seats} seats licensed.")),
        sessions_chart: svg::bar_chart("Sessions per day", &sessions, 520, 160),
        feature_adoption: u.feature_adoption.map_or(String::new(), |f| {
            format!(" ({:.0}% of key features)", f * 100.0)
        }),
        features: u
            .features
            .iter()
            .map(|f| Feature {
                feature: f.feature.clone(),
                last_used: f.last_used.to_string(),
                status: if f.active { "active" } else { "dormant" },
            })
            .collect(),
        timeline: d
            .timeline
            .iter()
            .map(|t| TimelineLine {
                at: t.at.format("%Y-%m-%d %H:%M").to_string(),
                action: t.action.clone(),
                actor: t.actor.clone(),
                summary: t.summary.clone().unwrap_or_default(),
            })
            .collect(),
    };
    let frame = Frame { title, ..frame };
    pages::render("account.html", &frame, page)
}

/// The account page's view, top to bottom; charts are markup from `svg`.
#[derive(Serialize)]
struct AccountPage {
    title: String,
    account_id: String,
    /// Set for a churned account: its tiles replace the score's.
    churned: Option<Churned>,
    score: Option<String>,
    /// " as of 2026-03-01", or nothing.
    as_of: String,
    not_started: bool,
    band: Option<&'static str>,
    confidence: String,
    owner: String,
    mrr: String,
    renewal: String,
    /// " in 30 days", or nothing.
    renewal_in: String,
    provisional: Option<Provisional>,
    churn_risk: Option<ChurnRiskView>,
    /// Why there is no churn prediction.
    no_prediction: String,
    changes: Vec<Change>,
    alerts: Vec<AlertLine>,
    interventions: Vec<InterventionLine>,
    history_chart: String,
    what_changed: Option<String>,
    signals_chart: String,
    users_chart: String,
    seats: String,
    sessions_chart: String,
    feature_adoption: String,
    features: Vec<Feature>,
    timeline: Vec<TimelineLine>,
}

#[derive(Serialize)]
struct Churned {
    on: String,
    last_mrr: String,
    as_of: String,
}

#[derive(Serialize)]
struct Provisional {
    score: String,
    label: String,
    band: &'static str,
    change: String,
}

#[derive(Serialize)]
struct Feature {
    feature: String,
    last_used: String,
    status: &'static str,
}

#[derive(Serialize)]
struct TimelineLine {
    at: String,
    action: String,
    actor: String,
    summary: String,
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
    Ok(history_points(&history, from)
        .iter()
        .map(|p| (p.as_of.to_string(), p.score))
        .collect())
}

/// The churn prediction beside the score: probability over the horizon, the model's day and
/// the signals that push it most (red raises the risk, green lowers it).
#[derive(Serialize)]
struct ChurnRiskView {
    probability: String,
    horizon_days: u32,
    /// "2026-03-01, calibrated".
    model: String,
    as_of: String,
    /// The contributors' bars; `None` when no signal stands out.
    chart: Option<String>,
}

fn churn_risk(d: &AccountDetail) -> Option<ChurnRiskView> {
    let risk = d.churn_risk.as_ref()?;
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
    Some(ChurnRiskView {
        probability: format!("{:.0}%", risk.probability * 100.0),
        horizon_days: risk.horizon_days,
        model: format!(
            "{}{}",
            risk.model_as_of,
            if risk.calibrated { ", calibrated" } else { "" }
        ),
        as_of: risk.as_of.to_string(),
        chart: (!bars.is_empty()).then(|| svg::hbars("Churn risk contributors", &bars, max, 520)),
    })
}
