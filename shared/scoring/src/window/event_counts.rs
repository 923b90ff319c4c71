//! How often an account used each product event type recently: the usage features a churn
//! model and a learned scorecard weigh ("Report Built 14 times in 28 days, 2 per active user").
//!
//! Which events an account uses, and how often, predicts churn far better than its total or its
//! trend; but a window of every event type's count on each of 120 days would be tens of
//! kilobytes. So each type keeps exact daily counts for the newest [`RECENT_DAYS`] days (the 7-
//! and 28-day counts are sums of those) and one decayed total for the long view: every day it is
//! multiplied by `exp(-1 / LONG_MEAN_AGE_DAYS)` before the day's count is added, so for steady
//! use it equals the count over the last [`LONG_MEAN_AGE_DAYS`] days. At most
//! [`MAX_EVENT_TYPES`] types are kept; a new type replaces the one with the smallest long total.
//!
//! Stored as `{"n": [names], "l": [long totals], "a": day, "r": "packed recent counts"}`, the
//! recent counts packed as text (`DAY:i.c,i.c;GAP:i.c`: the first day as days from the common
//! era, then the gap from the previous day; `i` a name's index, `c` its count).

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Days of exact daily counts kept per event type.
pub const RECENT_DAYS: u32 = 28;
/// The mean age of the events in the long decayed total, in days.
pub const LONG_MEAN_AGE_DAYS: f64 = 90.0;
/// Event types tracked per account.
pub const MAX_EVENT_TYPES: usize = 64;

/// One event type's count on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DayCount {
    /// Days from the common era (`NaiveDate::num_days_from_ce`).
    day: i32,
    /// Index into [`EventCounts::names`].
    name: u16,
    count: u32,
}

/// Per event type: exact daily counts for [`RECENT_DAYS`], a decayed long total.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventCounts {
    #[serde(rename = "n", default)]
    names: Vec<String>,
    /// Decayed total per name, as of `at`.
    #[serde(rename = "l", default)]
    long: Vec<f32>,
    #[serde(rename = "a", default)]
    at: Option<NaiveDate>,
    /// Oldest day first.
    #[serde(rename = "r", default, with = "packed_recent")]
    recent: Vec<DayCount>,
}

/// What one event type came to as of a day.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EventTypeCounts {
    pub last_7_days: u32,
    pub last_28_days: u32,
    /// The decayed total: about the count over the last 90 days for steady use.
    pub long: f64,
}

fn decay(days: i64) -> f64 {
    (-(days.max(0) as f64) / LONG_MEAN_AGE_DAYS).exp()
}

impl EventCounts {
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Event types tracked.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Adds one day's counts (`names[i]` used `counts[i]` times; a missing count is 1). Days
    /// must come in order; the caller (`UsageWindow::roll`) rolls each day once.
    pub fn roll(&mut self, day: NaiveDate, names: &[String], counts: &[u32]) {
        self.decay_to(day);
        let today = day.num_days_from_ce();
        for (i, name) in names.iter().enumerate() {
            let count = counts.get(i).copied().unwrap_or(1);
            if count == 0 {
                continue;
            }
            let slot = self.slot_of(name);
            if let Some(total) = self.long.get_mut(slot) {
                *total += count as f32;
            }
            self.recent.push(DayCount {
                day: today,
                name: u16::try_from(slot).unwrap_or(u16::MAX),
                count,
            });
        }
        let oldest = today - RECENT_DAYS as i32 + 1;
        self.recent.retain(|c| c.day >= oldest);
    }

    fn decay_to(&mut self, day: NaiveDate) {
        if let Some(at) = self.at {
            let factor = decay((day - at).num_days()) as f32;
            if factor < 1.0 {
                self.long.iter_mut().for_each(|v| *v *= factor);
            }
        }
        if self.at.is_none_or(|at| day > at) {
            self.at = Some(day);
        }
    }

    /// The index of `name`, adding it (in place of the least used type when full).
    fn slot_of(&mut self, name: &str) -> usize {
        if let Some(i) = self.names.iter().position(|n| n == name) {
            return i;
        }
        if self.names.len() < MAX_EVENT_TYPES {
            self.names.push(name.to_string());
            self.long.push(0.0);
            return self.names.len() - 1;
        }
        let mut weakest = 0;
        for (i, v) in self.long.iter().enumerate() {
            if *v < self.long[weakest] {
                weakest = i;
            }
        }
        self.names[weakest] = name.to_string();
        self.long[weakest] = 0.0;
        let slot = u16::try_from(weakest).unwrap_or(u16::MAX);
        self.recent.retain(|c| c.name != slot);
        weakest
    }

    /// Each tracked type with its counts as of `as_of` (days after it are not counted).
    pub fn as_of(&self, as_of: NaiveDate) -> Vec<(&str, EventTypeCounts)> {
        let day = as_of.num_days_from_ce();
        let mut out: Vec<(&str, EventTypeCounts)> = self
            .names
            .iter()
            .map(|n| (n.as_str(), EventTypeCounts::default()))
            .collect();
        for c in self.recent.iter().filter(|c| c.day <= day) {
            let Some((_, counts)) = out.get_mut(usize::from(c.name)) else {
                continue;
            };
            let age = day - c.day;
            if age < 7 {
                counts.last_7_days = counts.last_7_days.saturating_add(c.count);
            }
            if age < RECENT_DAYS as i32 {
                counts.last_28_days = counts.last_28_days.saturating_add(c.count);
            }
        }
        let factor = self.at.map_or(1.0, |at| decay((as_of - at).num_days()));
        for ((_, counts), long) in out.iter_mut().zip(&self.long) {
            counts.long = f64::from(*long) * factor;
        }
        out
    }
}

mod packed_recent {
    use super::*;
    use crate::packed::{push_varint, Varints};
    use serde::de::{Error, Visitor};

    /// The first byte of the binary form.
    const BYTES_FORMAT: u8 = 2;

    /// Text for formats people read (JSON); for binary ones [`BYTES_FORMAT`], the number of
    /// counts, then per count its day (a zigzag varint: the first as it is, then the gap from
    /// the one before), name index and count, as varints.
    pub fn serialize<S: Serializer>(recent: &[DayCount], s: S) -> Result<S::Ok, S::Error> {
        if !s.is_human_readable() {
            let mut out = Vec::with_capacity(4 + recent.len() * 3);
            out.push(BYTES_FORMAT);
            push_varint(&mut out, recent.len() as u64);
            let mut previous = 0i32;
            for c in recent {
                let gap = i64::from(c.day) - i64::from(previous);
                push_varint(&mut out, ((gap << 1) ^ (gap >> 63)) as u64);
                push_varint(&mut out, u64::from(c.name));
                push_varint(&mut out, u64::from(c.count));
                previous = c.day;
            }
            return s.serialize_bytes(&out);
        }
        let mut out = String::with_capacity(recent.len() * 6);
        let mut previous: Option<i32> = None;
        for c in recent {
            if previous != Some(c.day) {
                if let Some(p) = previous {
                    out.push(';');
                    out.push_str(&(c.day - p).to_string());
                } else {
                    out.push_str(&c.day.to_string());
                }
                out.push(':');
                previous = Some(c.day);
            } else {
                out.push(',');
            }
            out.push_str(&c.name.to_string());
            out.push('.');
            out.push_str(&c.count.to_string());
        }
        s.serialize_str(&out)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<DayCount>, D::Error> {
        d.deserialize_any(RecentVisitor)
    }

    struct RecentVisitor;

    impl Visitor<'_> for RecentVisitor {
        type Value = Vec<DayCount>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("packed recent event counts (text or bytes)")
        }

        fn visit_str<E: Error>(self, text: &str) -> Result<Vec<DayCount>, E> {
            parse(text).ok_or_else(|| E::custom("malformed recent event counts"))
        }

        fn visit_bytes<E: Error>(self, bytes: &[u8]) -> Result<Vec<DayCount>, E> {
            parse_bytes(bytes).ok_or_else(|| E::custom("malformed recent event counts"))
        }
    }

    fn parse_bytes(bytes: &[u8]) -> Option<Vec<DayCount>> {
        let (&BYTES_FORMAT, rest) = bytes.split_first()? else {
            return None;
        };
        let mut numbers = Varints(rest);
        let len = numbers.next_u32()? as usize;
        let mut out = Vec::with_capacity(len.min(rest.len() / 3));
        let mut day = 0i32;
        for _ in 0..len {
            let zigzag = i64::from(numbers.next_u32()?);
            let gap = (zigzag >> 1) ^ -(zigzag & 1);
            day = i32::try_from(i64::from(day) + gap).ok()?;
            out.push(DayCount {
                day,
                name: u16::try_from(numbers.next_u32()?).ok()?,
                count: numbers.next_u32()?,
            });
        }
        numbers.0.is_empty().then_some(out)
    }

    fn parse(text: &str) -> Option<Vec<DayCount>> {
        let mut out = Vec::new();
        let mut day: Option<i32> = None;
        for group in text.split(';').filter(|g| !g.is_empty()) {
            let (head, entries) = group.split_once(':')?;
            let n: i32 = head.parse().ok()?;
            let this = match day {
                None => n,
                Some(p) => p.checked_add(n)?,
            };
            day = Some(this);
            for entry in entries.split(',') {
                let (name, count) = entry.split_once('.')?;
                out.push(DayCount {
                    day: this,
                    name: name.parse().ok()?,
                    count: count.parse().ok()?,
                });
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn counts_of(c: &EventCounts, as_of: &str, name: &str) -> EventTypeCounts {
        c.as_of(day(as_of))
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| c)
            .unwrap_or_default()
    }

    #[test]
    fn seven_and_twenty_eight_day_counts_are_exact() {
        let mut c = EventCounts::default();
        let start = day("2026-01-01");
        for i in 0..40u64 {
            c.roll(
                start + chrono::Days::new(i),
                &names(&["Report Built", "Comment Added"]),
                &[2, 1],
            );
        }
        let last = (start + chrono::Days::new(39)).to_string();
        let report = counts_of(&c, &last, "Report Built");
        assert_eq!(report.last_7_days, 14);
        assert_eq!(report.last_28_days, 56);
        let comment = counts_of(&c, &last, "Comment Added");
        assert_eq!(comment.last_28_days, 28);
    }

    #[test]
    fn the_long_total_approaches_the_ninety_day_count_for_steady_use() {
        let mut c = EventCounts::default();
        let start = day("2026-01-01");
        for i in 0..400u64 {
            c.roll(start + chrono::Days::new(i), &names(&["x"]), &[1]);
        }
        let long = counts_of(&c, "2027-02-04", "x").long;
        assert!((long - 90.5).abs() < 1.5, "{long}");
        // Ten quiet days later it has decayed, and nothing recent is left of a week ago.
        let later = counts_of(&c, "2027-02-14", "x");
        assert!(
            later.long < long * 0.9 && later.last_7_days == 0,
            "{later:?}"
        );
    }

    #[test]
    fn a_full_set_replaces_its_least_used_type() {
        let mut c = EventCounts::default();
        let d = day("2026-03-01");
        let many: Vec<String> = (0..MAX_EVENT_TYPES).map(|i| format!("e{i}")).collect();
        let counts: Vec<u32> = (0..MAX_EVENT_TYPES as u32).map(|i| i + 1).collect();
        c.roll(d, &many, &counts);
        c.roll(d.succ_opt().unwrap(), &names(&["new"]), &[5]);
        assert_eq!(c.len(), MAX_EVENT_TYPES);
        let now = c.as_of(d.succ_opt().unwrap());
        assert!(now.iter().all(|(n, _)| *n != "e0"), "the least used went");
        assert_eq!(counts_of(&c, "2026-03-02", "new").last_7_days, 5);
        assert_eq!(counts_of(&c, "2026-03-02", "e1").last_7_days, 2);
    }

    #[test]
    fn stored_form_is_compact_and_reads_back() {
        let mut c = EventCounts::default();
        let start = day("2026-01-01");
        let types: Vec<String> = (0..25).map(|i| format!("Event Type {i}")).collect();
        for i in 0..120u64 {
            let counts: Vec<u32> = (0..25).map(|t| ((i + t) % 4) as u32).collect();
            c.roll(start + chrono::Days::new(i), &types, &counts);
        }
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.len() < 4_500, "{} bytes", json.len());
        let back: EventCounts = serde_json::from_str(&json).unwrap();
        assert_eq!(back.names, c.names);
        assert_eq!(back.recent, c.recent);
        assert_eq!(
            counts_of(&back, "2026-04-30", "Event Type 3"),
            counts_of(&c, "2026-04-30", "Event Type 3")
        );
        // A binary format (the embedded store's) gets the binary form, smaller still.
        let bytes = rmp_serde::to_vec_named(&c).unwrap();
        assert!(bytes.len() * 4 < json.len() * 3, "{} bytes", bytes.len());
        let back: EventCounts = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn damaged_binary_counts_are_refused() {
        let mut c = EventCounts::default();
        c.roll(day("2026-01-01"), &names(&["a", "b"]), &[3, 70_000]);
        c.roll(day("2026-01-03"), &names(&["b"]), &[1]);
        let recent = |c: &EventCounts| {
            let mut out = Vec::new();
            super::packed_recent::serialize(&c.recent, &mut rmp_serde::Serializer::new(&mut out))
                .unwrap();
            out
        };
        let bytes = recent(&c);
        let read = |b: &[u8]| {
            super::packed_recent::deserialize(&mut rmp_serde::Deserializer::from_read_ref(b))
        };
        assert_eq!(read(&bytes).unwrap(), c.recent);
        // Past the MessagePack header (2 bytes: bin 8 and its length), cut short anywhere.
        for cut in 2..bytes.len() {
            let mut short = bytes[..cut].to_vec();
            short[1] = (cut - 2) as u8;
            assert!(read(&short).is_err(), "cut at {cut}");
        }
    }
}
