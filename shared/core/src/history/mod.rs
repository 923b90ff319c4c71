//! The score history: one compact entry per account and day, kept for the retention period.
//!
//! An entry holds what the history is read for: the day's health score with each signal's
//! measurement, weight and points (so charts, "what changed" sentences and backtests read it
//! as scored), and, on sampled days only, the usage snapshot the churn model learns from. The
//! day's decline verdict, outlook and change are not kept: the account record carries the
//! current ones, and the change between two entries is recomputed from them
//! ([`HistoryDay::change_since`]). Stored as [`codec`] bytes, the same in both backends.

pub mod codec;
pub mod sample;
pub mod shape;

use chrono::{Datelike, NaiveDate};
use vitals_scoring::explain::diff;
use vitals_scoring::usage_features::UsageSnapshot;
use vitals_scoring::{HealthScore, ScoreChange};

use crate::model::{AccountId, ScoreRecord};

/// One account-day of the score history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryDay {
    pub account_id: AccountId,
    pub as_of: NaiveDate,
    /// The health score with its explanation, as scored that day.
    pub health: HealthScore,
    /// What was known about the account's usage that day, kept on sampled days
    /// ([`keeps_usage_on`]) for the churn model's fits.
    pub usage: Option<UsageSnapshot>,
}

impl HistoryDay {
    /// The entry of a day's score, with its usage snapshot when `day` is a sampled day for a
    /// model that samples every `sample_every_days`.
    pub fn of_scored(record: &ScoreRecord, sample_every_days: u32) -> HistoryDay {
        HistoryDay {
            account_id: record.account_id.clone(),
            as_of: record.as_of,
            health: record.score.health.clone(),
            usage: keeps_usage_on(record.as_of, sample_every_days)
                .then(|| record.score.usage.clone())
                .flatten(),
        }
    }

    /// The entry of a score with its usage snapshot, whatever the day.
    pub fn of(record: &ScoreRecord) -> HistoryDay {
        HistoryDay::of_scored(record, 1)
    }

    /// How the score moved since `earlier`: the delta and the signals that moved most.
    pub fn change_since(&self, earlier: &HistoryDay) -> ScoreChange {
        diff(&earlier.health, &self.health)
    }
}

/// Whether a day's entry keeps the usage snapshot: days whose number (from the common era) is a
/// multiple of `sample_every_days`, so any run of that many consecutive days holds exactly one.
/// A model sampling one day in each such run finds a snapshot in every one, and the history
/// keeps one snapshot a week instead of one a day (the snapshot is most of an entry's size).
pub fn keeps_usage_on(day: NaiveDate, sample_every_days: u32) -> bool {
    let every = i64::from(sample_every_days.max(1));
    i64::from(day.num_days_from_ce()).rem_euclid(every) == 0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn any_run_of_sampled_length_holds_exactly_one_usage_day() {
        let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        for every in [1u32, 2, 7, 30] {
            for offset in 0..40u64 {
                let first = start + chrono::Days::new(offset);
                let kept = (0..u64::from(every))
                    .filter(|d| keeps_usage_on(first + chrono::Days::new(*d), every))
                    .count();
                assert_eq!(kept, 1, "every {every}, from {first}");
            }
        }
    }
}
