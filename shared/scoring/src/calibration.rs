//! Probability calibration: whether a churn model's probabilities match the churn rates that
//! followed (reliability bins, expected calibration error), and Platt scaling to correct them
//! when they do not. A penalised logistic model fitted on pooled, time-shifted samples is often
//! overconfident or off in its base rate; a two-parameter map on the log-odds fixes both.

use serde::{Deserialize, Serialize};

use crate::churn::sigmoid;

const MAX_ITERATIONS: usize = 50;
const TOLERANCE: f64 = 1e-10;
/// Probabilities are kept this far from 0 and 1 before taking log-odds.
const EPS: f64 = 1e-9;

fn logit(p: f64) -> f64 {
    let p = p.clamp(EPS, 1.0 - EPS);
    (p / (1.0 - p)).ln()
}

/// Platt scaling: `p' = sigmoid(slope * logit(p) + intercept)`. The identity is slope 1,
/// intercept 0; a slope below 1 tempers an overconfident model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Platt {
    pub slope: f64,
    pub intercept: f64,
}

impl Platt {
    pub const IDENTITY: Platt = Platt {
        slope: 1.0,
        intercept: 0.0,
    };

    /// Fits the map on held-out probabilities and outcomes by maximum likelihood, with Platt's
    /// smoothed targets (`(P + 1) / (P + 2)` and `1 / (N + 2)`) so a small hold-out cannot push
    /// probabilities to 0 or 1. `None` without both outcomes.
    pub fn fit(probabilities: &[f64], labels: &[bool]) -> Option<Platt> {
        if probabilities.len() != labels.len() {
            return None;
        }
        let positives = labels.iter().filter(|&&l| l).count();
        let negatives = labels.len() - positives;
        if positives == 0 || negatives == 0 {
            return None;
        }
        let hi = (positives as f64 + 1.0) / (positives as f64 + 2.0);
        let lo = 1.0 / (negatives as f64 + 2.0);
        let zs: Vec<f64> = probabilities.iter().map(|&p| logit(p)).collect();
        let ys: Vec<f64> = labels.iter().map(|&l| if l { hi } else { lo }).collect();
        let (mut a, mut b) = (1.0, 0.0);
        for _ in 0..MAX_ITERATIONS {
            // Gradient and Hessian of the negative log-likelihood in (a, b).
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for (&z, &y) in zs.iter().zip(&ys) {
                let p = sigmoid(a * z + b);
                let w = (p * (1.0 - p)).max(1e-12);
                ga += (p - y) * z;
                gb += p - y;
                haa += w * z * z;
                hab += w * z;
                hbb += w;
            }
            // A tiny ridge keeps the 2x2 system solvable when every z is equal.
            haa += 1e-9;
            hbb += 1e-9;
            let det = haa * hbb - hab * hab;
            if !det.is_finite() || det.abs() < 1e-300 {
                break;
            }
            let da = (hbb * ga - hab * gb) / det;
            let db = (haa * gb - hab * ga) / det;
            a -= da;
            b -= db;
            if da.abs().max(db.abs()) < TOLERANCE {
                break;
            }
        }
        (a.is_finite() && b.is_finite()).then_some(Platt {
            slope: a,
            intercept: b,
        })
    }

    pub fn apply(&self, probability: f64) -> f64 {
        sigmoid(self.slope * logit(probability) + self.intercept).clamp(EPS, 1.0 - EPS)
    }
}

/// One bin of a reliability diagram: predictions in `[lower, upper)` (the last bin includes 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    pub lower: f64,
    pub upper: f64,
    pub samples: usize,
    /// Mean predicted probability in the bin.
    pub predicted: f64,
    /// Share of the bin's samples whose outcome happened.
    pub observed: f64,
}

/// Predictions grouped into `bins` equal-width bins; empty bins are left out.
pub fn reliability(probabilities: &[f64], labels: &[bool], bins: usize) -> Vec<ReliabilityBin> {
    let bins = bins.max(1);
    let mut sums = vec![(0usize, 0.0f64, 0usize); bins];
    for (&p, &l) in probabilities.iter().zip(labels) {
        if !p.is_finite() {
            continue;
        }
        let i = ((p.clamp(0.0, 1.0) * bins as f64) as usize).min(bins - 1);
        sums[i].0 += 1;
        sums[i].1 += p;
        sums[i].2 += usize::from(l);
    }
    sums.iter()
        .enumerate()
        .filter(|(_, s)| s.0 > 0)
        .map(|(i, &(n, p, y))| ReliabilityBin {
            lower: i as f64 / bins as f64,
            upper: (i + 1) as f64 / bins as f64,
            samples: n,
            predicted: p / n as f64,
            observed: y as f64 / n as f64,
        })
        .collect()
}

/// Expected calibration error: the sample-weighted mean gap between predicted and observed
/// rates over the reliability bins (0 = perfectly calibrated). `None` without samples.
pub fn expected_calibration_error(
    probabilities: &[f64],
    labels: &[bool],
    bins: usize,
) -> Option<f64> {
    let table = reliability(probabilities, labels, bins);
    let total: usize = table.iter().map(|b| b.samples).sum();
    if total == 0 {
        return None;
    }
    Some(
        table
            .iter()
            .map(|b| b.samples as f64 * (b.predicted - b.observed).abs())
            .sum::<f64>()
            / total as f64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::brier;

    /// Outcomes that happen at a true rate of `sigmoid(z)` (deterministic: every 20th sample
    /// of a bucket), predicted by a model that is twice as confident as it should be.
    fn overconfident() -> (Vec<f64>, Vec<bool>) {
        let mut ps = Vec::new();
        let mut ys = Vec::new();
        for bucket in 0..9 {
            let z = -2.0 + bucket as f64 * 0.5;
            let rate = sigmoid(z);
            let n = 200;
            let hits = (rate * n as f64).round() as usize;
            for k in 0..n {
                ps.push(sigmoid(2.0 * z));
                ys.push(k < hits);
            }
        }
        (ps, ys)
    }

    #[test]
    fn platt_tempers_an_overconfident_model() {
        let (ps, ys) = overconfident();
        let platt = Platt::fit(&ps, &ys).expect("fit");
        assert!((platt.slope - 0.5).abs() < 0.05, "{platt:?}");
        assert!(platt.intercept.abs() < 0.05, "{platt:?}");
        let calibrated: Vec<f64> = ps.iter().map(|&p| platt.apply(p)).collect();
        assert!(brier(&calibrated, &ys) < brier(&ps, &ys));
        let before = expected_calibration_error(&ps, &ys, 10).expect("ece");
        let after = expected_calibration_error(&calibrated, &ys, 10).expect("ece");
        assert!(after < before / 3.0, "{before} -> {after}");
    }

    #[test]
    fn platt_needs_both_outcomes() {
        assert_eq!(Platt::fit(&[0.2, 0.3], &[false, false]), None);
        assert_eq!(Platt::fit(&[0.2], &[true, false]), None);
        assert!((Platt::IDENTITY.apply(0.3) - 0.3).abs() < 1e-9);
    }

    #[test]
    fn reliability_bins_hand_computed() {
        let ps = [0.05, 0.15, 0.12, 0.95];
        let ys = [false, true, false, true];
        let bins = reliability(&ps, &ys, 10);
        assert_eq!(bins.len(), 3);
        assert_eq!(bins[1].samples, 2);
        assert!((bins[1].predicted - 0.135).abs() < 1e-12);
        assert!((bins[1].observed - 0.5).abs() < 1e-12);
        // (1 * 0.05 + 2 * 0.365 + 1 * 0.05) / 4
        let ece = expected_calibration_error(&ps, &ys, 10).expect("ece");
        assert!((ece - 0.2075).abs() < 1e-12, "{ece}");
        assert_eq!(expected_calibration_error(&[], &[], 10), None);
    }
}
