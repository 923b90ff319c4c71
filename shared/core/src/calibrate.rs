//! Scorecard weights learned from outcomes, and the backtest that shows whether they rank the
//! churns better (`vitals calibrate`).
//!
//! The history of a range is replayed once ([`Replay`]); a churn model fitted on the signal
//! values of the training days (the earliest half: the same time-based split as the backtest)
//! proposes each scorecard's weights ([`propose_weights`]): per scorecard when it scored enough
//! churning samples, else from the model fitted on every scorecard's samples. The backtest then
//! re-weighs every history entry with the current and with the proposed weights (the same
//! normalised signal values, so nothing but the weights differs) and reports both; the test
//! days were not used to fit the proposal. Writing the proposal is a separate, explicit step
//! ([`apply_proposal`]) through the same versioned path as `vitals config apply`.

use std::collections::BTreeMap;

use serde::Serialize;
use vitals_scoring::churn::ChurnModel;
use vitals_scoring::proposed_weights::propose_weights;
use vitals_scoring::Signal;

use crate::backtest::{BacktestError, BacktestOptions, BacktestReport, Replay};
use crate::clock::Clock;
use crate::config::{apply_config, ApplyError, VitalsConfig};
use crate::model::ConfigVersion;
use crate::ports::{AccountStore, ConfigStore, EventStore, ScoreHistoryStore};

/// Churning training samples a scorecard needs for weights of its own.
pub const MIN_SCORECARD_POSITIVES: usize = 10;

/// Where a scorecard's proposed weights come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalSource {
    /// A model fitted on the scorecard's own samples.
    Scorecard,
    /// The model fitted on every scorecard's samples (too few churns of its own).
    AllScorecards,
    /// No churn among the training samples at all: the current weights stand.
    Unchanged,
}

/// One scorecard's current and proposed weights.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScorecardProposal {
    pub scorecard: String,
    pub source: ProposalSource,
    /// Training samples the scorecard scored, and how many churned within the horizon.
    pub samples: usize,
    pub positives: usize,
    pub current: BTreeMap<Signal, f64>,
    pub proposed: BTreeMap<Signal, f64>,
}

/// What `vitals calibrate` shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationReport {
    pub proposals: Vec<ScorecardProposal>,
    /// The backtest with the current weights, and with the proposed ones.
    pub current: BacktestReport,
    pub proposed: BacktestReport,
    /// The configuration with the proposed weights (what `--apply` stores).
    #[serde(skip)]
    pub proposed_config: VitalsConfig,
}

impl CalibrationReport {
    /// Whether any weight differs from the current configuration.
    pub fn changes_anything(&self) -> bool {
        self.proposals.iter().any(|p| p.current != p.proposed)
    }
}

/// Replays `opts`'s range, proposes weights for every scorecard of `config` and backtests the
/// current against the proposed weights.
pub async fn calibrate_weights<S>(
    store: &S,
    config: &VitalsConfig,
    opts: &BacktestOptions,
) -> Result<CalibrationReport, BacktestError>
where
    S: AccountStore + ScoreHistoryStore + EventStore + ?Sized,
{
    let replay = Replay::load(store, opts, true).await?;
    let by_card = replay.training_sets_by_scorecard();
    let (all_x, all_y) = replay.training_set();
    let pooled = ChurnModel::fit(&all_x, &all_y, opts.l2);
    let pooled_positives = all_y.iter().filter(|&&y| y).count();

    let mut proposed_config = config.clone();
    let mut proposals = Vec::new();
    for card in &mut proposed_config.scoring.scorecards {
        let (samples, positives, own) = match by_card.get(&card.name) {
            Some((x, y)) => {
                let positives = y.iter().filter(|&&l| l).count();
                let own =
                    (positives >= MIN_SCORECARD_POSITIVES).then(|| ChurnModel::fit(x, y, opts.l2));
                (x.len(), positives, own)
            }
            None => (0, 0, None),
        };
        let (source, model) = match &own {
            Some(m) => (ProposalSource::Scorecard, Some(m)),
            None if pooled_positives > 0 => (ProposalSource::AllScorecards, Some(&pooled)),
            None => (ProposalSource::Unchanged, None),
        };
        let current = card.weights.clone();
        let proposed = match model {
            Some(m) => propose_weights(&current, m),
            None => current.clone(),
        };
        card.weights = proposed.clone();
        proposals.push(ScorecardProposal {
            scorecard: card.name.clone(),
            source,
            samples,
            positives,
            current,
            proposed,
        });
    }
    Ok(CalibrationReport {
        proposals,
        current: replay.report(Some(&config.scoring)),
        proposed: replay.report(Some(&proposed_config.scoring)),
        proposed_config,
    })
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
