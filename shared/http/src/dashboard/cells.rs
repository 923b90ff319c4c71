//! Table cells and small fragments shared by the dashboard pages.

use chrono::{DateTime, NaiveDate, Utc};
use vitals_core::model::Band;
use vitals_core::query::accounts::AccountRow;
use vitals_core::query::portfolio::Kpi;

use super::html::{escape, url_segment};

/// Rows in each list of the portfolio page.
pub(super) const LIST_ROWS: usize = 15;

pub(super) fn band_cell(band: Option<Band>) -> String {
    match band {
        Some(b) => format!(r#"<span class="band-{0}">{0}</span>"#, b.as_str()),
        None => r#"<span class="null">not scored</span>"#.into(),
    }
}

pub(super) fn opt_num(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(
        || r#"<span class="null">–</span>"#.to_string(),
        |v| {
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
        },
    )
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

/// A list's score cell: the daily score, then the provisional one when there is a newer one.
pub(super) fn score_cell(row: &AccountRow, today: NaiveDate) -> String {
    let daily = opt_num(row.score, 0);
    match &row.provisional {
        Some(p) => format!(
            r#"{daily} <span class="provisional" title="{label}">→ {score:.0} ({label})</span>"#,
            label = escape(&provisional_label(p.day, p.computed_at, today)),
            score = p.score
        ),
        None => daily,
    }
}

pub(super) fn account_link(row: &AccountRow) -> String {
    format!(
        r#"<a href="/dashboard/accounts/{}">{}</a>"#,
        url_segment(&row.account_id),
        escape(row.name.as_deref().unwrap_or(&row.account_id))
    )
}

pub(super) fn kpi_row(name: &str, kpi: &Kpi) -> String {
    let value = match kpi.value {
        Some(v) if kpi.unit == "ratio" => format!("{:.0}%", v * 100.0),
        Some(v) => format!("{v:.1} {}", kpi.unit),
        None => r#"<span class="null">null</span>"#.into(),
    };
    let note = match (&kpi.reason, kpi.source, kpi.n) {
        (Some(reason), _, _) => escape(reason),
        (None, Some(source), Some(n)) => format!("from {source}, {n} accounts"),
        (None, Some(source), None) => format!("from {source}"),
        _ => String::new(),
    };
    format!(
        r#"<tr><td>{}</td><td>{value}</td><td class="muted">{note}</td></tr>"#,
        escape(name)
    )
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
        assert_eq!(opt_num(Some(-0.2), 0), "0");
        assert_eq!(opt_num(Some(-0.04), 1), "0.0");
        assert_eq!(opt_num(Some(-1.6), 0), "-2");
        assert_eq!(opt_num(Some(3.0), 0), "3");
    }
}
