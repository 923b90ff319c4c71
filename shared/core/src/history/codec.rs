//! The bytes of a [`HistoryDay`], the same in both backends: a few dozen bytes of numbers where
//! a JSON entry took over two kilobytes (a 4 KB page of its own in the embedded store).
//!
//! Layout (little-endian), format [`FORMAT`]:
//! `FORMAT` · flags (`1`: score as f64, `2`: usage follows) · score (u16 tenths, or f64) ·
//! band (u8) · confidence (f64) · scorecard (u8 length + UTF-8) · signal count (u8), then per
//! signal: its [`Signal`] index, or `0xFF` + u8 length + name for a learned group · which of
//! raw (`1`) and value (`2`) follow · raw (f32) · value (f32) · weight (f32) · points (f32);
//! then with flag `2`, the usage snapshot as u32 length + JSON.
//!
//! The score and confidence are kept exactly; a signal's figures to f32 precision (seven
//! significant digits, more than any explanation shows). Points read back as the stored value
//! × the stored weight ([`points_of`]), not as stored, so both stores and both forms
//! ([`super::shape`] keeps no points) read the same figures. An entry written as JSON by an
//! older version ([`ScoreRecord`]) still reads.

use chrono::NaiveDate;
use vitals_scoring::signals::{Signal, SIGNAL_COUNT};
use vitals_scoring::usage_features::UsageSnapshot;
use vitals_scoring::{Band, HealthScore, SignalScore};

use super::HistoryDay;
use crate::model::{AccountId, ScoreRecord};
use crate::StoreError;

/// The first byte of an encoded entry (a JSON entry starts with `{`).
pub const FORMAT: u8 = 0xB1;

const SCORE_AS_F64: u8 = 1;
const HAS_USAGE: u8 = 2;
const NAMED: u8 = 0xFF;
pub(super) const HAS_RAW: u8 = 1;
pub(super) const HAS_VALUE: u8 = 2;

/// The bytes of an entry (its account and day are the store's key, not part of them).
pub fn encode(day: &HistoryDay) -> Result<Vec<u8>, StoreError> {
    let health = &day.health;
    let mut out = Vec::with_capacity(24 + health.scorecard.len() + health.signals.len() * 18);
    out.push(FORMAT);
    let tenths = (health.score * 10.0).round();
    let exact = (0.0..=f64::from(u16::MAX)).contains(&tenths) && tenths / 10.0 == health.score;
    let usage = day
        .usage
        .as_ref()
        .map(|u| serde_json::to_vec(u).map_err(|e| rejected(&format!("usage snapshot: {e}"))))
        .transpose()?;
    out.push(if exact { 0 } else { SCORE_AS_F64 } | if usage.is_some() { HAS_USAGE } else { 0 });
    if exact {
        out.extend_from_slice(&(tenths as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&health.score.to_le_bytes());
    }
    out.push(band_byte(health.band));
    out.extend_from_slice(&health.confidence.to_le_bytes());
    put_name(&mut out, &health.scorecard, "scorecard name")?;
    let count = u8::try_from(health.signals.len()).map_err(|_| rejected("over 255 signals"))?;
    out.push(count);
    for s in &health.signals {
        put_signal(&mut out, s)?;
        for v in [s.raw, s.value].into_iter().flatten() {
            out.extend_from_slice(&(v as f32).to_le_bytes());
        }
        out.extend_from_slice(&(s.weight as f32).to_le_bytes());
        out.extend_from_slice(&(s.points as f32).to_le_bytes());
    }
    if let Some(json) = usage {
        let len = u32::try_from(json.len()).map_err(|_| rejected("usage snapshot too large"))?;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&json);
    }
    Ok(out)
}

/// The entry of `account` on `as_of` from its bytes: [`encode`]'s, or an older version's JSON.
pub fn decode(
    account: &AccountId,
    as_of: NaiveDate,
    bytes: &[u8],
) -> Result<HistoryDay, StoreError> {
    match bytes.first() {
        Some(&FORMAT) => {
            let mut r = Reader { bytes, at: 1 };
            let (health, usage) = r.entry()?;
            Ok(HistoryDay {
                account_id: account.clone(),
                as_of,
                health,
                usage,
            })
        }
        Some(b'{') => {
            let record: ScoreRecord =
                serde_json::from_slice(bytes).map_err(|e| corrupt(&format!("JSON entry: {e}")))?;
            Ok(HistoryDay::of(&record))
        }
        _ => Err(corrupt("unknown format")),
    }
}

/// [`decode`] of an entry stored under its day's key (`YYYY-MM-DD`, as both stores key it).
pub fn decode_keyed(
    account: &AccountId,
    day: &str,
    bytes: &[u8],
) -> Result<HistoryDay, StoreError> {
    let as_of = day
        .parse::<NaiveDate>()
        .map_err(|_| corrupt(&format!("day key {day:?}")))?;
    decode(account, as_of, bytes)
}

/// A signal's points from its value and weight as stored (f32 figures, here widened): their
/// product to f32 precision, as the scored points were kept.
pub(super) fn points_of(value: Option<f64>, weight: f64) -> f64 {
    f64::from((value.unwrap_or(0.0) * weight) as f32)
}

pub(super) fn band_byte(band: Band) -> u8 {
    match band {
        Band::AtRisk => 0,
        Band::Monitor => 1,
        Band::Healthy => 2,
    }
}

/// A signal's name (its [`Signal`] index, or `NAMED` + the name of a learned group) and which
/// of its raw value and normalised value follow.
pub(super) fn put_signal(out: &mut Vec<u8>, s: &SignalScore) -> Result<(), StoreError> {
    match Signal::from_name(&s.name) {
        Some(signal) => out.push(signal.index() as u8),
        None => {
            out.push(NAMED);
            put_name(out, &s.name, "signal name")?;
        }
    }
    out.push(
        if s.raw.is_some() { HAS_RAW } else { 0 } | if s.value.is_some() { HAS_VALUE } else { 0 },
    );
    Ok(())
}

pub(super) fn put_name(out: &mut Vec<u8>, name: &str, what: &str) -> Result<(), StoreError> {
    let len = u8::try_from(name.len()).map_err(|_| rejected(&format!("{what} over 255 bytes")))?;
    out.push(len);
    out.extend_from_slice(name.as_bytes());
    Ok(())
}

pub(super) fn rejected(what: &str) -> StoreError {
    StoreError::Rejected(format!("encode history entry: {what}"))
}

pub(super) fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("decode history entry: {what}"))
}

pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0 }
    }

    /// `Corrupt` unless every byte was read.
    pub(super) fn end(&self) -> Result<(), StoreError> {
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            Err(corrupt("trailing bytes"))
        }
    }

    fn entry(&mut self) -> Result<(HealthScore, Option<UsageSnapshot>), StoreError> {
        let flags = self.u8()?;
        let score = if flags & SCORE_AS_F64 != 0 {
            f64::from_le_bytes(self.array()?)
        } else {
            f64::from(u16::from_le_bytes(self.array()?)) / 10.0
        };
        let band = match self.u8()? {
            0 => Band::AtRisk,
            1 => Band::Monitor,
            2 => Band::Healthy,
            _ => return Err(corrupt("unknown band")),
        };
        let confidence = f64::from_le_bytes(self.array()?);
        let scorecard = self.name()?;
        let count = usize::from(self.u8()?);
        let mut signals = Vec::with_capacity(count);
        for _ in 0..count {
            let (name, present) = self.signal()?;
            let raw = (present & HAS_RAW != 0).then(|| self.f32()).transpose()?;
            let value = (present & HAS_VALUE != 0).then(|| self.f32()).transpose()?;
            let weight = self.f32()?;
            let _stored_points = self.f32()?;
            signals.push(SignalScore {
                name,
                raw,
                value,
                weight,
                points: points_of(value, weight),
            });
        }
        let usage = if flags & HAS_USAGE != 0 {
            let len = u32::from_le_bytes(self.array()?) as usize;
            let json = self.take(len)?;
            Some(serde_json::from_slice(json).map_err(|e| corrupt(&format!("usage: {e}")))?)
        } else {
            None
        };
        self.end()?;
        let health = HealthScore {
            score,
            band,
            confidence,
            scorecard,
            signals,
        };
        Ok((health, usage))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len());
        let end = end.ok_or_else(|| corrupt("truncated"))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N], StoreError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub(super) fn u8(&mut self) -> Result<u8, StoreError> {
        Ok(self.array::<1>()?[0])
    }

    pub(super) fn f32(&mut self) -> Result<f64, StoreError> {
        Ok(f64::from(f32::from_le_bytes(self.array()?)))
    }

    /// What [`put_signal`] wrote: the signal's name and which figures follow.
    pub(super) fn signal(&mut self) -> Result<(String, u8), StoreError> {
        let name = match self.u8()? {
            NAMED => self.name()?,
            i if usize::from(i) < SIGNAL_COUNT => Signal::ALL[usize::from(i)].as_str().into(),
            _ => return Err(corrupt("unknown signal")),
        };
        Ok((name, self.u8()?))
    }

    pub(super) fn name(&mut self) -> Result<String, StoreError> {
        let len = usize::from(self.u8()?);
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| corrupt("name is not UTF-8"))
    }
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
