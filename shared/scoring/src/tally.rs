//! The hot loop: sums of an account's usage columns over the periods the signals and the
//! decline rule need. No allocation, no strings, no maps: the performance budget (100M
//! account-days per second per core) is spent here.

use crate::signals::{first_day, Period};
use crate::window::{day_number, DaySignals, TicketCounts, UsageDays};
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

/// The periods of [`Spans`] as dates for one scoring day, worked out once for every account
/// scored that day, and as [`day_number`]s for searching the day column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Periods {
    pub as_of: NaiveDate,
    /// The usage signals' look-back.
    pub lookback: Period,
    spans: Spans,
    /// `as_of` and the first days of the look-back, the recent and the trailing period.
    numbers: [u32; 4],
}

impl Periods {
    pub fn new(as_of: NaiveDate, spans: Spans) -> Periods {
        let lookback = Period::ending(as_of, spans.lookback);
        let short_from = first_day(as_of, spans.short);
        let long_from = first_day(as_of, spans.short.saturating_add(spans.long));
        Periods {
            as_of,
            lookback,
            spans,
            numbers: [
                day_number(as_of),
                lookback.numbers()[0],
                day_number(short_from),
                day_number(long_from),
            ],
        }
    }

    /// How many days the look-back, the decline rule's recent period and its two periods
    /// together cover.
    pub fn spans_in_days(&self) -> [usize; 3] {
        let s = self.spans;
        [s.lookback, s.short, s.short.saturating_add(s.long)].map(|n| n as usize)
    }
}

/// Sums `days` relative to `as_of`; days after `as_of` are ignored, so a window rolled past
/// the scoring day still gives the as-of answer for the days it kept.
pub fn tally_usage(days: &UsageDays, as_of: NaiveDate, spans: Spans) -> UsageTally {
    tally_periods(days, &Periods::new(as_of, spans))
}

/// [`tally_usage`] with the periods worked out: finds where each period starts in the day
/// column, then takes its sums from the running totals there.
#[inline]
pub fn tally_periods(days: &UsageDays, p: &Periods) -> UsageTally {
    let [as_of, lookback_from, short_from, long_from] = p.numbers;
    let all = days.day_numbers();
    let end = match all.last() {
        Some(last) if *last > as_of => all.partition_point(|d| *d <= as_of),
        _ => all.len(),
    };
    let dates = &all[..end];
    let lookback = first_at_or_after(dates, lookback_from);
    let short = first_at_or_after(dates, short_from);
    let long = first_at_or_after(dates, long_from).min(short);
    let [sessions, session_seconds, api_calls, events] = days.sum_usage(lookback..end);
    UsageTally {
        active_days: u32::try_from(end - lookback).unwrap_or(u32::MAX),
        user_days: days.sum_active_users(lookback..end),
        sessions,
        session_seconds,
        api_calls,
        events,
        short_user_days: days.sum_active_users(short..end),
        long_user_days: days.sum_active_users(long..short),
    }
}

/// Days `first_at_or_after` steps forward from its guess before it falls back to a binary
/// search: a few quiet days in the period.
pub const GAP_WALK: usize = 8;

/// Where the days from `from` on start in the ordered `dates`. Distinct days from `from` to
/// the newest number at most `newest - from + 1`, so in a window active every day the answer
/// is that far from the end: that guess is checked with two reads. A window with a few quiet
/// days in the period has its answer a few days after the guess, found by stepping through
/// neighbouring days ([`GAP_WALK`] at most); a binary search finds it otherwise (many quiet
/// days, or days that repeat).
#[inline]
fn first_at_or_after(dates: &[u32], from: u32) -> usize {
    let newest = match dates.last() {
        Some(&newest) if newest >= from => newest,
        _ => return dates.len(),
    };
    let span = (newest - from) as usize + 1;
    let guess = dates.len().saturating_sub(span);
    if dates[guess] < from {
        let walked = dates[guess + 1..]
            .iter()
            .take(GAP_WALK)
            .position(|d| *d >= from);
        match walked {
            Some(step) => guess + 1 + step,
            None => guess + 1 + dates[guess + 1..].partition_point(|x| *x < from),
        }
    } else if guess == 0 || dates[guess - 1] < from {
        guess
    } else {
        dates[..guess].partition_point(|x| *x < from)
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
    if signal_days.is_empty() {
        return EngagementTally::default();
    }
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
    use crate::window::DayUsage;

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
        let days: UsageDays = (0..120u64)
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
        let days: UsageDays = vec![usage(as_of, 2), usage(day("2026-06-02"), 50)].into();
        let t = tally_usage(&days, as_of, SPANS);
        assert_eq!(t.active_days, 1);
        assert_eq!(t.short_user_days, 2);
        assert_eq!(t.long_user_days, 0);
    }

    #[test]
    fn the_fourteenth_day_back_belongs_to_the_trailing_period() {
        let as_of = day("2026-06-01");
        let days: UsageDays = vec![
            usage(as_of - chrono::Days::new(13), 1),
            usage(as_of - chrono::Days::new(14), 10),
            usage(as_of - chrono::Days::new(103), 100),
            usage(as_of - chrono::Days::new(104), 1000),
        ]
        .into();
        let t = tally_usage(&days, as_of, SPANS);
        assert_eq!(t.short_user_days, 1);
        assert_eq!(t.long_user_days, 110);
    }

    /// The sums as the rule states them: each day checked against each period on its own.
    fn day_by_day(rows: &[DayUsage], as_of: NaiveDate, spans: Spans) -> UsageTally {
        let age = |d: NaiveDate| (as_of - d).num_days();
        let within = |d: NaiveDate, n: u32| age(d) >= 0 && age(d) < i64::from(n.max(1));
        let mut t = UsageTally::default();
        for d in rows {
            let users = u64::from(d.active_users);
            if within(d.day, spans.lookback) {
                t.active_days += 1;
                t.user_days += users;
                t.sessions += u64::from(d.sessions);
                t.session_seconds += u64::from(d.session_seconds);
                t.api_calls += u64::from(d.api_calls);
                t.events += u64::from(d.events);
            }
            if within(d.day, spans.short) {
                t.short_user_days += users;
            } else if age(d.day) >= 0 && within(d.day, spans.short + spans.long) {
                t.long_user_days += users;
            }
        }
        t
    }

    #[test]
    fn column_sums_match_the_rule_counted_day_by_day() {
        let as_of = day("2026-06-01");
        // Gaps, days after the scoring day, rows given newest first.
        let rows: Vec<DayUsage> = (0..140u64)
            .filter(|age| age % 5 != 2)
            .map(|age| {
                let mut d = usage(as_of + chrono::Days::new(3) - chrono::Days::new(age), 0);
                d.active_users = (age % 7) as u32 + 1;
                d.events = age as u32;
                d
            })
            .collect();
        let days: UsageDays = rows.iter().copied().collect();
        for spans in [
            SPANS,
            Spans {
                lookback: 7,
                short: 7,
                long: 28,
            },
            Spans {
                lookback: 120,
                short: 1,
                long: 1,
            },
            Spans {
                lookback: 1,
                short: 30,
                long: 200,
            },
        ] {
            for back in [0u64, 1, 13, 60, 200] {
                let on = as_of - chrono::Days::new(back);
                assert_eq!(
                    tally_usage(&days, on, spans),
                    day_by_day(&rows, on, spans),
                    "{spans:?} on {on}"
                );
            }
        }
    }

    #[test]
    fn sums_past_four_billion_stay_exact() {
        let as_of = day("2026-06-01");
        let mut big = usage(as_of, 3_000_000_000);
        big.session_seconds = 4_000_000_000;
        let days: UsageDays = vec![big, usage(as_of - chrono::Days::new(1), 3_000_000_000)].into();
        let t = tally_usage(&days, as_of, SPANS);
        assert_eq!(t.user_days, 6_000_000_000);
        assert_eq!(t.short_user_days, 6_000_000_000);
        assert_eq!(t.session_seconds, 4_000_000_060);
        assert_eq!(t.sessions, 4);
    }

    #[test]
    fn period_starts_match_a_binary_search_whatever_the_guess() {
        // Dense, sparse, repeated, dense after a gap, repeated only at the newest, one day.
        let columns: [Vec<u32>; 7] = [
            (100..220).collect(),
            (100..220).filter(|d| d % 3 != 0).collect(),
            (100..160).flat_map(|d| [d, d]).collect(),
            [5, 6, 7].into_iter().chain(150..200).collect(),
            (100..200).chain([200, 200, 200]).collect(),
            vec![150],
            vec![],
        ];
        for dates in &columns {
            for from in 90..230 {
                assert_eq!(
                    first_at_or_after(dates, from),
                    dates.partition_point(|d| *d < from),
                    "from {from}"
                );
            }
        }
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
