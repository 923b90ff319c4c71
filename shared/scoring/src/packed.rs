//! Packs a window's usage days into one short text value, so the per-account window stays a few
//! kilobytes (one DynamoDB read unit) instead of a list of 120 maps with repeated field names.
//!
//! Format `1:` then `;`-separated days, each `first,u,s,t,a,e` where `first` is the date
//! (`YYYY-MM-DD`) for the first day and the gap in days from the previous day after that; the
//! counters are active users, sessions, session seconds, API calls and events. Zeros are left
//! empty and trailing empty fields dropped: `1:2026-01-01,3,5,600,,40;1,2,2,90;3,1`.
//! Reading also accepts the plain list of [`DayUsage`] objects, for hand-written fixtures.

use crate::window::{DayUsage, UsageDays};
use chrono::NaiveDate;
use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserializer, Serializer};
use std::fmt;

const PREFIX: &str = "1:";

pub fn serialize<S: Serializer>(days: &UsageDays, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&pack(days))
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<UsageDays, D::Error> {
    deserializer.deserialize_any(DaysVisitor)
}

/// The packed text of `days`.
pub fn pack(days: &UsageDays) -> String {
    let mut out = String::with_capacity(PREFIX.len() + days.len() * 20);
    out.push_str(PREFIX);
    let mut previous: Option<NaiveDate> = None;
    for d in days.iter() {
        if previous.is_some() {
            out.push(';');
        }
        match previous {
            None => out.push_str(&d.day.to_string()),
            Some(p) => push_number(&mut out, (d.day - p).num_days().unsigned_abs()),
        }
        previous = Some(d.day);
        let fields = [
            d.active_users,
            d.sessions,
            d.session_seconds,
            d.api_calls,
            d.events,
        ];
        let used = fields.iter().rposition(|&n| n != 0).map_or(0, |i| i + 1);
        for &n in &fields[..used] {
            out.push(',');
            if n != 0 {
                push_number(&mut out, u64::from(n));
            }
        }
    }
    out
}

fn push_number(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

/// Reads packed text back (gaps are never negative, so days come back in order).
pub fn unpack(text: &str) -> Result<UsageDays, String> {
    if text.is_empty() {
        return Ok(UsageDays::default());
    }
    let body = text
        .strip_prefix(PREFIX)
        .ok_or_else(|| format!("packed usage days must start with {PREFIX:?}"))?;
    if body.is_empty() {
        return Ok(UsageDays::default());
    }
    let mut days = Vec::with_capacity(body.bytes().filter(|&b| b == b';').count() + 1);
    let mut previous: Option<NaiveDate> = None;
    for (i, entry) in body.split(';').enumerate() {
        let mut fields = entry.split(',');
        let first = fields.next().unwrap_or_default();
        let day = match previous {
            None => first
                .parse::<NaiveDate>()
                .map_err(|e| format!("day {i}: bad date {first:?}: {e}"))?,
            Some(p) => {
                let gap: u64 = first
                    .parse()
                    .map_err(|e| format!("day {i}: bad gap {first:?}: {e}"))?;
                p.checked_add_days(chrono::Days::new(gap))
                    .ok_or_else(|| format!("day {i}: date out of range"))?
            }
        };
        let mut counters = [0u32; 5];
        for (slot, field) in counters.iter_mut().zip(fields.by_ref()) {
            if !field.is_empty() {
                *slot = field
                    .parse()
                    .map_err(|e| format!("day {i}: bad counter {field:?}: {e}"))?;
            }
        }
        if fields.next().is_some() {
            return Err(format!("day {i}: more than five counters"));
        }
        let [active_users, sessions, session_seconds, api_calls, events] = counters;
        days.push(DayUsage {
            day,
            active_users,
            sessions,
            session_seconds,
            api_calls,
            events,
        });
        previous = Some(day);
    }
    Ok(days.into())
}

struct DaysVisitor;

impl<'de> Visitor<'de> for DaysVisitor {
    type Value = UsageDays;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("packed usage days (text) or a list of day objects")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        unpack(v).map_err(E::custom)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut days = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(crate::WINDOW_DAYS));
        while let Some(d) = seq.next_element::<DayUsage>()? {
            days.push(d);
        }
        // Kept oldest first, whatever order a hand-written list has.
        Ok(days.into_iter().collect())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(UsageDays::default())
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(UsageDays::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn usage(d: &str, u: u32, s: u32, t: u32, a: u32, e: u32) -> DayUsage {
        DayUsage {
            day: day(d),
            active_users: u,
            sessions: s,
            session_seconds: t,
            api_calls: a,
            events: e,
        }
    }

    #[test]
    fn packs_gaps_and_leaves_zeros_empty() {
        let days: UsageDays = vec![
            usage("2026-01-01", 3, 5, 600, 0, 40),
            usage("2026-01-02", 2, 2, 90, 0, 0),
            usage("2026-01-05", 1, 0, 0, 0, 0),
        ]
        .into();
        assert_eq!(pack(&days), "1:2026-01-01,3,5,600,,40;1,2,2,90;3,1");
        assert_eq!(unpack(&pack(&days)).unwrap(), days);
    }

    #[test]
    fn empty_days_pack_to_the_prefix_and_read_back_empty() {
        assert_eq!(pack(&UsageDays::default()), "1:");
        assert!(unpack("1:").unwrap().is_empty());
        assert!(unpack("").unwrap().is_empty());
    }

    #[test]
    fn refuses_garbage_and_negative_gaps() {
        assert!(unpack("2026-01-01").is_err());
        assert!(unpack("1:2026-01-01;-1,1").is_err());
        assert!(unpack("1:2026-01-01,1,2,3,4,5,6").is_err());
        assert!(unpack("1:2026-01-01,x").is_err());
    }

    #[test]
    fn reads_the_plain_list_form_too() {
        let json = r#"{"days":[{"d":"2026-01-03","u":1},{"d":"2026-01-01","u":2,"e":7}]}"#;
        let w: crate::UsageWindow = serde_json::from_str(json).unwrap();
        assert_eq!(
            w.days.iter().collect::<Vec<_>>(),
            vec![
                usage("2026-01-01", 2, 0, 0, 0, 7),
                usage("2026-01-03", 1, 0, 0, 0, 0)
            ]
        );
    }
}
