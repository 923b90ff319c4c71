//! Names (users, features) with the last day each was seen.
//!
//! The kernel asks "how many were seen in this period?" of every account every day. Kept as a
//! map of strings, that answer walks a tree of nodes scattered over the heap; here the days sit
//! in one column of their own, so it is a scan of a few cache lines. Names are kept sorted for
//! lookups by name, and the whole stores and reads as a plain `{name: day}` map.

use chrono::NaiveDate;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Names sorted ascending, each with its last seen day (`days[i]` belongs to `names[i]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastSeen {
    names: Vec<String>,
    days: Vec<NaiveDate>,
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
    }

    /// How many were last seen between `from` and `to`, both included.
    #[inline]
    pub fn count_between(&self, from: NaiveDate, to: NaiveDate) -> usize {
        // Branch-free: each day is one compare of a packed integer.
        self.days
            .iter()
            .map(|d| usize::from((*d >= from) & (*d <= to)))
            .sum()
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
        while let Some(entry) = map.next_entry::<String, NaiveDate>()? {
            pairs.push(entry);
        }
        Ok(pairs.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
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
