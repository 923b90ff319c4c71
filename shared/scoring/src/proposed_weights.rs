//! Scorecard weights learned from outcomes: a churn model fitted on the signal values says how
//! much each signal's value lowers the odds of churn; those protective effects, kept
//! non-negative, become the proposed weights, scaled to the same total as the current ones.
//!
//! A signal whose higher value does not lower churn (a zero or positive coefficient) gets no
//! weight; a signal that never had data in the samples keeps its current weight, since the
//! outcomes say nothing about it. When no signal is protective, the current weights stand.

use std::collections::BTreeMap;

use crate::churn::ChurnModel;
use crate::signals::Signal;

/// Proposed weights are rounded to this many decimals, as a person would write them.
const DECIMALS: i32 = 3;

fn round(v: f64) -> f64 {
    let f = 10f64.powi(DECIMALS);
    (v * f).round() / f
}

/// The model's protective effect of a signal: minus its log-odds weight per unit of 0-1 value,
/// `None` when the model never saw the signal.
fn protective_effect(model: &ChurnModel, signal: Signal) -> Option<f64> {
    let i = model.features.iter().position(|f| f == signal.as_str())?;
    model.weights.get(i).map(|w| -w)
}

/// Proposes new weights for the signals of `current` (signals absent from it stay unscored).
pub fn propose_weights(
    current: &BTreeMap<Signal, f64>,
    model: &ChurnModel,
) -> BTreeMap<Signal, f64> {
    let configured: Vec<(Signal, f64)> = current
        .iter()
        .filter(|(_, w)| w.is_finite() && **w > 0.0)
        .map(|(s, w)| (*s, *w))
        .collect();
    let total: f64 = configured.iter().map(|(_, w)| w).sum();
    let mut kept = 0.0;
    let mut effects: Vec<(Signal, f64)> = Vec::new();
    for &(signal, weight) in &configured {
        match protective_effect(model, signal) {
            Some(e) => effects.push((signal, e.max(0.0))),
            None => kept += weight,
        }
    }
    let strength: f64 = effects.iter().map(|(_, e)| e).sum();
    if strength <= 0.0 || !strength.is_finite() {
        return current.clone();
    }
    let share = total - kept;
    let mut out: BTreeMap<Signal, f64> = current.clone();
    for (signal, effect) in effects {
        out.insert(signal, round(share * effect / strength));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::churn::Features;

    fn model(pairs: &[(&str, f64)]) -> ChurnModel {
        let mut m = ChurnModel::fit(&[Features::new()], &[false], 1.0);
        m.features = pairs.iter().map(|(n, _)| n.to_string()).collect();
        m.weights = pairs.iter().map(|(_, w)| *w).collect();
        m.means = vec![0.5; pairs.len()];
        m.missing_weights = vec![0.0; pairs.len()];
        m
    }

    fn current() -> BTreeMap<Signal, f64> {
        [
            (Signal::UsageDepth, 0.5),
            (Signal::Breadth, 0.3),
            (Signal::Sentiment, 0.2),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn protective_signals_share_the_total_in_proportion() {
        // usage lowers churn 3x as much as breadth; sentiment raises it (no weight); the
        // total stays 1.0.
        let m = model(&[("usage_depth", -3.0), ("breadth", -1.0), ("sentiment", 0.5)]);
        let w = propose_weights(&current(), &m);
        assert_eq!(w[&Signal::UsageDepth], 0.75);
        assert_eq!(w[&Signal::Breadth], 0.25);
        assert_eq!(w[&Signal::Sentiment], 0.0);
    }

    #[test]
    fn signals_without_data_keep_their_weight() {
        let m = model(&[("usage_depth", -2.0), ("breadth", -2.0)]);
        let w = propose_weights(&current(), &m);
        assert_eq!(w[&Signal::Sentiment], 0.2);
        assert_eq!(w[&Signal::UsageDepth], 0.4);
        assert_eq!(w[&Signal::Breadth], 0.4);
    }

    #[test]
    fn no_protective_signal_keeps_the_current_weights() {
        let m = model(&[("usage_depth", 1.0), ("breadth", 0.0)]);
        assert_eq!(propose_weights(&current(), &m), current());
    }
}
