//! The account detail view: score and its explanation, what changed, usage (active and dormant
//! users, feature adoption, sessions trend), renewal and contract, and the timeline, built from
//! the account record and its audit entries (alerts opened and changed, outreach and workflow
//! actions are all audited), so the view costs two reads; the churn prediction applies the
//! latest churn model (cached in the process, see `churn::cache`) to the current score.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use vitals_scoring::{Decline, Expansion, LifecycleStage, RenewalRisk, ScoreChange};

use crate::churn::{account_churn_risk, ChurnModelRecord, ChurnRisk};
use crate::history::HistoryDay;
use crate::lifecycle::{record_state, AccountState};
use crate::model::{AccountRecord, AuditEntry, Band, HealthScore};

/// Users and features idle for longer than this are dormant.
pub const DORMANT_AFTER_DAYS: i64 = 30;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignalView {
    pub name: String,
    /// The name in words ("Seat adoption").
    pub label: String,
    /// Normalised 0-100; null when the signal had no data.
    pub value: Option<f64>,
    pub raw: Option<f64>,
    pub weight: f64,
    pub points: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Changes {
    /// "score fell 18: seat adoption 41% → 22%".
    pub sentence: String,
    #[serde(flatten)]
    pub change: ScoreChange,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserActivity {
    pub user_id: String,
    pub last_active: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureUse {
    pub feature: String,
    pub last_used: NaiveDate,
    /// Used within the last [`DORMANT_AFTER_DAYS`] days.
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionsDay {
    pub day: NaiveDate,
    pub sessions: u32,
    pub active_users: u32,
    pub events: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Usage {
    /// Users seen in the usage window, active within the last 30 days of it.
    pub active_users: Vec<UserActivity>,
    /// Users seen in the usage window (120 days) but idle for more than 30 days.
    pub dormant_users: Vec<UserActivity>,
    pub seats: Option<u32>,
    /// Active users per licensed seat, as scored.
    pub seat_adoption: Option<f64>,
    /// Share of key features used, as scored.
    pub feature_adoption: Option<f64>,
    /// Features used in the window, most recently used first.
    pub features: Vec<FeatureUse>,
    /// Days with activity, oldest first.
    pub sessions_trend: Vec<SessionsDay>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contract {
    pub plan: Option<String>,
    pub tier: Option<String>,
    pub seats: Option<u32>,
    pub mrr: Option<f64>,
    pub arr: Option<f64>,
    pub started_on: Option<NaiveDate>,
    pub renewal_date: Option<NaiveDate>,
    pub days_to_renewal: Option<i64>,
    pub renewal_risk: Option<RenewalRisk>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    /// `alert`, `outreach`, `workflow` or `other`, from the action name.
    pub kind: &'static str,
    pub action: String,
    pub actor: String,
    pub summary: Option<String>,
    pub detail: serde_json::Value,
}

/// The account's "today so far" score: the current UTC day, not ended, scored on its events so
/// far. Nothing follows from it (no alert); the day's daily score replaces it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProvisionalView {
    /// The UTC day it covers so far.
    pub day: NaiveDate,
    pub computed_at: DateTime<Utc>,
    pub score: f64,
    pub band: Band,
    pub confidence: f64,
    pub signals: Vec<SignalView>,
    /// What changed since the last daily score.
    pub changes: Option<Changes>,
}

/// `GET /v1/accounts/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountDetail {
    pub account_id: String,
    pub name: Option<String>,
    pub owner: Option<String>,
    pub region: Option<String>,
    pub product_line: Option<String>,
    /// Active, churned (with the day and the last MRR) or not started, as of today. A churned
    /// account keeps its last score (`score`, `as_of`) but has no band, decline or renewal.
    pub lifecycle: AccountState,
    pub as_of: Option<NaiveDate>,
    /// The latest score; for a churned account, the last one before it churned (frozen).
    pub score: Option<f64>,
    /// Null unless the account is active.
    pub band: Option<Band>,
    pub confidence: Option<f64>,
    pub scorecard: Option<String>,
    pub stage: Option<LifecycleStage>,
    pub signals: Vec<SignalView>,
    /// What changed since the previous run; null on the first run.
    pub changes: Option<Changes>,
    /// A provisional "today so far" score newer than `as_of`, when events arrived since the
    /// last daily run; null otherwise.
    pub provisional: Option<ProvisionalView>,
    pub decline: Option<Decline>,
    pub expansion: Option<Expansion>,
    pub time_to_value_days: Option<i64>,
    pub nps: Option<f64>,
    pub usage: Usage,
    pub contract: Contract,
    /// Probability of churn within the model's horizon, with its main contributors; null when
    /// there is no prediction, `churn_risk_unavailable` saying why.
    pub churn_risk: Option<ChurnRisk>,
    pub churn_risk_unavailable: Option<String>,
    /// Newest first.
    pub timeline: Vec<TimelineEntry>,
}

impl AccountDetail {
    /// Fills in the churn prediction of the latest model (`None`: no model stored yet).
    pub fn with_churn_risk(
        mut self,
        record: &AccountRecord,
        model: Option<&ChurnModelRecord>,
    ) -> Self {
        match account_churn_risk(record, model) {
            Ok(risk) => {
                self.churn_risk = Some(risk);
                self.churn_risk_unavailable = None;
            }
            Err(why) => {
                self.churn_risk = None;
                self.churn_risk_unavailable = Some(why);
            }
        }
        self
    }
}

fn timeline_kind(action: &str) -> &'static str {
    if action.starts_with("alert") {
        "alert"
    } else if action.starts_with("outreach") || action.contains("email") {
        "outreach"
    } else if action.starts_with("workflow") || action.contains("task") {
        "workflow"
    } else {
        "other"
    }
}

pub fn timeline(entries: &[AuditEntry]) -> Vec<TimelineEntry> {
    entries
        .iter()
        .map(|e| TimelineEntry {
            at: e.at,
            kind: timeline_kind(&e.action),
            action: e.action.clone(),
            actor: e.actor.clone(),
            summary: e
                .detail
                .get("summary")
                .or_else(|| e.detail.get("note"))
                .or_else(|| e.detail.get("reason"))
                .and_then(|v| v.as_str())
                .map(str::to_string),
            detail: e.detail.clone(),
        })
        .collect()
}

fn signal_views(health: &HealthScore) -> Vec<SignalView> {
    health
        .signals
        .iter()
        .map(|sig| SignalView {
            name: sig.name.clone(),
            label: vitals_scoring::labels::label(&sig.name),
            value: sig.value,
            raw: sig.raw,
            weight: sig.weight,
            points: sig.points,
        })
        .collect()
}

fn changes(change: ScoreChange) -> Changes {
    Changes {
        sentence: change.sentence(),
        change,
    }
}

pub fn account_detail(
    record: &AccountRecord,
    audit: &[AuditEntry],
    today: NaiveDate,
) -> AccountDetail {
    let p = &record.profile;
    let lifecycle = record_state(record, today);
    let is_active = lifecycle.is_active();
    let scored = record.score.as_ref().map(|s| &s.score);
    // What only an active account has: a band, a decline, a renewal ahead, expansion.
    let live = scored.filter(|_| is_active);
    let window = &record.window;
    let reference = window.through.unwrap_or(today);
    let idle = |d: &NaiveDate| (reference - *d).num_days() > DORMANT_AFTER_DAYS;
    let (mut dormant, mut active): (Vec<UserActivity>, Vec<UserActivity>) = window
        .users_last_active
        .iter()
        .map(|(u, d)| UserActivity {
            user_id: u.to_string(),
            last_active: d,
        })
        .partition(|u| idle(&u.last_active));
    active.sort_by_key(|u| std::cmp::Reverse(u.last_active));
    dormant.sort_by_key(|u| std::cmp::Reverse(u.last_active));
    let mut features: Vec<FeatureUse> = window
        .features_last_used
        .iter()
        .map(|(f, d)| FeatureUse {
            feature: f.to_string(),
            last_used: d,
            active: !idle(&d),
        })
        .collect();
    features.sort_by(|a, b| {
        b.last_used
            .cmp(&a.last_used)
            .then_with(|| a.feature.cmp(&b.feature))
    });
    AccountDetail {
        account_id: record.account_id.to_string(),
        name: p.name.clone(),
        owner: p.owner.clone(),
        region: p.region.clone(),
        product_line: p.product_line.clone(),
        lifecycle,
        as_of: record.score.as_ref().map(|s| s.as_of),
        score: scored.map(|s| s.health.score),
        band: live.map(|s| s.health.band),
        confidence: scored.map(|s| s.health.confidence),
        scorecard: scored.map(|s| s.health.scorecard.clone()),
        stage: scored.map(|s| s.stage),
        signals: scored.map(|s| signal_views(&s.health)).unwrap_or_default(),
        changes: scored.and_then(|s| s.change.clone()).map(changes),
        provisional: record
            .current_provisional()
            .filter(|_| is_active)
            .map(|p| ProvisionalView {
                day: p.day,
                computed_at: p.computed_at,
                score: p.score.health.score,
                band: p.score.health.band,
                confidence: p.score.health.confidence,
                signals: signal_views(&p.score.health),
                changes: p.score.change.clone().map(changes),
            }),
        decline: live.map(|s| s.decline),
        expansion: live.map(|s| s.expansion.clone()),
        time_to_value_days: scored.and_then(|s| s.time_to_value_days),
        nps: scored.and_then(|s| s.nps),
        usage: Usage {
            active_users: active,
            dormant_users: dormant,
            seats: p.seats,
            seat_adoption: scored.and_then(|s| s.adoption.seats),
            feature_adoption: scored.and_then(|s| s.adoption.features),
            features,
            sessions_trend: window
                .days
                .iter()
                .map(|d| SessionsDay {
                    day: d.day,
                    sessions: d.sessions,
                    active_users: d.active_users,
                    events: d.events,
                })
                .collect(),
        },
        contract: Contract {
            plan: p.plan.clone(),
            tier: p.tier.clone(),
            seats: p.seats,
            mrr: p.mrr,
            arr: p.arr,
            started_on: p.started_on,
            renewal_date: p.renewal_date,
            days_to_renewal: p
                .renewal_date
                .filter(|_| is_active)
                .map(|d| (d - today).num_days()),
            renewal_risk: live.and_then(|s| s.renewal),
        },
        churn_risk: None,
        churn_risk_unavailable: Some(crate::churn::risk::NO_MODEL_YET.to_string()),
        timeline: timeline(audit),
    }
}

/// One point of `GET /v1/accounts/{id}/history`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryPoint {
    pub as_of: NaiveDate,
    pub score: f64,
    pub band: Band,
    pub confidence: f64,
    /// The day's change sentence, when the score moved.
    pub change: Option<String>,
}

/// The points of the entries from `from` on (`history` oldest first), each with its change
/// since the entry before it: read the history from the day before `from`, so the first point
/// has one too.
pub fn history_points(history: &[HistoryDay], from: NaiveDate) -> Vec<HistoryPoint> {
    let previous = std::iter::once(None).chain(history.iter().map(Some));
    history
        .iter()
        .zip(previous)
        .filter(|(h, _)| h.as_of >= from)
        .map(|(h, before)| HistoryPoint {
            as_of: h.as_of,
            score: h.health.score,
            band: h.health.band,
            confidence: h.health.confidence,
            change: before
                .map(|b| h.change_since(b))
                .filter(|c| c.delta != 0.0)
                .map(|c| c.sentence()),
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use vitals_scoring::{score_account, AccountFacts, ScoringConfig, UsageWindow};

    fn entry(day: &str, usage_value: f64) -> HistoryDay {
        let as_of: NaiveDate = day.parse().unwrap();
        let mut health = score_account(
            &ScoringConfig::default(),
            &AccountFacts::default(),
            &UsageWindow::default(),
            as_of,
            None,
        )
        .health;
        let usage = health
            .signals
            .iter_mut()
            .find(|s| s.name == "usage_depth")
            .unwrap();
        usage.raw = Some(usage_value / 10.0);
        usage.value = Some(usage_value);
        usage.weight = 0.5;
        usage.points = usage_value * usage.weight;
        health.score = (usage.points * 10.0).round() / 10.0;
        HistoryDay {
            account_id: crate::model::AccountId::new("acme").unwrap(),
            as_of,
            health,
            usage: None,
        }
    }

    #[test]
    fn each_point_says_what_changed_since_the_entry_before_it_even_the_first() {
        let history = [
            entry("2026-03-01", 20.0),
            entry("2026-03-02", 80.0),
            entry("2026-03-03", 80.0),
        ];
        let points = history_points(&history, "2026-03-02".parse().unwrap());
        let days: Vec<String> = points.iter().map(|p| p.as_of.to_string()).collect();
        assert_eq!(
            days,
            ["2026-03-02", "2026-03-03"],
            "the day before is read, not shown"
        );
        let first = points[0].change.as_deref().unwrap_or_default();
        assert!(first.starts_with("score rose"), "{first}");
        assert!(first.contains("usage depth"), "{first}");
        assert_eq!(points[1].change, None, "an unchanged score has no sentence");
        // Without the day before, the first point has nothing to compare with.
        let alone = history_points(&history[1..], "2026-03-02".parse().unwrap());
        assert_eq!(alone[0].change, None);
    }
}
