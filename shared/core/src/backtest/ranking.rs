//! One ranking's figures over one period: ROC-AUC, PR-AUC, lift, Brier, precision@k and the
//! lead time before each churn.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use vitals_scoring::metrics;
use vitals_scoring::{Band, ScoringConfig};

use super::{health_of, sub_days, Account, RankingReport, Sample, HEALTH_SCORE};

pub(super) struct Ctx<'a> {
    pub days: &'a [NaiveDate],
    pub accounts: &'a [Account],
    pub horizon: u64,
    pub alert_k: usize,
    pub rescore: Option<&'a ScoringConfig>,
}

impl Ctx<'_> {
    pub(super) fn report(
        &self,
        ranking: &str,
        period: &str,
        samples: &[&Sample],
        risk: &dyn Fn(&Sample) -> f64,
        probabilities: bool,
    ) -> RankingReport {
        let scores: Vec<f64> = samples.iter().map(|s| risk(s)).collect();
        let labels: Vec<bool> = samples.iter().map(|s| s.label).collect();

        // Per evaluation day: precision@k and the top decile (for lead time).
        let mut by_day: BTreeMap<usize, Vec<(f64, usize, bool)>> = BTreeMap::new();
        for (s, &score) in samples.iter().zip(&scores) {
            by_day
                .entry(s.day)
                .or_default()
                .push((score, s.account, s.label));
        }
        let mut precisions = Vec::new();
        // account -> evaluation days it was in the top decile.
        let mut top: BTreeMap<usize, Vec<NaiveDate>> = BTreeMap::new();
        for (&day, rows) in &by_day {
            let s: Vec<f64> = rows.iter().map(|r| r.0).collect();
            let l: Vec<bool> = rows.iter().map(|r| r.2).collect();
            if let Some(p) = metrics::precision_at_k(&s, &l, self.alert_k) {
                precisions.push(p);
            }
            let mut order: Vec<&(f64, usize, bool)> = rows.iter().collect();
            order.sort_by(|a, b| {
                b.0.partial_cmp(&a.0)
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then(a.1.cmp(&b.1))
            });
            for r in order.iter().take(rows.len().div_ceil(10)) {
                top.entry(r.1).or_default().push(self.days[day]);
            }
        }

        // Lead time per account that churned within the horizon of one of the period's days.
        let first_day = by_day.keys().next().map(|&d| self.days[d]);
        let mut leads = Vec::new();
        let mut churns = 0usize;
        let positives: BTreeSet<usize> = samples
            .iter()
            .filter(|s| s.label)
            .map(|s| s.account)
            .collect();
        for &a in &positives {
            let account = &self.accounts[a];
            let (Some(first_day), Some(&churn)) = (
                first_day,
                account.churns.iter().find(|&&c| Some(c) > first_day),
            ) else {
                continue;
            };
            churns += 1;
            let start = sub_days(churn, self.horizon)
                .unwrap_or(churn)
                .max(first_day);
            let warned = top
                .get(&a)
                .and_then(|ds| ds.iter().find(|&&d| d >= start && d < churn).copied());
            if let Some(w) = warned {
                leads.push((churn - w).num_days() as f64);
            }
        }

        let (at_risk_precision, at_risk_recall) = if ranking == HEALTH_SCORE {
            let at_risk: Vec<bool> = samples
                .iter()
                .map(|s| {
                    health_of(&self.accounts[s.account].history[s.entry], self.rescore).1
                        == Band::AtRisk
                })
                .collect();
            let flagged = at_risk.iter().filter(|&&r| r).count();
            let hits = at_risk
                .iter()
                .zip(&labels)
                .filter(|(r, l)| **r && **l)
                .count();
            let positives = labels.iter().filter(|&&l| l).count();
            (
                (flagged > 0).then(|| hits as f64 / flagged as f64),
                (positives > 0).then(|| hits as f64 / positives as f64),
            )
        } else {
            (None, None)
        };
        RankingReport {
            ranking: ranking.to_string(),
            period: period.to_string(),
            samples: samples.len(),
            positives: labels.iter().filter(|&&l| l).count(),
            roc_auc: metrics::roc_auc(&scores, &labels),
            pr_auc: metrics::pr_auc(&scores, &labels),
            top_decile_lift: metrics::top_decile_lift(&scores, &labels),
            brier: if probabilities {
                metrics::brier(&scores, &labels)
            } else {
                None
            },
            precision_at_k: if precisions.is_empty() {
                None
            } else {
                Some(precisions.iter().sum::<f64>() / precisions.len() as f64)
            },
            median_lead_days: metrics::median(&leads),
            warned_churns: leads.len(),
            churns,
            at_risk_precision,
            at_risk_recall,
        }
    }
}
