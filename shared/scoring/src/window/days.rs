//! A window's product-usage days, stored by column.
//!
//! The scoring kernel sums a few counters over the newest days and one counter (active users)
//! over the 90 days before them. Row by row, that walk would read every byte of every day;
//! by column it reads only the counters it sums, about a third of the bytes. All columns share
//! one allocation, so an account's days are one contiguous block of memory, a few pages at
//! most, however many days it has.

use super::DayUsage;
use chrono::{Datelike, NaiveDate};
use std::fmt;

/// The columns, in the order they sit in [`UsageDays::cols`].
const DAY: usize = 0;
const USERS: usize = 1;
const SESSIONS: usize = 2;
const SECONDS: usize = 3;
const API_CALLS: usize = 4;
const EVENTS: usize = 5;
const COLUMNS: usize = 6;

/// A date as a number that orders like the date: days from the common era with the sign bit
/// flipped, so every date, however early, maps monotonically into `u32`.
pub fn day_number(d: NaiveDate) -> u32 {
    (d.num_days_from_ce() as u32) ^ (1 << 31)
}

fn date_of(n: u32) -> NaiveDate {
    // Only numbers made by `day_number` are stored, so this never falls back.
    NaiveDate::from_num_days_from_ce_opt((n ^ (1 << 31)) as i32).unwrap_or(NaiveDate::MIN)
}

/// Usage days, oldest first (ties keep their insertion order). [`UsageDays::iter`] gives them
/// back as [`DayUsage`] rows.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct UsageDays {
    len: usize,
    /// `COLUMNS` columns of `len` entries each, one after the other: the day numbers (see
    /// [`day_number`]), then the counters in [`DayUsage`] order.
    cols: Vec<u32>,
}

impl UsageDays {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn column(&self, k: usize) -> &[u32] {
        &self.cols[k * self.len..(k + 1) * self.len]
    }

    /// Adds a day, keeping the days in order: a day older than the newest kept one is put in
    /// its place. Rewrites the block: a window gains one day a day, but build many days at
    /// once with `collect` or `from`.
    pub fn push(&mut self, d: DayUsage) {
        let day = day_number(d.day);
        let at = self.day_numbers().partition_point(|x| *x <= day);
        let row = [
            day,
            d.active_users,
            d.sessions,
            d.session_seconds,
            d.api_calls,
            d.events,
        ];
        let mut cols = Vec::with_capacity(COLUMNS * (self.len + 1));
        for (k, value) in row.into_iter().enumerate() {
            let column = self.column(k);
            cols.extend_from_slice(&column[..at]);
            cols.push(value);
            cols.extend_from_slice(&column[at..]);
        }
        self.cols = cols;
        self.len += 1;
    }

    /// The `i`-th oldest day.
    pub fn get(&self, i: usize) -> Option<DayUsage> {
        (i < self.len).then(|| self.row(i))
    }

    /// The `i`-th row; `i < len`.
    fn row(&self, i: usize) -> DayUsage {
        let at = |k: usize| self.cols[k * self.len + i];
        DayUsage {
            day: date_of(at(DAY)),
            active_users: at(USERS),
            sessions: at(SESSIONS),
            session_seconds: at(SECONDS),
            api_calls: at(API_CALLS),
            events: at(EVENTS),
        }
    }

    pub fn first(&self) -> Option<DayUsage> {
        self.get(0)
    }

    pub fn last(&self) -> Option<DayUsage> {
        self.len.checked_sub(1).and_then(|i| self.get(i))
    }

    /// The oldest day's date.
    pub fn first_date(&self) -> Option<NaiveDate> {
        self.day_numbers().first().map(|n| date_of(*n))
    }

    /// Changes the counters of the `i`-th oldest day (its date stays); false when there is no
    /// such day.
    pub fn update(&mut self, i: usize, change: impl FnOnce(&mut DayUsage)) -> bool {
        let Some(mut d) = self.get(i) else {
            return false;
        };
        change(&mut d);
        let counters = [
            d.active_users,
            d.sessions,
            d.session_seconds,
            d.api_calls,
            d.events,
        ];
        for (k, value) in (USERS..COLUMNS).zip(counters) {
            self.cols[k * self.len + i] = value;
        }
        true
    }

    /// The days oldest first, as rows.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = DayUsage> + ExactSizeIterator + '_ {
        (0..self.len).map(|i| self.row(i))
    }

    /// Drops the days before `oldest`.
    pub fn retain_since(&mut self, oldest: NaiveDate) {
        let oldest = day_number(oldest);
        let cut = self.day_numbers().partition_point(|d| *d < oldest);
        if cut == 0 {
            return;
        }
        let (n, kept) = (self.len, self.len - cut);
        for k in 0..COLUMNS {
            self.cols.copy_within(k * n + cut..(k + 1) * n, k * kept);
        }
        self.cols.truncate(COLUMNS * kept);
        self.len = kept;
    }

    /// The dates as [`day_number`]s, oldest first: the kernel finds its periods in these.
    pub fn day_numbers(&self) -> &[u32] {
        self.column(DAY)
    }

    /// Distinct users active each day, in date order.
    pub fn active_users(&self) -> &[u32] {
        self.column(USERS)
    }

    pub fn sessions(&self) -> &[u32] {
        self.column(SESSIONS)
    }

    pub fn session_seconds(&self) -> &[u32] {
        self.column(SECONDS)
    }

    pub fn api_calls(&self) -> &[u32] {
        self.column(API_CALLS)
    }

    pub fn events(&self) -> &[u32] {
        self.column(EVENTS)
    }
}

impl fmt::Debug for UsageDays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl FromIterator<DayUsage> for UsageDays {
    /// Collects days in any order; they are kept oldest first.
    fn from_iter<I: IntoIterator<Item = DayUsage>>(iter: I) -> UsageDays {
        let mut rows: Vec<DayUsage> = iter.into_iter().collect();
        rows.sort_by_key(|d| d.day);
        let len = rows.len();
        let mut cols = vec![0; COLUMNS * len];
        for (i, d) in rows.iter().enumerate() {
            let row = [
                day_number(d.day),
                d.active_users,
                d.sessions,
                d.session_seconds,
                d.api_calls,
                d.events,
            ];
            for (k, value) in row.into_iter().enumerate() {
                cols[k * len + i] = value;
            }
        }
        UsageDays { len, cols }
    }
}

impl From<Vec<DayUsage>> for UsageDays {
    fn from(rows: Vec<DayUsage>) -> UsageDays {
        rows.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(d: &str, users: u32) -> DayUsage {
        DayUsage {
            day: d.parse().unwrap(),
            active_users: users,
            sessions: users * 2,
            session_seconds: users * 60,
            api_calls: users + 1,
            events: users * 10,
        }
    }

    #[test]
    fn rows_come_back_oldest_first_whatever_order_they_went_in() {
        let days: UsageDays = vec![
            row("2026-01-03", 3),
            row("2026-01-01", 1),
            row("2026-01-02", 2),
        ]
        .into();
        let back: Vec<DayUsage> = days.iter().collect();
        assert_eq!(
            back,
            vec![
                row("2026-01-01", 1),
                row("2026-01-02", 2),
                row("2026-01-03", 3)
            ]
        );
        assert_eq!(days.active_users(), &[1, 2, 3]);
        assert_eq!(days.events(), &[10, 20, 30]);
        assert_eq!(days.last(), Some(row("2026-01-03", 3)));
    }

    #[test]
    fn an_older_day_pushed_late_goes_in_its_place() {
        let mut days = UsageDays::default();
        days.push(row("2026-01-05", 5));
        days.push(row("2026-01-02", 2));
        days.push(row("2026-01-09", 9));
        assert_eq!(days.active_users(), &[2, 5, 9]);
        assert_eq!(days.sessions(), &[4, 10, 18]);
    }

    #[test]
    fn retain_since_drops_only_older_days_from_every_column() {
        let mut days: UsageDays = vec![
            row("2026-01-01", 1),
            row("2026-01-02", 2),
            row("2026-01-04", 4),
        ]
        .into();
        days.retain_since("2026-01-02".parse().unwrap());
        assert_eq!(days.len(), 2);
        assert_eq!(days.first(), Some(row("2026-01-02", 2)));
        assert_eq!(days.api_calls(), &[3, 5]);
        assert_eq!(days.session_seconds(), &[120, 240]);
    }

    #[test]
    fn update_changes_counters_and_keeps_the_date() {
        let mut days: UsageDays = vec![row("2026-01-01", 1)].into();
        assert!(days.update(0, |d| {
            d.events += 5;
            d.day = "2030-01-01".parse().unwrap();
        }));
        assert_eq!(
            days.get(0).map(|d| (d.day, d.events)),
            Some(("2026-01-01".parse().unwrap(), 15))
        );
        assert!(!days.update(1, |_| {}));
    }

    #[test]
    fn day_numbers_order_like_dates_even_before_the_common_era() {
        let dates = [
            NaiveDate::MIN,
            "0001-01-01".parse().unwrap(),
            "2026-06-01".parse().unwrap(),
            NaiveDate::MAX,
        ];
        for pair in dates.windows(2) {
            assert!(day_number(pair[0]) < day_number(pair[1]));
        }
        for d in dates {
            assert_eq!(date_of(day_number(d)), d);
        }
    }
}
