//! The accounts page (`/dashboard/accounts`) and its CSV export (`/dashboard/accounts.csv`):
//! every account the reader may see, filtered, searched, sorted and paged. The filters are the
//! account list's (`GET /v1/accounts`) under the same parameter names, parsed and applied by the
//! same functions, so a bookmarked view, the API and the export always agree.
//!
//! Reads: the listing version (1; the listing itself when it changed), as the account list.

use std::collections::HashMap;
use std::sync::Arc;

use vitals_core::query::accounts::{AccountFilter, AccountRow, AccountSort};

use super::cells::*;
use super::html::{escape, money, url_segment};
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
    let listed = reads::listed_rows(&state.storage, today).await?;
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
    let shown: Vec<AccountRow> = rows[start.min(total)..(start + PAGE_ROWS).min(total)]
        .iter()
        .map(|r| (*r).clone().on(today))
        .collect();

    let mut s = String::from("<h1>Accounts</h1>");
    s.push_str(&filter_form(params, who, &listed));
    put!(
        s,
        r#"<div class="card"><p class="muted" id="accounts-total">{total} account{} match{} · <a id="accounts-csv" href="/dashboard/accounts.csv{}">Export CSV</a></p><table id="accounts-table"><tr>"#,
        if total == 1 { "" } else { "s" },
        if total == 1 { "es" } else { "" },
        escape(&link(params, &[("page", None)]))
    );
    for (title, ascending, descending) in COLUMNS {
        s.push_str(&header_cell(params, sort, title, *ascending, *descending));
    }
    s.push_str("</tr>");
    for row in &shown {
        put!(
            s,
            r#"<tr class="account-row" data-account-id="{}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            escape(&row.account_id),
            account_link(row),
            score_cell(row, today),
            band_cell(row.band),
            opt_num(row.change, 0),
            opt_num(row.change_7d, 0),
            opt_num(row.change_30d, 0),
            row.mrr.map_or(String::new(), money),
            renewal_cell(row),
            row.churn_risk
                .map_or(String::new(), |p| format!("{:.0}%", p * 100.0)),
            escape(row.owner.as_deref().unwrap_or("")),
            escape(
                &[
                    row.tier.as_deref(),
                    row.region.as_deref(),
                    row.product_line.as_deref()
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" · ")
            ),
            escape(&row.reason)
        );
    }
    if shown.is_empty() {
        put!(
            s,
            r#"<tr><td colspan="{}" class="muted">No account matches.</td></tr>"#,
            COLUMNS.len()
        );
    }
    s.push_str("</table>");
    put!(
        s,
        r#"<p class="pager">Page {page} of {pages} · rows {}–{} of {total} "#,
        if total == 0 { 0 } else { start + 1 },
        start + shown.len()
    );
    if page > 1 {
        put!(
            s,
            r#"<a id="accounts-previous" rel="prev" href="/dashboard/accounts{}">← previous</a> "#,
            escape(&link(params, &[("page", Some((page - 1).to_string()))]))
        );
    }
    if page < pages {
        put!(
            s,
            r#"<a id="accounts-next" rel="next" href="/dashboard/accounts{}">next →</a>"#,
            escape(&link(params, &[("page", Some((page + 1).to_string()))]))
        );
    }
    s.push_str("</p></div>");
    Ok(s)
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

/// A sortable column's header links to the view sorted by it (from page 1); the current sort
/// is marked, and a second click on the score flips it.
fn header_cell(
    params: &HashMap<String, String>,
    current: AccountSort,
    title: &str,
    first: Option<&str>,
    second: Option<&str>,
) -> String {
    let Some(first) = first else {
        return format!("<th>{}</th>", escape(title));
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
    format!(
        r#"<th><a class="sort" data-sort="{next}" href="/dashboard/accounts{}">{}{arrow}</a></th>"#,
        escape(&link(
            params,
            &[("sort", Some(next.to_string())), ("page", None)]
        )),
        escape(title)
    )
}

/// The renewal day, how far it is and its risk ("2026-04-01 (30 d, high risk)").
fn renewal_cell(row: &AccountRow) -> String {
    let risk = row.renewal_risk.map_or(String::new(), |r| {
        format!(", {} risk", format!("{r:?}").to_lowercase())
    });
    match (row.renewal_date, row.days_to_renewal) {
        (Some(date), Some(days)) => {
            format!(r#"{date} <span class="muted">({days} d{risk})</span>"#)
        }
        (Some(date), None) => date.to_string(),
        _ => String::new(),
    }
}

/// The GET form: each field's name is its URL parameter, so submitting it bookmarks the view.
/// Owner (for readers of every book) and tier are choices among the values the listing holds.
fn filter_form(params: &HashMap<String, String>, who: &Principal, listed: &Listed) -> String {
    let value = |k: &str| escape(params.get(k).map_or("", String::as_str));
    let text = |name: &str, label: &str, size: u32| {
        format!(
            r#"<label>{label} <input name="{name}" value="{}" size="{size}"></label>"#,
            value(name)
        )
    };
    let select = |name: &str, label: &str, options: &[(&str, &str)]| {
        let current = params.get(name).map_or("", String::as_str);
        let mut s = format!(r#"<label>{label} <select name="{name}">"#);
        for (v, text) in options {
            put!(
                s,
                r#"<option value="{}"{}>{}</option>"#,
                escape(v),
                if *v == current { " selected" } else { "" },
                escape(text)
            );
        }
        s.push_str("</select></label>");
        s
    };
    let mut s = String::from(
        r#"<form class="card filters" id="accounts-filters" method="get" action="/dashboard/accounts">"#,
    );
    s.push_str(&text("q", "Search", 18));
    // A value no row holds any more (a bookmarked view) stays chosen.
    let choices = |name: &str, any: &'static str, values: &[String]| -> Vec<(String, String)> {
        let mut out = vec![(String::new(), any.to_string())];
        out.extend(values.iter().map(|v| (v.clone(), v.clone())));
        if let Some(current) = params.get(name).filter(|c| !c.is_empty()) {
            if !values.contains(current) {
                out.push((current.clone(), current.clone()));
            }
        }
        out
    };
    fn owned(options: &[(String, String)]) -> Vec<(&str, &str)> {
        options
            .iter()
            .map(|(v, t)| (v.as_str(), t.as_str()))
            .collect()
    }
    if who.reads_every_account() {
        let owners = choices("owner", "any owner", &listed.owners);
        s.push_str(&select("owner", "Owner", &owned(&owners)));
    }
    s.push_str(&select(
        "band",
        "Band",
        &[
            ("", "any"),
            ("at_risk", "at risk"),
            ("monitor", "monitor"),
            ("healthy", "healthy"),
        ],
    ));
    let tiers = choices("tier", "any", &listed.tiers);
    s.push_str(&select("tier", "Scorecard / tier", &owned(&tiers)));
    s.push_str(&text("region", "Region", 8));
    s.push_str(&text("product_line", "Product line", 10));
    s.push_str(&select(
        "lifecycle",
        "State",
        &[
            ("", "active"),
            ("churned", "churned"),
            ("not_started", "not started"),
            ("all", "all"),
        ],
    ));
    s.push_str(&text("renewal_within_days", "Renewal within (days)", 4));
    s.push_str(&select(
        "decline",
        "Decline",
        &[
            ("", "any or none"),
            ("any", "declining"),
            ("moderate", "moderate"),
            ("severe", "severe"),
            ("none", "not declining"),
        ],
    ));
    s.push_str(&select(
        "expansion",
        "Expansion",
        &[
            ("", "either"),
            ("true", "candidates"),
            ("false", "not candidates"),
        ],
    ));
    s.push_str(&select(
        "sort",
        "Sort",
        &[
            ("", "score, worst first"),
            ("-score", "score, best first"),
            ("change", "1-day change"),
            ("change_7d", "7-day change"),
            ("change_30d", "30-day change"),
            ("-mrr", "MRR, highest first"),
            ("renewal", "renewal, soonest first"),
            ("risk", "churn risk, highest first"),
            ("name", "name"),
        ],
    ));
    s.push_str(
        r#" <button id="accounts-apply">Apply</button> <a href="/dashboard/accounts">Clear</a></form>"#,
    );
    s
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
