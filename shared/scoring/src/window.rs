//! The rolling per-account usage window the daily run maintains: one compact record per account
//! so a scoring run reads one item per account, not one per day.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How many days of history a window keeps: the 90-day trailing average plus the 14-day index.
pub const WINDOW_DAYS: usize = 120;

/// What one account did on one day, aggregated from its deduplicated events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DayActivity {
    pub day: Option<NaiveDate>,
    /// Distinct users active that day, with their last event time (seconds in day).
    pub active_users: Vec<String>,
    pub sessions: u32,
    pub session_seconds: u32,
    pub api_calls: u32,
    pub events: u32,
    /// Product features (configured key features or any event name) used that day.
    pub features: Vec<String>,
}

/// One day in the window, as compact counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayUsage {
    #[serde(rename = "d")]
    pub day: NaiveDate,
    #[serde(rename = "u", default)]
    pub active_users: u32,
    #[serde(rename = "s", default)]
    pub sessions: u32,
    #[serde(rename = "t", default)]
    pub session_seconds: u32,
    #[serde(rename = "a", default)]
    pub api_calls: u32,
    #[serde(rename = "e", default)]
    pub events: u32,
}

/// An account's rolling usage state, updated once per day by the scoring run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageWindow {
    /// The last day rolled in; rolling the same day again is a no-op.
    #[serde(default)]
    pub through: Option<NaiveDate>,
    #[serde(default)]
    pub first_active: Option<NaiveDate>,
    /// Oldest first, at most [`WINDOW_DAYS`] entries, only days with activity.
    #[serde(default)]
    pub days: Vec<DayUsage>,
    /// Each user's last active day, for seat adoption and champion activity.
    #[serde(default)]
    pub users_last_active: BTreeMap<String, NaiveDate>,
    /// Each feature's last used day, for breadth and "most recently used feature".
    #[serde(default)]
    pub features_last_used: BTreeMap<String, NaiveDate>,
}

impl UsageWindow {
    /// Rolls one day's activity in. Idempotent: a day at or before `through` is ignored, so a
    /// re-run or resumed scoring run never counts a day twice.
    pub fn roll(&mut self, day: NaiveDate, activity: &DayActivity) {
        if self.through.is_some_and(|t| day <= t) {
            return;
        }
        self.through = Some(day);
        let active = activity.events > 0 || !activity.active_users.is_empty();
        if active {
            self.first_active.get_or_insert(day);
            self.days.push(DayUsage {
                day,
                active_users: u32::try_from(activity.active_users.len()).unwrap_or(u32::MAX),
                sessions: activity.sessions,
                session_seconds: activity.session_seconds,
                api_calls: activity.api_calls,
                events: activity.events,
            });
        }
        for user in &activity.active_users {
            self.users_last_active.insert(user.clone(), day);
        }
        for feature in &activity.features {
            self.features_last_used.insert(feature.clone(), day);
        }
        let oldest = day - chrono::Days::new(WINDOW_DAYS as u64 - 1);
        self.days.retain(|d| d.day >= oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn rolling_the_same_day_twice_counts_it_once() {
        let mut w = UsageWindow::default();
        let a = DayActivity {
            active_users: vec!["u1".into()],
            events: 5,
            ..Default::default()
        };
        w.roll(day("2026-01-02"), &a);
        w.roll(day("2026-01-02"), &a);
        assert_eq!(w.days.len(), 1);
        assert_eq!(w.days[0].events, 5);
    }

    #[test]
    fn window_keeps_only_the_last_120_days() {
        let mut w = UsageWindow::default();
        let a = DayActivity {
            events: 1,
            ..Default::default()
        };
        let start = day("2026-01-01");
        for i in 0..200 {
            w.roll(start + chrono::Days::new(i), &a);
        }
        assert_eq!(w.days.len(), WINDOW_DAYS);
        assert_eq!(w.days[0].day, start + chrono::Days::new(80));
    }
}
