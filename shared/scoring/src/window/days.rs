//! A window's product-usage days, laid out for the scoring kernel.
//!
//! The kernel sums active users and four counters (sessions, session seconds, API calls,
//! events) over periods ending on the scoring day: the look-back, the decline rule's recent
//! period and the trailing period before it. So the block keeps, for each day, the running
//! totals through that day, and a period's sum is the difference of two totals: a few reads
//! wherever the period starts, not a pass over its days. The day numbers, the users' totals
//! and the counters' totals (one row of four per day) each fill a stretch of one allocation,
//! so the days a scoring pass reads sit in a few cache lines of one block.
//!
//! Totals are kept in 32 bits and wrap. While every count's total over the window fits in 32
//! bits (it does unless an account counts billions), the wrapped difference of two totals is
//! the exact sum; otherwise sums add the days up one by one in 64 bits, each day's count being
//! the wrapped difference of neighbouring totals.

use super::DayUsage;
use chrono::{Datelike, NaiveDate};
use std::fmt;
use std::ops::Range;

/// Counters per usage row: sessions, session seconds, API calls, events.
pub const USAGE_ROW: usize = 4;

/// A day as its [`day_number`] and its counts: active users, sessions, session seconds, API
/// calls, events.
pub(crate) type NumberedDay = (u32, [u32; 5]);

/// A date as a number that orders like the date: days from the common era with the sign bit
/// flipped, so every date, however early, maps monotonically into `u32`.
pub fn day_number(d: NaiveDate) -> u32 {
    (d.num_days_from_ce() as u32) ^ (1 << 31)
}

/// The date of a [`day_number`], `None` past the dates `chrono` knows.
pub(crate) fn date_of_number(n: u32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt((n ^ (1 << 31)) as i32)
}

pub(crate) fn date_of(n: u32) -> NaiveDate {
    // Only numbers made by `day_number` are stored, so this never falls back.
    date_of_number(n).unwrap_or(NaiveDate::MIN)
}

/// Usage days, oldest first (ties keep their insertion order). [`UsageDays::iter`] gives them
/// back as [`DayUsage`] rows.
#[derive(Clone, PartialEq, Eq)]
pub struct UsageDays {
    len: usize,
    /// One block: the day numbers (see [`day_number`]), then the running totals of active
    /// users, `len` entries each; then `len` rows of the running totals of the [`USAGE_ROW`]
    /// counters (sessions, session seconds, API calls, events). Totals wrap at 32 bits.
    cols: Vec<u32>,
    /// Whether every count's total over all the days fits in `u32`, so that a wrapped
    /// difference of totals is the exact sum. Follows from `cols`: every change rebuilds both.
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
        let numbered: Vec<NumberedDay> = rows
            .iter()
            .map(|d| {
                let counts = [
                    d.active_users,
                    d.sessions,
                    d.session_seconds,
                    d.api_calls,
                    d.events,
                ];
                (day_number(d.day), counts)
            })
            .collect();
        UsageDays::from_numbered(&numbered)
    }

    /// Builds the block from days already in order, each as its [`day_number`] and its counts
    /// (active users, then the [`USAGE_ROW`] counters).
    pub(crate) fn from_numbered(rows: &[NumberedDay]) -> UsageDays {
        let len = rows.len();
        let mut cols = Vec::with_capacity((2 + USAGE_ROW) * len);
        cols.extend(rows.iter().map(|(n, _)| *n));
        let mut users = 0u32;
        cols.extend(rows.iter().map(|(_, c)| {
            users = users.wrapping_add(c[0]);
            users
        }));
        let mut usage = [0u32; USAGE_ROW];
        // The exact totals, for whether the wrapped ones can be trusted.
        let mut exact = [0u64; 1 + USAGE_ROW];
        for (_, counts) in rows {
            for (total, n) in usage.iter_mut().zip(&counts[1..]) {
                *total = total.wrapping_add(*n);
            }
            cols.extend_from_slice(&usage);
            for (total, n) in exact.iter_mut().zip(counts) {
                *total += u64::from(*n);
            }
        }
        UsageDays {
            len,
            cols,
            sums_fit_u32: exact.iter().all(|t| *t <= u64::from(u32::MAX)),
        }
    }

    /// The `i`-th oldest day as its [`day_number`] and counts (as [`UsageDays::from_numbered`]
    /// takes them); `i < len`.
    pub(crate) fn numbered(&self, i: usize) -> NumberedDay {
        let [users] = day_counts::<1>(self.users_totals(), i);
        let [sessions, seconds, api_calls, events] = day_counts(self.usage_totals(), i);
        (self.cols[i], [users, sessions, seconds, api_calls, events])
    }

    /// Active users summed over the `range` of days (oldest is 0); 0 when the range is not
    /// within the days.
    #[inline]
    pub fn sum_active_users(&self, range: Range<usize>) -> u64 {
        let [users] = self.range_sums(self.users_totals(), range);
        users
    }

    /// Sessions, session seconds, API calls and events, each summed over the `range` of days
    /// (oldest is 0); zeros when the range is not within the days.
    #[inline]
    pub fn sum_usage(&self, range: Range<usize>) -> [u64; USAGE_ROW] {
        self.range_sums(self.usage_totals(), range)
    }

    /// Sums over the `range` of days of a part of the block holding running totals in rows of
    /// `W`.
    #[inline]
    fn range_sums<const W: usize>(&self, part: &[u32], range: Range<usize>) -> [u64; W] {
        if range.start > range.end || range.end > self.len {
            return [0; W];
        }
        let before = totals_before::<W>(part, range.start);
        if self.sums_fit_u32 {
            let through = totals_before::<W>(part, range.end);
            return std::array::from_fn(|c| u64::from(through[c].wrapping_sub(before[c])));
        }
        let mut sums = [0u64; W];
        let mut previous = before;
        for row in part[W * range.start..W * range.end].chunks_exact(W) {
            for ((sum, prev), &total) in sums.iter_mut().zip(&mut previous).zip(row) {
                *sum += u64::from(total.wrapping_sub(*prev));
                *prev = total;
            }
        }
        sums
    }

    /// The users' running totals (wrapping), one per day in date order.
    pub fn users_totals(&self) -> &[u32] {
        &self.cols[self.len..2 * self.len]
    }

    /// The counters' running totals (wrapping), one row of [`USAGE_ROW`] per day in date
    /// order.
    pub fn usage_totals(&self) -> &[u32] {
        &self.cols[2 * self.len..]
    }

    /// Adds a day, keeping the days in order: a day older than the newest kept one is put in
    /// its place (the block is rebuilt). A newer day, as a window gains one a day, extends the
    /// columns as they are; to build many days at once use `collect` or `from`.
    pub fn push(&mut self, d: DayUsage) {
        let number = day_number(d.day);
        let at = self.day_numbers().partition_point(|x| *x <= number);
        if at < self.len || !self.sums_fit_u32 {
            let mut rows: Vec<DayUsage> = self.iter().collect();
            rows.insert(at, d);
            *self = UsageDays::from_ordered(&rows);
            return;
        }
        // The newest day (the daily case): the columns are copied and extended by one, each
        // total being the last one plus the day's count; totals that fit stay exact.
        let len = self.len;
        let counts = [d.sessions, d.session_seconds, d.api_calls, d.events];
        let last_users = self.users_totals().last().copied().unwrap_or(0);
        let last_usage: [u32; USAGE_ROW] = totals_before(self.usage_totals(), len);
        let mut cols = Vec::with_capacity((2 + USAGE_ROW) * (len + 1));
        cols.extend_from_slice(self.day_numbers());
        cols.push(number);
        cols.extend_from_slice(self.users_totals());
        cols.push(last_users.wrapping_add(d.active_users));
        cols.extend_from_slice(self.usage_totals());
        cols.extend(
            last_usage
                .iter()
                .zip(counts)
                .map(|(t, n)| t.wrapping_add(n)),
        );
        let fits = |total: u32, n: u32| u64::from(total) + u64::from(n) <= u64::from(u32::MAX);
        self.sums_fit_u32 = fits(last_users, d.active_users)
            && last_usage.iter().zip(counts).all(|(t, n)| fits(*t, n));
        self.len = len + 1;
        self.cols = cols;
    }

    /// The `i`-th oldest day.
    pub fn get(&self, i: usize) -> Option<DayUsage> {
        (i < self.len).then(|| self.row(i))
    }

    /// The `i`-th row; `i < len`.
    fn row(&self, i: usize) -> DayUsage {
        let [active_users] = day_counts::<1>(self.users_totals(), i);
        let [sessions, session_seconds, api_calls, events] = day_counts(self.usage_totals(), i);
        DayUsage {
            day: date_of(self.cols[i]),
            active_users,
            sessions,
            session_seconds,
            api_calls,
            events,
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
    /// such day. Rewrites the totals.
    pub fn update(&mut self, i: usize, change: impl FnOnce(&mut DayUsage)) -> bool {
        let mut rows: Vec<DayUsage> = self.iter().collect();
        let Some(d) = rows.get_mut(i) else {
            return false;
        };
        let day = d.day;
        change(d);
        d.day = day;
        *self = UsageDays::from_ordered(&rows);
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
        if !self.sums_fit_u32 {
            let kept: Vec<DayUsage> = self.iter().skip(cut).collect();
            *self = UsageDays::from_ordered(&kept);
            return;
        }
        // Exact totals: the kept days' are the old ones less those through the last day
        // dropped (what totals counted from zero over the kept days come to).
        let len = self.len;
        let [users_base] = totals_before::<1>(self.users_totals(), cut);
        let usage_base: [u32; USAGE_ROW] = totals_before(self.usage_totals(), cut);
        let mut cols = Vec::with_capacity((2 + USAGE_ROW) * (len - cut));
        cols.extend_from_slice(&self.day_numbers()[cut..]);
        cols.extend(
            self.users_totals()[cut..]
                .iter()
                .map(|t| t.wrapping_sub(users_base)),
        );
        for row in self.usage_totals()[USAGE_ROW * cut..].chunks_exact(USAGE_ROW) {
            cols.extend(
                row.iter()
                    .zip(usage_base)
                    .map(|(t, base)| t.wrapping_sub(base)),
            );
        }
        self.len = len - cut;
        self.cols = cols;
    }

    /// The dates as [`day_number`]s, oldest first: the kernel finds its periods in these.
    pub fn day_numbers(&self) -> &[u32] {
        &self.cols[..self.len]
    }
}

/// The running totals of a part laid out in rows of `W` as they stood before day `i` (zeros
/// before the first day).
#[inline]
fn totals_before<const W: usize>(part: &[u32], i: usize) -> [u32; W] {
    match i.checked_sub(1) {
        Some(day) => std::array::from_fn(|c| part.get(W * day + c).copied().unwrap_or(0)),
        None => [0; W],
    }
}

/// Day `i`'s own counts in a part of running totals in rows of `W`.
#[inline]
fn day_counts<const W: usize>(part: &[u32], i: usize) -> [u32; W] {
    let (before, through) = (totals_before::<W>(part, i), totals_before::<W>(part, i + 1));
    std::array::from_fn(|c| through[c].wrapping_sub(before[c]))
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

    /// Days as the slow path builds them (every row re-read and the block rebuilt).
    fn rebuilt(days: &UsageDays) -> UsageDays {
        UsageDays::from_ordered(&days.iter().collect::<Vec<_>>())
    }

    #[test]
    fn appending_and_dropping_days_in_place_gives_the_rebuilt_block() {
        let start: NaiveDate = "2026-01-01".parse().unwrap();
        let mut days = UsageDays::default();
        // Two big days in the window overflow 32-bit totals, so both sides of the fit are
        // crossed.
        let mut overflowed = false;
        for k in 0..400u32 {
            let big = if k % 97 == 0 { u32::MAX / 2 + 1 } else { k * 7 };
            days.push(DayUsage {
                day: start + chrono::Days::new(u64::from(k) + u64::from(k / 10)),
                active_users: k % 5,
                sessions: big,
                session_seconds: k * 60,
                api_calls: k % 3,
                events: big / 2,
            });
            assert_eq!(days, rebuilt(&days), "after push {k}");
            overflowed |= !days.sums_fit_u32;
            if k % 30 == 29 {
                days.retain_since(start + chrono::Days::new(u64::from(k) * 3 / 4));
                assert_eq!(days, rebuilt(&days), "after retain at {k}");
            }
        }
        assert!(overflowed, "the slow path for totals past 32 bits ran");
        // A late day (older than the newest) takes its place.
        let newest = days.last().unwrap().day;
        days.push(DayUsage {
            day: newest - chrono::Days::new(1),
            active_users: 9,
            ..DayUsage::default()
        });
        assert_eq!(days, rebuilt(&days));
        assert_eq!(days.get(days.len() - 2).map(|d| d.active_users), Some(9));
    }

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
        assert_eq!(days.sum_active_users(0..3), 6);
        assert_eq!(days.sum_usage(2..3), [6, 180, 4, 30]);
        assert_eq!(days.last(), Some(row("2026-01-03", 3)));
    }

    #[test]
    fn an_older_day_pushed_late_goes_in_its_place() {
        let mut days = UsageDays::default();
        days.push(row("2026-01-05", 5));
        days.push(row("2026-01-02", 2));
        days.push(row("2026-01-09", 9));
        let back: Vec<DayUsage> = days.iter().collect();
        assert_eq!(
            back,
            vec![
                row("2026-01-02", 2),
                row("2026-01-05", 5),
                row("2026-01-09", 9)
            ]
        );
        assert_eq!(days.sum_usage(0..3), [32, 960, 19, 160]);
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
        assert_eq!(days.last(), Some(row("2026-01-04", 4)));
        // The running totals start again at the first kept day.
        assert_eq!(days.sum_active_users(0..2), 6);
        assert_eq!(days.sum_usage(0..2), [12, 360, 8, 60]);
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

    /// Each range's sums against the days added up one by one.
    fn check_every_range(rows: &[DayUsage]) {
        let days: UsageDays = rows.to_vec().into();
        for start in 0..=rows.len() + 1 {
            for end in 0..=rows.len() + 1 {
                let within = start <= end && end <= rows.len();
                let picked = if within { &rows[start..end] } else { &[][..] };
                let total = |count: fn(&DayUsage) -> u32| -> u64 {
                    picked.iter().map(|d| u64::from(count(d))).sum()
                };
                assert_eq!(
                    days.sum_active_users(start..end),
                    total(|d| d.active_users),
                    "{start}..{end}"
                );
                assert_eq!(
                    days.sum_usage(start..end),
                    [
                        total(|d| d.sessions),
                        total(|d| d.session_seconds),
                        total(|d| d.api_calls),
                        total(|d| d.events)
                    ],
                    "{start}..{end}"
                );
            }
        }
        assert_eq!(days.iter().collect::<Vec<_>>(), rows);
    }

    #[test]
    fn sums_over_any_range_match_the_days_added_up() {
        let rows: Vec<DayUsage> = (1..=9)
            .map(|d| row(&format!("2026-01-0{d}"), d * 7 % 5 + 1))
            .collect();
        check_every_range(&rows);
    }

    #[test]
    fn sums_past_four_billion_stay_exact_over_any_range() {
        // Totals wrap in 32 bits here; sums must not.
        let rows: Vec<DayUsage> = (1..=6)
            .map(|d| DayUsage {
                active_users: u32::MAX - d,
                session_seconds: 3_000_000_000,
                ..row(&format!("2026-01-0{d}"), d)
            })
            .collect();
        check_every_range(&rows);
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
