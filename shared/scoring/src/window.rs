//! The rolling per-account usage window the daily run maintains: one compact record per account
//! so a scoring run reads one item per account, not one per day.
//!
//! Size is bounded: at most [`WINDOW_DAYS`] product-usage days (stored packed, see
//! [`crate::packed`]), engagement counters only for days that had any, at most [`MAX_SURVEYS`]
//! survey answers, [`MAX_TRACKED_USERS`] users and [`MAX_TRACKED_FEATURES`] features.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

mod days;
mod event_counts;
mod last_seen;

pub(crate) use days::{date_of, date_of_number, NumberedDay};
pub use days::{day_number, UsageDays, USAGE_ROW};
pub use event_counts::{EventCounts, EventTypeCounts, LONG_MEAN_AGE_DAYS, MAX_EVENT_TYPES};
pub use last_seen::LastSeen;

/// How many days of history a window keeps: the 90-day trailing average plus the 14-day index,
/// with room to spare.
pub const WINDOW_DAYS: usize = 120;
/// Survey answers kept (newest win); sentiment reads those within its look-back.
pub const MAX_SURVEYS: usize = 16;
/// Survey answers older than this many days are dropped.
pub const SURVEY_DAYS: u64 = 365;
/// Users whose last active day is kept; the least recently active are forgotten first.
pub const MAX_TRACKED_USERS: usize = 1000;
/// Features whose last used day is kept; the least recently used are forgotten first.
pub const MAX_TRACKED_FEATURES: usize = 128;

/// How bad a support ticket is, as the help desk reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketSeverity {
    Low,
    Normal,
    High,
    Urgent,
}

/// Support tickets counted by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketCounts {
    #[serde(rename = "l", default, skip_serializing_if = "is_zero")]
    pub low: u32,
    #[serde(rename = "n", default, skip_serializing_if = "is_zero")]
    pub normal: u32,
    #[serde(rename = "h", default, skip_serializing_if = "is_zero")]
    pub high: u32,
    #[serde(rename = "u", default, skip_serializing_if = "is_zero")]
    pub urgent: u32,
}

impl TicketCounts {
    pub fn add(&mut self, severity: TicketSeverity) {
        let slot = match severity {
            TicketSeverity::Low => &mut self.low,
            TicketSeverity::Normal => &mut self.normal,
            TicketSeverity::High => &mut self.high,
            TicketSeverity::Urgent => &mut self.urgent,
        };
        *slot = slot.saturating_add(1);
    }

    pub fn total(&self) -> u32 {
        self.low
            .saturating_add(self.normal)
            .saturating_add(self.high)
            .saturating_add(self.urgent)
    }

    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }

    fn accumulate(&mut self, other: &TicketCounts) {
        self.low = self.low.saturating_add(other.low);
        self.normal = self.normal.saturating_add(other.normal);
        self.high = self.high.saturating_add(other.high);
        self.urgent = self.urgent.saturating_add(other.urgent);
    }
}

/// Which survey an answer belongs to; each has its own scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurveyKind {
    /// Net Promoter Score, 0-10.
    Nps,
    /// Customer satisfaction, 1-5.
    Csat,
    /// Customer effort score, 1-7, higher meaning easier.
    Ces,
}

impl SurveyKind {
    /// The scale's (lowest, highest) answer.
    pub fn scale(self) -> (u8, u8) {
        match self {
            SurveyKind::Nps => (0, 10),
            SurveyKind::Csat => (1, 5),
            SurveyKind::Ces => (1, 7),
        }
    }

    /// An answer on this survey's scale as 0-100 (clamped into the scale first).
    pub fn normalise(self, answer: u8) -> f64 {
        let (lo, hi) = self.scale();
        let a = answer.clamp(lo, hi);
        f64::from(a - lo) * 100.0 / f64::from(hi - lo)
    }
}

/// One survey answer kept in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyResponse {
    #[serde(rename = "d")]
    pub day: NaiveDate,
    #[serde(rename = "k")]
    pub kind: SurveyKind,
    #[serde(rename = "s")]
    pub answer: u8,
}

/// What one account did on one day, aggregated from its deduplicated events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DayActivity {
    pub day: Option<NaiveDate>,
    /// Distinct users active that day.
    pub active_users: Vec<String>,
    pub sessions: u32,
    pub session_seconds: u32,
    pub api_calls: u32,
    pub events: u32,
    /// Product features (configured key features or any event name) used that day.
    pub features: Vec<String>,
    /// How many times each of `features` was used that day (same order; missing counts are 1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feature_counts: Vec<u32>,
    /// Support tickets opened that day, by severity.
    #[serde(default)]
    pub tickets_opened: TicketCounts,
    /// Support tickets resolved that day, by severity.
    #[serde(default)]
    pub tickets_resolved: TicketCounts,
    /// NPS answers (0-10) received that day.
    #[serde(default)]
    pub nps: Vec<u8>,
    /// CSAT answers (1-5) received that day.
    #[serde(default)]
    pub csat: Vec<u8>,
    /// CES answers (1-7, higher is easier) received that day.
    #[serde(default)]
    pub ces: Vec<u8>,
    #[serde(default)]
    pub trainings_completed: u32,
    #[serde(default)]
    pub csm_checkins: u32,
    #[serde(default)]
    pub invoices_overdue: u32,
    #[serde(default)]
    pub invoices_paid: u32,
    /// Whether the configured first-value event (`ScoringConfig::first_value_event`) happened.
    #[serde(default)]
    pub first_value_reached: bool,
}

/// One day of product usage in the window, as compact counters.
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

/// One day's non-product signals (support, training, check-ins, invoices), kept only for days
/// that had any, so a quiet account pays nothing for them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaySignals {
    #[serde(rename = "d")]
    pub day: NaiveDate,
    #[serde(rename = "o", default, skip_serializing_if = "TicketCounts::is_empty")]
    pub tickets_opened: TicketCounts,
    #[serde(rename = "r", default, skip_serializing_if = "TicketCounts::is_empty")]
    pub tickets_resolved: TicketCounts,
    #[serde(rename = "tr", default, skip_serializing_if = "is_zero")]
    pub trainings: u32,
    #[serde(rename = "c", default, skip_serializing_if = "is_zero")]
    pub checkins: u32,
    #[serde(rename = "io", default, skip_serializing_if = "is_zero")]
    pub invoices_overdue: u32,
    #[serde(rename = "ip", default, skip_serializing_if = "is_zero")]
    pub invoices_paid: u32,
}

impl DaySignals {
    fn is_empty(&self) -> bool {
        self.tickets_opened.is_empty()
            && self.tickets_resolved.is_empty()
            && self.trainings == 0
            && self.checkins == 0
            && self.invoices_overdue == 0
            && self.invoices_paid == 0
    }

    fn has_engagement(&self) -> bool {
        !self.tickets_opened.is_empty()
            || !self.tickets_resolved.is_empty()
            || self.trainings > 0
            || self.checkins > 0
    }

    pub(crate) fn accumulate(&mut self, other: &DaySignals) {
        self.tickets_opened.accumulate(&other.tickets_opened);
        self.tickets_resolved.accumulate(&other.tickets_resolved);
        self.trainings = self.trainings.saturating_add(other.trainings);
        self.checkins = self.checkins.saturating_add(other.checkins);
        self.invoices_overdue = self.invoices_overdue.saturating_add(other.invoices_overdue);
        self.invoices_paid = self.invoices_paid.saturating_add(other.invoices_paid);
    }
}

/// An account's rolling usage state, updated once per day by the scoring run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageWindow {
    /// The last day rolled in; rolling the same day again is a no-op.
    #[serde(default)]
    pub through: Option<NaiveDate>,
    #[serde(default)]
    pub first_active: Option<NaiveDate>,
    /// Oldest first, at most [`WINDOW_DAYS`] entries, only days with activity. Stored packed.
    #[serde(default, with = "crate::packed")]
    pub days: UsageDays,
    /// Each user's last active day, for seat adoption and champion activity.
    #[serde(default)]
    pub users_last_active: LastSeen,
    /// Each feature's last used day, for breadth and "most recently used feature".
    #[serde(default)]
    pub features_last_used: LastSeen,
    /// Oldest first, within [`WINDOW_DAYS`], only days with support, training, check-in or
    /// invoice activity.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signal_days: Vec<DaySignals>,
    /// Oldest first, the newest [`MAX_SURVEYS`] answers within [`SURVEY_DAYS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub surveys: Vec<SurveyResponse>,
    /// First day any engagement record (ticket, training, check-in) arrived: before it, the
    /// engagement signal is missing rather than zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engagement_since: Option<NaiveDate>,
    /// First day any invoice record arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoices_since: Option<NaiveDate>,
    /// The first day the configured first-value event happened, for time-to-value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_value_on: Option<NaiveDate>,
    /// How often each product event type was used recently, for the usage features.
    #[serde(default, rename = "ev", skip_serializing_if = "EventCounts::is_empty")]
    pub event_counts: EventCounts,
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
        self.users_last_active.mark_all(&activity.active_users, day);
        self.features_last_used.mark_all(&activity.features, day);
        self.event_counts
            .roll(day, &activity.features, &activity.feature_counts);
        self.roll_signals(day, activity);
        if activity.first_value_reached {
            self.first_value_on.get_or_insert(day);
        }
        self.prune(day);
    }

    fn roll_signals(&mut self, day: NaiveDate, activity: &DayActivity) {
        let signals = DaySignals {
            day,
            tickets_opened: activity.tickets_opened,
            tickets_resolved: activity.tickets_resolved,
            trainings: activity.trainings_completed,
            checkins: activity.csm_checkins,
            invoices_overdue: activity.invoices_overdue,
            invoices_paid: activity.invoices_paid,
        };
        if signals.has_engagement() {
            self.engagement_since.get_or_insert(day);
        }
        if signals.invoices_overdue > 0 || signals.invoices_paid > 0 {
            self.invoices_since.get_or_insert(day);
        }
        if !signals.is_empty() {
            self.signal_days.push(signals);
        }
        let answers = [
            (SurveyKind::Nps, &activity.nps),
            (SurveyKind::Csat, &activity.csat),
            (SurveyKind::Ces, &activity.ces),
        ];
        for (kind, list) in answers {
            for &answer in list {
                self.surveys.push(SurveyResponse { day, kind, answer });
            }
        }
    }

    /// Drops what fell out of the window and enforces the size caps.
    fn prune(&mut self, day: NaiveDate) {
        let oldest = day - chrono::Days::new(WINDOW_DAYS as u64 - 1);
        self.days.retain_since(oldest);
        self.signal_days.retain(|d| d.day >= oldest);
        self.users_last_active.retain_since(oldest);
        self.features_last_used.retain_since(oldest);
        let oldest_survey = day - chrono::Days::new(SURVEY_DAYS - 1);
        self.surveys.retain(|s| s.day >= oldest_survey);
        if self.surveys.len() > MAX_SURVEYS {
            let extra = self.surveys.len() - MAX_SURVEYS;
            self.surveys.drain(..extra);
        }
        self.users_last_active.cap_by_recency(MAX_TRACKED_USERS);
        self.features_last_used.cap_by_recency(MAX_TRACKED_FEATURES);
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
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
            csm_checkins: 1,
            nps: vec![9],
            ..Default::default()
        };
        w.roll(day("2026-01-02"), &a);
        w.roll(day("2026-01-02"), &a);
        assert_eq!(w.days.len(), 1);
        assert_eq!(w.days.first().map(|d| d.events), Some(5));
        assert_eq!(w.signal_days.len(), 1);
        assert_eq!(w.surveys.len(), 1);
    }

    #[test]
    fn window_keeps_only_the_last_120_days() {
        let mut w = UsageWindow::default();
        let a = DayActivity {
            events: 1,
            trainings_completed: 1,
            ..Default::default()
        };
        let start = day("2026-01-01");
        for i in 0..200 {
            w.roll(start + chrono::Days::new(i), &a);
        }
        assert_eq!(w.days.len(), WINDOW_DAYS);
        assert_eq!(
            w.days.first().map(|d| d.day),
            Some(start + chrono::Days::new(80))
        );
        assert_eq!(w.signal_days.len(), WINDOW_DAYS);
        assert_eq!(w.first_active, Some(start));
        assert_eq!(w.engagement_since, Some(start));
    }

    #[test]
    fn quiet_days_store_no_signal_entry_and_no_usage_day() {
        let mut w = UsageWindow::default();
        w.roll(day("2026-01-02"), &DayActivity::default());
        assert!(w.days.is_empty());
        assert!(w.signal_days.is_empty());
        assert_eq!(w.through, Some(day("2026-01-02")));
        assert_eq!(w.engagement_since, None);
    }

    #[test]
    fn a_ticket_alone_does_not_make_a_product_active_day() {
        let mut w = UsageWindow::default();
        let mut a = DayActivity::default();
        a.tickets_opened.add(TicketSeverity::High);
        w.roll(day("2026-01-02"), &a);
        assert!(w.days.is_empty());
        assert_eq!(w.first_active, None);
        assert_eq!(w.signal_days[0].tickets_opened.high, 1);
    }

    #[test]
    fn survey_answers_keep_only_the_newest_sixteen() {
        let mut w = UsageWindow::default();
        let a = DayActivity {
            nps: vec![1, 2],
            ..Default::default()
        };
        let start = day("2026-01-01");
        for i in 0..20 {
            w.roll(start + chrono::Days::new(i), &a);
        }
        assert_eq!(w.surveys.len(), MAX_SURVEYS);
        assert_eq!(w.surveys[15].day, start + chrono::Days::new(19));
        assert_eq!(w.surveys[0].day, start + chrono::Days::new(12));
    }

    #[test]
    fn first_value_day_is_the_first_time_it_happened() {
        let mut w = UsageWindow::default();
        let a = DayActivity {
            events: 1,
            first_value_reached: true,
            ..Default::default()
        };
        w.roll(day("2026-01-05"), &a);
        w.roll(day("2026-01-09"), &a);
        assert_eq!(w.first_value_on, Some(day("2026-01-05")));
    }

    #[test]
    fn users_beyond_the_cap_are_forgotten_least_recent_first() {
        let mut w = UsageWindow::default();
        let old = DayActivity {
            active_users: (0..5).map(|i| format!("old-{i}")).collect(),
            events: 1,
            ..Default::default()
        };
        let new = DayActivity {
            active_users: (0..MAX_TRACKED_USERS).map(|i| format!("new-{i}")).collect(),
            events: 1,
            ..Default::default()
        };
        w.roll(day("2026-01-01"), &old);
        w.roll(day("2026-01-02"), &new);
        assert_eq!(w.users_last_active.len(), MAX_TRACKED_USERS);
        assert!(!w.users_last_active.contains("old-0"));
        assert!(w.users_last_active.contains("new-0"));
    }

    #[test]
    fn an_active_window_of_120_days_stays_a_few_kilobytes() {
        let mut w = UsageWindow::default();
        let start = day("2026-01-01");
        let users: Vec<String> = (0..25).map(|i| format!("user-{i:04}")).collect();
        let features: Vec<String> = (0..12).map(|i| format!("feature_{i}")).collect();
        for i in 0..120u64 {
            let mut a = DayActivity {
                active_users: users.clone(),
                sessions: 60,
                session_seconds: 36_000,
                api_calls: 800,
                events: 2_400,
                features: features.clone(),
                ..Default::default()
            };
            if i % 10 == 0 {
                a.tickets_opened.add(TicketSeverity::Normal);
                a.csm_checkins = 1;
            }
            w.roll(start + chrono::Days::new(i), &a);
        }
        // about 6 KB of JSON (stored deflated): 2.9 KB of packed usage days, 1.7 KB of the 28
        // days of per-feature counts, the rest user and feature names
        let json = serde_json::to_string(&w).unwrap();
        assert!(json.len() < 6_500, "window is {} bytes", json.len());
        let back: UsageWindow = serde_json::from_str(&json).unwrap();
        assert_eq!(back, w);
    }
}
