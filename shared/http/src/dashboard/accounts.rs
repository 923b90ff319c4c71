//! The accounts page (`/dashboard/accounts`) and its CSV export (`/dashboard/accounts.csv`):
//! every account the reader may see, filtered, searched, sorted and paged. The filters are the
//! account list's (`GET /v1/accounts`) under the same parameter names, parsed and applied by the
//! same functions, so a bookmarked view, the API and the export always agree.
//!
//! Reads: the listing version (1; the listing itself when it changed), as the account list.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use vitals_core::query::accounts::{AccountFilter, AccountSort};

use super::cells::ListRow;
use super::html::url_segment;
use super::pages::{self, Frame};
use crate::authn::Principal;
use crate::query::accounts as accounts_query;
use crate::query::reads::{self, Listed};
use crate::{ApiError, AppState};

/// Rows per page.
pub(super) const PAGE_ROWS: usize = 50;

/// The parameters a view keeps in its address, in form order (paging apart).
const VIEW_PARAMS: [&str; 12] = [
    "q",
    "owner",
    "band",
    "tier",
    "region",
    "product_line",
    "lifecycle",
    "renewal_within_days",
    "decline",
    "expansion",
    "sort",
    "page",
];

/// The view `params` asks for: its filter and sort (as the account list parses them) and the
/// listing to cut its rows from.
async fn view(
    state: &AppState,
    who: &Principal,
    params: &HashMap<String, String>,
) -> Result<(AccountFilter, AccountSort, Arc<Listed>), ApiError> {
    if !who.reads_accounts() {
        return Err(ApiError::Forbidden);
    }
    let (filter, sort) = accounts_query::list_request(params)?;
    let today = state.clock.now().date_naive();
    let listed = reads::listed_rows(state, today).await?;
    Ok((filter, sort, listed))
}

/// `page` from 1, default 1.
fn page_number(params: &HashMap<String, String>) -> Result<usize, ApiError> {
    Ok(crate::query::parse_param(
        "page",
        params.get("page").map(String::as_str),
        |v| v.parse::<usize>().ok().filter(|p| *p >= 1),
        "a page number from 1",
    )?
    .unwrap_or(1))
}

/// The query string of this view with some parameters replaced (`None` drops one).
fn link(params: &HashMap<String, String>, set: &[(&str, Option<String>)]) -> String {
    let mut pairs = Vec::new();
    for name in VIEW_PARAMS {
        let value = match set.iter().find(|(k, _)| *k == name) {
            Some((_, v)) => v.clone(),
            None => params.get(name).cloned(),
        };
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            pairs.push(format!("{name}={}", url_segment(&value)));
        }
    }
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

pub async fn accounts(
    state: &AppState,
    who: &Principal,
    params: &HashMap<String, String>,
    frame: &Frame,
) -> Result<String, ApiError> {
    let page = page_number(params)?;
    let (filter, sort, listed) = view(state, who, params).await?;
    let today = state.clock.now().date_naive();
    let rows = listed.rows.visible(who, &filter, sort, today);
    let total = rows.len();
    let pages = total.div_ceil(PAGE_ROWS).max(1);
    let page = page.min(pages);
    let start = (page - 1) * PAGE_ROWS;
    // Only the shown rows are copied (to count their days to renewal from today).
    let shown: Vec<ListRow> = rows[start.min(total)..(start + PAGE_ROWS).min(total)]
        .iter()
        .map(|r| ListRow::of(&(*r).clone().on(today), today))
        .collect();
    let view = AccountsPage {
        filters: filters(params, who, &listed),
        total,
        csv_query: link(params, &[("page", None)]),
        columns: COLUMNS
            .iter()
            .map(|(title, first, second)| column(params, sort, title, *first, *second))
            .collect(),
        page,
        pages,
        first: if total == 0 { 0 } else { start + 1 },
        last: start + shown.len(),
        previous: (page > 1).then(|| link(params, &[("page", Some((page - 1).to_string()))])),
        next: (page < pages).then(|| link(params, &[("page", Some((page + 1).to_string()))])),
        rows: shown,
    };
    pages::render("accounts.html", frame, view)
}

/// The accounts page's view: the filter form, the table's columns and rows, the pager.
#[derive(Serialize)]
struct AccountsPage {
    filters: Vec<Field>,
    total: usize,
    /// This view's query string, for the CSV link.
    csv_query: String,
    columns: Vec<Column>,
    rows: Vec<ListRow>,
    page: usize,
    pages: usize,
    first: usize,
    last: usize,
    /// The query strings of the previous and next pages, if any.
    previous: Option<String>,
    next: Option<String>,
}

/// Column title and the sorts its header link asks for (first click, then the other way).
const COLUMNS: &[(&str, Option<&str>, Option<&str>)] = &[
    ("Account", Some("name"), None),
    ("Score", Some("score"), Some("-score")),
    ("Band", None, None),
    ("1-day", Some("change"), None),
    ("7-day", Some("change_7d"), None),
    ("30-day", Some("change_30d"), None),
    ("MRR", Some("-mrr"), None),
    ("Renewal", Some("renewal"), None),
    ("Churn risk", Some("risk"), None),
    ("Owner", None, None),
    ("Segment", None, None),
    ("Why", None, None),
];

/// A column header: a sortable one links to the view sorted by it (from page 1).
#[derive(Serialize)]
struct Column {
    title: &'static str,
    /// The sort its link asks for and the link's query string; `None`: not sortable.
    sort: Option<&'static str>,
    href: Option<String>,
    /// " ▲" or " ▼" on the current sort.
    arrow: &'static str,
}

/// The current sort is marked, and a second click on the score flips it.
fn column(
    params: &HashMap<String, String>,
    current: AccountSort,
    title: &'static str,
    first: Option<&'static str>,
    second: Option<&'static str>,
) -> Column {
    let Some(first) = first else {
        return Column {
            title,
            sort: None,
            href: None,
            arrow: "",
        };
    };
    let active = current.name() == first || second == Some(current.name());
    let next = match second {
        Some(other) if current.name() == first => other,
        _ => first,
    };
    let arrow = if !active {
        ""
    } else if current.name() == first {
        " ▲"
    } else {
        " ▼"
    };
    Column {
        title,
        sort: Some(next),
        href: Some(link(
            params,
            &[("sort", Some(next.to_string())), ("page", None)],
        )),
        arrow,
    }
}

/// A field of the filter form: a text input, or a choice when it has options.
#[derive(Serialize)]
struct Field {
    name: &'static str,
    label: &'static str,
    value: String,
    size: u32,
    options: Vec<Choice>,
}

#[derive(Serialize)]
struct Choice {
    value: String,
    text: String,
    selected: bool,
}

/// The GET form: each field's name is its URL parameter, so submitting it bookmarks the view.
/// Owner (for readers of every book) and tier are choices among the values the listing holds.
fn filters(params: &HashMap<String, String>, who: &Principal, listed: &Listed) -> Vec<Field> {
    let current = |k: &str| params.get(k).cloned().unwrap_or_default();
    let text = |name, label, size| Field {
        name,
        label,
        value: current(name),
        size,
        options: vec![],
    };
    let select = |name, label, options: Vec<(String, String)>| Field {
        name,
        label,
        value: String::new(),
        size: 0,
        options: options
            .into_iter()
            .map(|(value, text)| Choice {
                selected: value == current(name),
                value,
                text,
            })
            .collect(),
    };
    let fixed = |options: &[(&str, &str)]| -> Vec<(String, String)> {
        options
            .iter()
            .map(|(v, t)| (v.to_string(), t.to_string()))
            .collect()
    };
    // A value no row holds any more (a bookmarked view) stays chosen.
    let choices = |name: &str, any: &str, values: &[String]| -> Vec<(String, String)> {
        let mut out = vec![(String::new(), any.to_string())];
        out.extend(values.iter().map(|v| (v.clone(), v.clone())));
        if let Some(current) = params.get(name).filter(|c| !c.is_empty()) {
            if !values.contains(current) {
                out.push((current.clone(), current.clone()));
            }
        }
        out
    };
    let mut fields = vec![text("q", "Search", 18)];
    if who.reads_every_account() {
        fields.push(select(
            "owner",
            "Owner",
            choices("owner", "any owner", &listed.owners),
        ));
    }
    fields.extend([
        select(
            "band",
            "Band",
            fixed(&[
                ("", "any"),
                ("at_risk", "at risk"),
                ("monitor", "monitor"),
                ("healthy", "healthy"),
            ]),
        ),
        select(
            "tier",
            "Scorecard / tier",
            choices("tier", "any", &listed.tiers),
        ),
        text("region", "Region", 8),
        text("product_line", "Product line", 10),
        select(
            "lifecycle",
            "State",
            fixed(&[
                ("", "active"),
                ("churned", "churned"),
                ("not_started", "not started"),
                ("all", "all"),
            ]),
        ),
        text("renewal_within_days", "Renewal within (days)", 4),
        select(
            "decline",
            "Decline",
            fixed(&[
                ("", "any or none"),
                ("any", "declining"),
                ("moderate", "moderate"),
                ("severe", "severe"),
                ("none", "not declining"),
            ]),
        ),
        select(
            "expansion",
            "Expansion",
            fixed(&[
                ("", "either"),
                ("true", "candidates"),
                ("false", "not candidates"),
            ]),
        ),
        select(
            "sort",
            "Sort",
            fixed(&[
                ("", "score, worst first"),
                ("-score", "score, best first"),
                ("change", "1-day change"),
                ("change_7d", "7-day change"),
                ("change_30d", "30-day change"),
                ("-mrr", "MRR, highest first"),
                ("renewal", "renewal, soonest first"),
                ("risk", "churn risk, highest first"),
                ("name", "name"),
            ]),
        ),
    ]);
    fields
}

/// The CSV of the view (every matching row, not one page), named after the day.
pub async fn accounts_csv(
    state: &AppState,
    who: &Principal,
    params: &HashMap<String, String>,
) -> Result<(String, String), ApiError> {
    let (filter, sort, listed) = view(state, who, params).await?;
    let today = state.clock.now().date_naive();
    let rows = listed.rows.visible(who, &filter, sort, today);
    let mut out = String::from(
        "account_id,name,owner,tier,region,product_line,score,band,change_1d,change_7d,change_30d,mrr,renewal_date,days_to_renewal,churn_risk,renewal_risk,decline,expansion,lifecycle,reason\r\n",
    );
    let num = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.1}"));
    for row in rows {
        let fields = [
            row.account_id.clone(),
            row.name.clone().unwrap_or_default(),
            row.owner.clone().unwrap_or_default(),
            row.tier.clone().unwrap_or_default(),
            row.region.clone().unwrap_or_default(),
            row.product_line.clone().unwrap_or_default(),
            num(row.score),
            row.band.map_or(String::new(), |b| b.as_str().to_string()),
            num(row.change),
            num(row.change_7d),
            num(row.change_30d),
            num(row.mrr),
            row.renewal_date.map_or(String::new(), |d| d.to_string()),
            row.renewal_date
                .map_or(String::new(), |d| (d - today).num_days().to_string()),
            row.churn_risk.map_or(String::new(), |p| format!("{p:.3}")),
            row.renewal_risk
                .map_or(String::new(), |r| format!("{r:?}").to_lowercase()),
            row.decline
                .map_or(String::new(), |d| format!("{d:?}").to_lowercase()),
            row.expansion.to_string(),
            row.lifecycle.as_str().to_string(),
            row.reason.clone(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    let name = format!("accounts-{}.csv", state.clock.now().date_naive());
    Ok((name, out))
}

/// A CSV field, quoted when it must be; text a spreadsheet would run as a formula starts with
/// a quote mark instead.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '@', '\t', '\r'])
        || (value.starts_with('-') && value.parse::<f64>().is_err())
    {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("Acme, Inc"), "\"Acme, Inc\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("-12.0"), "-12.0");
        assert_eq!(csv_field("plain"), "plain");
    }

    #[test]
    fn links_keep_the_view_and_replace_what_is_asked() {
        let params: HashMap<String, String> = [
            ("band".to_string(), "at_risk".to_string()),
            ("page".to_string(), "3".to_string()),
            ("token".to_string(), "secret".to_string()),
        ]
        .into();
        assert_eq!(
            link(&params, &[("sort", Some("-mrr".into())), ("page", None)]),
            "?band=at_risk&sort=-mrr"
        );
    }
}
