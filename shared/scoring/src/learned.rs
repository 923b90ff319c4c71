//! A scorecard learned from the accounts that churned (seed 004): its signals are groups of
//! correlated usage features ("Report Built per active user and 3 related"), each weighed by
//! how much it moved churn in the past, so the 0-100 score ranks accounts the way churn did and
//! still explains itself in a few lines ("Comment Added per active user: 12th percentile, −14
//! points").
//!
//! A group's value is the mean of its members' standardised values (members are positively
//! correlated, so they move together); the log-odds of churn are `intercept + Σ weight · value`;
//! the score is `BASE − points_per_logit · (log-odds − the training median)`, clamped to
//! 0-100, so the median training account scores [`BASE`] and each group's points are
//! `−points_per_logit · weight · value`. `vitals calibrate` fits it ([`LearnedScorecard::fit`])
//! and stores it in the configuration; the daily run then scores every account with it.

use crate::churn::{feature_moments, ChurnModel, Features, FitOptions, ModelSelection};
use crate::config::Bands;
use crate::usage_features::{self, UsageSnapshot};
use crate::{HealthScore, SignalScore};
use serde::{Deserialize, Serialize};

/// The score of the median training account.
pub const BASE: f64 = 65.0;
/// Points between the median account and the riskiest 15 % (the at-risk band's edge by
/// default: 65 − 25 = 40).
const SPREAD_POINTS: f64 = 25.0;
/// Training quantiles kept per group, for "12th percentile".
const QUANTILES: usize = 21;
/// The name [`HealthScore::scorecard`] carries for a learned score.
pub const SCORECARD_NAME: &str = "learned";

/// One signal of a learned scorecard: correlated features scored together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedGroup {
    /// In words, for explanations.
    pub name: String,
    pub features: Vec<String>,
    /// Training mean and standard deviation of each member.
    pub means: Vec<f64>,
    pub stds: Vec<f64>,
    /// Log-odds of churn per unit of the group's value (negative: more of it, less churn).
    pub weight: f64,
    /// The group value's training quantiles at 0 %, 5 %, ... 100 %.
    pub quantiles: Vec<f64>,
}

impl LearnedGroup {
    fn value(&self, features: &Features) -> f64 {
        let mut sum = 0.0;
        for ((name, mean), std) in self.features.iter().zip(&self.means).zip(&self.stds) {
            if let Some(v) = features.get(name).filter(|v| v.is_finite()) {
                if *std > 0.0 {
                    sum += (v - mean) / std;
                }
            }
        }
        if self.features.is_empty() {
            0.0
        } else {
            sum / self.features.len() as f64
        }
    }

    /// Where `value` falls among the training accounts, 0-100.
    fn percentile(&self, value: f64) -> f64 {
        let q = &self.quantiles;
        if q.len() < 2 {
            return 50.0;
        }
        let step = 100.0 / (q.len() - 1) as f64;
        let below = q.partition_point(|x| *x < value);
        if below == 0 {
            return 0.0;
        }
        if below >= q.len() {
            return 100.0;
        }
        let (lo, hi) = (q[below - 1], q[below]);
        let within = if hi > lo {
            (value - lo) / (hi - lo)
        } else {
            0.5
        };
        ((below - 1) as f64 + within) * step
    }
}

/// A scorecard learned from outcomes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnedScorecard {
    /// The event types whose usage features the groups use.
    pub vocabulary: Vec<String>,
    pub groups: Vec<LearnedGroup>,
    pub intercept: f64,
    /// The training median of the log-odds: the score [`BASE`].
    pub centre: f64,
    pub points_per_logit: f64,
    /// The churn horizon it was fitted for, in days.
    pub horizon_days: u32,
}

impl LearnedScorecard {
    /// Fits the scorecard on training samples (usage features and health signals, see
    /// [`usage_features::features`]) and labels (churned within the horizon), with `groups`
    /// of feature names (correlated features together). `order` is each sample's evaluation
    /// day: the penalty is chosen on the later days, as for the churn model
    /// ([`ChurnModel::fit_time_ordered`]), so a scorecard fitted on few churns keeps only the
    /// groups that predicted churn on days it was not fitted on. Groups whose weight the
    /// penalty zeroes are left out; `None` when none is left.
    pub fn fit(
        samples: &[Features],
        labels: &[bool],
        order: &[u32],
        groups: &[(String, Vec<String>)],
        vocabulary: Vec<String>,
        horizon_days: u32,
        options: &FitOptions,
    ) -> (Option<LearnedScorecard>, ModelSelection) {
        let names: Vec<String> = groups.iter().flat_map(|(_, f)| f.clone()).collect();
        let (means, stds) = feature_moments(samples, &names);
        let mut learned: Vec<LearnedGroup> = groups
            .iter()
            .map(|(name, features)| LearnedGroup {
                name: name.clone(),
                features: features.clone(),
                means: features
                    .iter()
                    .map(|f| means.get(f).copied().unwrap_or(0.0))
                    .collect(),
                stds: features
                    .iter()
                    .map(|f| stds.get(f).copied().unwrap_or(0.0))
                    .collect(),
                weight: 0.0,
                quantiles: Vec::new(),
            })
            .collect();
        let values: Vec<Vec<f64>> = samples
            .iter()
            .map(|s| learned.iter().map(|g| g.value(s)).collect())
            .collect();
        let key = |i: usize| format!("g{i:03}");
        let rows: Vec<Features> = values
            .iter()
            .map(|v| v.iter().enumerate().map(|(i, x)| (key(i), *x)).collect())
            .collect();
        let (model, selection) = ChurnModel::fit_time_ordered(&rows, labels, order, options);
        // The model's log-odds are linear in each group's value: read each slope and the
        // intercept off it, whatever its internal scaling. Its probability calibration is
        // monotone, so the ranking (all a score needs) does not use it.
        let zero: Features = (0..learned.len()).map(|i| (key(i), 0.0)).collect();
        let intercept = model.linear(&zero);
        for (i, g) in learned.iter_mut().enumerate() {
            let mut one = zero.clone();
            one.insert(key(i), 1.0);
            g.weight = model.linear(&one) - intercept;
            let mut column: Vec<f64> = values.iter().map(|v| v[i]).collect();
            column.sort_by(f64::total_cmp);
            g.quantiles = (0..QUANTILES)
                .map(|q| quantile(&column, q as f64 / (QUANTILES - 1) as f64))
                .collect();
        }
        learned.retain(|g| g.weight != 0.0 && g.weight.is_finite());
        if learned.is_empty() {
            return (None, selection);
        }
        let mut scorecard = LearnedScorecard {
            vocabulary,
            groups: learned,
            intercept,
            centre: 0.0,
            points_per_logit: 1.0,
            horizon_days,
        };
        let mut logits: Vec<f64> = samples.iter().map(|s| scorecard.log_odds(s)).collect();
        logits.sort_by(f64::total_cmp);
        let centre = quantile(&logits, 0.5);
        let spread = quantile(&logits, 0.85) - centre;
        scorecard.centre = centre;
        scorecard.points_per_logit = if spread > 1e-9 {
            SPREAD_POINTS / spread
        } else {
            10.0
        };
        (Some(scorecard), selection)
    }

    /// Log-odds of churn within the horizon.
    pub fn log_odds(&self, features: &Features) -> f64 {
        self.intercept
            + self
                .groups
                .iter()
                .map(|g| g.weight * g.value(features))
                .sum::<f64>()
    }

    /// The explained score of an account from its usage snapshot (usage and health signals).
    pub fn score(&self, snapshot: &UsageSnapshot, bands: &Bands) -> HealthScore {
        let features = usage_features::features(snapshot, &self.vocabulary);
        self.score_features(&features, bands)
    }

    /// [`LearnedScorecard::score`] from features already made.
    pub fn score_features(&self, features: &Features, bands: &Bands) -> HealthScore {
        let k = self.points_per_logit;
        let base = BASE - k * (self.intercept - self.centre);
        let total_weight: f64 = self
            .groups
            .iter()
            .map(|g| g.weight.abs() * spread_of(g))
            .sum();
        let mut signals = Vec::with_capacity(self.groups.len());
        let mut score = base;
        for g in &self.groups {
            let value = g.value(features);
            let points = -k * g.weight * value;
            score += points;
            let percentile = g.percentile(value);
            signals.push(SignalScore {
                name: g.name.clone(),
                raw: Some(round(percentile, 0)),
                // 0-100, higher is healthier: the percentile of a protective group, its
                // complement for a risky one.
                value: Some(round(
                    if g.weight <= 0.0 {
                        percentile
                    } else {
                        100.0 - percentile
                    },
                    1,
                )),
                weight: if total_weight > 0.0 {
                    g.weight.abs() * spread_of(g) / total_weight
                } else {
                    0.0
                },
                points: round(points, 1),
            });
        }
        let score = round(score.clamp(0.0, 100.0), 1);
        HealthScore {
            score,
            band: crate::scorecard::band(score, bands),
            confidence: 1.0,
            scorecard: SCORECARD_NAME.to_string(),
            signals,
        }
    }
}

impl LearnedGroup {
    /// Points between an account at the group's 15th and one at its 85th percentile.
    pub fn points_spread(&self, points_per_logit: f64) -> f64 {
        round(-points_per_logit * self.weight * spread_of(self), 1)
    }
}

/// A group's training spread (between its 15th and 85th percentiles), so weights compare
/// what a typical difference between accounts moves.
fn spread_of(g: &LearnedGroup) -> f64 {
    let q = &g.quantiles;
    match (q.get(3), q.get(17)) {
        (Some(lo), Some(hi)) => (hi - lo).abs().max(1e-9),
        _ => 1.0,
    }
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

/// The `q` quantile (0-1) of sorted values, interpolated.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] * (1.0 - frac) + sorted[hi.min(sorted.len() - 1)] * frac
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accounts using "collab" a lot churn less; "noise" carries nothing.
    fn data() -> (Vec<Features>, Vec<bool>) {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for i in 0..400u32 {
            let collab = f64::from(i % 40) / 10.0;
            let noise = f64::from((i * 7919) % 13);
            let f: Features = [
                ("events_28d:collab".to_string(), collab),
                ("events_28d_per_user:collab".to_string(), collab * 0.9 + 0.1),
                ("events_28d:noise".to_string(), noise),
            ]
            .into_iter()
            .collect();
            xs.push(f);
            ys.push((i * 31) % 100 < (60.0 - collab * 14.0) as u32);
        }
        (xs, ys)
    }

    /// Four samples a day, over 100 days.
    fn fit(xs: &[Features], ys: &[bool], vocabulary: Vec<String>) -> LearnedScorecard {
        let days: Vec<u32> = (0..xs.len() as u32).map(|i| i / 4).collect();
        let options = FitOptions {
            gap_days: 30,
            ..FitOptions::default()
        };
        let (card, selection) =
            LearnedScorecard::fit(xs, ys, &days, &groups(), vocabulary, 30, &options);
        assert!(selection.fallback.is_none(), "{selection:?}");
        card.expect("collab predicts churn")
    }

    fn groups() -> Vec<(String, Vec<String>)> {
        vec![
            (
                "collab".into(),
                vec![
                    "events_28d:collab".into(),
                    "events_28d_per_user:collab".into(),
                ],
            ),
            ("noise".into(), vec!["events_28d:noise".into()]),
        ]
    }

    #[test]
    fn more_of_a_protective_group_scores_higher_and_explains_itself() {
        let (xs, ys) = data();
        let card = fit(&xs, &ys, vec!["collab".into()]);
        let collab = &card.groups[0];
        assert!(collab.weight < 0.0, "{card:?}");
        let bands = Bands::default();
        let low = card.score_features(&xs[0], &bands);
        let high = card.score_features(&xs[39], &bands);
        assert!(high.score > low.score, "{} vs {}", high.score, low.score);
        let explained = &low.signals[0];
        assert_eq!(explained.name, "collab");
        assert!(
            explained.points < 0.0 && explained.value.unwrap() < 10.0,
            "{explained:?}"
        );
        // The noise carries nothing: the penalty chosen on later days drops it or keeps it
        // small.
        assert!(
            low.signals.iter().skip(1).all(|s| s.weight < 0.2),
            "{low:?}"
        );
    }

    #[test]
    fn the_median_account_scores_the_base_and_the_riskiest_fall_into_at_risk() {
        let (xs, ys) = data();
        let card = fit(&xs, &ys, Vec::new());
        let bands = Bands::default();
        let mut scores: Vec<f64> = xs
            .iter()
            .map(|x| card.score_features(x, &bands).score)
            .collect();
        scores.sort_by(f64::total_cmp);
        let median = scores[scores.len() / 2];
        assert!((median - BASE).abs() < 8.0, "{median}");
        let at_risk = scores.iter().filter(|s| **s < 40.0).count() as f64 / scores.len() as f64;
        assert!((0.05..0.3).contains(&at_risk), "{at_risk}");
    }

    #[test]
    fn a_stored_scorecard_reads_back() {
        let (xs, ys) = data();
        let card = fit(&xs, &ys, vec!["collab".into()]);
        let toml = toml::to_string(&card).unwrap();
        let back: LearnedScorecard = toml::from_str(&toml).unwrap();
        let bands = Bands::default();
        assert!(
            (back.score_features(&xs[5], &bands).score - card.score_features(&xs[5], &bands).score)
                .abs()
                < 0.11
        );
    }
}
