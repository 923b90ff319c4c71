//! The portfolio view: score distribution, trend, bands, revenue at risk, expansion pipeline and
//! KPIs, built from the precomputed daily summaries (never from a scan of accounts).
//!
//! A KPI the summary does not carry is `null` with the reason, never an invented number. The
//! daily run can add a KPI without a storage change by writing these sums into
//! `PortfolioSummary::extra` (sums merge across segments): `adoption_seats_sum`/`_n`,
//! `adoption_features_sum`/`_n`, `ttv_days_sum`/`ttv_n`, `renewal_risk_high`,
//! `renewal_risk_medium`; and later features `nrr`, `grr`, `time_to_intervention_days`,
//! `intervention_effectiveness`, `churn_prediction_accuracy`. When the caller already holds the
//! account rows (the dashboard reads the listing for its lists), [`kpis_from_rows`] fills the
//! renewal-risk counts from them when the summary lacks them.

use chrono::NaiveDate;
use serde::Serialize;
use std::collections::BTreeMap;

use super::listed_rows::ListedRows;
use crate::model::{Band, PortfolioSummary};

/// Summary key: accounts churned as of the day (lifecycle state), and their last MRR.
pub const LIFECYCLE_CHURNED_KEY: &str = "lifecycle_churned";
pub const LIFECYCLE_CHURNED_MRR_KEY: &str = "lifecycle_churned_mrr";
/// Summary key: accounts that churned within the 365 days up to the day, and their last MRR
/// (logo and revenue churn over the trailing year).
pub const CHURNED_12M_KEY: &str = "churned_12m";
pub const CHURNED_12M_MRR_KEY: &str = "churned_12m_mrr";
/// Summary key: accounts whose start is after the day.
pub const NOT_STARTED_KEY: &str = "lifecycle_not_started";

/// One bucket of the score histogram.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    /// Lower bound, inclusive.
    pub from: u32,
    /// Upper bound, exclusive except for the last bucket (100 inclusive).
    pub to: u32,
    pub accounts: u64,
}

/// The buckets of a histogram of scores in tens (0-10, 10-20, ...).
pub(crate) fn buckets(histogram: &[u64]) -> Vec<Bucket> {
    histogram
        .iter()
        .enumerate()
        .map(|(i, &accounts)| Bucket {
            from: i as u32 * 10,
            to: i as u32 * 10 + 10,
            accounts,
        })
        .collect()
}

/// One day of the trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendPoint {
    pub as_of: Option<NaiveDate>,
    pub accounts: u64,
    /// Accounts at risk that day (what the dashboard's trend plots, with `mrr_at_risk`).
    pub at_risk: u64,
    pub mean_score: f64,
    pub bands: BTreeMap<String, u64>,
    pub mrr_at_risk: f64,
    pub expansion_candidates: u64,
}

/// A key figure: a value, or null with the reason it is not available.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kpi {
    pub value: Option<f64>,
    pub unit: &'static str,
    /// Where the value comes from (`summary` or `accounts`), when there is one.
    pub source: Option<&'static str>,
    /// Accounts the value is computed over, when known.
    pub n: Option<u64>,
    /// Why the value is null.
    pub reason: Option<String>,
}

impl Kpi {
    pub(crate) fn value(
        value: f64,
        unit: &'static str,
        source: &'static str,
        n: Option<u64>,
    ) -> Kpi {
        Kpi {
            value: Some((value * 1000.0).round() / 1000.0),
            unit,
            source: Some(source),
            n,
            reason: None,
        }
    }

    /// `part / base` as a ratio, or missing for `reason` when there is no base.
    pub(crate) fn ratio(
        part: f64,
        base: f64,
        source: &'static str,
        n: Option<u64>,
        reason: &str,
    ) -> Kpi {
        if base > 0.0 {
            Kpi::value(part / base, "ratio", source, n)
        } else {
            Kpi::missing("ratio", reason)
        }
    }

    pub(crate) fn missing(unit: &'static str, reason: &str) -> Kpi {
        Kpi {
            value: None,
            unit,
            source: None,
            n: None,
            reason: Some(reason.to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kpis {
    /// Mean share of licensed seats active in the look-back.
    pub seat_adoption: Kpi,
    /// Mean share of key features used in the look-back.
    pub feature_adoption: Kpi,
    /// Mean days from start to the first-value event, over accounts that reached it.
    pub time_to_value_days: Kpi,
    /// Accounts with a high renewal risk.
    pub renewal_risk_high: Kpi,
    pub renewal_risk_medium: Kpi,
    pub net_revenue_retention: Kpi,
    pub gross_revenue_retention: Kpi,
    pub time_to_intervention_days: Kpi,
    pub intervention_effectiveness: Kpi,
    pub churn_prediction_accuracy: Kpi,
    /// Accounts churned as of the day (lifecycle), and their last MRR.
    pub churned_accounts: Kpi,
    pub churned_mrr: Kpi,
    /// Logo churn over the trailing 365 days: accounts that churned in it / (active accounts +
    /// those churned in it).
    pub logo_churn: Kpi,
    /// Revenue churn over the trailing 365 days: their last MRR / (active MRR + that MRR).
    pub revenue_churn: Kpi,
}

/// Revenue figures of the latest summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Revenue {
    pub mrr_at_risk: f64,
    pub mrr_total: Option<f64>,
    /// `mrr_at_risk / mrr_total`, when the total is known and positive.
    pub at_risk_share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expansion {
    pub candidates: u64,
}

/// Whose accounts a portfolio view covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Book {
    /// Every account (admin, read-only).
    All,
    /// The reader's own accounts (a CSM's book, an AE's accounts).
    Owned,
}

/// `GET /v1/portfolio`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PortfolioView {
    pub book: Book,
    /// Day of the latest summary; null before the first scoring run.
    pub as_of: Option<NaiveDate>,
    pub computed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub accounts: u64,
    pub mean_score: f64,
    pub bands: BTreeMap<String, u64>,
    pub distribution: Vec<Bucket>,
    pub declining: BTreeMap<String, u64>,
    pub revenue: Revenue,
    pub expansion: Expansion,
    pub kpis: Kpis,
    /// Oldest first.
    pub trend: Vec<TrendPoint>,
}

const NOT_IN_SUMMARY: &str =
    "not precomputed by the daily run yet (its summary carries no such figure)";

fn extra_f64(summary: &PortfolioSummary, key: &str) -> Option<f64> {
    summary.extra.get(key).and_then(serde_json::Value::as_f64)
}

fn mean_kpi(summary: &PortfolioSummary, key: &str, unit: &'static str) -> Kpi {
    match (
        extra_f64(summary, &format!("{key}_sum")),
        extra_f64(summary, &format!("{key}_n")),
    ) {
        (Some(sum), Some(n)) if n > 0.0 => Kpi::value(sum / n, unit, "summary", Some(n as u64)),
        _ => Kpi::missing(unit, NOT_IN_SUMMARY),
    }
}

fn later_kpi(summary: &PortfolioSummary, key: &str, unit: &'static str, needs: &str) -> Kpi {
    match extra_f64(summary, key) {
        Some(v) => Kpi::value(v, unit, "summary", None),
        None => Kpi::missing(unit, needs),
    }
}

fn kpis_from_summary(summary: &PortfolioSummary) -> Kpis {
    let count = |key: &str| match extra_f64(summary, key) {
        Some(v) => Kpi::value(v, "accounts", "summary", None),
        None => Kpi::missing("accounts", NOT_IN_SUMMARY),
    };
    // Churn figures exist from the first run that knew lifecycles (`mrr_total` says it ran):
    // no churned account then is a count of zero, not a missing figure.
    let lifecycle_known = summary.accounts > 0 || extra_f64(summary, "mrr_total").is_some();
    let churn_figure = |key: &str, unit: &'static str| match extra_f64(summary, key) {
        Some(v) => Kpi::value(v, unit, "summary", None),
        None if lifecycle_known => Kpi::value(0.0, unit, "summary", None),
        None => Kpi::missing(unit, NOT_IN_SUMMARY),
    };
    let churned_12m = extra_f64(summary, CHURNED_12M_KEY).unwrap_or(0.0);
    let churned_12m_mrr = extra_f64(summary, CHURNED_12M_MRR_KEY).unwrap_or(0.0);
    let active_mrr = extra_f64(summary, "mrr_total").unwrap_or(0.0);
    let logo_base = summary.accounts as f64 + churned_12m;
    let revenue_base = active_mrr + churned_12m_mrr;
    Kpis {
        churned_accounts: churn_figure(LIFECYCLE_CHURNED_KEY, "accounts"),
        churned_mrr: churn_figure(LIFECYCLE_CHURNED_MRR_KEY, "mrr"),
        logo_churn: Kpi::ratio(
            churned_12m,
            logo_base,
            "summary",
            Some(logo_base as u64),
            "no active or churned accounts counted yet",
        ),
        revenue_churn: Kpi::ratio(
            churned_12m_mrr,
            revenue_base,
            "summary",
            None,
            "no MRR known for active or churned accounts",
        ),
        seat_adoption: mean_kpi(summary, "adoption_seats", "ratio"),
        feature_adoption: mean_kpi(summary, "adoption_features", "ratio"),
        time_to_value_days: {
            match (
                extra_f64(summary, "ttv_days_sum"),
                extra_f64(summary, "ttv_n"),
            ) {
                (Some(sum), Some(n)) if n > 0.0 => {
                    Kpi::value(sum / n, "days", "summary", Some(n as u64))
                }
                _ => Kpi::missing("days", NOT_IN_SUMMARY),
            }
        },
        renewal_risk_high: count("renewal_risk_high"),
        renewal_risk_medium: count("renewal_risk_medium"),
        net_revenue_retention: later_kpi(
            summary,
            "nrr",
            "ratio",
            "needs MRR history and renewal/churn outcomes, which Vitals does not record yet",
        ),
        gross_revenue_retention: later_kpi(
            summary,
            "grr",
            "ratio",
            "needs MRR history and renewal/churn outcomes, which Vitals does not record yet",
        ),
        time_to_intervention_days: later_kpi(
            summary,
            "time_to_intervention_days",
            "days",
            "needs outreach and intervention tracking (alerts and workflows), not recorded yet",
        ),
        intervention_effectiveness: later_kpi(
            summary,
            "intervention_effectiveness",
            "ratio",
            "needs score changes after tracked interventions, not recorded yet",
        ),
        churn_prediction_accuracy: later_kpi(
            summary,
            "churn_prediction_accuracy",
            "ratio",
            "needs churned/renewed outcomes to compare predictions with; none recorded yet",
        ),
    }
}

/// Fills the renewal-risk KPIs that the summary lacks (one written before the run summed them)
/// from account rows the caller already read (scored accounts only).
pub fn kpis_from_rows(kpis: &mut Kpis, rows: &ListedRows) {
    let counts = rows.renewal_risk_counts();
    let level_count = |n: u64| Kpi::value(n as f64, "accounts", "accounts", Some(counts.scored));
    if kpis.renewal_risk_high.value.is_none() {
        kpis.renewal_risk_high = level_count(counts.high);
    }
    if kpis.renewal_risk_medium.value.is_none() {
        kpis.renewal_risk_medium = level_count(counts.medium);
    }
}

/// Builds the view from the summaries of the trend period (oldest first) and, if the trend is
/// empty, the latest summary.
pub fn portfolio_view(
    trend: &[PortfolioSummary],
    latest: Option<&PortfolioSummary>,
) -> PortfolioView {
    let empty = PortfolioSummary::default();
    let latest = trend.last().or(latest).unwrap_or(&empty);
    let mut histogram = latest.histogram.clone();
    histogram.resize(10, 0);
    let distribution = buckets(&histogram);
    let declining = latest
        .extra
        .iter()
        .filter_map(|(k, v)| {
            let severity = k.strip_prefix("declining_")?;
            Some((severity.to_string(), v.as_f64().unwrap_or(0.0) as u64))
        })
        .collect();
    let mrr_total = extra_f64(latest, "mrr_total");
    PortfolioView {
        book: Book::All,
        as_of: latest.as_of,
        computed_at: latest.computed_at,
        accounts: latest.accounts,
        mean_score: latest.mean_score,
        bands: latest.bands.clone(),
        distribution,
        declining,
        revenue: Revenue {
            mrr_at_risk: latest.mrr_at_risk,
            mrr_total,
            at_risk_share: mrr_total
                .filter(|t| *t > 0.0)
                .map(|t| ((latest.mrr_at_risk / t) * 1000.0).round() / 1000.0),
        },
        expansion: Expansion {
            candidates: latest.expansion_candidates,
        },
        kpis: kpis_from_summary(latest),
        trend: trend
            .iter()
            .map(|s| TrendPoint {
                as_of: s.as_of,
                accounts: s.accounts,
                at_risk: s.bands.get(Band::AtRisk.as_str()).copied().unwrap_or(0),
                mean_score: s.mean_score,
                bands: s.bands.clone(),
                mrr_at_risk: s.mrr_at_risk,
                expansion_candidates: s.expansion_candidates,
            })
            .collect(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn kpis_missing_from_the_summary_are_null_with_a_reason() {
        let view = portfolio_view(&[], None);
        assert_eq!(view.kpis.net_revenue_retention.value, None);
        assert!(view.kpis.net_revenue_retention.reason.is_some());
        assert_eq!(view.kpis.seat_adoption.value, None);
        assert_eq!(view.distribution.len(), 10);
    }

    #[test]
    fn summary_sums_become_means() {
        let mut s = PortfolioSummary {
            as_of: NaiveDate::from_ymd_opt(2026, 1, 2),
            accounts: 4,
            mrr_at_risk: 250.0,
            ..Default::default()
        };
        s.extra.insert("adoption_seats_sum".into(), 2.0.into());
        s.extra.insert("adoption_seats_n".into(), 4.0.into());
        s.extra.insert("mrr_total".into(), 1000.0.into());
        s.extra.insert("declining_severe".into(), 1.0.into());
        let view = portfolio_view(std::slice::from_ref(&s), None);
        assert_eq!(view.kpis.seat_adoption.value, Some(0.5));
        assert_eq!(view.revenue.at_risk_share, Some(0.25));
        assert_eq!(view.declining.get("severe"), Some(&1));
        assert_eq!(view.trend.len(), 1);
    }
}
