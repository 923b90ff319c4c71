//! A window's product-usage days, laid out for the scoring kernel.
//!
//! The kernel sums four counters (sessions, session seconds, API calls, events) over the
//! newest days, and active users over those and the 90 days before them. So the day numbers
//! and active users are columns, and the four counters are rows of their own after them: the
//! look-back's counters are one contiguous run, summed in one pass with the four sums side by
//! side. Everything shares one allocation, so an account's days are one contiguous block of
//! memory, a few pages at most, however many days it has.

use super::DayUsage;
use chrono::{Datelike, NaiveDate};
use std::fmt;

/// Counters per usage row: sessions, session seconds, API calls, events.
pub const USAGE_ROW: usize = 4;

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
#[derive(Clone, PartialEq, Eq)]
pub struct UsageDays {
    len: usize,
    /// One block: the day numbers (see [`day_number`]), then active users, `len` entries each;
    /// then `len` usage rows of [`USAGE_ROW`] counters (sessions, session seconds, API calls,
    /// events), which the kernel sums together over the same days.
    cols: Vec<u32>,
    /// Whether every counter's total over all the days fits in `u32` (it does unless an
    /// account counts billions). Then sums over any of the days run in 32-bit lanes, twice as
    /// many to a SIMD add as 64-bit ones. Follows from `cols`: every change updates it.
    sums_fit_u32: bool,
}

impl Default for UsageDays {
    fn default() -> UsageDays {
        UsageDays::from_ordered(&[])
    }
}

impl UsageDays {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Builds the block from rows already in order.
    fn from_ordered(rows: &[DayUsage]) -> UsageDays {
        let len = rows.len();
        let mut cols = Vec::with_capacity((2 + USAGE_ROW) * len);
        cols.extend(rows.iter().map(|d| day_number(d.day)));
        cols.extend(rows.iter().map(|d| d.active_users));
        for d in rows {
            cols.extend_from_slice(&[d.sessions, d.session_seconds, d.api_calls, d.events]);
        }
        let mut days = UsageDays {
            len,
            cols,
            sums_fit_u32: true,
        };
        days.check_sums();
        days
    }

    fn check_sums(&mut self) {
        let [users] = sums::<u64, 1>(self.active_users(), wide);
        let usage = sums::<u64, USAGE_ROW>(self.usage_rows(0), wide);
        self.sums_fit_u32 = std::iter::once(users)
            .chain(usage)
            .all(|total| total <= u64::from(u32::MAX));
    }

    /// Active users summed over the `range` of days (oldest is 0); 0 when the range is not
    /// within the days.
    #[inline]
    pub fn sum_active_users(&self, range: std::ops::Range<usize>) -> u64 {
        let users = self.active_users().get(range).unwrap_or_default();
        if self.sums_fit_u32 {
            u64::from(users.iter().copied().fold(0, u32::wrapping_add))
        } else {
            sums::<u64, 1>(users, wide)[0]
        }
    }

    /// Sessions, session seconds, API calls and events, each summed over the `range` of days
    /// (oldest is 0) in one pass; zeros when the range is not within the days.
    #[inline]
    pub fn sum_usage(&self, range: std::ops::Range<usize>) -> [u64; USAGE_ROW] {
        let rows = self
            .usage_rows(0)
            .get(USAGE_ROW * range.start..USAGE_ROW * range.end)
            .unwrap_or_default();
        if self.sums_fit_u32 {
            sums::<u32, USAGE_ROW>(rows, u32::wrapping_add).map(u64::from)
        } else {
            sums::<u64, USAGE_ROW>(rows, wide)
        }
    }

    /// Adds a day, keeping the days in order: a day older than the newest kept one is put in
    /// its place. Rewrites the block: a window gains one day a day, but build many days at
    /// once with `collect` or `from`.
    pub fn push(&mut self, d: DayUsage) {
        let at = self
            .day_numbers()
            .partition_point(|x| *x <= day_number(d.day));
        let mut rows: Vec<DayUsage> = self.iter().collect();
        rows.insert(at, d);
        *self = UsageDays::from_ordered(&rows);
    }

    /// The `i`-th oldest day.
    pub fn get(&self, i: usize) -> Option<DayUsage> {
        (i < self.len).then(|| self.row(i))
    }

    /// The `i`-th row; `i < len`.
    fn row(&self, i: usize) -> DayUsage {
        let n = self.len;
        let usage = 2 * n + USAGE_ROW * i;
        DayUsage {
            day: date_of(self.cols[i]),
            active_users: self.cols[n + i],
            sessions: self.cols[usage],
            session_seconds: self.cols[usage + 1],
            api_calls: self.cols[usage + 2],
            events: self.cols[usage + 3],
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
        let n = self.len;
        self.cols[n + i] = d.active_users;
        let usage = 2 * n + USAGE_ROW * i;
        self.cols[usage..usage + USAGE_ROW].copy_from_slice(&[
            d.sessions,
            d.session_seconds,
            d.api_calls,
            d.events,
        ]);
        self.check_sums();
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
        self.cols.copy_within(cut..n, 0);
        self.cols.copy_within(n + cut..2 * n, kept);
        self.cols.copy_within(2 * n + USAGE_ROW * cut.., 2 * kept);
        self.cols.truncate((2 + USAGE_ROW) * kept);
        self.len = kept;
        self.check_sums();
    }

    /// The dates as [`day_number`]s, oldest first: the kernel finds its periods in these.
    pub fn day_numbers(&self) -> &[u32] {
        &self.cols[..self.len]
    }

    /// Distinct users active each day, in date order.
    pub fn active_users(&self) -> &[u32] {
        &self.cols[self.len..2 * self.len]
    }

    /// The usage rows of the days from the `from`-th oldest to the end, flattened: each day's
    /// sessions, session seconds, API calls and events (see [`USAGE_ROW`]).
    pub fn usage_rows(&self, from: usize) -> &[u32] {
        let start = 2 * self.len + USAGE_ROW * from.min(self.len);
        &self.cols[start..]
    }
}

/// Sums `values` taken as rows of `N`, column by column, each total built with `add`.
#[inline]
fn sums<T: Copy + Default, const N: usize>(values: &[u32], add: impl Fn(T, u32) -> T) -> [T; N] {
    let mut total = [T::default(); N];
    for row in values.chunks_exact(N) {
        for (t, &n) in total.iter_mut().zip(row) {
            *t = add(*t, n);
        }
    }
    total
}

/// Adds a count to an exact 64-bit total.
fn wide(total: u64, n: u32) -> u64 {
    total + u64::from(n)
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
        UsageDays::from_ordered(&rows)
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
        assert_eq!(days.usage_rows(2), &[6, 180, 4, 30]);
        assert_eq!(days.last(), Some(row("2026-01-03", 3)));
    }

    #[test]
    fn an_older_day_pushed_late_goes_in_its_place() {
        let mut days = UsageDays::default();
        days.push(row("2026-01-05", 5));
        days.push(row("2026-01-02", 2));
        days.push(row("2026-01-09", 9));
        assert_eq!(days.active_users(), &[2, 5, 9]);
        assert_eq!(
            days.usage_rows(0),
            &[4, 120, 3, 20, 10, 300, 6, 50, 18, 540, 10, 90]
        );
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
        assert_eq!(days.active_users(), &[2, 4]);
        assert_eq!(days.usage_rows(0), &[4, 120, 3, 20, 8, 240, 5, 40]);
    }

    #[test]
    fn the_same_days_compare_equal_however_they_were_reached() {
        let mut huge = row("2026-01-01", 1);
        huge.session_seconds = u32::MAX;
        let mut days: UsageDays = vec![huge, row("2026-01-02", 2)].into();
        days.retain_since("2026-01-02".parse().unwrap());
        assert_eq!(days, vec![row("2026-01-02", 2)].into());
        let mut emptied = days.clone();
        emptied.retain_since("2026-02-01".parse().unwrap());
        assert_eq!(emptied, UsageDays::default());
        days.update(0, |d| d.events = u32::MAX);
        days.update(0, |d| d.events = 20);
        assert_eq!(days, vec![row("2026-01-02", 2)].into());
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
