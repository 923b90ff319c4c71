//! Every scoring setting in one typed, validated structure with its default: scorecards and
//! weights, targets, the decline rule, bands, renewal risk and expansion thresholds.
//!
//! It lives under the `scoring` key of the Vitals config file; [`ScoringConfig::validate`]
//! names each problem by its key path (`scoring.scorecards[1].weights.breadth`).

use crate::facts::{AccountFacts, LifecycleStage};
use crate::signals::Signal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod validate;
pub use validate::ConfigIssue;

/// The scoring section of the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoringConfig {
    pub bands: Bands,
    /// Tried in order; the first whose `when` matches scores the account. The last must match
    /// every account.
    pub scorecards: Vec<Scorecard>,
    /// The features whose use makes up breadth (event names as the product sends them).
    pub key_features: Vec<String>,
    /// The event that marks first value, for time-to-value; the core sets
    /// `DayActivity::first_value_reached` when it sees it.
    pub first_value_event: Option<String>,
    /// Days of usage (ending on the scoring day) the usage signals look at.
    pub lookback_days: u32,
    pub decline: DeclineRules,
    pub onboarding: OnboardingBenchmark,
    pub targets: SignalTargets,
    pub engagement: EngagementRules,
    /// Days of survey answers sentiment looks at.
    pub sentiment_days: u32,
    pub contract: ContractRules,
    pub champion: ChampionRules,
    pub renewal: RenewalRules,
    pub expansion: ExpansionRules,
    pub peers: PeerRules,
    /// Event types (the most used) that become usage features for models.
    pub max_event_types: usize,
    /// A scorecard learned from churn outcomes (`vitals calibrate --apply`): when set, it makes
    /// every account's 0-100 score; the scorecards above still measure the signals it weighs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learned: Option<crate::learned::LearnedScorecard>,
}

impl Default for ScoringConfig {
    fn default() -> Self {
        ScoringConfig {
            bands: Bands::default(),
            scorecards: default_scorecards(),
            key_features: Vec::new(),
            first_value_event: None,
            lookback_days: 30,
            decline: DeclineRules::default(),
            onboarding: OnboardingBenchmark::default(),
            targets: SignalTargets::default(),
            engagement: EngagementRules::default(),
            sentiment_days: 180,
            contract: ContractRules::default(),
            champion: ChampionRules::default(),
            renewal: RenewalRules::default(),
            expansion: ExpansionRules::default(),
            peers: PeerRules::default(),
            max_event_types: crate::usage_features::DEFAULT_MAX_EVENT_TYPES,
            learned: None,
        }
    }
}

/// Band thresholds: below `at_risk_below` is at risk, above `healthy_above` is healthy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Bands {
    pub at_risk_below: f64,
    pub healthy_above: f64,
}

impl Default for Bands {
    fn default() -> Self {
        Bands {
            at_risk_below: 40.0,
            healthy_above: 80.0,
        }
    }
}

/// A named set of weights for one kind of account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scorecard {
    pub name: String,
    #[serde(default)]
    pub when: ScorecardMatch,
    /// Relative weights; they need not sum to 1. A signal left out is not scored.
    pub weights: BTreeMap<Signal, f64>,
    #[serde(default)]
    pub normalise: Normalise,
}

/// Which accounts a scorecard is for. Every listed condition must hold; an empty list or map
/// means "any". Text compares case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScorecardMatch {
    /// Tier or edition (the plan when the account has no tier).
    pub tiers: Vec<String>,
    pub stages: Vec<LifecycleStage>,
    /// Attribute name → accepted values.
    pub attributes: BTreeMap<String, Vec<String>>,
}

impl ScorecardMatch {
    pub fn is_catch_all(&self) -> bool {
        self.tiers.is_empty() && self.stages.is_empty() && self.attributes.is_empty()
    }

    pub fn matches(&self, facts: &AccountFacts, stage: LifecycleStage) -> bool {
        let any_of = |list: &[String], v: Option<&str>| {
            list.is_empty() || v.is_some_and(|v| list.iter().any(|x| x.eq_ignore_ascii_case(v)))
        };
        (self.stages.is_empty() || self.stages.contains(&stage))
            && any_of(&self.tiers, facts.tier_or_plan())
            && self
                .attributes
                .iter()
                .all(|(k, accepted)| any_of(accepted, facts.attributes.get(k).map(String::as_str)))
    }
}

/// How a scorecard turns measurements into 0-100 values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalise {
    /// Against the configured targets.
    #[default]
    Absolute,
    /// Percentile among the accounts on the same scorecard in the same run (falls back to
    /// absolute when the peer group is smaller than `peers.min_peers`).
    PeerPercentile,
}

/// Seed 002's decline rule; see [`crate::decline`] for the index it compares.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeclineRules {
    pub short_days: u32,
    pub long_days: u32,
    /// Fires when recent / average is below this.
    pub fire_below: f64,
    /// Severe when recent / average is below this; moderate from here up to `fire_below`.
    pub severe_below: f64,
    /// Days of own history the trailing average needs before the rule judges an account.
    pub min_baseline_days: u32,
}

impl Default for DeclineRules {
    fn default() -> Self {
        DeclineRules {
            short_days: 14,
            long_days: 90,
            fire_below: 0.6,
            severe_below: 0.4,
            min_baseline_days: 14,
        }
    }
}

/// What a new account is expected to do in its first days.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OnboardingBenchmark {
    /// Length of onboarding, from contract start (or first activity).
    pub days: u32,
    /// Days an onboarding account must have existed before decline judges it.
    pub min_days_judged: u32,
    /// Expected mean daily active users per licensed seat.
    pub active_seat_share: f64,
    /// Expected mean daily active users when seats are unknown.
    pub daily_active_users: f64,
}

impl Default for OnboardingBenchmark {
    fn default() -> Self {
        OnboardingBenchmark {
            days: 30,
            min_days_judged: 7,
            active_seat_share: 0.2,
            daily_active_users: 2.0,
        }
    }
}

/// What earns full marks: each measurement scores `value / target`, capped at 100.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignalTargets {
    pub active_day_share: f64,
    pub sessions_per_seat_week: f64,
    /// Minutes spent in sessions per seat per day.
    pub session_minutes_per_seat_day: f64,
    pub api_calls_per_seat_day: f64,
    pub events_per_seat_day: f64,
    /// How usage depth mixes its five parts.
    pub usage_mix: UsageMix,
    /// Share of key features that earns full breadth.
    pub feature_share: f64,
    /// Distinct features that earn full breadth when no key features are configured.
    pub distinct_features: f64,
    /// Active users per seat that earn full seat adoption.
    pub seat_share: f64,
    /// Recent / average usage that earns a full trend (steady usage earns 100 / this).
    pub trend_ratio: f64,
}

impl Default for SignalTargets {
    fn default() -> Self {
        SignalTargets {
            active_day_share: 0.7,
            sessions_per_seat_week: 3.0,
            session_minutes_per_seat_day: 15.0,
            api_calls_per_seat_day: 10.0,
            events_per_seat_day: 20.0,
            usage_mix: UsageMix::default(),
            feature_share: 0.8,
            distinct_features: 8.0,
            seat_share: 0.8,
            trend_ratio: 1.25,
        }
    }
}

/// Relative weights of usage depth's parts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UsageMix {
    pub active_days: f64,
    pub sessions: f64,
    pub duration: f64,
    pub api_calls: f64,
    pub events: f64,
}

impl Default for UsageMix {
    fn default() -> Self {
        UsageMix {
            active_days: 0.35,
            sessions: 0.25,
            duration: 0.15,
            api_calls: 0.05,
            events: 0.2,
        }
    }
}

/// Engagement scoring: tickets cost points by severity; trainings and check-ins earn them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngagementRules {
    pub days: u32,
    pub severity_cost: SeverityCost,
    /// Share of a ticket's cost forgiven once it is resolved (0-1).
    pub resolved_discount: f64,
    pub trainings_target: f64,
    pub checkins_target: f64,
}

impl Default for EngagementRules {
    fn default() -> Self {
        EngagementRules {
            days: 90,
            severity_cost: SeverityCost::default(),
            resolved_discount: 0.5,
            trainings_target: 2.0,
            checkins_target: 3.0,
        }
    }
}

/// Points one ticket of each severity costs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeverityCost {
    pub low: f64,
    pub normal: f64,
    pub high: f64,
    pub urgent: f64,
}

impl Default for SeverityCost {
    fn default() -> Self {
        SeverityCost {
            low: 1.0,
            normal: 3.0,
            high: 8.0,
            urgent: 15.0,
        }
    }
}

/// Contract scoring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContractRules {
    pub overdue_invoice_penalty: f64,
    pub renewal_lapsed_penalty: f64,
    pub renewal_soon_days: u32,
    pub renewal_soon_penalty: f64,
    /// Points added (or, negative, taken) by tier, e.g. `{ free = -20 }`.
    pub tier_points: BTreeMap<String, f64>,
}

impl Default for ContractRules {
    fn default() -> Self {
        ContractRules {
            overdue_invoice_penalty: 40.0,
            renewal_lapsed_penalty: 50.0,
            renewal_soon_days: 30,
            renewal_soon_penalty: 10.0,
            tier_points: BTreeMap::new(),
        }
    }
}

/// Champion activity scoring.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChampionRules {
    pub full_within_days: u32,
    pub zero_after_days: u32,
}

impl Default for ChampionRules {
    fn default() -> Self {
        ChampionRules {
            full_within_days: 7,
            zero_after_days: 45,
        }
    }
}

/// Renewal risk: how weak and falling the score is, scaled by how near the renewal is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RenewalRules {
    /// Renewals this close (or lapsed) carry their full risk.
    pub near_days: u32,
    /// Renewals this far or further carry `far_factor` of it; linear in between.
    pub horizon_days: u32,
    pub far_factor: f64,
    /// Risk points per point the score fell since the previous run (capped at 30).
    pub points_per_score_drop: f64,
    pub moderate_decline_points: f64,
    pub severe_decline_points: f64,
    /// Risk from which the level is medium, and high.
    pub medium_from: f64,
    pub high_from: f64,
}

impl Default for RenewalRules {
    fn default() -> Self {
        RenewalRules {
            near_days: 30,
            horizon_days: 180,
            far_factor: 0.25,
            points_per_score_drop: 2.0,
            moderate_decline_points: 15.0,
            severe_decline_points: 30.0,
            medium_from: 30.0,
            high_from: 60.0,
        }
    }
}

/// When an account is an expansion candidate: a high and rising score, and seats near the
/// limit or many active stakeholders.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExpansionRules {
    pub min_score: f64,
    /// Without a previous score, usage counts as rising from this trend ratio.
    pub rising_usage_ratio: f64,
    /// Active users per licensed seat that count as near the limit.
    pub seat_share: f64,
    pub min_stakeholders: u32,
}

impl Default for ExpansionRules {
    fn default() -> Self {
        ExpansionRules {
            min_score: 75.0,
            rising_usage_ratio: 1.1,
            seat_share: 0.9,
            min_stakeholders: 5,
        }
    }
}

/// Peer normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PeerRules {
    /// Smallest peer group percentiles are computed in; smaller groups score absolutely.
    pub min_peers: u32,
}

impl Default for PeerRules {
    fn default() -> Self {
        PeerRules { min_peers: 10 }
    }
}

fn weights(pairs: &[(Signal, f64)]) -> BTreeMap<Signal, f64> {
    pairs.iter().copied().collect()
}

/// Onboarding, enterprise and a catch-all scorecard, each ranking its accounts against their
/// peers (the accounts on the same scorecard that day): with no outcomes to learn from yet, the
/// score orders accounts by how much they use the product compared to similar ones. Trend
/// weighs little: for an account whose use is steady it carries nothing (the decline rule and
/// its alerts still watch it).
pub fn default_scorecards() -> Vec<Scorecard> {
    use Signal::*;
    vec![
        Scorecard {
            name: "onboarding".into(),
            when: ScorecardMatch {
                stages: vec![LifecycleStage::Onboarding],
                ..Default::default()
            },
            weights: weights(&[
                (UsageDepth, 0.35),
                (Breadth, 0.20),
                (SeatAdoption, 0.25),
                (Trend, 0.05),
                (Engagement, 0.15),
            ]),
            normalise: Normalise::PeerPercentile,
        },
        Scorecard {
            name: "enterprise".into(),
            when: ScorecardMatch {
                tiers: vec!["enterprise".into()],
                ..Default::default()
            },
            weights: weights(&[
                (UsageDepth, 0.40),
                (Breadth, 0.05),
                (SeatAdoption, 0.15),
                (Trend, 0.05),
                (Engagement, 0.10),
                (Sentiment, 0.10),
                (Contract, 0.05),
                (ChampionActivity, 0.10),
            ]),
            normalise: Normalise::PeerPercentile,
        },
        Scorecard {
            name: "default".into(),
            when: ScorecardMatch::default(),
            weights: weights(&[
                (UsageDepth, 0.45),
                (Breadth, 0.10),
                (SeatAdoption, 0.15),
                (Trend, 0.05),
                (Engagement, 0.10),
                (Sentiment, 0.10),
                (Contract, 0.05),
            ]),
            normalise: Normalise::PeerPercentile,
        },
    ]
}

#[cfg(test)]
mod tests;
