//! Names (users, features) with the last day each was seen.
//!
//! The kernel asks "how many were seen in this period?" of every account every day. Kept as a
//! map of strings, that answer walks a tree of nodes scattered over the heap; here the days sit
//! in one column of their own, so it is a scan of a few cache lines. Better still, beside the
//! names the set keeps how many were last seen on each of its newest [`RECENT_DAYS`] days, so
//! for a period within those (the look-back, scored daily) the answer is a sum of a few counts
//! that come along with the window itself, and the day column is not read at all. Names are
//! kept sorted for lookups by name, and the whole stores and reads as a plain `{name: day}`
//! map.

use super::day_number;
use crate::signals::Period;
use chrono::NaiveDate;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The newest days [`LastSeen`] keeps counts for: a 30-day look-back scored the day after the
/// newest activity, with a day to spare.
pub const RECENT_DAYS: usize = 32;

/// Names sorted ascending, each with its last seen day (`days[i]` belongs to `names[i]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastSeen {
    names: Vec<String>,
    days: Vec<NaiveDate>,
    /// How many were last seen on each of the newest days: `counts.by_age[k]` on the day `k`
    /// days before `counts.newest`. Follows from `days`: every change recounts it, so the same
    /// names and days always compare equal.
    counts: RecentCounts,
}

/// See [`LastSeen::counts`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct RecentCounts {
    /// The newest day as a [`day_number`]; `None` when there are no names, or when more than
    /// `u16::MAX` share a day (then periods are counted from the days).
    newest: Option<u32>,
    by_age: [u16; RECENT_DAYS],
}

impl RecentCounts {
    fn of(days: &[NaiveDate]) -> RecentCounts {
        let mut counts = RecentCounts::default();
        let Some(newest) = days.iter().max().map(|d| day_number(*d)) else {
            return counts;
        };
        for d in days {
            let age = (newest - day_number(*d)) as usize;
            if let Some(count) = counts.by_age.get_mut(age) {
                match count.checked_add(1) {
                    Some(more) => *count = more,
                    None => return RecentCounts::default(),
                }
            }
        }
        counts.newest = Some(newest);
        counts
    }
}

impl LastSeen {
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The last day `name` was seen.
    pub fn get(&self, name: &str) -> Option<NaiveDate> {
        let i = self.position(name).ok()?;
        Some(self.days[i])
    }

    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_ok()
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.names.binary_search_by(|n| n.as_str().cmp(name))
    }

    /// Records `name` as seen on `day` (replacing what was kept for it).
    pub fn insert(&mut self, name: String, day: NaiveDate) {
        match self.position(&name) {
            Ok(i) => self.days[i] = day,
            Err(i) => {
                self.names.insert(i, name);
                self.days.insert(i, day);
            }
        }
        self.recount();
    }

    /// Records every name in `names` as seen on `day`: one merge, however many are new.
    pub fn mark_all<'a>(&mut self, names: impl IntoIterator<Item = &'a String>, day: NaiveDate) {
        let mut new: Vec<&String> = Vec::new();
        for name in names {
            match self.position(name) {
                Ok(i) => self.days[i] = day,
                Err(_) => new.push(name),
            }
        }
        if new.is_empty() {
            self.recount();
            return;
        }
        new.sort_unstable();
        new.dedup();
        let kept = std::mem::take(self);
        let total = kept.names.len() + new.len();
        self.names.reserve_exact(total);
        self.days.reserve_exact(total);
        let mut old = kept.names.into_iter().zip(kept.days).peekable();
        for name in new {
            while let Some((n, d)) = old.next_if(|(n, _)| n < name) {
                self.names.push(n);
                self.days.push(d);
            }
            self.names.push(name.clone());
            self.days.push(day);
        }
        for (n, d) in old {
            self.names.push(n);
            self.days.push(d);
        }
        self.recount();
    }

    /// How many were last seen between `from` and `to`, both included.
    pub fn count_between(&self, from: NaiveDate, to: NaiveDate) -> usize {
        self.count_in(&Period::between(from, to))
    }

    /// How many were last seen in `period`.
    #[inline]
    pub fn count_in(&self, period: &Period) -> usize {
        if let Some(ages) = self.counted_ages(period) {
            return ages.iter().map(|n| usize::from(*n)).sum();
        }
        let (from, to) = (period.from(), period.to());
        // Branch-free: each day is one compare of a packed integer.
        self.days
            .iter()
            .map(|d| usize::from((*d >= from) & (*d <= to)))
            .sum()
    }

    /// Whether [`LastSeen::count_in`] answers for `period` without reading the days.
    pub fn counts_cover(&self, period: &Period) -> bool {
        self.counted_ages(period).is_some()
    }

    /// The counts of `period`'s days, newest first, when the counts cover it.
    #[inline]
    fn counted_ages(&self, period: &Period) -> Option<&[u16]> {
        let newest = self.counts.newest?;
        let [first, last] = period.numbers();
        if first > last || first > newest {
            return Some(&[]);
        }
        // Nobody was seen after `newest`, and the counts cover its RECENT_DAYS.
        let (youngest, oldest) = (newest.saturating_sub(last), newest - first);
        self.counts.by_age.get(youngest as usize..=oldest as usize)
    }

    /// Recounts the newest days after a change to the days.
    fn recount(&mut self) {
        self.counts = RecentCounts::of(&self.days);
    }

    /// The most recent day anyone was seen.
    pub fn latest(&self) -> Option<NaiveDate> {
        self.days.iter().max().copied()
    }

    /// Each name with its day, in name order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, NaiveDate)> + '_ {
        self.names
            .iter()
            .map(String::as_str)
            .zip(self.days.iter().copied())
    }

    /// The days, in name order.
    pub fn days(&self) -> &[NaiveDate] {
        &self.days
    }

    /// Forgets everyone last seen before `oldest`.
    pub fn retain_since(&mut self, oldest: NaiveDate) {
        self.retain(|d| d >= oldest);
    }

    fn retain(&mut self, keep: impl Fn(NaiveDate) -> bool) {
        if self.days.iter().all(|d| keep(*d)) {
            return;
        }
        let kept = std::mem::take(self);
        for (n, d) in kept.names.into_iter().zip(kept.days) {
            if keep(d) {
                self.names.push(n);
                self.days.push(d);
            }
        }
        self.recount();
    }

    /// Keeps the `cap` most recently seen; ties on the cut-off day are broken by name (earlier
    /// names stay), so the result is deterministic.
    pub fn cap_by_recency(&mut self, cap: usize) {
        if self.len() <= cap {
            return;
        }
        let mut order: Vec<(NaiveDate, usize)> =
            self.days.iter().enumerate().map(|(i, d)| (*d, i)).collect();
        // Newest first; among equal days, the greater name first, as the map version did.
        order.sort_unstable_by(|a, b| b.cmp(a));
        let mut keep = vec![false; self.len()];
        for &(_, i) in &order[..cap] {
            keep[i] = true;
        }
        let kept = std::mem::take(self);
        for ((n, d), k) in kept.names.into_iter().zip(kept.days).zip(keep) {
            if k {
                self.names.push(n);
                self.days.push(d);
            }
        }
        self.recount();
    }
}

impl FromIterator<(String, NaiveDate)> for LastSeen {
    /// Later entries for the same name win.
    fn from_iter<I: IntoIterator<Item = (String, NaiveDate)>>(iter: I) -> LastSeen {
        let mut pairs: Vec<(String, NaiveDate)> = iter.into_iter().collect();
        // Stable, so among equal names the last given stays last.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut seen = LastSeen::default();
        for (name, day) in pairs {
            if seen.names.last() == Some(&name) {
                if let Some(last) = seen.days.last_mut() {
                    *last = day;
                }
            } else {
                seen.names.push(name);
                seen.days.push(day);
            }
        }
        seen.recount();
        seen
    }
}

impl Serialize for LastSeen {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (name, day) in self.iter() {
            map.serialize_entry(name, &day)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for LastSeen {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<LastSeen, D::Error> {
        deserializer.deserialize_map(LastSeenVisitor)
    }
}

struct LastSeenVisitor;

impl<'de> Visitor<'de> for LastSeenVisitor {
    type Value = LastSeen;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of names to their last day")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LastSeen, A::Error> {
        let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
        while let Some((name, DayText(day))) = map.next_entry::<String, DayText>()? {
            pairs.push((name, day));
        }
        Ok(pairs.into_iter().collect())
    }
}

/// A day stored as `YYYY-MM-DD`, read without chrono's general parser: every name of every
/// window is read each day. Text of any other shape goes to chrono, so what it reads still
/// reads and what it refuses is still refused.
struct DayText(NaiveDate);

impl<'de> Deserialize<'de> for DayText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<DayText, D::Error> {
        deserializer.deserialize_str(DayTextVisitor)
    }
}

struct DayTextVisitor;

impl Visitor<'_> for DayTextVisitor {
    type Value = DayText;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a day as YYYY-MM-DD")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DayText, E> {
        match plain_day(v) {
            Some(day) => Ok(DayText(day)),
            None => v.parse().map(DayText).map_err(E::custom),
        }
    }
}

/// `YYYY-MM-DD` with four, two and two ASCII digits, when it is a real date.
fn plain_day(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |digits: &[u8]| {
        digits.iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(number(&b[..4])? as i32, number(&b[5..7])?, number(&b[8..])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Days;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn days_read_as_chrono_reads_them() {
        for text in [
            "2026-12-06",
            "0001-01-01",
            "9999-12-31",
            "2024-02-29",
            "2026-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-1-01",
            "2026-01-1x",
            "+2026-01-01",
            "2026/01/01",
            "",
            "１２３４-01-01",
        ] {
            let json = format!("{{\"a\": \"{text}\"}}");
            let ours = serde_json::from_str::<LastSeen>(&json).map(|s| s.get("a"));
            let chrono = text.parse::<NaiveDate>();
            assert_eq!(ours.ok().flatten(), chrono.ok(), "{text}");
        }
    }

    fn names(seen: &LastSeen) -> Vec<&str> {
        seen.iter().map(|(n, _)| n).collect()
    }

    #[test]
    fn insert_keeps_names_sorted_and_replaces_days() {
        let mut seen = LastSeen::default();
        seen.insert("carol".into(), day("2026-01-03"));
        seen.insert("alice".into(), day("2026-01-01"));
        seen.insert("bob".into(), day("2026-01-02"));
        seen.insert("alice".into(), day("2026-01-05"));
        assert_eq!(names(&seen), ["alice", "bob", "carol"]);
        assert_eq!(seen.get("alice"), Some(day("2026-01-05")));
        assert_eq!(seen.get("dave"), None);
        assert_eq!(seen.latest(), Some(day("2026-01-05")));
    }

    #[test]
    fn mark_all_merges_new_and_known_names_in_one_pass() {
        let mut seen: LastSeen = [
            ("b".to_string(), day("2026-01-01")),
            ("d".to_string(), day("2026-01-01")),
        ]
        .into_iter()
        .collect();
        let today: Vec<String> = ["e", "a", "d", "c", "a"].map(String::from).to_vec();
        seen.mark_all(&today, day("2026-01-02"));
        assert_eq!(names(&seen), ["a", "b", "c", "d", "e"]);
        assert_eq!(seen.get("b"), Some(day("2026-01-01")));
        assert_eq!(seen.get("d"), Some(day("2026-01-02")));
        assert_eq!(seen.get("a"), Some(day("2026-01-02")));
    }

    #[test]
    fn count_between_includes_both_ends() {
        let seen: LastSeen = [
            ("a", "2026-01-01"),
            ("b", "2026-01-02"),
            ("c", "2026-01-03"),
            ("d", "2026-01-04"),
        ]
        .into_iter()
        .map(|(n, d)| (n.to_string(), day(d)))
        .collect();
        assert_eq!(seen.count_between(day("2026-01-02"), day("2026-01-03")), 2);
        assert_eq!(seen.count_between(day("2026-01-05"), day("2026-01-09")), 0);
    }

    /// `count_between` against the days counted one by one, for every period around them.
    fn check_counts(seen: &LastSeen) {
        let days = seen.days();
        let base = day("2025-12-01");
        for from in 0..80u64 {
            for to in from.saturating_sub(2)..80 {
                let (from, to) = (base + Days::new(from), base + Days::new(to));
                let expected = days.iter().filter(|d| **d >= from && **d <= to).count();
                assert_eq!(seen.count_between(from, to), expected, "{from}..={to}");
            }
        }
    }

    #[test]
    fn counts_kept_for_recent_days_answer_like_the_days_do() {
        let mut seen = LastSeen::default();
        check_counts(&seen);
        // Spread over 50 days, so some periods reach past the counted days.
        for i in 0..60u64 {
            seen.insert(format!("u{i}"), day("2025-12-05") + Days::new(i * 7 % 50));
        }
        check_counts(&seen);
        let today: Vec<String> = (0..10).map(|i| format!("u{i}")).collect();
        seen.mark_all(&today, day("2026-01-30"));
        check_counts(&seen);
        seen.retain_since(day("2026-01-01"));
        check_counts(&seen);
        seen.cap_by_recency(5);
        check_counts(&seen);
        let stored: LastSeen =
            serde_json::from_str(&serde_json::to_string(&seen).unwrap()).unwrap();
        assert_eq!(stored, seen);
    }

    #[test]
    fn more_on_one_day_than_the_counts_hold_are_counted_from_the_days() {
        let crowd: LastSeen = (0..=usize::from(u16::MAX))
            .map(|i| (format!("u{i}"), day("2026-01-01")))
            .collect();
        assert_eq!(
            crowd.count_between(day("2026-01-01"), day("2026-01-01")),
            usize::from(u16::MAX) + 1
        );
    }

    #[test]
    fn cap_keeps_the_most_recent_and_breaks_ties_like_the_map_did() {
        let mut seen: LastSeen = [
            ("old", "2026-01-01"),
            ("x", "2026-01-02"),
            ("y", "2026-01-02"),
            ("new", "2026-01-03"),
        ]
        .into_iter()
        .map(|(n, d)| (n.to_string(), day(d)))
        .collect();
        seen.cap_by_recency(2);
        assert_eq!(names(&seen), ["new", "y"]);
        seen.retain_since(day("2026-01-03"));
        assert_eq!(names(&seen), ["new"]);
    }

    #[test]
    fn stores_as_a_plain_map_and_reads_any_order() {
        let seen: LastSeen =
            serde_json::from_str(r#"{"zed":"2026-01-02","amy":"2026-01-01"}"#).unwrap();
        assert_eq!(names(&seen), ["amy", "zed"]);
        assert_eq!(
            serde_json::to_string(&seen).unwrap(),
            r#"{"amy":"2026-01-01","zed":"2026-01-02"}"#
        );
    }
}
