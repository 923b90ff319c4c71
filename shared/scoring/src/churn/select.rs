//! Choosing the penalty by a time-ordered validation, then calibrating.
//!
//! Samples are (account, evaluation day) pairs and a label looks a horizon past its day, so a
//! random split would let the model learn from outcomes it is then judged on, and would judge
//! it on the same weeks it learned from. Instead the latest days (a share of the distinct
//! days) validate and the earlier days fit, with a purge gap: a fitting day `d` is kept only
//! when `d + gap_days` is before the first validation day, so with `gap_days` = the horizon no
//! fitting label reaches into the validation period. Each l1 ratio's λ path (from the λ that
//! zeroes every weight down) is scored by validation log-loss; the best point is refitted on
//! every sample, and Platt scaling fitted on the validation predictions is kept when it lowers
//! the Brier score on validation days it was not fitted on (alternate days, cross-fitted).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::design::{names_of, Design, Layout, Raw};
use super::fit::{fit_rows, outcomes};
use super::solver::{lambda_path, mean_log_loss, Solver};
use super::{sigmoid, ChurnModel, Features};
use crate::calibration::Platt;
use crate::metrics::{brier, roc_auc};

/// How [`ChurnModel::fit_time_ordered`] searches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FitOptions {
    /// Shares of L1 in the penalty to try (1 = lasso, 0 = ridge).
    pub l1_ratios: Vec<f64>,
    /// Points on each λ path.
    pub lambdas: usize,
    /// The path ends at this fraction of the λ that zeroes every weight.
    pub lambda_min_ratio: f64,
    /// Share of the distinct evaluation days, the latest, that validate.
    pub validation_share: f64,
    /// Days between the last fitting day and the first validation day: set it to the label
    /// horizon.
    pub gap_days: u32,
    /// A path stops after this many λ values without a better validation loss.
    pub patience: usize,
    /// Try Platt scaling of the refit's log-odds.
    pub calibrate: bool,
    /// Ridge strength (as in [`ChurnModel::fit`]) when no validation is possible.
    pub fallback_l2: f64,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            l1_ratios: vec![0.5, 1.0],
            lambdas: 40,
            lambda_min_ratio: 1e-3,
            validation_share: 0.25,
            gap_days: 90,
            patience: 8,
            calibrate: true,
            fallback_l2: 1.0,
        }
    }
}

/// One point of the search, scored on the validation days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridPoint {
    pub l1_ratio: f64,
    pub lambda: f64,
    pub log_loss: f64,
    /// Of the log-odds; `None` without both outcomes.
    pub roc_auc: Option<f64>,
    /// Non-zero weights (values and missing indicators) in the model fitted on the early days.
    pub nonzero: usize,
}

/// What the search saw and chose.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelSelection {
    /// Every point tried, path by path, in the order tried (λ decreasing within a path).
    pub grid: Vec<GridPoint>,
    /// The lowest validation log-loss (the earliest on ties: the larger λ, the earlier
    /// l1 ratio). `None` when the search fell back.
    pub chosen: Option<GridPoint>,
    pub samples: usize,
    pub positives: usize,
    pub fit_samples: usize,
    pub fit_positives: usize,
    pub validation_samples: usize,
    pub validation_positives: usize,
    /// Samples of the days in the purge gap, used by neither side of the search.
    pub purged_samples: usize,
    pub last_fit_day: Option<u32>,
    pub first_validation_day: Option<u32>,
    /// Brier score of the chosen point's validation probabilities, raw and with Platt scaling
    /// cross-fitted over alternate validation days.
    pub brier_raw: Option<f64>,
    pub brier_calibrated: Option<f64>,
    /// Whether the final model carries the calibration.
    pub calibrated: bool,
    /// Why no search was possible (the model is then [`ChurnModel::fit`] with
    /// [`FitOptions::fallback_l2`]).
    pub fallback: Option<String>,
}

/// Rows of the fitting days, the validation days and the purge gap.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Split {
    pub fit: Vec<usize>,
    pub validation: Vec<usize>,
    pub purged: usize,
    pub last_fit_day: Option<u32>,
    pub first_validation_day: Option<u32>,
}

/// Splits rows by their evaluation day (see the module documentation). With fewer than two
/// distinct days nothing validates.
pub(super) fn split_days(order: &[u32], share: f64, gap_days: u32) -> Split {
    let days: Vec<u32> = order
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut split = Split {
        fit: Vec::new(),
        validation: Vec::new(),
        purged: 0,
        last_fit_day: None,
        first_validation_day: None,
    };
    if days.len() < 2 {
        split.fit = (0..order.len()).collect();
        split.last_fit_day = days.last().copied();
        return split;
    }
    let share = if share.is_finite() { share } else { 0.25 };
    let count = ((days.len() as f64 * share).ceil() as usize).clamp(1, days.len() - 1);
    let first = days[days.len() - count];
    split.first_validation_day = Some(first);
    for (row, &day) in order.iter().enumerate() {
        if day >= first {
            split.validation.push(row);
        } else if u64::from(day) + u64::from(gap_days) < u64::from(first) {
            split.fit.push(row);
            split.last_fit_day = split.last_fit_day.max(Some(day));
        } else {
            split.purged += 1;
        }
    }
    split
}

fn positives(labels: &[bool], rows: &[usize]) -> usize {
    rows.iter().filter(|&&r| labels[r]).count()
}

impl ChurnModel {
    /// Chooses λ and the l1 ratio on the later days, refits on every sample and calibrates
    /// (see the module documentation). `order` is each sample's evaluation day (larger =
    /// later). Samples, labels and days beyond the shortest of the three are ignored.
    pub fn fit_time_ordered(
        samples: &[Features],
        labels: &[bool],
        order: &[u32],
        opts: &FitOptions,
    ) -> (ChurnModel, ModelSelection) {
        let n = samples.len().min(labels.len()).min(order.len());
        let (samples, labels, order) = (&samples[..n], &labels[..n], &order[..n]);
        let names = names_of(samples);
        let raw = Raw::new(samples, &names);
        let all: Vec<usize> = (0..n).collect();
        let split = split_days(order, opts.validation_share, opts.gap_days);
        let mut sel = ModelSelection {
            samples: n,
            positives: positives(labels, &all),
            fit_samples: split.fit.len(),
            fit_positives: positives(labels, &split.fit),
            validation_samples: split.validation.len(),
            validation_positives: positives(labels, &split.validation),
            purged_samples: split.purged,
            last_fit_day: split.last_fit_day,
            first_validation_day: split.first_validation_day,
            ..ModelSelection::default()
        };
        let both = |count: usize, of: usize| count > 0 && count < of;
        let reason = if split.validation.is_empty() {
            Some("fewer than two evaluation days".to_string())
        } else if !both(sel.fit_positives, sel.fit_samples) {
            Some("the fitting days lack churned or retained samples".to_string())
        } else if !both(sel.validation_positives, sel.validation_samples) {
            Some("the validation days lack churned or retained samples".to_string())
        } else {
            None
        };
        if let Some(reason) = reason {
            let model = fallback(&raw, labels, &all, opts);
            sel.fallback = Some(reason);
            return (model, sel);
        }

        let Some((chosen, val_eta)) = search(&raw, labels, &split, opts, &mut sel.grid) else {
            let model = fallback(&raw, labels, &all, opts);
            sel.fallback = Some("no penalty could be scored".to_string());
            return (model, sel);
        };
        let mut model = fit_rows(&raw, labels, &all, chosen.lambda, chosen.l1_ratio);
        sel.chosen = Some(chosen);

        let val_days: Vec<u32> = split.validation.iter().map(|&r| order[r]).collect();
        let val_labels: Vec<bool> = split.validation.iter().map(|&r| labels[r]).collect();
        let raw_p: Vec<f64> = val_eta.iter().map(|&z| sigmoid(z)).collect();
        sel.brier_raw = brier(&raw_p, &val_labels);
        sel.brier_calibrated = cross_fitted(&raw_p, &val_labels, &val_days)
            .and_then(|crossed| brier(&crossed, &val_labels));
        if let (true, Some(cal), Some(raw_b)) =
            (opts.calibrate, sel.brier_calibrated, sel.brier_raw)
        {
            if cal < raw_b {
                model.calibration = Platt::fit(&raw_p, &val_labels);
                sel.calibrated = model.calibration.is_some();
            }
        }
        (model, sel)
    }
}

/// The ridge fit of [`FitOptions::fallback_l2`], as [`ChurnModel::fit`] makes it.
fn fallback(raw: &Raw, labels: &[bool], rows: &[usize], opts: &FitOptions) -> ChurnModel {
    let l2 = if opts.fallback_l2.is_finite() {
        opts.fallback_l2.max(0.0)
    } else {
        0.0
    };
    let lambda = if rows.is_empty() {
        0.0
    } else {
        l2 / rows.len() as f64
    };
    let mut model = fit_rows(raw, labels, rows, lambda, 0.0);
    model.l2 = l2;
    model
}

/// Scores each l1 ratio's λ path on the validation rows; the best point and its validation
/// log-odds.
fn search(
    raw: &Raw,
    labels: &[bool],
    split: &Split,
    opts: &FitOptions,
    grid: &mut Vec<GridPoint>,
) -> Option<(GridPoint, Vec<f64>)> {
    let layout = Layout::new(raw, &split.fit);
    let fit = Design::new(raw, &layout, &split.fit);
    let val = Design::new(raw, &layout, &split.validation);
    let y_fit = outcomes(labels, &split.fit);
    let y_val = outcomes(labels, &split.validation);
    let val_labels: Vec<bool> = split.validation.iter().map(|&r| labels[r]).collect();
    let mut ratios: Vec<f64> = opts
        .l1_ratios
        .iter()
        .copied()
        .filter(|r| r.is_finite())
        .map(|r| r.clamp(0.0, 1.0))
        .collect();
    if ratios.is_empty() {
        ratios.push(1.0);
    }
    let mut best: Option<(GridPoint, Vec<f64>)> = None;
    for alpha in ratios {
        let mut solver = Solver::new(&fit, &y_fit, alpha);
        let mut best_here = f64::INFINITY;
        let mut since_best = 0;
        for lambda in lambda_path(solver.lambda_max(), opts.lambda_min_ratio, opts.lambdas) {
            solver.solve(lambda);
            let eta = val.linear(solver.b0, &solver.beta);
            let point = GridPoint {
                l1_ratio: alpha,
                lambda,
                log_loss: mean_log_loss(&eta, &y_val),
                roc_auc: roc_auc(&eta, &val_labels),
                nonzero: solver.nonzero(),
            };
            grid.push(point.clone());
            if !point.log_loss.is_finite() {
                break;
            }
            if best
                .as_ref()
                .is_none_or(|(b, _)| point.log_loss < b.log_loss)
            {
                best = Some((point.clone(), eta));
            }
            if point.log_loss < best_here {
                best_here = point.log_loss;
                since_best = 0;
            } else {
                since_best += 1;
                if since_best >= opts.patience.max(1) {
                    break;
                }
            }
            // The fitting days are separated: smaller penalties only grow the weights.
            if solver.log_loss() < 1e-4 {
                break;
            }
        }
    }
    best
}

/// Platt scaling fitted on alternate validation days and applied to the others; `None` when
/// a fold lacks an outcome.
fn cross_fitted(probabilities: &[f64], labels: &[bool], days: &[u32]) -> Option<Vec<f64>> {
    let distinct: Vec<u32> = days
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let fold = |d: u32| distinct.binary_search(&d).unwrap_or(0) % 2;
    let mut out = vec![0.0; probabilities.len()];
    for f in 0..2 {
        let (mut ps, mut ys) = (Vec::new(), Vec::new());
        for i in 0..probabilities.len() {
            if fold(days[i]) != f {
                ps.push(probabilities[i]);
                ys.push(labels[i]);
            }
        }
        let platt = Platt::fit(&ps, &ys)?;
        for i in 0..probabilities.len() {
            if fold(days[i]) == f {
                out[i] = platt.apply(probabilities[i]);
            }
        }
    }
    Some(out)
}
