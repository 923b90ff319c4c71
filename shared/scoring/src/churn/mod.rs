//! Churn risk model: L2-regularised logistic regression on an account's signal values, giving a
//! probability of churn within a horizon and the contribution of each feature to it.
//!
//! Features are named numbers ([`Features`]); a feature missing from a sample is replaced by its
//! training mean and a `{name}_missing` indicator is set, so "no data" can carry risk of its
//! own. Fitting is Newton's method (IRLS) from zero with a fixed iteration budget: the same
//! samples always give the same model.

use crate::HealthScore;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One sample: feature name → value. An absent name means "no data".
pub type Features = BTreeMap<String, f64>;

/// Suffix of the indicator feature set when a feature has no data.
pub const MISSING_SUFFIX: &str = "_missing";

const MAX_ITERATIONS: usize = 50;
const TOLERANCE: f64 = 1e-9;

/// The features of a health score: each signal's normalised value scaled to 0-1, absent when
/// the signal had no data.
pub fn features_of(health: &HealthScore) -> Features {
    health
        .signals
        .iter()
        .filter_map(|s| s.value.map(|v| (s.name.clone(), v / 100.0)))
        .collect()
}

/// A fitted model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChurnModel {
    /// Base feature names, sorted.
    pub features: Vec<String>,
    /// Training mean of each base feature (over samples that had it), imputed when missing.
    pub means: Vec<f64>,
    /// Weight of each base feature.
    pub weights: Vec<f64>,
    /// Weight of each feature's missing indicator.
    pub missing_weights: Vec<f64>,
    pub intercept: f64,
    pub l2: f64,
    /// Share of positive labels in training.
    pub base_rate: f64,
    pub samples: usize,
}

/// The logistic function, computed without overflow for large `|z|`.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

impl ChurnModel {
    /// Fits the model on samples and labels (`true` = churned within the horizon) with L2
    /// penalty `l2` on every weight but the intercept. Extra labels or samples beyond the
    /// shorter of the two are ignored; with no samples the model predicts 0.5.
    pub fn fit(samples: &[Features], labels: &[bool], l2: f64) -> ChurnModel {
        let n = samples.len().min(labels.len());
        let samples = &samples[..n];
        let labels = &labels[..n];
        let names: Vec<String> = samples
            .iter()
            .flat_map(|s| s.keys().cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let means: Vec<f64> = names
            .iter()
            .map(|name| {
                let vals: Vec<f64> = samples
                    .iter()
                    .filter_map(|s| s.get(name))
                    .copied()
                    .collect();
                if vals.is_empty() {
                    0.0
                } else {
                    vals.iter().sum::<f64>() / vals.len() as f64
                }
            })
            .collect();
        let positives = labels.iter().filter(|&&l| l).count();
        let mut model = ChurnModel {
            features: names,
            means,
            weights: Vec::new(),
            missing_weights: Vec::new(),
            intercept: 0.0,
            l2: l2.max(0.0),
            base_rate: if n == 0 {
                0.5
            } else {
                positives as f64 / n as f64
            },
            samples: n,
        };
        let k = model.features.len();
        // Design: [1, x_1..x_k, m_1..m_k].
        let dim = 1 + 2 * k;
        let rows: Vec<Vec<f64>> = samples.iter().map(|s| model.design(s)).collect();
        let ys: Vec<f64> = labels.iter().map(|&l| if l { 1.0 } else { 0.0 }).collect();
        let mut beta = vec![0.0; dim];
        for _ in 0..MAX_ITERATIONS {
            let mut grad = vec![0.0; dim];
            let mut hess = vec![vec![0.0; dim]; dim];
            for (x, y) in rows.iter().zip(&ys) {
                let p = sigmoid(dot(&beta, x));
                let w = (p * (1.0 - p)).max(1e-12);
                for i in 0..dim {
                    grad[i] += (p - y) * x[i];
                    if x[i] != 0.0 {
                        for j in 0..dim {
                            hess[i][j] += w * x[i] * x[j];
                        }
                    }
                }
            }
            for i in 1..dim {
                grad[i] += model.l2 * beta[i];
                hess[i][i] += model.l2;
            }
            // A tiny ridge keeps the system solvable (e.g. a constant indicator column).
            for (i, row) in hess.iter_mut().enumerate() {
                row[i] += 1e-9;
            }
            let Some(step) = solve(hess, grad) else {
                break;
            };
            let mut change = 0.0f64;
            for (b, s) in beta.iter_mut().zip(&step) {
                *b -= s;
                change = change.max(s.abs());
            }
            if change < TOLERANCE {
                break;
            }
        }
        model.intercept = beta[0];
        model.weights = beta[1..=k].to_vec();
        model.missing_weights = beta[1 + k..].to_vec();
        model
    }

    /// The design row of a sample: intercept, values (mean-imputed), missing indicators.
    fn design(&self, sample: &Features) -> Vec<f64> {
        let k = self.features.len();
        let mut x = vec![0.0; 1 + 2 * k];
        x[0] = 1.0;
        for (i, name) in self.features.iter().enumerate() {
            match sample.get(name) {
                Some(&v) if v.is_finite() => x[1 + i] = v,
                _ => {
                    x[1 + i] = self.means[i];
                    x[1 + k + i] = 1.0;
                }
            }
        }
        x
    }

    /// Probability of churn within the horizon the model was trained on, in (0, 1).
    pub fn predict(&self, features: &Features) -> f64 {
        let logit = self.intercept
            + self
                .contributions(features)
                .iter()
                .map(|(_, c)| c)
                .sum::<f64>()
            + self.centre_offset();
        sigmoid(logit).clamp(1e-9, 1.0 - 1e-9)
    }

    /// What a sample at the training means contributes to the logit (added back in `predict`
    /// because contributions are centred on the means).
    fn centre_offset(&self) -> f64 {
        self.weights
            .iter()
            .zip(&self.means)
            .map(|(w, m)| w * m)
            .sum()
    }

    /// Each feature's push on the log-odds of churn against an account at the training means
    /// (positive = more risk), largest magnitude first. Missing features are reported under
    /// `{name}_missing`.
    pub fn contributions(&self, features: &Features) -> Vec<(String, f64)> {
        let mut out: Vec<(String, f64)> = Vec::with_capacity(self.features.len());
        for (i, name) in self.features.iter().enumerate() {
            let w = self.weights.get(i).copied().unwrap_or(0.0);
            let mw = self.missing_weights.get(i).copied().unwrap_or(0.0);
            match features.get(name) {
                Some(&v) if v.is_finite() => out.push((name.clone(), w * (v - self.means[i]))),
                _ => out.push((format!("{name}{MISSING_SUFFIX}"), mw)),
            }
        }
        out.sort_by(|a, b| {
            b.1.abs()
                .partial_cmp(&a.1.abs())
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| a.0.cmp(&b.0))
        });
        out
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting; `None` when singular.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| {
            a[i][col]
                .abs()
                .partial_cmp(&a[j][col].abs())
                .unwrap_or(std::cmp::Ordering::Equal)
        })?;
        if a[pivot][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..n {
            let f = a[row][col] / a[col][col];
            if f != 0.0 {
                let (top, bottom) = a.split_at_mut(row);
                for (x, p) in bottom[0][col..].iter_mut().zip(&top[col][col..]) {
                    *x -= f * p;
                }
                b[row] -= f * b[col];
            }
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(pairs: &[(&str, f64)]) -> Features {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    /// Low usage churns, high usage stays; `noise` carries nothing.
    fn data() -> (Vec<Features>, Vec<bool>) {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for i in 0..40 {
            let usage = i as f64 / 40.0;
            let noise = ((i * 7) % 10) as f64 / 10.0;
            xs.push(sample(&[("usage", usage), ("noise", noise)]));
            ys.push(usage < 0.3);
        }
        (xs, ys)
    }

    #[test]
    fn separable_data_learns_the_right_sign() {
        let (xs, ys) = data();
        let m = ChurnModel::fit(&xs, &ys, 1.0);
        let usage = m.features.iter().position(|f| f == "usage").expect("usage");
        assert!(m.weights[usage] < 0.0, "{m:?}");
        let low = m.predict(&sample(&[("usage", 0.05), ("noise", 0.5)]));
        let high = m.predict(&sample(&[("usage", 0.95), ("noise", 0.5)]));
        assert!(low > 0.5 && high < 0.5, "{low} {high}");
        let c = m.contributions(&sample(&[("usage", 0.05), ("noise", 0.5)]));
        assert_eq!(c[0].0, "usage");
        assert!(c[0].1 > 0.0);
    }

    #[test]
    fn predictions_stay_in_the_open_interval() {
        let (xs, ys) = data();
        let m = ChurnModel::fit(&xs, &ys, 1e-6);
        for x in &xs {
            let p = m.predict(x);
            assert!(p > 0.0 && p < 1.0, "{p}");
        }
        let p = m.predict(&Features::new());
        assert!(p > 0.0 && p < 1.0);
        assert!((ChurnModel::fit(&[], &[], 1.0).predict(&Features::new()) - 0.5).abs() < 1e-9);
    }

    #[test]
    fn missing_values_use_the_mean_and_an_indicator() {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for i in 0..30 {
            // Accounts without usage data churn.
            if i % 3 == 0 {
                xs.push(Features::new());
                ys.push(true);
            } else {
                xs.push(sample(&[("usage", 0.5 + (i % 5) as f64 / 10.0)]));
                ys.push(false);
            }
        }
        let m = ChurnModel::fit(&xs, &ys, 0.1);
        assert!(m.missing_weights[0] > 0.0);
        assert!(m.predict(&Features::new()) > m.predict(&sample(&[("usage", 0.7)])));
        let c = m.contributions(&Features::new());
        assert_eq!(c[0].0, "usage_missing");
    }

    #[test]
    fn fitting_is_deterministic_and_serialisable() {
        let (xs, ys) = data();
        let a = ChurnModel::fit(&xs, &ys, 0.5);
        let b = ChurnModel::fit(&xs, &ys, 0.5);
        assert_eq!(a, b);
        let json = serde_json::to_string(&a).expect("serialise");
        let back: ChurnModel = serde_json::from_str(&json).expect("deserialise");
        let x = sample(&[("usage", 0.2), ("noise", 0.1)]);
        assert!((back.predict(&x) - a.predict(&x)).abs() < 1e-12);
    }

    #[test]
    fn calibrated_on_a_constant_feature_to_the_base_rate() {
        let xs = vec![sample(&[("usage", 0.5)]); 20];
        let ys: Vec<bool> = (0..20).map(|i| i < 5).collect();
        let m = ChurnModel::fit(&xs, &ys, 1.0);
        assert!(
            (m.predict(&xs[0]) - 0.25).abs() < 1e-3,
            "{}",
            m.predict(&xs[0])
        );
    }
}
