//! Fitting at a chosen penalty: samples → standardised design → solver along a short path of
//! warm starts down to the penalty → a [`ChurnModel`] with weights back on each feature's own
//! scale.

use super::design::{names_of, Column, Design, Layout, Raw};
use super::solver::{logit, path_to, Solver};
use super::{ChurnModel, Features};

/// Each λ on the way down to the target is at least this fraction of the previous one.
const PATH_STEP: f64 = 0.5;
/// The path starts no higher than this multiple of the target (ridge's λ_max is large).
const PATH_SPAN: f64 = 1e4;

/// 0/1 outcomes of the given rows.
pub(super) fn outcomes(labels: &[bool], rows: &[usize]) -> Vec<f64> {
    rows.iter()
        .map(|&r| f64::from(u8::from(labels[r])))
        .collect()
}

/// Fits every sample at `lambda` and `l1_ratio`; `samples` and `labels` have equal length.
pub(super) fn fit_at(
    samples: &[Features],
    labels: &[bool],
    lambda: f64,
    l1_ratio: f64,
) -> ChurnModel {
    let names = names_of(samples);
    let raw = Raw::new(samples, &names);
    let rows: Vec<usize> = (0..samples.len()).collect();
    fit_rows(&raw, labels, &rows, lambda, l1_ratio)
}

/// Fits the given rows of `raw` (labels indexed like `raw`'s rows).
pub(super) fn fit_rows(
    raw: &Raw,
    labels: &[bool],
    rows: &[usize],
    lambda: f64,
    l1_ratio: f64,
) -> ChurnModel {
    let lambda = if lambda.is_finite() {
        lambda.max(0.0)
    } else {
        0.0
    };
    let alpha = if l1_ratio.is_finite() {
        l1_ratio.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let layout = Layout::new(raw, rows);
    let design = Design::new(raw, &layout, rows);
    let y = outcomes(labels, rows);
    let n = rows.len();
    let positives = y.iter().filter(|&&v| v > 0.5).count();
    let (b0, beta) = if positives == 0 || positives == n {
        // One outcome only: nothing to separate; a smoothed base rate (0.5 with no samples).
        let rate = (positives as f64 + 0.5) / (n as f64 + 1.0);
        (logit(rate), vec![0.0; design.columns.len()])
    } else {
        let mut solver = Solver::new(&design, &y, alpha);
        let high = solver.lambda_max().min(lambda * PATH_SPAN);
        for l in path_to(high, lambda, PATH_STEP) {
            solver.solve(l);
        }
        (solver.b0, solver.beta)
    };
    let mut model = model_of(&raw.names, &layout, &design.columns, b0, &beta);
    model.base_rate = if n == 0 {
        0.5
    } else {
        positives as f64 / n as f64
    };
    model.samples = n;
    model.lambda = lambda;
    model.l1_ratio = alpha;
    model.l2 = lambda * (1.0 - alpha) * n as f64;
    model
}

/// The model of standardised coefficients `beta` on `columns`: each weight divided by its
/// column's scale, and the centring folded into the intercept.
pub(super) fn model_of(
    names: &[String],
    layout: &Layout,
    columns: &[Column],
    b0: f64,
    beta: &[f64],
) -> ChurnModel {
    let k = names.len();
    let (mut weights, mut missing_weights) = (vec![0.0; k], vec![0.0; k]);
    let mut intercept = b0;
    for (col, &b) in columns.iter().zip(beta) {
        let w = b / col.scale;
        intercept -= w * col.centre;
        if col.indicator {
            missing_weights[col.feature] = w;
        } else {
            weights[col.feature] = w;
        }
    }
    ChurnModel {
        features: names.to_vec(),
        means: layout.means.clone(),
        weights,
        missing_weights,
        intercept,
        l2: 0.0,
        base_rate: 0.5,
        samples: 0,
        stds: layout.stds.clone(),
        lambda: 0.0,
        l1_ratio: 0.0,
        calibration: None,
    }
}
