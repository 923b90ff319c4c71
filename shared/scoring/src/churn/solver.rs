//! Elastic-net logistic regression on a standardised [`Design`], as glmnet fits it: an outer
//! Newton (IRLS) loop takes a quadratic approximation of the log-likelihood at the current
//! coefficients, and an inner cyclic coordinate descent minimises that weighted least-squares
//! problem plus the penalty, soft-thresholding each coefficient in turn.
//!
//! The objective, on standardised columns and with an unpenalised intercept, is
//! `mean log-loss + λ·(α·‖β‖₁ + (1 − α)/2·‖β‖²)`. A solver is reused along a decreasing
//! λ path (warm starts), which is both faster and steadier than solving each λ from zero.
//! Inner sweeps visit the active (non-zero) coefficients until they settle and then every
//! column once more to check that none should enter. Should a Newton step raise the objective
//! (far from the optimum, with little penalty), it is halved. Everything runs in a fixed
//! order, so the same data give the same coefficients.

use super::design::{dot, weighted_square, Design};
use super::sigmoid;

/// Newton steps per λ.
const MAX_OUTER: usize = 30;
/// Full sweeps per Newton step (each followed by sweeps of the active set).
const MAX_FULL_SWEEPS: usize = 100;
const MAX_ACTIVE_SWEEPS: usize = 1000;
/// Convergence: the largest `x_jᵀWx_j/n · Δβ_j²` of a sweep (or Newton step) below this.
const TOLERANCE: f64 = 1e-7;
/// Working weights `p(1 − p)` are kept at least this (glmnet's choice), so a fitted
/// probability near 0 or 1 does not stall the quadratic approximation.
const MIN_WEIGHT: f64 = 1e-5;
/// With α = 0 (ridge) no λ zeroes every coefficient; the path starts where α = this would.
const MIN_ALPHA_FOR_MAX: f64 = 1e-3;

/// `ln(1 + e^z)` without overflow.
fn log1p_exp(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

fn soft_threshold(z: f64, t: f64) -> f64 {
    if z > t {
        z - t
    } else if z < -t {
        z + t
    } else {
        0.0
    }
}

/// The log-odds of a rate, kept finite.
pub(super) fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-9, 1.0 - 1e-9);
    (p / (1.0 - p)).ln()
}

/// Mean log-loss of linear predictors `eta` against 0/1 outcomes `y`.
pub(super) fn mean_log_loss(eta: &[f64], y: &[f64]) -> f64 {
    if eta.is_empty() {
        return 0.0;
    }
    eta.iter()
        .zip(y)
        .map(|(&e, &y)| log1p_exp(e) - y * e)
        .sum::<f64>()
        / eta.len() as f64
}

/// `count` values from `high` down to `high · min_ratio`, evenly spaced in log scale.
pub(super) fn lambda_path(high: f64, min_ratio: f64, count: usize) -> Vec<f64> {
    let count = count.max(1);
    if count == 1 || high.is_nan() || high <= 0.0 {
        return vec![high.max(0.0)];
    }
    let ratio = min_ratio.clamp(1e-12, 1.0);
    (0..count)
        .map(|k| high * ratio.powf(k as f64 / (count - 1) as f64))
        .collect()
}

/// A path from `high` down to exactly `target`, with steps no coarser than `step` (a ratio
/// below 1); just `[target]` when `target` is at or above `high`.
pub(super) fn path_to(high: f64, target: f64, step: f64) -> Vec<f64> {
    if target.is_nan() || target <= 0.0 || high.is_nan() || high <= target {
        return vec![target.max(0.0)];
    }
    let step = step.clamp(1e-3, 0.99);
    let steps = ((target / high).ln() / step.ln()).ceil().max(1.0) as usize;
    let mut path = lambda_path(high, target / high, steps + 1);
    if let Some(last) = path.last_mut() {
        *last = target;
    }
    path
}

/// Coefficients on the standardised columns and everything the coordinate descent keeps
/// between λ values.
pub(super) struct Solver<'a> {
    design: &'a Design,
    y: &'a [f64],
    alpha: f64,
    pub b0: f64,
    pub beta: Vec<f64>,
    eta: Vec<f64>,
    w: Vec<f64>,
    /// `w_i · r_i` with `r` the working residual: `y − p` at the start of a Newton step.
    wr: Vec<f64>,
    sum_w: f64,
    xv: Vec<f64>,
    xv_known: Vec<bool>,
    active: Vec<usize>,
    in_active: Vec<bool>,
}

impl<'a> Solver<'a> {
    /// Starts at the intercept-only model (the base rate).
    pub fn new(design: &'a Design, y: &'a [f64], alpha: f64) -> Solver<'a> {
        let n = design.n;
        let p = design.columns.len();
        let rate = if n == 0 {
            0.5
        } else {
            y.iter().sum::<f64>() / n as f64
        };
        let b0 = logit(rate);
        Solver {
            design,
            y,
            alpha: alpha.clamp(0.0, 1.0),
            b0,
            beta: vec![0.0; p],
            eta: vec![b0; n],
            w: vec![0.0; n],
            wr: vec![0.0; n],
            sum_w: 0.0,
            xv: vec![0.0; p],
            xv_known: vec![false; p],
            active: Vec::new(),
            in_active: vec![false; p],
        }
    }

    /// The smallest λ at which every coefficient is zero (for ridge, where no λ is, the one
    /// α = 0.001 would have).
    pub fn lambda_max(&self) -> f64 {
        let n = self.design.n;
        if n == 0 {
            return 0.0;
        }
        let rate = self.y.iter().sum::<f64>() / n as f64;
        let resid: Vec<f64> = self.y.iter().map(|y| y - rate).collect();
        let g = (0..self.design.columns.len())
            .map(|c| dot(self.design.column(c), &resid).abs() / n as f64)
            .fold(0.0, f64::max);
        g / self.alpha.max(MIN_ALPHA_FOR_MAX)
    }

    /// Mean log-loss of the current coefficients on the training rows.
    pub fn log_loss(&self) -> f64 {
        mean_log_loss(&self.eta, self.y)
    }

    pub fn nonzero(&self) -> usize {
        self.beta.iter().filter(|b| **b != 0.0).count()
    }

    fn objective(&self, lambda: f64) -> f64 {
        let l1: f64 = self.beta.iter().map(|b| b.abs()).sum();
        let l2: f64 = self.beta.iter().map(|b| b * b).sum();
        self.log_loss() + lambda * (self.alpha * l1 + (1.0 - self.alpha) / 2.0 * l2)
    }

    /// Minimises the objective at `lambda`, starting from the current coefficients.
    pub fn solve(&mut self, lambda: f64) {
        let n = self.design.n;
        if n == 0 {
            return;
        }
        let l1 = lambda * self.alpha;
        let l2 = lambda * (1.0 - self.alpha);
        for _ in 0..MAX_OUTER {
            let before = self.objective(lambda);
            let (old_b0, old_beta) = (self.b0, self.beta.clone());
            self.sum_w = 0.0;
            for i in 0..n {
                let p = sigmoid(self.eta[i]);
                self.w[i] = (p * (1.0 - p)).max(MIN_WEIGHT);
                self.wr[i] = self.y[i] - p;
                self.sum_w += self.w[i];
            }
            self.xv_known.fill(false);
            self.descend(l1, l2);
            self.eta = self.design.linear(self.b0, &self.beta);
            let mut after = self.objective(lambda);
            let mut halvings = 0;
            while after > before + 1e-12 * before.abs() && halvings < 20 {
                self.b0 = 0.5 * (self.b0 + old_b0);
                for (b, o) in self.beta.iter_mut().zip(&old_beta) {
                    *b = 0.5 * (*b + o);
                }
                self.eta = self.design.linear(self.b0, &self.beta);
                after = self.objective(lambda);
                halvings += 1;
            }
            let nf = n as f64;
            let mut change = self.sum_w / nf * (self.b0 - old_b0).powi(2);
            for (c, (b, o)) in self.beta.iter().zip(&old_beta).enumerate() {
                change = change.max(self.xv[c] * (b - o).powi(2));
            }
            if change < TOLERANCE || (before - after).abs() <= 1e-12 * before.abs() {
                break;
            }
        }
    }

    /// Coordinate descent on the penalised weighted least-squares problem of one Newton step.
    fn descend(&mut self, l1: f64, l2: f64) {
        let p = self.design.columns.len();
        for _ in 0..MAX_FULL_SWEEPS {
            if self.sweep(0..p, l1, l2) < TOLERANCE {
                return;
            }
            for _ in 0..MAX_ACTIVE_SWEEPS {
                let active = std::mem::take(&mut self.active);
                let change = self.sweep(active.iter().copied(), l1, l2);
                // Columns only join the active set in full sweeps, so `active` is unchanged.
                self.active = active;
                if change < TOLERANCE {
                    break;
                }
            }
        }
    }

    /// One pass over `columns` and the intercept; returns the largest weighted change.
    fn sweep(&mut self, columns: impl Iterator<Item = usize>, l1: f64, l2: f64) -> f64 {
        let nf = self.design.n as f64;
        let mut largest = 0.0f64;
        for c in columns {
            let x = self.design.column(c);
            let old = self.beta[c];
            let g = dot(x, &self.wr) / nf;
            // A zero coefficient whose gradient is within the L1 threshold stays zero: no need
            // for its curvature.
            if old == 0.0 && g.abs() <= l1 {
                continue;
            }
            if !self.xv_known[c] {
                self.xv[c] = weighted_square(x, &self.w) / nf;
                self.xv_known[c] = true;
            }
            let new = soft_threshold(g + self.xv[c] * old, l1) / (self.xv[c] + l2);
            if new != old {
                let delta = new - old;
                self.beta[c] = new;
                for ((r, xi), wi) in self.wr.iter_mut().zip(x).zip(&self.w) {
                    *r -= delta * wi * xi;
                }
                largest = largest.max(self.xv[c] * delta * delta);
                if !self.in_active[c] {
                    self.in_active[c] = true;
                    self.active.push(c);
                }
            }
        }
        if self.sum_w > 0.0 {
            let delta = self.wr.iter().sum::<f64>() / self.sum_w;
            if delta != 0.0 {
                self.b0 += delta;
                for (r, wi) in self.wr.iter_mut().zip(&self.w) {
                    *r -= delta * wi;
                }
                largest = largest.max(self.sum_w / nf * delta * delta);
            }
        }
        largest
    }
}
