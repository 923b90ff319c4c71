//! Backtest: how well did the health score, a churn model and a naive baseline predict the
//! churns that happened?
//!
//! `to` is the last day whose outcomes are known: evaluation days run every `step_days` from
//! `from` while `d + horizon <= to`. With `observe = Monthly`, each account is observed on its
//! monthly anniversaries instead (the design of *Fighting Churn With Data*), each sample filed
//! under the evaluation week it falls in. A sample is an account that had started by the day
//! (its start date, else its first activity) and had not churned, with a score history entry as
//! of the day (the latest of the week up to it: the daily run computed it from events up to that
//! day); its label is "the account churned within `(d, d + horizon]`". Nothing dated after `to`
//! is read: history is asked for up to `to`, outcomes after `to` are ignored and chunks are read
//! up to the last evaluation day, so adding data after `to` cannot change a backtest that ends
//! at `to`.
//!
//! Three rankings are compared:
//! - `health_score`: risk = 100 - score;
//! - `churn_model`: a regularised logistic regression on the usage features the history kept
//!   with each score (per-event-type counts, active users, tenure, MRR, ... and the health
//!   signals), fitted on the samples of the first evaluation days (`train_share`) and scored on
//!   the later ones. Between the last training day and the first test day lies a purge gap of
//!   one horizon: training days whose labels would look into the test period are dropped;
//! - `baseline_30d_events`: fewer product events (track, page, screen) in the 30 days up to `d`
//!   = more risk, counted from the stored chunks.
//!
//! Metrics pool every (account, day) sample of a period; precision@k is the mean over the
//! period's evaluation days of the share of churners among the `k` riskiest accounts. Lead time
//! is measured the same way for every ranking: per churned account, the first evaluation day in
//! the `horizon` before the churn that the ranking put it in that day's riskiest decile. For the
//! health score the report adds the precision and recall of its at-risk band.

use crate::error::StoreError;
use crate::history::HistoryDay;
use crate::ports::{AccountStore, EventStore, ScoreHistoryStore};
use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use vitals_scoring::churn::ChurnModel;
use vitals_scoring::scorecard::weigh_values;
use vitals_scoring::signals::SIGNAL_COUNT;
use vitals_scoring::{Band, ScoringConfig, Signal};

mod ranking;
mod replay;

pub use replay::Replay;

/// Default prediction horizon.
pub const DEFAULT_HORIZON_DAYS: u32 = 90;
/// Ranking names in reports.
pub const HEALTH_SCORE: &str = "health_score";
pub const CHURN_MODEL: &str = "churn_model";
pub const BASELINE: &str = "baseline_30d_events";
/// Period names in reports: every evaluation day, or only the model's test days.
pub const PERIOD_ALL: &str = "all";
pub const PERIOD_TEST: &str = "test";

const BASELINE_DAYS: u64 = 30;
const PAGE: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error("invalid backtest range: {0}")]
    Range(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What to backtest.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestOptions {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub horizon_days: u32,
    /// Days between evaluation days.
    pub step_days: u32,
    /// Share of evaluation days (the earliest) the churn model is fitted on.
    pub train_share: f64,
    /// The alert budget for precision@k: accounts a team can work per evaluation day.
    pub alert_k: usize,
    /// L2 penalty of the churn model.
    pub l2: f64,
    /// Event types (the most used in training) that become the churn model's usage features.
    pub max_event_types: usize,
    /// When each account is observed.
    pub observe: Observe,
}

/// When a backtest observes each account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Observe {
    /// On every evaluation day (every `step_days`).
    #[default]
    EveryStep,
    /// On each monthly anniversary of the account's start.
    Monthly,
}

impl BacktestOptions {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Self {
        BacktestOptions {
            from,
            to,
            horizon_days: DEFAULT_HORIZON_DAYS,
            step_days: 7,
            train_share: 0.5,
            alert_k: 10,
            l2: 1.0,
            max_event_types: vitals_scoring::usage_features::DEFAULT_MAX_EVENT_TYPES,
            observe: Observe::EveryStep,
        }
    }
}

/// One ranking's figures over one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankingReport {
    pub ranking: String,
    pub period: String,
    /// (account, evaluation day) samples.
    pub samples: usize,
    /// Samples whose account churned within the horizon.
    pub positives: usize,
    pub roc_auc: Option<f64>,
    pub pr_auc: Option<f64>,
    pub top_decile_lift: Option<f64>,
    /// For rankings that are probabilities (the churn model) only.
    pub brier: Option<f64>,
    pub precision_at_k: Option<f64>,
    pub median_lead_days: Option<f64>,
    /// Churned accounts of the period that were warned before churning, of `churns`.
    pub warned_churns: usize,
    pub churns: usize,
    /// Health score only: of the samples in the at-risk band, the share that churned within
    /// the horizon, and of the samples that churned, the share that was at risk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_risk_precision: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_risk_recall: Option<f64>,
}

/// The result of a backtest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub horizon_days: u32,
    pub step_days: u32,
    pub alert_k: usize,
    pub observe: Observe,
    pub train_days: Vec<NaiveDate>,
    /// Days between training and test left out (their labels would look into the test days).
    #[serde(default)]
    pub purged_days: Vec<NaiveDate>,
    pub test_days: Vec<NaiveDate>,
    /// Accounts with at least one sample.
    pub accounts: usize,
    /// Of them, accounts that churned within the horizon of an evaluation day.
    pub churned_accounts: usize,
    pub rankings: Vec<RankingReport>,
    /// The churn model fitted on the training days.
    pub model: ChurnModel,
}

impl BacktestReport {
    pub fn ranking(&self, ranking: &str, period: &str) -> Option<&RankingReport> {
        self.rankings
            .iter()
            .find(|r| r.ranking == ranking && r.period == period)
    }

    /// The headline figure: ROC-AUC of the health score over every evaluation day.
    pub fn health_roc_auc(&self) -> Option<f64> {
        self.ranking(HEALTH_SCORE, PERIOD_ALL)
            .and_then(|r| r.roc_auc)
    }
}

struct Account {
    /// Contract start, when the profile has one.
    start: Option<NaiveDate>,
    history: Vec<HistoryDay>,
    /// Churn days up to `to`, oldest first.
    churns: Vec<NaiveDate>,
    /// Product events per day (deduplicated by message id), up to the last evaluation day.
    events: BTreeMap<NaiveDate, u64>,
}

struct Sample {
    account: usize,
    /// The evaluation day (index) the sample is filed under.
    day: usize,
    /// The day the account was observed (the evaluation day, or an anniversary within its week).
    date: NaiveDate,
    label: bool,
    /// Index of the sample's history entry in its account's history.
    entry: usize,
    /// Index of the entry whose usage snapshot the churn model's features come from: the
    /// newest in the sample's week that keeps one (see `crate::history::keeps_usage_on`).
    snapshot: Option<usize>,
    baseline_risk: f64,
}

fn add_days(d: NaiveDate, n: u64) -> Option<NaiveDate> {
    d.checked_add_days(Days::new(n))
}

fn sub_days(d: NaiveDate, n: u64) -> Option<NaiveDate> {
    d.checked_sub_days(Days::new(n))
}

/// The evaluation days of a range: every `step` days from `from` while the horizon fits.
pub fn evaluation_days(opts: &BacktestOptions) -> Vec<NaiveDate> {
    let mut days = Vec::new();
    let step = u64::from(opts.step_days.max(1));
    let mut d = opts.from;
    while let Some(end) = add_days(d, u64::from(opts.horizon_days)) {
        if end > opts.to {
            break;
        }
        days.push(d);
        match add_days(d, step) {
            Some(next) => d = next,
            None => break,
        }
    }
    days
}

/// Runs a backtest on stored score history, outcomes and events.
pub async fn run_backtest<S>(
    store: &S,
    opts: &BacktestOptions,
) -> Result<BacktestReport, BacktestError>
where
    S: AccountStore + ScoreHistoryStore + EventStore + ?Sized,
{
    Ok(Replay::load(store, opts, true).await?.report(None))
}

/// The health score of a history entry: as recorded, or re-weighed with the scorecard of the
/// same name in `rescore` (the entry's normalised signal values are kept, so only the weights
/// change; an entry whose scorecard `rescore` lacks keeps its recorded score).
pub fn health_of(entry: &HistoryDay, rescore: Option<&ScoringConfig>) -> (f64, Band) {
    let health = &entry.health;
    if let Some((config, learned)) = rescore.and_then(|c| Some((c, c.learned.as_ref()?))) {
        // From the usage snapshot the entry kept, or (an entry from before snapshots) from its
        // signal values alone.
        let features = vitals_scoring::usage_features::of_score(
            entry.usage.as_ref(),
            health,
            &learned.vocabulary,
        );
        let h = learned.score_features(&features, &config.bands);
        return (h.score, h.band);
    }
    let card = rescore.and_then(|c| {
        c.scorecards
            .iter()
            .find(|card| card.name == health.scorecard)
            .map(|card| (c, card))
    });
    let Some((config, card)) = card else {
        return (health.score, health.band);
    };
    let mut values = [None; SIGNAL_COUNT];
    for signal in &health.signals {
        if let Some(s) = Signal::from_name(&signal.name) {
            values[s.index()] = signal.value;
        }
    }
    let weighted = weigh_values(Some(card), &values, &config.bands);
    (weighted.score, weighted.band)
}

#[cfg(test)]
mod tests;
