//! Seed 002's decline rule: is recent usage well below what this account (or, while
//! onboarding, a new account) normally does, and how badly.
//!
//! # The active-usage index
//! The index of a period is the **mean daily active users** over its days, counting a day
//! without activity as 0 (distinct users active that day, as rolled into
//! [`crate::DayUsage::active_users`]).
//!
//! * **Recent index**: the 14 days ending on (and including) the scoring day `as_of`.
//! * **Trailing average**: the 90 days right before those 14 (ages 14..=103 days). When the
//!   account's first active day is less than 90 days before the recent period, only the days
//!   since then count; fewer than `min_baseline_days` (14) such days means too little history.
//! * **Ratio** = recent index / trailing average.
//!
//! # How the seed's two statements fit
//! The seed says the alert fires when the index "falls below 60 percent of their trailing
//! 90-day average", and grades "moderate when 40 to 60 percent below average" and "severe when
//! more than 60 percent below average". "X percent below" means ratio = 1 - X, so:
//!
//! | ratio | reading | result |
//! |---|---|---|
//! | `>= 0.6` | at most 40% below | not declining (0.6 exactly does not fire: it is not *below* 60%) |
//! | `[0.4, 0.6)` | 40 to 60% below | [`DeclineSeverity::Moderate`] (0.4 exactly is 60% below, not *more than*) |
//! | `< 0.4` | more than 60% below | [`DeclineSeverity::Severe`] |
//!
//! The one place the statements overlap, ratio exactly 0.6 ("40% below", which the grading
//! sentence would call moderate), follows the firing sentence: nothing fires.
//! The ratio is computed as one division of exact integer products
//! (`recent_sum * long_days / (long_sum * short_days)`), so boundaries are exact.
//!
//! # Onboarding
//! An account in its first 30 days (see [`crate::LifecycleStage::Onboarding`]) has no history
//! of its own to compare with: its recent index (over the days since its start, at most 14)
//! is compared with the new-account benchmark instead: `onboarding.active_seat_share` x
//! licensed seats, or `onboarding.daily_active_users` when seats are unknown. It is judged
//! from its `min_days_judged`-th day.

use crate::config::{DeclineRules, OnboardingBenchmark};
use crate::tally::UsageTally;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// How bad a decline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclineSeverity {
    /// 40 to 60 percent below average: automated outreach.
    Moderate,
    /// More than 60 percent below average: CSM alert, high priority.
    Severe,
}

/// Why an account could not be judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum NotJudged {
    /// No activity was ever recorded (and, while onboarding, no start is known).
    NoHistory,
    /// The trailing period holds fewer of the account's days than the rule needs.
    TooLittleHistory { baseline_days: u32, needed: u32 },
    /// An onboarding account younger than `onboarding.min_days_judged`.
    TooEarlyInOnboarding { days: u32, needed: u32 },
    /// No activity at all in the trailing period: nothing to decline from.
    NoBaselineUsage,
}

/// The outcome of the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclineStatus {
    Steady,
    Declining(DeclineSeverity),
    NotJudged(NotJudged),
}

/// What recent usage was compared against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Baseline {
    OwnHistory,
    NewAccountBenchmark,
}

/// The decline rule's verdict with the numbers behind it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Decline {
    pub status: DeclineStatus,
    pub baseline: Baseline,
    /// Mean daily active users over the recent period.
    pub recent_index: Option<f64>,
    /// Mean daily active users over the trailing period, or the benchmark.
    pub baseline_index: Option<f64>,
    /// recent_index / baseline_index.
    pub ratio: Option<f64>,
}

impl Decline {
    pub fn severity(&self) -> Option<DeclineSeverity> {
        match self.status {
            DeclineStatus::Declining(s) => Some(s),
            _ => None,
        }
    }

    pub fn fires(&self) -> bool {
        self.severity().is_some()
    }

    fn not_judged(baseline: Baseline, why: NotJudged) -> Decline {
        Decline {
            status: DeclineStatus::NotJudged(why),
            baseline,
            recent_index: None,
            baseline_index: None,
            ratio: None,
        }
    }
}

/// Grades a ratio: below `severe_below` is severe, below `fire_below` moderate, else steady.
pub fn classify(ratio: f64, rules: &DeclineRules) -> DeclineStatus {
    if ratio < rules.severe_below {
        DeclineStatus::Declining(DeclineSeverity::Severe)
    } else if ratio < rules.fire_below {
        DeclineStatus::Declining(DeclineSeverity::Moderate)
    } else {
        DeclineStatus::Steady
    }
}

/// Judges an established account against its own trailing average. `first_active` is the
/// account's first active day.
pub fn against_own_history(
    t: &UsageTally,
    rules: &DeclineRules,
    first_active: Option<NaiveDate>,
    as_of: NaiveDate,
) -> Decline {
    let baseline = Baseline::OwnHistory;
    let Some(first) = first_active else {
        return Decline::not_judged(baseline, NotJudged::NoHistory);
    };
    let age = (as_of - first).num_days();
    let days = (age - i64::from(rules.short_days) + 1).clamp(0, i64::from(rules.long_days));
    let baseline_days = u32::try_from(days).unwrap_or(0);
    if baseline_days < rules.min_baseline_days.max(1) {
        return Decline::not_judged(
            baseline,
            NotJudged::TooLittleHistory {
                baseline_days,
                needed: rules.min_baseline_days.max(1),
            },
        );
    }
    if t.long_user_days == 0 {
        return Decline::not_judged(baseline, NotJudged::NoBaselineUsage);
    }
    let short = f64::from(rules.short_days.max(1));
    let long = f64::from(baseline_days);
    let recent = t.short_user_days as f64;
    let trailing = t.long_user_days as f64;
    let ratio = (recent * long) / (trailing * short);
    Decline {
        status: classify(ratio, rules),
        baseline,
        recent_index: Some(recent / short),
        baseline_index: Some(trailing / long),
        ratio: Some(ratio),
    }
}

/// Judges an onboarding account against the new-account benchmark. `start` is the contract
/// start (or first activity).
pub fn against_benchmark(
    t: &UsageTally,
    rules: &DeclineRules,
    bench: &OnboardingBenchmark,
    start: Option<NaiveDate>,
    seats: Option<u32>,
    as_of: NaiveDate,
) -> Decline {
    let baseline = Baseline::NewAccountBenchmark;
    let Some(start) = start else {
        return Decline::not_judged(baseline, NotJudged::NoHistory);
    };
    let existed = (as_of - start).num_days() + 1;
    let needed = bench.min_days_judged.max(1);
    if existed < i64::from(needed) {
        let days = u32::try_from(existed.max(0)).unwrap_or(0);
        return Decline::not_judged(baseline, NotJudged::TooEarlyInOnboarding { days, needed });
    }
    let days = existed.min(i64::from(rules.short_days.max(1))) as f64;
    let expected = match seats {
        Some(s) if s > 0 => f64::from(s) * bench.active_seat_share,
        _ => bench.daily_active_users,
    };
    let recent = t.short_user_days as f64;
    let ratio = recent / (days * expected);
    Decline {
        status: classify(ratio, rules),
        baseline,
        recent_index: Some(recent / days),
        baseline_index: Some(expected),
        ratio: Some(ratio),
    }
}

#[cfg(test)]
mod tests;
