//! The timestamps Segment's libraries send (`2026-03-10T12:00:00.123Z`, `...+00:00`), read
//! without chrono's general-purpose parser: three of them per event made it a visible part of
//! ingest time. Anything else is left to chrono, which stays the authority on what is accepted.

use chrono::{DateTime, Utc};

/// Parses `YYYY-MM-DDTHH:MM:SS[.f]` (1 to 9 fraction digits) followed by `Z` or `±hh:mm`.
/// Returns `None` for any other text, valid or not, so the caller falls back to chrono; for the
/// text it does accept, the result is the one chrono's RFC 3339 parser gives.
pub(crate) fn parse_common_rfc3339(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    // Leap seconds (`:60`) and out-of-range fields are chrono's to judge.
    let second = digits(&b[17..19])?;
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0u32;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let fraction = &b[start..i];
        if fraction.is_empty() || fraction.len() > 9 {
            return None;
        }
        nanos = digits(fraction)? * 10u32.pow((9 - fraction.len()) as u32);
    }
    let offset_seconds = match &b[i..] {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = digits(&[*h1, *h2])?;
            let minutes = digits(&[*m1, *m2])?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = i64::from(hours * 3600 + minutes * 60);
            if *sign == b'-' {
                -seconds
            } else {
                seconds
            }
        }
        _ => return None,
    };
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let seconds = days_from_epoch(i64::from(year), month, day) * 86_400
        + i64::from(hour * 3600 + minute * 60 + second)
        - offset_seconds;
    DateTime::from_timestamp(seconds, nanos)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a valid date of the proleptic Gregorian calendar (Howard Hinnant's
/// `days_from_civil`).
fn days_from_epoch(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The value of a run of ASCII digits; `None` if any byte is not a digit.
fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::damage::Damage;

    fn chrono_rfc3339(s: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// Every text the fast parser accepts gives chrono's answer.
    fn assert_agrees(s: &str) {
        if let Some(fast) = parse_common_rfc3339(s) {
            assert_eq!(Some(fast), chrono_rfc3339(s), "{s:?}");
        }
    }

    #[test]
    fn the_forms_sdks_send_are_read_as_chrono_reads_them() {
        let common = [
            "2026-03-10T12:00:00Z",
            "2026-03-10T12:00:00.1Z",
            "2026-03-10T12:00:00.12Z",
            "2026-03-10T12:00:00.123Z",
            "2026-03-10T12:00:00.1234Z",
            "2026-03-10T12:00:00.12345Z",
            "2026-03-10T12:00:00.123456Z",
            "2026-03-10T12:00:00.1234567Z",
            "2026-03-10T12:00:00.12345678Z",
            "2026-03-10T12:00:00.123456789Z",
            "2026-03-10T12:00:00+00:00",
            "2026-03-10T12:00:00-00:00",
            "2026-03-10T12:00:00.5+05:30",
            "2026-03-10T00:15:00+01:00",
            "2026-01-01T00:00:00.000-08:00",
            "2025-12-31T23:59:59.999999999-23:59",
            "2024-02-29T12:00:00Z",
            "2000-02-29T00:00:00+14:00",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ];
        for s in common {
            let fast = parse_common_rfc3339(s);
            assert!(fast.is_some(), "{s:?} is a common form");
            assert_eq!(fast, chrono_rfc3339(s), "{s:?}");
        }
    }

    #[test]
    fn invalid_or_unusual_text_is_left_to_chrono() {
        let left = [
            "2026-02-29T12:00:00Z",            // not a leap year
            "1900-02-29T12:00:00Z",            // century, not a leap year
            "2026-04-31T12:00:00Z",            // April has 30 days
            "2026-13-01T12:00:00Z",            // month 13
            "2026-00-10T12:00:00Z",            // month 0
            "2026-03-00T12:00:00Z",            // day 0
            "2026-03-10T24:00:00Z",            // hour 24
            "2026-03-10T12:60:00Z",            // minute 60
            "2026-03-10T23:59:60Z",            // leap second
            "2026-03-10T12:00:00.Z",           // empty fraction
            "2026-03-10T12:00:00.1234567891Z", // 10 digits
            "2026-03-10t12:00:00z",            // lower case
            "2026-03-10 12:00:00Z",            // space separator
            "2026-03-10T12:00:00",             // no zone
            "2026-03-10T12:00:00+0100",        // offset without colon
            "2026-03-10T12:00:00+24:00",       // offset out of range
            "2026-03-10T12:00:00+01:60",
            "2026-03-10T12:00:00Z ",
            "2026-3-10T12:00:00Z",
            "+2026-03-10T12:00:00Z",
            "２026-03-10T12:00:00Z",
            "yesterday",
            "",
        ];
        for s in left {
            assert_eq!(parse_common_rfc3339(s), None, "{s:?}");
        }
    }

    #[test]
    fn every_day_of_many_years_agrees_with_chrono() {
        // Covers month lengths and the leap day; the fast parser must accept every real date.
        for year in [
            0, 1, 4, 100, 1600, 1900, 1969, 1970, 1999, 2000, 2024, 2026, 2100, 9999,
        ] {
            for month in 1..=12u32 {
                for day in 1..=31u32 {
                    let s = format!("{year:04}-{month:02}-{day:02}T07:08:09.010+02:00");
                    assert_eq!(parse_common_rfc3339(&s), chrono_rfc3339(&s), "{s:?}");
                }
            }
        }
    }

    #[test]
    fn mutated_timestamps_never_disagree_with_chrono() {
        // Deterministic pseudo-random edits of valid timestamps: whatever the fast parser
        // accepts, chrono must accept with the same instant.
        let seeds = [
            "2026-03-10T12:34:56.789Z",
            "2024-02-29T23:59:59.123456+05:30",
            "1999-12-31T00:00:00-08:00",
        ];
        let alphabet = b"0123456789-+:.TZtz ";
        let mut damage = Damage::new(0x2545_F491_4F6C_DD1D);
        for seed in seeds {
            for _ in 0..20_000 {
                if let Some(s) = damage.apply(seed, alphabet, 3) {
                    assert_agrees(&s);
                }
            }
        }
    }
}
