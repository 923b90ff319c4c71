//! The design matrix, built once per fit: samples (name → value maps) become dense,
//! column-major, standardised `f64` columns, so the solver's inner loops are plain slice
//! arithmetic with no map lookups.
//!
//! Two steps, so the validation days can be standardised with the statistics of the fitting
//! days: [`Raw`] reads every sample once into columns (NaN = no data), [`Layout`] holds the
//! per-feature statistics of a subset of rows, and [`Design`] standardises a subset of rows
//! with a layout. Columns that do not vary in the layout's rows are left out (weight 0).

use super::Features;

/// A column whose standard deviation is at most this is treated as constant.
const MIN_STD: f64 = 1e-10;

/// The samples' values by feature: column `j` is `x[j * n..(j + 1) * n]`, NaN where the sample
/// had no finite value.
pub(super) struct Raw {
    pub n: usize,
    pub names: Vec<String>,
    x: Vec<f64>,
}

/// Every feature name present in any sample, sorted.
pub(super) fn names_of(samples: &[Features]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut extra: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for sample in samples {
        // Most samples carry the same names: a merge walk against the names known so far
        // finds the new ones without a set insertion per entry.
        let mut j = 0;
        for key in sample.keys() {
            if names.get(j) != Some(key) {
                while j < names.len() && names[j].as_str() < key.as_str() {
                    j += 1;
                }
                if names.get(j) != Some(key) {
                    extra.insert(key);
                    continue;
                }
            }
            j += 1;
        }
        if !extra.is_empty() {
            let mut all: std::collections::BTreeSet<String> = names.drain(..).collect();
            all.extend(extra.iter().map(|s| s.to_string()));
            names = all.into_iter().collect();
            extra.clear();
        }
    }
    names
}

impl Raw {
    /// Reads `samples` into columns for `names` (sorted); other names are ignored.
    pub fn new(samples: &[Features], names: &[String]) -> Raw {
        let n = samples.len();
        let mut x = vec![f64::NAN; n * names.len()];
        for (row, sample) in samples.iter().enumerate() {
            let mut j = 0;
            for (key, &value) in sample {
                // Samples usually carry the same names in the same order: try the next first.
                if names.get(j) != Some(key) {
                    while j < names.len() && names[j].as_str() < key.as_str() {
                        j += 1;
                    }
                    if names.get(j) != Some(key) {
                        continue;
                    }
                }
                if value.is_finite() {
                    x[j * n + row] = value;
                }
                j += 1;
            }
        }
        Raw {
            n,
            names: names.to_vec(),
            x,
        }
    }

    pub fn column(&self, j: usize) -> &[f64] {
        &self.x[j * self.n..(j + 1) * self.n]
    }
}

/// Per-feature statistics over a set of rows.
#[derive(Debug, Clone)]
pub(super) struct Layout {
    /// Mean over the rows with a value (0 when none had one); imputed where missing.
    pub means: Vec<f64>,
    /// Population standard deviation of the imputed column.
    pub stds: Vec<f64>,
    /// Share of rows without a value, for features missing in at least one row.
    pub missing: Vec<Option<f64>>,
}

impl Layout {
    pub fn new(raw: &Raw, rows: &[usize]) -> Layout {
        let k = raw.names.len();
        let (mut means, mut stds, mut missing) = (vec![0.0; k], vec![0.0; k], vec![None; k]);
        for j in 0..k {
            let col = raw.column(j);
            let (mut sum, mut count) = (0.0, 0usize);
            for &r in rows {
                if !col[r].is_nan() {
                    sum += col[r];
                    count += 1;
                }
            }
            let mean = if count > 0 { sum / count as f64 } else { 0.0 };
            let mut ss = 0.0;
            for &r in rows {
                if !col[r].is_nan() {
                    ss += (col[r] - mean) * (col[r] - mean);
                }
            }
            means[j] = mean;
            stds[j] = if rows.is_empty() {
                0.0
            } else {
                (ss / rows.len() as f64).sqrt()
            };
            if count < rows.len() {
                missing[j] = Some((rows.len() - count) as f64 / rows.len() as f64);
            }
        }
        Layout {
            means,
            stds,
            missing,
        }
    }
}

/// What a design column holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Column {
    /// Index of the feature in the layout.
    pub feature: usize,
    /// The feature's missing indicator (1 = no data) rather than its value.
    pub indicator: bool,
    pub centre: f64,
    pub scale: f64,
}

/// Standardised, column-major design over a subset of rows: column `c` is
/// `x[c * n..(c + 1) * n]`, `(value - centre) / scale`.
pub(super) struct Design {
    pub n: usize,
    pub columns: Vec<Column>,
    x: Vec<f64>,
}

/// The design columns of a layout: every varying value column, then every varying indicator.
pub(super) fn columns_of(layout: &Layout) -> Vec<Column> {
    let mut columns = Vec::new();
    for (j, (&m, &s)) in layout.means.iter().zip(&layout.stds).enumerate() {
        if s > MIN_STD {
            columns.push(Column {
                feature: j,
                indicator: false,
                centre: m,
                scale: s,
            });
        }
    }
    for (j, share) in layout.missing.iter().enumerate() {
        if let Some(q) = *share {
            let s = (q * (1.0 - q)).sqrt();
            if s > MIN_STD {
                columns.push(Column {
                    feature: j,
                    indicator: true,
                    centre: q,
                    scale: s,
                });
            }
        }
    }
    columns
}

impl Design {
    pub fn new(raw: &Raw, layout: &Layout, rows: &[usize]) -> Design {
        let columns = columns_of(layout);
        let n = rows.len();
        let mut x = vec![0.0; n * columns.len()];
        for (c, col) in columns.iter().enumerate() {
            let src = raw.column(col.feature);
            let dst = &mut x[c * n..(c + 1) * n];
            let mean = layout.means[col.feature];
            for (d, &r) in dst.iter_mut().zip(rows) {
                let v = src[r];
                let value = match (col.indicator, v.is_nan()) {
                    (true, missing) => f64::from(u8::from(missing)),
                    (false, true) => mean,
                    (false, false) => v,
                };
                *d = (value - col.centre) / col.scale;
            }
        }
        Design { n, columns, x }
    }

    pub fn column(&self, c: usize) -> &[f64] {
        &self.x[c * self.n..(c + 1) * self.n]
    }

    /// The linear predictor `b0 + X b` of every row.
    pub fn linear(&self, b0: f64, beta: &[f64]) -> Vec<f64> {
        let mut eta = vec![b0; self.n];
        for (c, &b) in beta.iter().enumerate() {
            if b != 0.0 {
                for (e, &x) in eta.iter_mut().zip(self.column(c)) {
                    *e += b * x;
                }
            }
        }
        eta
    }
}

/// `Σ a_i b_i` with four independent sums, which the compiler turns into vector code (a
/// single running sum cannot be reordered). The order is fixed, so results are reproducible.
pub(super) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    let tail: f64 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// `Σ w_i x_i²`, summed like [`dot`].
pub(super) fn weighted_square(x: &[f64], w: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (cx, cw) = (x.chunks_exact(4), w.chunks_exact(4));
    let (rx, rw) = (cx.remainder(), cw.remainder());
    for (a, b) in cx.zip(cw) {
        for k in 0..4 {
            acc[k] += b[k] * a[k] * a[k];
        }
    }
    let tail: f64 = rx.iter().zip(rw).map(|(a, b)| b * a * a).sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}
