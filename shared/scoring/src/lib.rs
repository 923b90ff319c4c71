//! Pure, deterministic health scoring: no I/O, no clocks, no async.
//!
//! Inputs are an account's rolled-up [`UsageWindow`] and its [`AccountFacts`]; the output is a
//! [`HealthScore`] that explains itself signal by signal. Everything here is a function of its
//! arguments so the same inputs give the same score on every backend.
//!
//! Where things are: the signals in [`signals`], the decline rule in [`decline`], scorecard
//! choice and weighting in [`scorecard`], peer percentiles in [`peers`], renewal risk and
//! expansion in [`outlook`], "what changed" in [`explain`], settings in [`config`], and the
//! entry points ([`score_account`], [`score_batch`]) in [`kernel`].

pub mod calibration;
pub mod churn;
pub mod config;
pub mod decline;
pub mod explain;
pub mod facts;
pub mod kernel;
pub mod labels;
pub mod learned;
pub mod metrics;
pub mod outlook;
pub mod packed;
pub mod peers;
pub mod proposed_weights;
pub mod scorecard;
pub mod signals;
pub mod tally;
#[cfg(test)]
mod testkit;
pub mod usage_features;
pub mod window;

pub use config::{ConfigIssue, Normalise, Scorecard, ScorecardMatch, ScoringConfig};
pub use decline::{Baseline, Decline, DeclineSeverity, DeclineStatus, NotJudged};
pub use explain::{ScoreChange, SignalMove};
pub use facts::{AccountFacts, LifecycleStage};
pub use kernel::{
    measure, score_account, score_batch, score_measured, score_numbers, AccountInput, AccountScore,
    Measurement, ScoreNumbers,
};
pub use outlook::{Adoption, Expansion, ExpansionReason, RenewalRisk, RiskLevel};
pub use peers::{percentile_ranks, PeerBenchmarks, PeerCollector, PeerDistribution};
pub use signals::Signal;
pub use window::{
    DayActivity, DaySignals, DayUsage, SurveyKind, SurveyResponse, TicketCounts, TicketSeverity,
    UsageWindow, WINDOW_DAYS,
};

use serde::{Deserialize, Serialize};

/// Where an account stands, by the configured band thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    AtRisk,
    Monitor,
    Healthy,
}

impl Band {
    pub fn as_str(self) -> &'static str {
        match self {
            Band::AtRisk => "at_risk",
            Band::Monitor => "monitor",
            Band::Healthy => "healthy",
        }
    }
}

/// One signal's contribution to a score: what was measured, how it normalised, what it weighed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalScore {
    pub name: String,
    /// The raw measurement in its own unit (days, ratio, count...), absent when no data.
    pub raw: Option<f64>,
    /// Normalised 0-100, absent when no data.
    pub value: Option<f64>,
    /// Effective weight after redistribution of missing signals (0-1, sums to 1 over present).
    pub weight: f64,
    /// Points contributed to the final score (value * weight).
    pub points: f64,
}

/// The result of scoring one account on one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthScore {
    /// 0-100, rounded to one decimal.
    pub score: f64,
    pub band: Band,
    /// Share of configured weight whose signal had data (0-1).
    pub confidence: f64,
    pub scorecard: String,
    pub signals: Vec<SignalScore>,
}
