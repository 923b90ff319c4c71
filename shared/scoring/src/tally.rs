//! The hot loop: one pass over an account's usage days that sums everything the signals and
//! the decline rule need. No allocation, no strings, no maps: the performance budget (100M
//! account-days per second per core) is spent here.

use crate::signals::first_day;
use crate::window::{DaySignals, DayUsage, TicketCounts, UsageWindow};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The periods one pass sums, in days ending on (and including) the scoring day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spans {
    /// The usage signals' look-back.
    pub lookback: u32,
    /// The decline index's recent period.
    pub short: u32,
    /// The trailing period right before the recent one.
    pub long: u32,
}

/// Usage sums over the look-back, and daily-active-user sums for the decline periods.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageTally {
    pub active_days: u32,
    /// Sum over the look-back of each day's active users.
    pub user_days: u64,
    pub sessions: u64,
    pub session_seconds: u64,
    pub api_calls: u64,
    pub events: u64,
    /// Sum of daily active users over the recent (short) period.
    pub short_user_days: u64,
    /// Sum of daily active users over the trailing (long) period.
    pub long_user_days: u64,
}

/// Sums `days` relative to `as_of`; days after `as_of` are ignored, so a window rolled past
/// the scoring day still gives the as-of answer for the days it kept. Days in the window's
/// order (oldest first, as rolling and unpacking keep them) take the fast path: the period
/// edges are found by binary search and each period is a plain sum; any other order is summed
/// day by day with the same result.
#[inline]
pub fn tally_usage(days: &[DayUsage], as_of: NaiveDate, spans: Spans) -> UsageTally {
    let edges = Edges::new(as_of, spans);
    if days.is_sorted_by(|a, b| a.day < b.day) {
        tally_sorted(days, &edges)
    } else {
        tally_any_order(days, &edges)
    }
}

/// First days of each period, and the last day counted.
struct Edges {
    as_of: NaiveDate,
    lookback_from: NaiveDate,
    short_from: NaiveDate,
    long_from: NaiveDate,
}

impl Edges {
    fn new(as_of: NaiveDate, spans: Spans) -> Edges {
        Edges {
            as_of,
            lookback_from: first_day(as_of, spans.lookback),
            short_from: first_day(as_of, spans.short),
            long_from: first_day(as_of, spans.short.saturating_add(spans.long)),
        }
    }
}

fn tally_sorted(days: &[DayUsage], e: &Edges) -> UsageTally {
    let end = days.partition_point(|d| d.day <= e.as_of);
    let days = &days[..end];
    let lookback = days.partition_point(|d| d.day < e.lookback_from);
    let short = days.partition_point(|d| d.day < e.short_from);
    let long = days.partition_point(|d| d.day < e.long_from);
    let mut t = UsageTally {
        active_days: u32::try_from(days.len() - lookback).unwrap_or(u32::MAX),
        ..UsageTally::default()
    };
    for d in &days[lookback..] {
        t.user_days += u64::from(d.active_users);
        t.sessions += u64::from(d.sessions);
        t.session_seconds += u64::from(d.session_seconds);
        t.api_calls += u64::from(d.api_calls);
        t.events += u64::from(d.events);
    }
    t.short_user_days = days[short..]
        .iter()
        .map(|d| u64::from(d.active_users))
        .sum();
    t.long_user_days = days[long.min(short)..short]
        .iter()
        .map(|d| u64::from(d.active_users))
        .sum();
    t
}

fn tally_any_order(days: &[DayUsage], e: &Edges) -> UsageTally {
    // Dates compare as one packed integer, so each day costs a few comparisons.
    let mut t = UsageTally::default();
    for d in days {
        let day = d.day;
        let past = day <= e.as_of;
        let in_lookback = u64::from(past & (day >= e.lookback_from));
        let in_short = u64::from(past & (day >= e.short_from));
        let in_long = u64::from((day < e.short_from) & (day >= e.long_from));
        let users = u64::from(d.active_users);
        t.active_days += in_lookback as u32;
        t.user_days += in_lookback * users;
        t.sessions += in_lookback * u64::from(d.sessions);
        t.session_seconds += in_lookback * u64::from(d.session_seconds);
        t.api_calls += in_lookback * u64::from(d.api_calls);
        t.events += in_lookback * u64::from(d.events);
        t.short_user_days += in_short * users;
        t.long_user_days += in_long * users;
    }
    t
}

/// Distinct users active between `from` and `as_of` (inclusive) in each of several windows,
/// as [`crate::signals::active_users`] counts them for one. The maps are walked side by side
/// so their loads overlap: see [`crate::kernel::measure_batch`].
pub fn active_users_together<const N: usize>(
    windows: [&UsageWindow; N],
    from: NaiveDate,
    as_of: NaiveDate,
) -> [u32; N] {
    let mut walks = windows.map(|w| w.users_last_active.values());
    let mut counts = [0usize; N];
    loop {
        let mut more = false;
        for (walk, count) in walks.iter_mut().zip(counts.iter_mut()) {
            if let Some(d) = walk.next() {
                more = true;
                *count += usize::from(*d >= from && *d <= as_of);
            }
        }
        if !more {
            return counts.map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        }
    }
}

/// Non-product signal sums: engagement over its period, invoices over the whole window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngagementTally {
    pub tickets_opened: TicketCounts,
    pub tickets_resolved: TicketCounts,
    pub trainings: u32,
    pub checkins: u32,
    pub invoices_overdue: u32,
    pub invoices_paid: u32,
}

/// Sums `signal_days` over the `days`-day engagement period ending on `as_of` (invoices over
/// every kept day up to `as_of`).
pub fn tally_engagement(
    signal_days: &[DaySignals],
    as_of: NaiveDate,
    days: u32,
) -> EngagementTally {
    // Dates compare as one packed integer: cheaper than counting days per entry.
    let engaged_from = (days > 0).then(|| first_day(as_of, days));
    let mut engaged = DaySignals::default();
    let mut t = EngagementTally::default();
    for d in signal_days {
        if d.day > as_of {
            continue;
        }
        t.invoices_overdue = t.invoices_overdue.saturating_add(d.invoices_overdue);
        t.invoices_paid = t.invoices_paid.saturating_add(d.invoices_paid);
        if engaged_from.is_some_and(|from| d.day >= from) {
            engaged.accumulate(d);
        }
    }
    t.tickets_opened = engaged.tickets_opened;
    t.tickets_resolved = engaged.tickets_resolved;
    t.trainings = engaged.trainings;
    t.checkins = engaged.checkins;
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn usage(d: NaiveDate, users: u32) -> DayUsage {
        DayUsage {
            day: d,
            active_users: users,
            sessions: 2,
            session_seconds: 60,
            api_calls: 3,
            events: 4,
        }
    }

    const SPANS: Spans = Spans {
        lookback: 30,
        short: 14,
        long: 90,
    };

    #[test]
    fn splits_days_into_recent_and_trailing_periods() {
        let as_of = day("2026-06-01");
        let days: Vec<DayUsage> = (0..120u64)
            .rev()
            .map(|age| usage(as_of - chrono::Days::new(age), 1))
            .collect();
        let t = tally_usage(&days, as_of, SPANS);
        assert_eq!(t.active_days, 30);
        assert_eq!(t.user_days, 30);
        assert_eq!(t.sessions, 60);
        assert_eq!(t.session_seconds, 1800);
        assert_eq!(t.api_calls, 90);
        assert_eq!(t.events, 120);
        assert_eq!(t.short_user_days, 14);
        assert_eq!(t.long_user_days, 90);
    }

    #[test]
    fn days_after_the_scoring_day_are_ignored() {
        let as_of = day("2026-06-01");
        let days = vec![usage(as_of, 2), usage(day("2026-06-02"), 50)];
        let t = tally_usage(&days, as_of, SPANS);
        assert_eq!(t.active_days, 1);
        assert_eq!(t.short_user_days, 2);
        assert_eq!(t.long_user_days, 0);
    }

    #[test]
    fn the_fourteenth_day_back_belongs_to_the_trailing_period() {
        let as_of = day("2026-06-01");
        let days = vec![
            usage(as_of - chrono::Days::new(13), 1),
            usage(as_of - chrono::Days::new(14), 10),
            usage(as_of - chrono::Days::new(103), 100),
            usage(as_of - chrono::Days::new(104), 1000),
        ];
        let t = tally_usage(&days, as_of, SPANS);
        assert_eq!(t.short_user_days, 1);
        assert_eq!(t.long_user_days, 110);
    }

    #[test]
    fn any_order_gives_the_same_sums_as_window_order() {
        let as_of = day("2026-06-01");
        let mut days: Vec<DayUsage> = (0..130u64)
            .rev()
            .map(|age| usage(as_of - chrono::Days::new(age), (age % 7) as u32 + 1))
            .collect();
        days.push(usage(day("2026-06-03"), 99));
        let sorted = tally_usage(&days, as_of, SPANS);
        days.reverse();
        assert_eq!(tally_usage(&days, as_of, SPANS), sorted);
        assert_eq!(sorted.active_days, 30);
    }

    #[test]
    fn the_engagement_period_ends_its_days_minus_one_days_back() {
        let as_of = day("2026-06-01");
        let at = |age: u64| DaySignals {
            day: as_of - chrono::Days::new(age),
            checkins: 1,
            ..Default::default()
        };
        let future = DaySignals {
            day: day("2026-06-02"),
            checkins: 100,
            invoices_paid: 1,
            ..Default::default()
        };
        let days = [at(90), at(89), at(0), future];
        assert_eq!(tally_engagement(&days, as_of, 90).checkins, 2);
        assert_eq!(tally_engagement(&days, as_of, 1).checkins, 1);
        assert_eq!(tally_engagement(&days, as_of, 0).checkins, 0);
        assert_eq!(tally_engagement(&days, as_of, 90).invoices_paid, 0);
    }

    #[test]
    fn users_counted_together_match_one_window_at_a_time() {
        let as_of = day("2026-06-01");
        let windows: Vec<UsageWindow> = (0..5u64)
            .map(|n| {
                let mut w = UsageWindow::default();
                for u in 0..n * 7 {
                    w.users_last_active
                        .insert(format!("u{u}"), as_of - chrono::Days::new(u * 3 % 50));
                }
                w.users_last_active
                    .insert("tomorrow".into(), day("2026-06-02"));
                w
            })
            .collect();
        let from = first_day(as_of, 30);
        let together = active_users_together(
            [&windows[0], &windows[1], &windows[2], &windows[4]],
            from,
            as_of,
        );
        let alone = [0, 1, 2, 4].map(|i| crate::signals::active_users(&windows[i], as_of, 30));
        assert_eq!(together, alone);
        assert_eq!(together[0], 0);
    }

    #[test]
    fn engagement_counts_its_period_and_invoices_the_whole_window() {
        let as_of = day("2026-06-01");
        let mut recent = DaySignals {
            day: as_of,
            trainings: 1,
            invoices_overdue: 1,
            ..Default::default()
        };
        recent.tickets_opened.high = 2;
        let old = DaySignals {
            day: as_of - chrono::Days::new(100),
            checkins: 5,
            invoices_paid: 1,
            ..Default::default()
        };
        let t = tally_engagement(&[old, recent], as_of, 90);
        assert_eq!(t.trainings, 1);
        assert_eq!(t.checkins, 0);
        assert_eq!(t.tickets_opened.high, 2);
        assert_eq!(t.invoices_overdue, 1);
        assert_eq!(t.invoices_paid, 1);
    }
}
