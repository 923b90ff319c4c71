//! The portfolio of one reader's book (a CSM's or AE's own accounts): today's tiles from the
//! list rows the reader may see, so its `accounts` equals what their account list counts, and
//! the trend from the owner's precomputed books ([`BookDay`], one per day, written by the
//! daily run). Figures only the whole portfolio has (adoption, time to value, retention) are
//! null with the reason.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use vitals_scoring::RiskLevel;

use super::accounts::AccountRow;
use super::portfolio::{buckets, Book, Expansion, Kpi, Kpis, PortfolioView, Revenue, TrendPoint};
use crate::lifecycle::Lifecycle;
use crate::model::{Band, BookDay};

const WHOLE_PORTFOLIO_ONLY: &str =
    "computed for the whole portfolio only (an admin's view), not per owner yet";

/// The view of a book: `rows` are every row the reader may see, whatever its lifecycle state
/// (churned rows count in the churn figures); `books` the owner's days, oldest first.
pub fn book_view(rows: &[&AccountRow], books: &[BookDay], today: NaiveDate) -> PortfolioView {
    let active: Vec<&AccountRow> = rows
        .iter()
        .copied()
        .filter(|r| r.lifecycle.is_active())
        .collect();
    let scored: Vec<(&AccountRow, f64)> = active
        .iter()
        .filter_map(|r| r.score.map(|s| (*r, s)))
        .collect();
    let mut bands: BTreeMap<String, u64> = BTreeMap::new();
    let mut declining: BTreeMap<String, u64> = BTreeMap::new();
    let mut histogram = [0u64; 10];
    for (row, score) in &scored {
        if let Some(band) = row.band {
            *bands.entry(band.as_str().to_string()).or_default() += 1;
        }
        if let Some(decline) = row.decline {
            let key = format!("{decline:?}").to_lowercase();
            *declining.entry(key).or_default() += 1;
        }
        histogram[((score / 10.0).floor().max(0.0) as usize).min(9)] += 1;
    }
    let mean_score = if scored.is_empty() {
        0.0
    } else {
        let sum: f64 = scored.iter().map(|(_, s)| s).sum();
        (sum / scored.len() as f64 * 10.0).round() / 10.0
    };
    let mrr_total: f64 = active.iter().filter_map(|r| r.mrr).sum();
    let mrr_at_risk: f64 = active
        .iter()
        .filter(|r| r.band == Some(Band::AtRisk))
        .filter_map(|r| r.mrr)
        .sum();
    PortfolioView {
        book: Book::Owned,
        as_of: active.iter().filter_map(|r| r.as_of).max(),
        computed_at: None,
        accounts: active.len() as u64,
        mean_score,
        bands,
        distribution: buckets(&histogram),
        declining,
        revenue: Revenue {
            mrr_at_risk,
            mrr_total: Some(mrr_total),
            at_risk_share: (mrr_total > 0.0)
                .then(|| ((mrr_at_risk / mrr_total) * 1000.0).round() / 1000.0),
        },
        expansion: Expansion {
            candidates: active.iter().filter(|r| r.expansion).count() as u64,
        },
        kpis: book_kpis(rows, &scored, mrr_total, today),
        trend: books
            .iter()
            .map(|b| TrendPoint {
                as_of: Some(b.day),
                accounts: b.figures.accounts,
                at_risk: b.figures.at_risk,
                mean_score: if b.figures.accounts > 0 {
                    (b.figures.score_sum / b.figures.accounts as f64 * 10.0).round() / 10.0
                } else {
                    0.0
                },
                bands: BTreeMap::from([(Band::AtRisk.as_str().to_string(), b.figures.at_risk)]),
                mrr_at_risk: b.figures.mrr_at_risk,
                expansion_candidates: b.figures.expansion_candidates,
            })
            .collect(),
    }
}

fn book_kpis(
    rows: &[&AccountRow],
    scored: &[(&AccountRow, f64)],
    mrr_total: f64,
    today: NaiveDate,
) -> Kpis {
    let n = scored.len() as u64;
    let risk = |level: RiskLevel| {
        let count = scored
            .iter()
            .filter(|(r, _)| r.renewal_risk == Some(level))
            .count();
        Kpi::value(count as f64, "accounts", "accounts", Some(n))
    };
    let churned: Vec<&AccountRow> = rows
        .iter()
        .copied()
        .filter(|r| r.lifecycle == Lifecycle::Churned)
        .collect();
    let churned_mrr: f64 = churned.iter().filter_map(|r| r.mrr).sum();
    let within_year: Vec<&AccountRow> = churned
        .iter()
        .copied()
        .filter(|r| r.churned_on.is_some_and(|on| (today - on).num_days() < 365))
        .collect();
    let year_mrr: f64 = within_year.iter().filter_map(|r| r.mrr).sum();
    let active = rows.iter().filter(|r| r.lifecycle.is_active()).count() as f64;
    let logo_base = active + within_year.len() as f64;
    let revenue_base = mrr_total + year_mrr;
    let whole = |unit| Kpi::missing(unit, WHOLE_PORTFOLIO_ONLY);
    Kpis {
        seat_adoption: whole("ratio"),
        feature_adoption: whole("ratio"),
        time_to_value_days: whole("days"),
        renewal_risk_high: risk(RiskLevel::High),
        renewal_risk_medium: risk(RiskLevel::Medium),
        net_revenue_retention: whole("ratio"),
        gross_revenue_retention: whole("ratio"),
        time_to_intervention_days: whole("days"),
        intervention_effectiveness: whole("ratio"),
        churn_prediction_accuracy: whole("ratio"),
        churned_accounts: Kpi::value(churned.len() as f64, "accounts", "accounts", None),
        churned_mrr: Kpi::value(churned_mrr, "mrr", "accounts", None),
        logo_churn: Kpi::ratio(
            within_year.len() as f64,
            logo_base,
            "accounts",
            Some(logo_base as u64),
            "no active or churned accounts in this book",
        ),
        revenue_churn: Kpi::ratio(
            year_mrr,
            revenue_base,
            "accounts",
            None,
            "no MRR known for this book's accounts",
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::{AccountId, AccountRecord, BookFigures};

    fn row(id: &str, score: f64, band: Band, mrr: f64) -> AccountRow {
        let mut row = AccountRow::from_record(
            &AccountRecord::new(AccountId::new(id).unwrap()),
            NaiveDate::default(),
        );
        row.score = Some(score);
        row.band = Some(band);
        row.mrr = Some(mrr);
        row
    }

    #[test]
    fn a_book_counts_its_own_rows_and_plots_its_at_risk_days() {
        let rows = [
            row("a", 20.0, Band::AtRisk, 100.0),
            row("b", 90.0, Band::Healthy, 300.0),
        ];
        let refs: Vec<&AccountRow> = rows.iter().collect();
        let day = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let books = [BookDay {
            owner: "ana@example.com".into(),
            day,
            figures: BookFigures {
                accounts: 2,
                at_risk: 1,
                mrr_at_risk: 100.0,
                expansion_candidates: 0,
                score_sum: 110.0,
            },
        }];
        let view = book_view(&refs, &books, day);
        assert_eq!(view.book, Book::Owned);
        assert_eq!(view.accounts, 2);
        assert_eq!(view.mean_score, 55.0);
        assert_eq!(view.revenue.mrr_at_risk, 100.0);
        assert_eq!(view.revenue.at_risk_share, Some(0.25));
        assert_eq!(view.trend[0].at_risk, 1);
        assert_eq!(view.trend[0].mean_score, 55.0);
        assert!(view.kpis.seat_adoption.reason.is_some());
    }
}
