//! Ranking and probability metrics for backtests: how well a risk score separates the accounts
//! that churned from those that did not.
//!
//! Every function takes `scores` (higher = more at risk) and `labels` (`true` = the event
//! happened) of the same length, and answers `None` when the metric is undefined (no samples,
//! no positives or no negatives where both are needed, mismatched lengths). Ties are handled
//! without depending on input order: a tied group counts half (ROC-AUC) or in expectation
//! (precision, lift).

use std::cmp::Ordering;

/// Indices sorted by score, highest first (ties keep input order; callers treat tie groups as
/// one block so the order inside a group never matters). NaN scores sort last.
fn by_score_desc(scores: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| cmp_desc(scores[a], scores[b]));
    idx
}

fn cmp_desc(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => b.partial_cmp(&a).unwrap_or(Ordering::Equal),
    }
}

/// Groups of equal scores, highest first, as (positives, size).
fn tie_groups(scores: &[f64], labels: &[bool]) -> Vec<(usize, usize)> {
    let order = by_score_desc(scores);
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut last: Option<f64> = None;
    for i in order {
        let s = scores[i];
        let same = matches!(last, Some(l) if cmp_desc(l, s) == Ordering::Equal);
        if !same {
            groups.push((0, 0));
            last = Some(s);
        }
        if let Some(g) = groups.last_mut() {
            g.1 += 1;
            if labels[i] {
                g.0 += 1;
            }
        }
    }
    groups
}

fn counts(labels: &[bool]) -> (usize, usize) {
    let p = labels.iter().filter(|&&l| l).count();
    (p, labels.len() - p)
}

/// Area under the ROC curve: the probability that a random positive scores above a random
/// negative, ties counting one half (the Mann-Whitney U statistic over P·N).
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    if scores.len() != labels.len() {
        return None;
    }
    let (p, n) = counts(labels);
    if p == 0 || n == 0 {
        return None;
    }
    // Walk from the lowest score up: each positive beats the negatives below it and ties with
    // the negatives in its group.
    let mut negatives_below = 0usize;
    let mut u = 0.0;
    for (pos, size) in tie_groups(scores, labels).into_iter().rev() {
        let neg = size - pos;
        u += pos as f64 * (negatives_below as f64 + 0.5 * neg as f64);
        negatives_below += neg;
    }
    Some(u / (p as f64 * n as f64))
}

/// Area under the precision-recall curve as average precision: Σ (Rₖ − Rₖ₋₁)·Pₖ over the
/// thresholds at each distinct score (a tied group is one threshold).
pub fn pr_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    if scores.len() != labels.len() {
        return None;
    }
    let (p, _) = counts(labels);
    if p == 0 {
        return None;
    }
    let mut seen = 0usize;
    let mut hits = 0usize;
    let mut ap = 0.0;
    for (pos, size) in tie_groups(scores, labels) {
        seen += size;
        hits += pos;
        if pos > 0 {
            ap += (pos as f64 / p as f64) * (hits as f64 / seen as f64);
        }
    }
    Some(ap)
}

/// Expected number of positives among the `k` highest scores, a tie group straddling the cut
/// counting in proportion.
fn positives_in_top(scores: &[f64], labels: &[bool], k: usize) -> f64 {
    let mut left = k;
    let mut hits = 0.0;
    for (pos, size) in tie_groups(scores, labels) {
        if left == 0 {
            break;
        }
        let take = left.min(size);
        hits += pos as f64 * take as f64 / size as f64;
        left -= take;
    }
    hits
}

/// Share of positives among the `k` highest scores (`k` capped at the sample count).
pub fn precision_at_k(scores: &[f64], labels: &[bool], k: usize) -> Option<f64> {
    if scores.len() != labels.len() || scores.is_empty() || k == 0 {
        return None;
    }
    let k = k.min(scores.len());
    Some(positives_in_top(scores, labels, k) / k as f64)
}

/// Precision in the top 10 % of scores (at least one sample) over the base rate: 1.0 is no
/// better than random, 10.0 the most a top decile can reach.
pub fn top_decile_lift(scores: &[f64], labels: &[bool]) -> Option<f64> {
    if scores.len() != labels.len() || scores.is_empty() {
        return None;
    }
    let (p, _) = counts(labels);
    if p == 0 {
        return None;
    }
    let k = scores.len().div_ceil(10);
    let base = p as f64 / scores.len() as f64;
    precision_at_k(scores, labels, k).map(|prec| prec / base)
}

/// Mean squared error of probabilities against outcomes (0 perfect, 0.25 a constant 0.5).
pub fn brier(probabilities: &[f64], labels: &[bool]) -> Option<f64> {
    if probabilities.len() != labels.len() || probabilities.is_empty() {
        return None;
    }
    let sum: f64 = probabilities
        .iter()
        .zip(labels)
        .map(|(&p, &l)| {
            let y = if l { 1.0 } else { 0.0 };
            (p - y) * (p - y)
        })
        .sum();
    Some(sum / probabilities.len() as f64)
}

/// The median of the values (mean of the middle two for an even count), `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
    let mid = v.len() / 2;
    Some(if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64) {
        let a = a.expect("defined");
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    const LABELS: [bool; 4] = [true, true, false, false];

    #[test]
    fn roc_auc_perfect_inverted_and_ties() {
        close(roc_auc(&[0.9, 0.8, 0.2, 0.1], &LABELS), 1.0);
        close(roc_auc(&[0.1, 0.2, 0.8, 0.9], &LABELS), 0.0);
        // All tied: every pair counts one half.
        close(roc_auc(&[0.5; 4], &LABELS), 0.5);
        // Positives at 0.9 and 0.3, negatives at 0.5 and 0.1: pairs won 2 + 1 of 4.
        close(roc_auc(&[0.9, 0.3, 0.5, 0.1], &LABELS), 0.75);
        // One positive tied with one negative: (1 + 0.5 + 1 + 1) / 4.
        close(roc_auc(&[0.9, 0.5, 0.5, 0.1], &LABELS), 0.875);
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
        assert_eq!(roc_auc(&[0.1], &[true, false]), None);
    }

    #[test]
    fn roc_auc_does_not_depend_on_input_order() {
        let s = [0.3, 0.9, 0.5, 0.5, 0.1, 0.7];
        let l = [true, false, true, false, false, true];
        let a = roc_auc(&s, &l);
        let mut pairs: Vec<(f64, bool)> = s.iter().copied().zip(l).collect();
        pairs.reverse();
        let (s2, l2): (Vec<f64>, Vec<bool>) = pairs.into_iter().unzip();
        assert_eq!(a, roc_auc(&s2, &l2));
    }

    #[test]
    fn pr_auc_hand_computed() {
        close(pr_auc(&[0.9, 0.8, 0.2, 0.1], &LABELS), 1.0);
        // Ranking: +, -, +, -: AP = 0.5 * 1 + 0.5 * 2/3.
        close(pr_auc(&[0.9, 0.3, 0.5, 0.1], &LABELS), 0.5 + 1.0 / 3.0);
        // Inverted: positives at ranks 3 and 4: 0.5 * 1/3 + 0.5 * 2/4.
        close(pr_auc(&[0.1, 0.2, 0.8, 0.9], &LABELS), 1.0 / 6.0 + 0.25);
        // All tied: one threshold at the base rate.
        close(pr_auc(&[0.5; 4], &LABELS), 0.5);
        assert_eq!(pr_auc(&[0.5, 0.4], &[false, false]), None);
    }

    #[test]
    fn lift_and_precision_at_k() {
        // 20 samples, 2 positives (base rate 0.1), top decile = 2 samples.
        let mut scores: Vec<f64> = (0..20).map(|i| i as f64).collect();
        let mut labels = vec![false; 20];
        labels[19] = true; // highest score
        labels[5] = true;
        // Top 2 hold one positive: precision 0.5, lift 0.5 / 0.1 = 5.
        close(top_decile_lift(&scores, &labels), 5.0);
        close(precision_at_k(&scores, &labels, 2), 0.5);
        close(precision_at_k(&scores, &labels, 1), 1.0);
        labels[18] = true;
        labels[5] = false;
        close(top_decile_lift(&scores, &labels), 10.0);
        // Everything tied: expected precision is the base rate, lift 1.
        scores.iter_mut().for_each(|s| *s = 1.0);
        close(top_decile_lift(&scores, &labels), 1.0);
        close(precision_at_k(&scores, &labels, 50), 0.1);
    }

    #[test]
    fn brier_hand_computed() {
        close(brier(&[1.0, 0.0], &[true, false]), 0.0);
        close(brier(&[0.5, 0.5], &[true, false]), 0.25);
        // (0.8-1)^2 = 0.04, (0.3-0)^2 = 0.09, (0.6-0)^2 = 0.36: mean 0.49 / 3.
        close(brier(&[0.8, 0.3, 0.6], &[true, false, false]), 0.49 / 3.0);
        assert_eq!(brier(&[], &[]), None);
    }

    #[test]
    fn median_odd_even() {
        close(median(&[3.0, 1.0, 2.0]), 2.0);
        close(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), None);
    }
}
