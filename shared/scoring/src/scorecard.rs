//! Chooses an account's scorecard and turns its normalised signals into one weighted score,
//! redistributing the weight of missing signals and saying how much of the weight had data.

use crate::config::{Bands, Scorecard, ScoringConfig};
use crate::facts::{AccountFacts, LifecycleStage};
use crate::signals::{Signal, SIGNAL_COUNT};
use crate::{Band, HealthScore, SignalScore};

/// The score given when no configured signal has data (with confidence 0): the middle.
pub const NO_DATA_SCORE: f64 = 50.0;

/// The index of the first scorecard whose `when` matches; the last one when none does (a
/// validated configuration ends with a catch-all). `None` only without scorecards.
pub fn choose_scorecard(
    config: &ScoringConfig,
    facts: &AccountFacts,
    stage: LifecycleStage,
) -> Option<usize> {
    config
        .scorecards
        .iter()
        .position(|c| c.when.matches(facts, stage))
        .or_else(|| config.scorecards.len().checked_sub(1))
}

/// The band a score falls in.
pub fn band(score: f64, bands: &Bands) -> Band {
    if score < bands.at_risk_below {
        Band::AtRisk
    } else if score > bands.healthy_above {
        Band::Healthy
    } else {
        Band::Monitor
    }
}

/// Rounds to one decimal, as scores are reported.
pub fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// A weighted score as numbers only (no names, no allocation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weighted {
    /// 0-100, one decimal.
    pub score: f64,
    pub band: Band,
    /// Share of the configured weight whose signal had data (0-1).
    pub confidence: f64,
    /// Effective weight per signal after redistribution (0 when missing or not configured).
    pub weights: [f64; SIGNAL_COUNT],
    /// Whether the scorecard configures the signal (weight above 0).
    pub configured: [bool; SIGNAL_COUNT],
}

/// A scorecard's weights by signal index, read out of its configuration once so weighing an
/// account is arithmetic on arrays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CardWeights {
    /// The configured weight (0 when not configured).
    raw: [f64; SIGNAL_COUNT],
    configured: [bool; SIGNAL_COUNT],
    /// Sum of the configured weights.
    total: f64,
}

impl CardWeights {
    /// The weights of `card`; without a card nothing is configured.
    pub fn of(card: Option<&Scorecard>) -> CardWeights {
        let mut w = CardWeights {
            raw: [0.0; SIGNAL_COUNT],
            configured: [false; SIGNAL_COUNT],
            total: 0.0,
        };
        // Signal order, as every sum below adds them, so results are bit-for-bit stable.
        for (signal, &weight) in card.iter().flat_map(|c| c.weights.iter()) {
            if weight.is_finite() && weight > 0.0 {
                let i = signal.index();
                w.configured[i] = true;
                w.raw[i] = weight;
                w.total += weight;
            }
        }
        w
    }

    /// Weighs normalised values (0-100, `None` when missing). A missing signal's weight goes
    /// to the present ones in proportion to theirs; `confidence` is the share of the
    /// configured weight that was present.
    pub fn weigh(&self, values: &[Option<f64>; SIGNAL_COUNT], bands: &Bands) -> Weighted {
        let signals = || self.raw.iter().zip(&self.configured).zip(values);
        let mut present = 0.0;
        for ((&raw, &configured), value) in signals() {
            if configured && value.is_some() {
                present += raw;
            }
        }
        let mut weights = [0.0; SIGNAL_COUNT];
        let mut sum = 0.0;
        if present > 0.0 {
            for (weight, ((&raw, &configured), value)) in weights.iter_mut().zip(signals()) {
                if let (true, Some(v)) = (configured, value) {
                    *weight = raw / present;
                    sum += v * *weight;
                }
            }
        }
        let score = if present > 0.0 {
            round1(sum.clamp(0.0, 100.0))
        } else {
            NO_DATA_SCORE
        };
        Weighted {
            score,
            band: band(score, bands),
            confidence: if self.total > 0.0 {
                present / self.total
            } else {
                0.0
            },
            weights,
            configured: self.configured,
        }
    }
}

/// Weighs normalised values by the scorecard: [`CardWeights::weigh`].
pub fn weigh_values(
    card: Option<&Scorecard>,
    values: &[Option<f64>; SIGNAL_COUNT],
    bands: &Bands,
) -> Weighted {
    CardWeights::of(card).weigh(values, bands)
}

/// Weighs like [`weigh_values`] and explains each configured signal: raw value, normalised
/// value, effective weight and points.
pub fn weigh(
    card: Option<&Scorecard>,
    raw: &[Option<f64>; SIGNAL_COUNT],
    values: &[Option<f64>; SIGNAL_COUNT],
    bands: &Bands,
) -> HealthScore {
    explain_weighted(card, raw, values, &weigh_values(card, values, bands))
}

/// The [`HealthScore`] of an already weighted account.
pub fn explain_weighted(
    card: Option<&Scorecard>,
    raw: &[Option<f64>; SIGNAL_COUNT],
    values: &[Option<f64>; SIGNAL_COUNT],
    w: &Weighted,
) -> HealthScore {
    let count = w.configured.iter().filter(|c| **c).count();
    let mut signals = Vec::with_capacity(count);
    for signal in Signal::ALL {
        let i = signal.index();
        if w.configured[i] {
            signals.push(SignalScore {
                name: signal.as_str().to_string(),
                raw: raw[i],
                value: values[i],
                weight: w.weights[i],
                points: values[i].unwrap_or(0.0) * w.weights[i],
            });
        }
    }
    HealthScore {
        score: w.score,
        band: w.band,
        confidence: w.confidence,
        scorecard: card.map(|c| c.name.clone()).unwrap_or_default(),
        signals,
    }
}

#[cfg(test)]
mod tests;
