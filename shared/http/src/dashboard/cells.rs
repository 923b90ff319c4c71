//! Table cells and small fragments shared by the dashboard pages.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use vitals_core::model::Band;
use vitals_core::query::accounts::AccountRow;
use vitals_core::query::portfolio::Kpi;

use super::html::{money, url_segment};

/// Rows in each list of the portfolio page.
pub(super) const LIST_ROWS: usize = 15;

/// A score cell: the daily score, then the provisional one when there is a newer one.
#[derive(Debug, Serialize)]
pub(super) struct ScoreCell {
    pub daily: Option<String>,
    pub provisional: Option<ProvisionalScore>,
}

#[derive(Debug, Serialize)]
pub(super) struct ProvisionalScore {
    pub score: String,
    pub label: String,
}

/// One account in a list (portfolio, accounts page), its numbers in words.
#[derive(Debug, Serialize)]
pub(super) struct ListRow {
    pub account_id: String,
    /// The account's path segment, for its link.
    pub link: String,
    pub name: String,
    pub score: ScoreCell,
    pub band: Option<&'static str>,
    pub change: Option<String>,
    pub change_7d: Option<String>,
    pub change_30d: Option<String>,
    pub mrr: String,
    pub renewal: Option<Renewal>,
    pub churn_risk: String,
    pub owner: String,
    /// "enterprise · EU · core".
    pub segment: String,
    pub reason: String,
}

/// The renewal day and, when known, how far it is and its risk ("30 d, high risk").
#[derive(Debug, Serialize)]
pub(super) struct Renewal {
    pub date: String,
    pub note: Option<String>,
}

impl ListRow {
    pub fn of(row: &AccountRow, today: NaiveDate) -> ListRow {
        let renewal = row.renewal_date.map(|date| Renewal {
            date: date.to_string(),
            note: row.days_to_renewal.map(|days| {
                let risk = row.renewal_risk.map_or(String::new(), |r| {
                    format!(", {} risk", format!("{r:?}").to_lowercase())
                });
                format!("{days} d{risk}")
            }),
        });
        let segment = [
            row.tier.as_deref(),
            row.region.as_deref(),
            row.product_line.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
        ListRow {
            account_id: row.account_id.clone(),
            link: url_segment(&row.account_id),
            name: row.name.clone().unwrap_or_else(|| row.account_id.clone()),
            score: score_cell(row, today),
            band: row.band.map(Band::as_str),
            change: opt_num(row.change, 0),
            change_7d: opt_num(row.change_7d, 0),
            change_30d: opt_num(row.change_30d, 0),
            mrr: row.mrr.map_or(String::new(), money),
            renewal,
            churn_risk: row
                .churn_risk
                .map_or(String::new(), |p| format!("{:.0}%", p * 100.0)),
            owner: row.owner.clone().unwrap_or_default(),
            segment,
            reason: row.reason.clone(),
        }
    }
}

/// A number to `decimals` places; `None` (shown as a dash) when there is none.
pub(super) fn opt_num(v: Option<f64>, decimals: usize) -> Option<String> {
    v.map(|v| {
        let text = format!("{v:.decimals$}");
        // A small negative rounds to "-0": show it as 0.
        if text
            .trim_start_matches('-')
            .chars()
            .all(|c| c == '0' || c == '.')
        {
            text.trim_start_matches('-').to_string()
        } else {
            text
        }
    })
}

/// "provisional: today so far, 14:30 UTC": said wherever a provisional score is shown, so
/// nobody mistakes it for a complete day's.
pub(super) fn provisional_label(
    day: NaiveDate,
    computed_at: DateTime<Utc>,
    today: NaiveDate,
) -> String {
    let so_far = if day == today {
        "today so far".to_string()
    } else {
        format!("{day} so far")
    };
    format!("provisional: {so_far}, {} UTC", computed_at.format("%H:%M"))
}

fn score_cell(row: &AccountRow, today: NaiveDate) -> ScoreCell {
    ScoreCell {
        daily: opt_num(row.score, 0),
        provisional: row.provisional.as_ref().map(|p| ProvisionalScore {
            score: format!("{:.0}", p.score),
            label: provisional_label(p.day, p.computed_at, today),
        }),
    }
}

/// A KPI of the portfolio's table: its value (`None`: no value) and where it comes from.
#[derive(Debug, Serialize)]
pub(super) struct KpiLine {
    pub name: &'static str,
    pub value: Option<String>,
    pub note: String,
}

impl KpiLine {
    pub fn of(name: &'static str, kpi: &Kpi) -> KpiLine {
        let value = kpi.value.map(|v| {
            if kpi.unit == "ratio" {
                format!("{:.0}%", v * 100.0)
            } else {
                format!("{v:.1} {}", kpi.unit)
            }
        });
        let note = match (&kpi.reason, kpi.source, kpi.n) {
            (Some(reason), _, _) => reason.clone(),
            (None, Some(source), Some(n)) => format!("from {source}, {n} accounts"),
            (None, Some(source), None) => format!("from {source}"),
            _ => String::new(),
        };
        KpiLine { name, value, note }
    }
}

#[cfg(test)]
mod tests {
    use super::{opt_num, provisional_label};
    use chrono::{NaiveDate, TimeZone, Utc};

    #[test]
    fn a_provisional_score_says_it_is_the_day_so_far_and_when() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        let at = Utc.with_ymd_and_hms(2026, 3, 10, 14, 30, 12).unwrap();
        assert_eq!(
            provisional_label(today, at, today),
            "provisional: today so far, 14:30 UTC"
        );
        let tomorrow = today.succ_opt().unwrap();
        assert_eq!(
            provisional_label(today, at, tomorrow),
            "provisional: 2026-03-10 so far, 14:30 UTC"
        );
    }

    #[test]
    fn numbers_that_round_to_zero_show_no_minus_sign() {
        let num = |v, d| opt_num(Some(v), d).unwrap();
        assert_eq!(num(-0.2, 0), "0");
        assert_eq!(num(-0.04, 1), "0.0");
        assert_eq!(num(-1.6, 0), "-2");
        assert_eq!(num(3.0, 0), "3");
    }
}
