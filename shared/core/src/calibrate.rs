//! A scorecard learned from outcomes, and the backtest that shows whether it ranks the churns
//! better (`vitals calibrate`).
//!
//! The history of a range is replayed once ([`Replay`]). On the training days (the earliest
//! share, less a purge gap of one horizon before the test days) the usage features each score
//! kept (per-event-type counts over 7/28/90 days and per active user, active users, tenure,
//! MRR, ... and the health signals) are grouped where they are correlated, as *Fighting Churn
//! With Data* does, and a regularised logistic regression on the groups becomes a
//! [`LearnedScorecard`]: one readable signal per group, weighed by how much it moved churn. The
//! backtest then scores every history entry with the current configuration and with the
//! proposal (from the same stored snapshots, so nothing but the scorecard differs) and reports
//! both; the test days were not used to fit the proposal. Writing the proposal is a separate,
//! explicit step ([`apply_proposal`]) through the same versioned path as `vitals config apply`;
//! `vitals score --rescore` then recomputes past days with it.

use serde::Serialize;
use vitals_scoring::churn::{correlated_groups, Features, FitOptions, ModelSelection};
use vitals_scoring::learned::LearnedScorecard;

use crate::backtest::{BacktestError, BacktestOptions, BacktestReport, Replay};
use crate::clock::Clock;
use crate::config::{apply_config, ApplyError, VitalsConfig};
use crate::model::ConfigVersion;
use crate::ports::{AccountStore, ConfigStore, EventStore, ScoreHistoryStore};

/// Features whose correlation on the training samples is above this are scored as one group.
pub const GROUP_CORRELATION: f64 = 0.5;

/// One signal of the proposed scorecard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProposedSignal {
    pub name: String,
    /// The features it averages.
    pub features: Vec<String>,
    /// Log-odds of churn per unit of the group's value (negative: protective).
    pub weight: f64,
    /// Points between an account at the group's 15th and at its 85th percentile.
    pub points_spread: f64,
}

/// What `vitals calibrate` shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationReport {
    /// Training samples (account-days) and how many churned within the horizon.
    pub training_samples: usize,
    pub training_positives: usize,
    /// Of the training samples, those whose history kept usage features.
    pub training_with_usage: usize,
    pub signals: Vec<ProposedSignal>,
    /// How the penalty was chosen on the later training days; `None` without churns to fit.
    pub selection: Option<ModelSelection>,
    /// The backtest with the current configuration, and with the proposed scorecard.
    pub current: BacktestReport,
    pub proposed: BacktestReport,
    /// The configuration with the proposed scorecard (what `--apply` stores).
    #[serde(skip)]
    pub proposed_config: VitalsConfig,
}

impl CalibrationReport {
    /// Whether the proposal differs from the current configuration.
    pub fn changes_anything(&self) -> bool {
        self.proposed_config.scoring.learned.is_some()
    }
}

/// Replays `opts`'s range, fits a learned scorecard on its training days and backtests the
/// current configuration against it.
pub async fn calibrate_weights<S>(
    store: &S,
    config: &VitalsConfig,
    opts: &BacktestOptions,
) -> Result<CalibrationReport, BacktestError>
where
    S: AccountStore + ScoreHistoryStore + EventStore + ?Sized,
{
    let replay = Replay::load(store, opts, true).await?;
    let (samples, labels) = replay.training_set();
    let positives = labels.iter().filter(|&&y| y).count();
    let mut proposed_config = config.clone();
    let mut signals = Vec::new();
    let mut selection = None;
    if positives > 0 && !samples.is_empty() {
        let (scorecard, chosen) = fit_scorecard(
            &samples,
            &labels,
            &replay.training_days(),
            replay.vocabulary(),
            opts,
        );
        selection = Some(chosen);
        // `None`: no group predicted churn on the later training days; nothing is proposed.
        if let Some(scorecard) = scorecard {
            signals = scorecard
                .groups
                .iter()
                .map(|g| ProposedSignal {
                    name: g.name.clone(),
                    features: g.features.clone(),
                    weight: g.weight,
                    points_spread: g.points_spread(scorecard.points_per_logit),
                })
                .collect();
            proposed_config.scoring.learned = Some(scorecard);
        }
    }
    Ok(CalibrationReport {
        training_samples: samples.len(),
        training_positives: positives,
        training_with_usage: replay.training_snapshots(),
        signals,
        selection,
        current: replay.report(Some(&config.scoring)),
        proposed: replay.report(Some(&proposed_config.scoring)),
        proposed_config,
    })
}

/// Groups the training features by correlation and fits the scorecard on the groups.
fn fit_scorecard(
    samples: &[Features],
    labels: &[bool],
    days: &[u32],
    vocabulary: &[String],
    opts: &BacktestOptions,
) -> (Option<LearnedScorecard>, ModelSelection) {
    let names: Vec<String> = samples
        .iter()
        .flat_map(|s| s.keys().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let groups: Vec<(String, Vec<String>)> = correlated_groups(samples, &names, GROUP_CORRELATION)
        .into_iter()
        .map(|g| (group_label(&g.features), g.features))
        .collect();
    let options = FitOptions {
        gap_days: opts.horizon_days,
        fallback_l2: opts.l2,
        ..FitOptions::default()
    };
    LearnedScorecard::fit(
        samples,
        labels,
        days,
        &groups,
        vocabulary.to_vec(),
        opts.horizon_days,
        &options,
    )
}

/// A group's name in words: its first feature's, and how many related ones join it.
fn group_label(features: &[String]) -> String {
    let first = features
        .first()
        .map(|f| vitals_scoring::labels::label(f))
        .unwrap_or_default();
    match features.len() {
        0 | 1 => first,
        2 => format!("{first} and 1 related"),
        n => format!("{first} and {} related", n - 1),
    }
}

/// Stores the proposed configuration as the next version (validated, with who, when and what
/// changed), exactly as `vitals config apply` would.
pub async fn apply_proposal<S>(
    store: &S,
    clock: &dyn Clock,
    report: &CalibrationReport,
    author: &str,
) -> Result<ConfigVersion, ApplyError>
where
    S: ConfigStore + ?Sized,
{
    let text = toml::to_string_pretty(&report.proposed_config).map_err(|e| {
        ApplyError::Invalid(crate::config::ConfigError::Syntax(format!(
            "cannot write the proposed configuration: {e}"
        )))
    })?;
    apply_config(store, clock, &text, author).await
}
