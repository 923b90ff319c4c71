//! A history entry split in two for a store that keeps what many entries share once: the
//! score's [`shape`](Split::shape) (scorecard, which signals it weighs and which had data, their
//! effective weights and the confidence: the same for every account scored alike that day) and
//! the day's own [`row`](Split::row) (score, band and the signals' measurements).
//!
//! [`join`] gives back what [`codec::decode`](super::codec::decode) of the self-contained entry
//! gives: a signal's figures to f32 precision, its points recomputed as the stored value × the
//! stored weight (they can differ from the scored ones in their last bit, a relative 1e-7, far
//! below what an explanation shows).
//!
//! Shape (little-endian): [`SHAPE_FORMAT`] · scorecard (u8 length + UTF-8) · confidence (f64) ·
//! signal count (u8), then per signal: its [`Signal`] index, or `0xFF` + u8 length + name ·
//! which of raw (`1`) and value (`2`) the rows carry · weight (f32).
//! Row: flags (band in bits 0-1; `4`: score as f64) · score (u16 tenths, or f64) · per signal
//! its raw and value (f32) as the shape says.

use vitals_scoring::{Band, HealthScore, SignalScore};

use super::codec::{
    band_byte, corrupt, points_of, put_name, put_signal, rejected, Reader, HAS_RAW, HAS_VALUE,
};
use crate::StoreError;

/// The first byte of a shape.
pub const SHAPE_FORMAT: u8 = 0xC1;

const BAND_BITS: u8 = 3;
const SCORE_AS_F64: u8 = 4;

/// A health score as its shared shape and its own row.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub shape: Vec<u8>,
    pub row: Vec<u8>,
}

/// Splits a health score into its shape and row.
pub fn split(health: &HealthScore) -> Result<Split, StoreError> {
    let mut shape = Vec::with_capacity(16 + health.scorecard.len() + health.signals.len() * 6);
    shape.push(SHAPE_FORMAT);
    put_name(&mut shape, &health.scorecard, "scorecard name")?;
    shape.extend_from_slice(&health.confidence.to_le_bytes());
    let count = u8::try_from(health.signals.len()).map_err(|_| rejected("over 255 signals"))?;
    shape.push(count);

    let tenths = (health.score * 10.0).round();
    let exact = (0.0..=f64::from(u16::MAX)).contains(&tenths) && tenths / 10.0 == health.score;
    let mut row = Vec::with_capacity(11 + health.signals.len() * 12);
    row.push(band_byte(health.band) | if exact { 0 } else { SCORE_AS_F64 });
    if exact {
        row.extend_from_slice(&(tenths as u16).to_le_bytes());
    } else {
        row.extend_from_slice(&health.score.to_le_bytes());
    }
    for s in &health.signals {
        put_signal(&mut shape, s)?;
        shape.extend_from_slice(&(s.weight as f32).to_le_bytes());
        for v in [s.raw, s.value].into_iter().flatten() {
            row.extend_from_slice(&(v as f32).to_le_bytes());
        }
    }
    Ok(Split { shape, row })
}

/// The health score of a row of `shape`: [`split`]'s inverse, to f32 precision.
pub fn join(shape: &[u8], row: &[u8]) -> Result<HealthScore, StoreError> {
    let mut s = Reader::new(shape);
    if s.u8()? != SHAPE_FORMAT {
        return Err(corrupt("unknown shape format"));
    }
    let scorecard = s.name()?;
    let confidence = f64::from_le_bytes(s.array()?);
    let count = usize::from(s.u8()?);

    let mut r = Reader::new(row);
    let flags = r.u8()?;
    let band = match flags & BAND_BITS {
        0 => Band::AtRisk,
        1 => Band::Monitor,
        2 => Band::Healthy,
        _ => return Err(corrupt("unknown band")),
    };
    let score = if flags & SCORE_AS_F64 != 0 {
        f64::from_le_bytes(r.array()?)
    } else {
        f64::from(u16::from_le_bytes(r.array()?)) / 10.0
    };
    let mut signals = Vec::with_capacity(count);
    for _ in 0..count {
        let (name, present) = s.signal()?;
        // Stored as f32: the conversions back are exact.
        let weight = s.f32()? as f32;
        let raw = (present & HAS_RAW != 0).then(|| r.f32()).transpose()?;
        let value = (present & HAS_VALUE != 0).then(|| r.f32()).transpose()?;
        signals.push(SignalScore {
            name,
            raw,
            value,
            weight: f64::from(weight),
            points: points_of(value, f64::from(weight)),
        });
    }
    s.end()?;
    r.end()?;
    Ok(HealthScore {
        score,
        band,
        confidence,
        scorecard,
        signals,
    })
}

#[cfg(test)]
#[path = "shape_tests.rs"]
mod tests;
