//! Packs a window's usage days into one short text value, so the per-account window stays a few
//! kilobytes (one DynamoDB read unit) instead of a list of 120 maps with repeated field names.
//!
//! Format `1:` then `;`-separated days, each `first,u,s,t,a,e` where `first` is the date
//! (`YYYY-MM-DD`) for the first day and the gap in days from the previous day after that; the
//! counters are active users, sessions, session seconds, API calls and events. Zeros are left
//! empty and trailing empty fields dropped: `1:2026-01-01,3,5,600,,40;1,2,2,90;3,1`.
//! Reading also accepts the plain list of [`DayUsage`] objects, for hand-written fixtures.

use crate::window::{date_of, date_of_number, day_number, DayUsage, NumberedDay, UsageDays};
use chrono::NaiveDate;
use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserializer, Serializer};
use std::fmt;

const PREFIX: &str = "1:";

/// Text for formats people read (JSON); [`pack_bytes`] for binary ones, where the embedded
/// store reads and writes every window every day.
pub fn serialize<S: Serializer>(days: &UsageDays, serializer: S) -> Result<S::Ok, S::Error> {
    if serializer.is_human_readable() {
        serializer.serialize_str(&pack(days))
    } else {
        serializer.serialize_bytes(&pack_bytes(days))
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<UsageDays, D::Error> {
    deserializer.deserialize_any(DaysVisitor)
}

/// The packed text of `days`.
pub fn pack(days: &UsageDays) -> String {
    let mut out = String::with_capacity(PREFIX.len() + days.len() * 20);
    out.push_str(PREFIX);
    let mut previous: Option<u32> = None;
    for i in 0..days.len() {
        let (number, counts) = days.numbered(i);
        match previous {
            None => out.push_str(&date_of(number).to_string()),
            Some(p) => {
                out.push(';');
                push_number(&mut out, u64::from(number.wrapping_sub(p)));
            }
        }
        previous = Some(number);
        let used = counts.iter().rposition(|&n| n != 0).map_or(0, |i| i + 1);
        for &n in &counts[..used] {
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
    // ASCII digits only, so always UTF-8.
    out.push_str(std::str::from_utf8(&digits[i..]).unwrap_or_default());
}

/// Reads packed text back (gaps are never negative, so days come back in order). One pass
/// over the bytes, numbering days from the first date without making a date of each.
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
    let bytes = body.as_bytes();
    let date_end = bytes
        .iter()
        .position(|b| matches!(b, b',' | b';'))
        .unwrap_or(bytes.len());
    let first = &body[..date_end];
    let first = first
        .parse::<NaiveDate>()
        .map_err(|e| format!("day 0: bad date {first:?}: {e}"))?;
    let mut days: Vec<NumberedDay> = Vec::with_capacity(bytes.len() / 12 + 1);
    let mut day = (day_number(first), [0u32; 5]);
    // The field being read: 0 the gap (the date, for the first day), 1-5 the counters.
    let mut field = 0usize;
    let mut value: u64 = 0;
    let mut digits = 0usize;
    // A `;` after the end closes the last day as the others are closed.
    for b in bytes[date_end..].iter().copied().chain([b';']) {
        match b {
            b'0'..=b'9' => {
                value = value * 10 + u64::from(b - b'0');
                digits += 1;
                if value > u64::from(u32::MAX) {
                    return Err(format!("day {}: number too large", days.len()));
                }
            }
            b',' | b';' => {
                let n = u32::try_from(value).unwrap_or(u32::MAX);
                let i = days.len();
                match (field, days.last()) {
                    (0, Some((previous, _))) => {
                        if digits == 0 {
                            return Err(format!("day {i}: bad gap"));
                        }
                        day.0 = previous
                            .checked_add(n)
                            .ok_or_else(|| format!("day {i}: date out of range"))?;
                    }
                    (0, None) => {}
                    (1..=5, _) => day.1[field - 1] = n,
                    _ => return Err(format!("day {i}: more than five counters")),
                }
                if b == b';' {
                    days.push(day);
                    day = (0, [0u32; 5]);
                    field = 0;
                } else {
                    field += 1;
                }
                value = 0;
                digits = 0;
            }
            _ => {
                return Err(format!(
                    "day {}: unexpected {:?}",
                    days.len(),
                    char::from(b)
                ))
            }
        }
    }
    // Gaps only add, so the newest day is the one that could pass the last date.
    if days
        .last()
        .is_some_and(|(n, _)| date_of_number(*n).is_none())
    {
        return Err("date out of range".into());
    }
    Ok(UsageDays::from_numbered(&days))
}

/// The first byte of [`pack_bytes`].
const BYTES_FORMAT: u8 = 2;

/// The binary form of `days`: [`BYTES_FORMAT`], the number of days, the first day's number
/// (days from the common era), then per day the gap from the previous one (not for the
/// first) and the five counters, all as LEB128 varints.
pub fn pack_bytes(days: &UsageDays) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + days.len() * 8);
    out.push(BYTES_FORMAT);
    push_varint(&mut out, days.len() as u64);
    let mut previous: Option<u32> = None;
    for i in 0..days.len() {
        let (number, counts) = days.numbered(i);
        let gap = match previous {
            None => number ^ (1 << 31),
            Some(p) => number.wrapping_sub(p),
        };
        push_varint(&mut out, u64::from(gap));
        previous = Some(number);
        for n in counts {
            push_varint(&mut out, u64::from(n));
        }
    }
    out
}

/// Appends `n` as a LEB128 varint (seven bits a byte, low first).
pub(crate) fn push_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads the varints of [`push_varint`] from the front of a byte slice.
pub(crate) struct Varints<'a>(pub &'a [u8]);

impl Varints<'_> {
    /// The next varint if it is whole and fits a `u32`.
    pub(crate) fn next_u32(&mut self) -> Option<u32> {
        let mut value = 0u64;
        for shift in (0..35).step_by(7) {
            let (&b, tail) = self.0.split_first()?;
            self.0 = tail;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return u32::try_from(value).ok();
            }
        }
        None
    }
}

/// Reads [`pack_bytes`] back.
pub fn unpack_bytes(bytes: &[u8]) -> Result<UsageDays, String> {
    let Some((&BYTES_FORMAT, rest)) = bytes.split_first() else {
        return Err("packed usage days: unknown binary form".into());
    };
    let mut numbers = Varints(rest);
    let mut next = |what: &str, i: usize| {
        numbers
            .next_u32()
            .ok_or_else(|| format!("day {i}: {what} truncated or too large"))
    };
    let len = next("count", 0)? as usize;
    let mut days: Vec<NumberedDay> = Vec::with_capacity(len.min(bytes.len() / 6));
    for i in 0..len {
        let gap = next("gap", i)?;
        let number = match days.last() {
            None => gap ^ (1 << 31),
            Some((previous, _)) => previous
                .checked_add(gap)
                .ok_or_else(|| format!("day {i}: date out of range"))?,
        };
        let mut counts = [0u32; 5];
        for count in &mut counts {
            *count = next("counter", i)?;
        }
        days.push((number, counts));
    }
    if !numbers.0.is_empty() {
        return Err(format!("{} bytes after the last day", numbers.0.len()));
    }
    if days.iter().any(|(n, _)| date_of_number(*n).is_none()) {
        return Err("date out of range".into());
    }
    Ok(UsageDays::from_numbered(&days))
}

struct DaysVisitor;

impl<'de> Visitor<'de> for DaysVisitor {
    type Value = UsageDays;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("packed usage days (text or bytes) or a list of day objects")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        unpack(v).map_err(E::custom)
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
        unpack_bytes(v).map_err(E::custom)
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
    fn any_days_read_back_as_packed() {
        // Gaps of 1-4 days, counters with zeros, a trailing zero and large values.
        let mut rows = Vec::new();
        let mut d = day("2025-06-01");
        for k in 0u32..150 {
            d = d + chrono::Days::new(u64::from(k % 4) + 1);
            let big = if k % 37 == 0 { u32::MAX } else { k * 1_000 };
            rows.push(DayUsage {
                day: d,
                active_users: k % 3,
                sessions: if k % 5 == 0 { 0 } else { k },
                session_seconds: big,
                api_calls: k % 2,
                events: if k % 7 == 0 { 0 } else { k * 9 },
            });
            let days: UsageDays = rows.clone().into();
            assert_eq!(unpack(&pack(&days)).unwrap(), days, "{k} days");
            assert_eq!(unpack_bytes(&pack_bytes(&days)).unwrap(), days, "{k} days");
        }
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
        assert!(
            unpack("1:2026-01-01;4294967295").is_err(),
            "a gap past the last date"
        );
        assert!(
            unpack("1:2026-01-01;99999999").is_err(),
            "a day past the last date"
        );
        assert!(unpack("1:2026-01-01,x").is_err());
        assert!(unpack("1:2026-01-01,x").is_err());
    }

    #[test]
    fn the_binary_form_is_smaller_and_refuses_garbage() {
        let days: UsageDays = (0..120)
            .map(|k| DayUsage {
                day: day("2026-01-01") + chrono::Days::new(k),
                ..usage("2026-01-01", 3, 7, 1800, 0, 40)
            })
            .collect::<Vec<_>>()
            .into();
        let bytes = pack_bytes(&days);
        assert!(bytes.len() * 3 < pack(&days).len() * 2, "{}", bytes.len());
        assert!(unpack_bytes(&pack_bytes(&UsageDays::default()))
            .unwrap()
            .is_empty());
        for cut in 0..bytes.len() {
            assert!(unpack_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(unpack_bytes(&[bytes.as_slice(), &[0]].concat()).is_err());
        let mut other_form = bytes.clone();
        other_form[0] = 9;
        assert!(unpack_bytes(&other_form).is_err());
        // Two days, the second a gap of u32::MAX days after the first.
        let first: UsageDays = vec![usage("2026-01-01", 1, 0, 0, 0, 0)].into();
        let mut far = pack_bytes(&first);
        far[1] = 2;
        far.extend([0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0, 0]);
        assert!(unpack_bytes(&far).is_err());
        far.truncate(far.len() - 10);
        far.extend([0x7f, 0, 0, 0, 0, 0]);
        assert_eq!(
            unpack_bytes(&far).unwrap().len(),
            2,
            "a gap of 127 days reads"
        );
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
