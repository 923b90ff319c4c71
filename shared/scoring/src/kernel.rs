//! The scoring kernel: from an account's facts and window to its explained score, decline
//! verdict, renewal risk and expansion signal. [`score_account`] for one account,
//! [`score_batch`] for many (with peer normalisation), and a [`DayPlan`]'s `measure` +
//! [`score_measured`] for a run that streams accounts in two passes.

use crate::config::{Normalise, ScoringConfig};
use crate::decline::Decline;
use crate::explain::{self, ScoreChange};
use crate::facts::{AccountFacts, LifecycleStage};
use crate::outlook::{self, Adoption, Expansion, RenewalRisk};
use crate::peers::{PeerBenchmarks, PeerCollector};
use crate::scorecard::{self, CardWeights, Weighted};
use crate::signals::{Measured, Signal, SIGNAL_COUNT};
use crate::tally::UsageTally;
use crate::usage_features::UsageSnapshot;
use crate::{HealthScore, UsageWindow};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Everything measured about one account on one day, before weighting: the first pass of a
/// run. Small and allocation-free, so a run can keep one per account.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub as_of: NaiveDate,
    pub stage: LifecycleStage,
    /// Contract start, else first active day.
    pub start: Option<NaiveDate>,
    /// Index of the chosen scorecard in `ScoringConfig::scorecards`.
    pub scorecard: usize,
    /// Indexed by [`Signal::index`].
    pub signals: [Measured; SIGNAL_COUNT],
    pub decline: Decline,
    pub usage: UsageTally,
    /// Distinct users active in the look-back.
    pub active_users: u32,
    pub days_to_renewal: Option<i64>,
    pub time_to_value_days: Option<i64>,
    /// Net Promoter Score (-100..100) over the sentiment period.
    pub nps: Option<f64>,
    pub days_since_champion: Option<i64>,
    pub overdue_invoices: Option<u32>,
}

/// An account's full result for one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountScore {
    pub as_of: NaiveDate,
    pub health: HealthScore,
    pub stage: LifecycleStage,
    /// How values were normalised: `peer_percentile` only when a peer group was large enough.
    pub normalise: Normalise,
    pub decline: Decline,
    pub renewal: Option<RenewalRisk>,
    pub expansion: Expansion,
    pub adoption: Adoption,
    pub time_to_value_days: Option<i64>,
    pub active_users: u32,
    pub nps: Option<f64>,
    /// Against the previous run's score, when one was given.
    pub change: Option<ScoreChange>,
    /// What was known about the account's usage that day, for models fitted later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageSnapshot>,
}

/// One account in a batch.
#[derive(Debug, Clone, Copy)]
pub struct AccountInput<'a> {
    pub facts: &'a AccountFacts,
    pub window: &'a UsageWindow,
    /// The previous run's score, for the change and the trend of renewal risk and expansion.
    pub previous: Option<&'a HealthScore>,
}

/// Scores one account as of `as_of` with absolute normalisation (peer percentiles need the
/// whole peer group: use [`score_batch`] or the two-pass API).
pub fn score_account(
    config: &ScoringConfig,
    facts: &AccountFacts,
    window: &UsageWindow,
    as_of: NaiveDate,
    previous: Option<&HealthScore>,
) -> AccountScore {
    let m = measure(config, facts, window, as_of);
    score_measured(config, facts, &m, previous, None)
}

/// Scores many accounts as of one day. Scorecards set to `peer_percentile` rank each signal
/// among the accounts of the batch on the same scorecard.
pub fn score_batch(
    config: &ScoringConfig,
    accounts: &[AccountInput<'_>],
    as_of: NaiveDate,
) -> Vec<AccountScore> {
    let plan = DayPlan::new(config, as_of);
    let measured = plan.measure_batch(accounts);
    let peers = needs_peers(config).then(|| {
        let mut collector = PeerCollector::default();
        measured.iter().for_each(|m| collector.add(m));
        collector.finish()
    });
    accounts
        .iter()
        .zip(&measured)
        .map(|(a, m)| score_measured(config, a.facts, m, a.previous, peers.as_ref()))
        .collect()
}

/// First pass over many accounts: [`measure`] of each, in order ([`DayPlan::measure_batch`]).
pub fn measure_batch(
    config: &ScoringConfig,
    accounts: &[AccountInput<'_>],
    as_of: NaiveDate,
) -> Vec<Measurement> {
    DayPlan::new(config, as_of).measure_batch(accounts)
}

/// Whether any scorecard normalises against peers (and so a run needs two passes).
pub fn needs_peers(config: &ScoringConfig) -> bool {
    config
        .scorecards
        .iter()
        .any(|c| c.normalise == Normalise::PeerPercentile)
}

/// First pass: measures every signal and the decline rule for one account. Scoring many
/// accounts on one day, make one [`DayPlan`] and use its `measure`.
pub fn measure(
    config: &ScoringConfig,
    facts: &AccountFacts,
    window: &UsageWindow,
    as_of: NaiveDate,
) -> Measurement {
    DayPlan::new(config, as_of).measure(facts, window)
}

/// A score as numbers only: what a run needs to band, rank and alert, without the
/// explanation's names and lists. Allocation-free.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreNumbers {
    pub weighted: Weighted,
    /// Normalised 0-100 values as weighed (percentiles where peers applied).
    pub values: [Option<f64>; SIGNAL_COUNT],
    pub normalise: Normalise,
}

/// Second pass, numbers only: normalises (against `peers` where the scorecard asks for it
/// and the group is large enough) and weighs. Many accounts: [`DayPlan::score_numbers`].
pub fn score_numbers(
    config: &ScoringConfig,
    m: &Measurement,
    peers: Option<&PeerBenchmarks>,
) -> ScoreNumbers {
    let weights = CardWeights::of(config.scorecards.get(m.scorecard));
    numbers_with(config, &weights, m, peers)
}

/// [`score_numbers`] with the scorecard's weights read out.
fn numbers_with(
    config: &ScoringConfig,
    weights: &CardWeights,
    m: &Measurement,
    peers: Option<&PeerBenchmarks>,
) -> ScoreNumbers {
    let wants_peers = config
        .scorecards
        .get(m.scorecard)
        .is_some_and(|c| c.normalise == Normalise::PeerPercentile);
    let mut used_peers = false;
    let mut values = [None; SIGNAL_COUNT];
    for (i, s) in m.signals.iter().enumerate() {
        values[i] = s.absolute;
        if !wants_peers || s.absolute.is_none() {
            continue;
        }
        let dist = peers.and_then(|p| p.distribution(m.scorecard, i, config.peers.min_peers));
        if let (Some(d), Some(key)) = (dist, s.rank_key) {
            if let Some(p) = d.percentile(key) {
                values[i] = Some(p);
                used_peers = true;
            }
        }
    }
    ScoreNumbers {
        weighted: weights.weigh(&values, &config.bands),
        values,
        normalise: if used_peers {
            Normalise::PeerPercentile
        } else {
            Normalise::Absolute
        },
    }
}

/// Second pass: weighs a measurement into the account's explained score, with renewal risk,
/// expansion and the change since `previous`.
pub fn score_measured(
    config: &ScoringConfig,
    facts: &AccountFacts,
    m: &Measurement,
    previous: Option<&HealthScore>,
    peers: Option<&PeerBenchmarks>,
) -> AccountScore {
    let numbers = score_numbers(config, m, peers);
    let raw = m.signals.map(|s| s.raw);
    let card = config.scorecards.get(m.scorecard);
    let health = scorecard::explain_weighted(card, &raw, &numbers.values, &numbers.weighted);
    finish(config, facts, m, health, numbers.normalise, previous)
}

/// [`score_measured`] with the account's usage snapshot kept on the score (for models fitted
/// later), and the learned scorecard making the 0-100 score when the configuration has one.
/// What the daily run calls.
pub fn score_with_usage(
    config: &ScoringConfig,
    facts: &AccountFacts,
    window: &UsageWindow,
    m: &Measurement,
    previous: Option<&HealthScore>,
    peers: Option<&PeerBenchmarks>,
) -> AccountScore {
    let mut snapshot = UsageSnapshot::of(facts, window, m, config.lookback_days);
    let mut score = match &config.learned {
        None => {
            let score = score_measured(config, facts, m, previous, peers);
            snapshot.keep_signals(&score.health);
            score
        }
        Some(learned) => {
            let signals = score_measured(config, facts, m, None, peers);
            snapshot.keep_signals(&signals.health);
            let health = learned.score(&snapshot, &config.bands);
            finish(config, facts, m, health, signals.normalise, previous)
        }
    };
    score.usage = Some(snapshot);
    score
}

/// Renewal risk, expansion, adoption and the change since `previous`, around a weighed score.
fn finish(
    config: &ScoringConfig,
    facts: &AccountFacts,
    m: &Measurement,
    health: HealthScore,
    normalise: Normalise,
    previous: Option<&HealthScore>,
) -> AccountScore {
    let previous_score = previous.map(|p| p.score);
    let renewal = outlook::renewal_risk(
        &config.renewal,
        health.score,
        previous_score,
        &m.decline,
        m.days_to_renewal,
    );
    let expansion = outlook::expansion(
        &config.expansion,
        health.score,
        previous_score,
        m.decline.ratio,
        m.active_users,
        facts.seats(),
    );
    let adoption = Adoption {
        seats: m.signals[Signal::SeatAdoption.index()].raw,
        features: m.signals[Signal::Breadth.index()].raw,
    };
    let change = previous.map(|p| explain::diff(p, &health));
    AccountScore {
        as_of: m.as_of,
        health,
        stage: m.stage,
        normalise,
        decline: m.decline,
        renewal,
        expansion,
        adoption,
        time_to_value_days: m.time_to_value_days,
        active_users: m.active_users,
        nps: m.nps,
        change,
        usage: None,
    }
}

mod plan;
#[cfg(test)]
mod tests;

pub use plan::DayPlan;
