//! The bytes of a usage snapshot (the churn model's sample of a day) for a store that numbers
//! event names once: a snapshot is then its figures and name numbers, about a sixth of its
//! JSON. Names are numbered by the caller ([`encode`]'s `number`, [`decode`]'s `name`).
//!
//! Layout: [`SAMPLE_FORMAT`] · flags (which optional fields follow: `1` seats, `2` mrr, `4`
//! tenure, `8` days since active, `16` days to renewal) · active users, active days, look-back
//! (varints) · the optional fields present (varint, f64, zigzag varints) · event count, then per
//! event its name's number and its three counts · signal count, then per signal its
//! [`Signal`] index and value. A count or value is a varint `n << 2 | form`: form 0 an integer
//! `n`, 1 hundredths (`n / 100`, as snapshots round them), 2 an f32 whose bits follow.

use std::collections::BTreeMap;

use vitals_scoring::signals::{Signal, SIGNAL_COUNT};
use vitals_scoring::usage_features::UsageSnapshot;

use crate::ingest::codec::{put_varint, Reader};
use crate::StoreError;

/// The first byte of an encoded snapshot.
pub const SAMPLE_FORMAT: u8 = 0xD1;

const SEATS: u8 = 1;
const MRR: u8 = 2;
const TENURE: u8 = 4;
const SINCE_ACTIVE: u8 = 8;
const TO_RENEWAL: u8 = 16;

/// The bytes of `snapshot`, numbering each event name with `number`.
pub fn encode(
    snapshot: &UsageSnapshot,
    mut number: impl FnMut(&str) -> Result<u64, StoreError>,
) -> Result<Vec<u8>, StoreError> {
    let s = snapshot;
    let mut out = Vec::with_capacity(16 + s.events.len() * 8 + s.signals.len() * 4);
    out.push(SAMPLE_FORMAT);
    let flag = |present: bool, bit: u8| if present { bit } else { 0 };
    out.push(
        flag(s.seats.is_some(), SEATS)
            | flag(s.mrr.is_some(), MRR)
            | flag(s.tenure_days.is_some(), TENURE)
            | flag(s.days_since_active.is_some(), SINCE_ACTIVE)
            | flag(s.days_to_renewal.is_some(), TO_RENEWAL),
    );
    for n in [s.active_users, s.active_days, s.lookback_days] {
        put_varint(&mut out, u64::from(n));
    }
    if let Some(seats) = s.seats {
        put_varint(&mut out, u64::from(seats));
    }
    if let Some(mrr) = s.mrr {
        out.extend_from_slice(&mrr.to_le_bytes());
    }
    for days in [s.tenure_days, s.days_since_active, s.days_to_renewal]
        .into_iter()
        .flatten()
    {
        put_varint(&mut out, ((days << 1) ^ (days >> 63)) as u64);
    }
    put_varint(&mut out, s.events.len() as u64);
    for (name, counts) in &s.events {
        put_varint(&mut out, number(name)?);
        for &c in counts {
            put_figure(&mut out, c);
        }
    }
    let signals: Vec<(Signal, f32)> = s
        .signals
        .iter()
        .map(|(name, &v)| {
            Signal::from_name(name)
                .map(|signal| (signal, v))
                .ok_or_else(|| StoreError::Rejected(format!("usage sample: signal {name:?}")))
        })
        .collect::<Result<_, _>>()?;
    put_varint(&mut out, signals.len() as u64);
    for (signal, v) in signals {
        out.push(signal.index() as u8);
        put_figure(&mut out, v);
    }
    Ok(out)
}

/// The snapshot of `bytes`, naming events with `name`.
pub fn decode(
    bytes: &[u8],
    mut name: impl FnMut(u64) -> Option<String>,
) -> Result<UsageSnapshot, StoreError> {
    let mut r = Reader::new(bytes, "decode usage sample");
    if r.u8()? != SAMPLE_FORMAT {
        return Err(corrupt("unknown format"));
    }
    let flags = r.u8()?;
    let mut small = || -> Result<u32, StoreError> {
        u32::try_from(r.varint()?).map_err(|_| corrupt("count out of range"))
    };
    let (active_users, active_days, lookback_days) = (small()?, small()?, small()?);
    let seats = (flags & SEATS != 0).then(&mut small).transpose()?;
    let mrr = (flags & MRR != 0)
        .then(|| Ok::<_, StoreError>(f64::from_le_bytes(r.array()?)))
        .transpose()?;
    let mut days = |bit: u8| -> Result<Option<i64>, StoreError> {
        if flags & bit == 0 {
            return Ok(None);
        }
        let z = r.varint()?;
        Ok(Some((z >> 1) as i64 ^ -((z & 1) as i64)))
    };
    let (tenure_days, days_since_active, days_to_renewal) =
        (days(TENURE)?, days(SINCE_ACTIVE)?, days(TO_RENEWAL)?);
    let mut events = BTreeMap::new();
    for _ in 0..r.varint()? {
        let number = r.varint()?;
        let event = name(number).ok_or_else(|| corrupt(&format!("event name {number}")))?;
        events.insert(event, [figure(&mut r)?, figure(&mut r)?, figure(&mut r)?]);
    }
    let mut signals = BTreeMap::new();
    for _ in 0..r.varint()? {
        let i = usize::from(r.u8()?);
        let signal = Signal::ALL
            .get(i)
            .filter(|_| i < SIGNAL_COUNT)
            .ok_or_else(|| corrupt("unknown signal"))?;
        signals.insert(signal.as_str().to_string(), figure(&mut r)?);
    }
    r.end()?;
    Ok(UsageSnapshot {
        events,
        active_users,
        active_days,
        lookback_days,
        seats,
        mrr,
        tenure_days,
        days_since_active,
        days_to_renewal,
        signals,
    })
}

/// A count or value: an integer or hundredths in a varint when that reads back exactly.
fn put_figure(out: &mut Vec<u8>, v: f32) {
    const LIMIT: f32 = (1u64 << 40) as f32;
    if (0.0..LIMIT).contains(&v) && v.fract() == 0.0 && v.is_sign_positive() {
        put_varint(out, (v as u64) << 2);
        return;
    }
    let hundredths = (f64::from(v) * 100.0).round();
    if (0.0..f64::from(LIMIT)).contains(&hundredths) && (hundredths / 100.0) as f32 == v {
        put_varint(out, (hundredths as u64) << 2 | 1);
        return;
    }
    put_varint(out, 2);
    out.extend_from_slice(&v.to_le_bytes());
}

fn figure(r: &mut Reader<'_>) -> Result<f32, StoreError> {
    let n = r.varint()?;
    match n & 3 {
        0 => Ok((n >> 2) as f32),
        1 => Ok(((n >> 2) as f64 / 100.0) as f32),
        2 if n == 2 => Ok(f32::from_le_bytes(r.array()?)),
        _ => Err(corrupt("unknown figure form")),
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("decode usage sample: {what}"))
}

#[cfg(test)]
#[path = "sample_tests.rs"]
mod tests;
