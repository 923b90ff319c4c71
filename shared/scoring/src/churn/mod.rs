//! Churn risk model: a penalised logistic regression on an account's named features (signal
//! values, usage counts, tenure...), giving a probability of churn within a horizon and the
//! contribution of each feature, or group of correlated features, to it.
//!
//! Features are named numbers ([`Features`]); a feature missing from a sample is replaced by its
//! training mean and, for features that were missing in training, a `{name}_missing` indicator
//! is set, so "no data" can carry risk of its own. Fitting standardises every column (so the
//! penalty treats a count and a 0-1 share alike) and solves an elastic net by coordinate
//! descent inside Newton steps ([`solver`]); [`ChurnModel::fit_time_ordered`] chooses the
//! penalty on later days than it fits on and calibrates the probabilities ([`select`]).
//! [`groups`] clusters correlated features so explanations stay readable. The stored model
//! keeps weights on the original scale, so records written before standardisation still
//! deserialise and predict the same.
//!
//! Everything is deterministic: the same samples always give the same model.

mod design;
mod fit;
pub mod groups;
pub mod select;
mod solver;

use crate::calibration::Platt;
use crate::HealthScore;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use groups::{
    correlated_groups, feature_moments, group_scores, FeatureGroup, DEFAULT_GROUP_THRESHOLD,
};
pub use select::{FitOptions, GridPoint, ModelSelection};

/// One sample: feature name → value. An absent name means "no data".
pub type Features = BTreeMap<String, f64>;

/// Suffix of the indicator feature set when a feature has no data.
pub const MISSING_SUFFIX: &str = "_missing";

/// The features of a health score: each signal's normalised value scaled to 0-1, absent when
/// the signal had no data.
pub fn features_of(health: &HealthScore) -> Features {
    health
        .signals
        .iter()
        .filter_map(|s| s.value.map(|v| (s.name.clone(), v / 100.0)))
        .collect()
}

/// A fitted model. Weights are per unit of each feature's own scale (what fitting on
/// standardised columns found, divided by the column's standard deviation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChurnModel {
    /// Base feature names, sorted.
    pub features: Vec<String>,
    /// Training mean of each base feature (over samples that had it), imputed when missing.
    pub means: Vec<f64>,
    /// Weight of each base feature (0 for a feature that did not vary in training).
    pub weights: Vec<f64>,
    /// Weight of each feature's missing indicator (0 for a feature never missing in training).
    pub missing_weights: Vec<f64>,
    pub intercept: f64,
    /// The ridge strength on the summed log-loss of standardised features: the argument of
    /// [`ChurnModel::fit`], or `λ·(1 − l1_ratio)·samples` for an elastic-net fit.
    pub l2: f64,
    /// Share of positive labels in training.
    pub base_rate: f64,
    pub samples: usize,
    /// Training standard deviation of each base feature (after mean imputation). Empty in
    /// models stored before standardisation.
    #[serde(default)]
    pub stds: Vec<f64>,
    /// Penalty strength λ on the mean log-loss of standardised features (0 in older models).
    #[serde(default)]
    pub lambda: f64,
    /// Share of the penalty that is L1 (1 = lasso, 0 = ridge).
    #[serde(default)]
    pub l1_ratio: f64,
    /// Platt scaling of the log-odds, when validation showed it helps.
    #[serde(default)]
    pub calibration: Option<Platt>,
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
    /// Fits a ridge model on samples and labels (`true` = churned within the horizon) with L2
    /// penalty `l2` on the summed log-loss, over standardised features, sparing the intercept.
    /// Extra labels or samples beyond the shorter of the two are ignored; with no samples the
    /// model predicts 0.5.
    pub fn fit(samples: &[Features], labels: &[bool], l2: f64) -> ChurnModel {
        let n = samples.len().min(labels.len());
        let l2 = if l2.is_finite() { l2.max(0.0) } else { 0.0 };
        let lambda = if n == 0 { 0.0 } else { l2 / n as f64 };
        let mut model = fit::fit_at(&samples[..n], &labels[..n], lambda, 0.0);
        model.l2 = l2;
        model
    }

    /// Fits an elastic net at penalty `lambda` (on the mean log-loss of standardised features)
    /// and `l1_ratio` (1 = lasso, 0 = ridge), reaching `lambda` along a path of warm starts.
    pub fn fit_elastic_net(
        samples: &[Features],
        labels: &[bool],
        lambda: f64,
        l1_ratio: f64,
    ) -> ChurnModel {
        let n = samples.len().min(labels.len());
        fit::fit_at(&samples[..n], &labels[..n], lambda, l1_ratio)
    }

    /// The log-odds of churn before calibration: intercept plus each feature's weight times its
    /// value (the training mean when missing) plus the missing indicators' weights.
    pub fn linear(&self, features: &Features) -> f64 {
        let mut z = self.intercept;
        for (i, name) in self.features.iter().enumerate() {
            let w = self.weights.get(i).copied().unwrap_or(0.0);
            match features.get(name) {
                Some(&v) if v.is_finite() => z += w * v,
                _ => {
                    z += w * self.means.get(i).copied().unwrap_or(0.0)
                        + self.missing_weights.get(i).copied().unwrap_or(0.0);
                }
            }
        }
        z
    }

    /// Probability of churn within the horizon the model was trained on, in (0, 1), with the
    /// model's calibration applied.
    pub fn predict(&self, features: &Features) -> f64 {
        let z = self.linear(features);
        let z = match &self.calibration {
            Some(platt) => platt.slope * z + platt.intercept,
            None => z,
        };
        sigmoid(z).clamp(1e-9, 1.0 - 1e-9)
    }

    /// Each feature's push on the log-odds of churn against an account at the training means
    /// (positive = more risk), largest magnitude first. Missing features are reported under
    /// `{name}_missing`.
    pub fn contributions(&self, features: &Features) -> Vec<(String, f64)> {
        let mut out: Vec<(String, f64)> = self
            .each_contribution(features)
            .map(|(i, missing, c)| {
                let name = &self.features[i];
                let name = if missing {
                    format!("{name}{MISSING_SUFFIX}")
                } else {
                    name.clone()
                };
                (name, c)
            })
            .collect();
        sort_by_magnitude(&mut out);
        out
    }

    /// [`ChurnModel::contributions`] summed by group: a grouped feature (its value or its
    /// missing indicator) adds to its group's name; other features are reported as in
    /// `contributions`. Largest magnitude first. A feature listed in several groups counts in
    /// the first.
    pub fn contributions_by_group(
        &self,
        features: &Features,
        groups: &[FeatureGroup],
    ) -> Vec<(String, f64)> {
        let mut group_of: BTreeMap<&str, &str> = BTreeMap::new();
        for g in groups {
            for f in &g.features {
                group_of.entry(f.as_str()).or_insert(g.name.as_str());
            }
        }
        let mut sums: BTreeMap<String, f64> = BTreeMap::new();
        for (i, missing, c) in self.each_contribution(features) {
            let name = &self.features[i];
            let key = match (group_of.get(name.as_str()), missing) {
                (Some(g), _) => (*g).to_string(),
                (None, true) => format!("{name}{MISSING_SUFFIX}"),
                (None, false) => name.clone(),
            };
            *sums.entry(key).or_insert(0.0) += c;
        }
        let mut out: Vec<(String, f64)> = sums.into_iter().collect();
        sort_by_magnitude(&mut out);
        out
    }

    /// (feature index, reported as missing, contribution) for every feature of the model.
    fn each_contribution<'a>(
        &'a self,
        features: &'a Features,
    ) -> impl Iterator<Item = (usize, bool, f64)> + 'a {
        self.features.iter().enumerate().map(move |(i, name)| {
            let w = self.weights.get(i).copied().unwrap_or(0.0);
            let mean = self.means.get(i).copied().unwrap_or(0.0);
            match features.get(name) {
                Some(&v) if v.is_finite() => (i, false, w * (v - mean)),
                _ => (i, true, self.missing_weights.get(i).copied().unwrap_or(0.0)),
            }
        })
    }

    /// Each feature's weight per standard deviation (comparable across features), for models
    /// that store standard deviations; by magnitude, largest first.
    pub fn standardised_weights(&self) -> Vec<(String, f64)> {
        let mut out: Vec<(String, f64)> = self
            .features
            .iter()
            .zip(&self.weights)
            .zip(&self.stds)
            .map(|((n, w), s)| (n.clone(), w * s))
            .collect();
        sort_by_magnitude(&mut out);
        out
    }
}

fn sort_by_magnitude(items: &mut [(String, f64)]) {
    items.sort_by(|a, b| {
        b.1.abs()
            .partial_cmp(&a.1.abs())
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
}

#[cfg(test)]
mod tests;
