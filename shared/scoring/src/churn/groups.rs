//! Groups of correlated features, for explanations a person can read.
//!
//! Usage features come in families (the same event counted over 7, 28 and 90 days, per
//! account and per active user) that move together. Reporting each one separately splits one
//! story into many small, sometimes opposite-signed pushes. As *Fighting Churn With Data*
//! (Carl Gold) does, features whose correlation is above a threshold are clustered and each
//! group is summarised by the mean of its members' standardised values. The book cuts a
//! single-linkage tree at `1 − threshold`; here average linkage is used, so a group's members
//! are correlated with each other on average above the threshold rather than merely chained
//! through neighbours (a long chain of moderately related counts would otherwise become one
//! unreadable group).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::design::{dot, Layout, Raw};
use super::Features;

/// The default correlation above which features are grouped.
pub const DEFAULT_GROUP_THRESHOLD: f64 = 0.5;

/// Named features summarised as one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureGroup {
    /// The representative feature's name, with " and N related" for a group of several.
    pub name: String,
    /// The representative (the member most correlated with the others) first, then the rest
    /// in the order they were given.
    pub features: Vec<String>,
}

/// Mean and standard deviation of each named feature over the samples (the mean over samples
/// that have a finite value; the deviation with missing values imputed at the mean), as
/// [`group_scores`] takes them. Features with no value anywhere are left out.
pub fn feature_moments(samples: &[Features], names: &[String]) -> (Features, Features) {
    let mut sorted: Vec<String> = names.to_vec();
    sorted.sort();
    sorted.dedup();
    let raw = Raw::new(samples, &sorted);
    let rows: Vec<usize> = (0..samples.len()).collect();
    let layout = Layout::new(&raw, &rows);
    let (mut means, mut stds) = (Features::new(), Features::new());
    for (j, name) in sorted.iter().enumerate() {
        if layout.missing[j] != Some(1.0) && !rows.is_empty() {
            means.insert(name.clone(), layout.means[j]);
            stds.insert(name.clone(), layout.stds[j]);
        }
    }
    (means, stds)
}

/// Clusters `names` by the correlation of their values over `samples` (missing values at the
/// mean): average linkage, merging the two most correlated clusters while their average
/// pairwise correlation is above `threshold`. A constant feature stays alone. Groups come
/// largest first, then by their earliest feature in `names`.
pub fn correlated_groups(
    samples: &[Features],
    names: &[String],
    threshold: f64,
) -> Vec<FeatureGroup> {
    let mut unique: Vec<String> = Vec::new();
    for n in names {
        if !unique.contains(n) {
            unique.push(n.clone());
        }
    }
    let corr = correlations(samples, &unique);
    let p = unique.len();
    let mut clusters: Vec<Vec<usize>> = (0..p).map(|i| vec![i]).collect();
    // Average correlation between live clusters, indexed by their slots.
    let mut link: Vec<Vec<f64>> = corr.clone();
    let mut live: Vec<bool> = vec![true; p];
    loop {
        let mut best: Option<(usize, usize, f64)> = None;
        for a in 0..p {
            for b in a + 1..p {
                if live[a]
                    && live[b]
                    && link[a][b] > threshold
                    && best.is_none_or(|(_, _, v)| link[a][b] > v)
                {
                    best = Some((a, b, link[a][b]));
                }
            }
        }
        let Some((a, b, _)) = best else { break };
        let (na, nb) = (clusters[a].len() as f64, clusters[b].len() as f64);
        for k in 0..p {
            if live[k] && k != a && k != b {
                let v = (na * link[a][k] + nb * link[b][k]) / (na + nb);
                link[a][k] = v;
                link[k][a] = v;
            }
        }
        let moved = std::mem::take(&mut clusters[b]);
        clusters[a].extend(moved);
        clusters[a].sort_unstable();
        live[b] = false;
    }
    let mut groups: Vec<Vec<usize>> = clusters
        .into_iter()
        .zip(&live)
        .filter(|(c, &l)| l && !c.is_empty())
        .map(|(c, _)| c)
        .collect();
    groups.sort_by(|x, y| y.len().cmp(&x.len()).then_with(|| x[0].cmp(&y[0])));
    groups
        .into_iter()
        .map(|members| {
            let centrality = |i: usize| members.iter().map(|&j| corr[i][j]).sum::<f64>();
            let mut rep = members[0];
            for &m in &members {
                if centrality(m) > centrality(rep) {
                    rep = m;
                }
            }
            let mut features = vec![unique[rep].clone()];
            features.extend(
                members
                    .iter()
                    .filter(|&&m| m != rep)
                    .map(|&m| unique[m].clone()),
            );
            let name = match features.len() {
                1 => features[0].clone(),
                k => format!("{} and {} related", features[0], k - 1),
            };
            FeatureGroup { name, features }
        })
        .collect()
}

/// Pairwise Pearson correlations of the named features (missing values at the mean); 0 with
/// a constant feature, 1 on the diagonal.
fn correlations(samples: &[Features], names: &[String]) -> Vec<Vec<f64>> {
    // Raw wants sorted names; read in sorted order and map back.
    let mut sorted: Vec<(String, usize)> = names
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, n)| (n, i))
        .collect();
    sorted.sort();
    let sorted_names: Vec<String> = sorted.iter().map(|(n, _)| n.clone()).collect();
    let raw = Raw::new(samples, &sorted_names);
    let rows: Vec<usize> = (0..samples.len()).collect();
    let layout = Layout::new(&raw, &rows);
    let p = names.len();
    let n = samples.len();
    // Standardised columns in the caller's order; `None` for a constant one.
    let mut cols: Vec<Option<Vec<f64>>> = vec![None; p];
    for (j, (_, original)) in sorted.iter().enumerate() {
        let s = layout.stds[j];
        if s > 1e-10 && n > 0 {
            let m = layout.means[j];
            let col = raw
                .column(j)
                .iter()
                .map(|&v| if v.is_nan() { 0.0 } else { (v - m) / s })
                .collect();
            cols[*original] = Some(col);
        }
    }
    let mut corr = vec![vec![0.0; p]; p];
    for a in 0..p {
        corr[a][a] = 1.0;
        for b in a + 1..p {
            if let (Some(x), Some(y)) = (&cols[a], &cols[b]) {
                let r = (dot(x, y) / n as f64).clamp(-1.0, 1.0);
                corr[a][b] = r;
                corr[b][a] = r;
            }
        }
    }
    corr
}

/// Each group's value for one sample: the mean of its members' standardised values
/// (`(value − mean) / std`), over the members the sample has and whose deviation is
/// positive. A group with no such member is absent, as a feature with no data is.
pub fn group_scores(
    sample: &Features,
    groups: &[FeatureGroup],
    means: &Features,
    stds: &Features,
) -> Features {
    let mut out = BTreeMap::new();
    for g in groups {
        let (mut sum, mut count) = (0.0, 0usize);
        for f in &g.features {
            let (Some(&v), Some(&m), Some(&s)) = (sample.get(f), means.get(f), stds.get(f)) else {
                continue;
            };
            if v.is_finite() && s.is_finite() && s > 0.0 {
                sum += (v - m) / s;
                count += 1;
            }
        }
        if count > 0 {
            out.insert(g.name.clone(), sum / count as f64);
        }
    }
    out
}
