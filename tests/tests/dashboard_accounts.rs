//! The accounts page and its CSV export agree with the account list API for every filter,
//! search, sort and page; a CSM's page, export and portfolio cover exactly her book (another
//! CSM sees none of it, totals included); and the portfolio trend counts each day's at-risk
//! accounts. Embedded store scored by the daily run over three days, router driven in process.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use vitals_core::clock::FixedClock;
use vitals_core::config::{AuthConfig, VitalsConfig};
use vitals_core::model::{AccountId, AccountProfile, AccountRecord};
use vitals_core::ports::AccountStore;
use vitals_core::query::{Principal, Role};
use vitals_core::run::DailyRun;
use vitals_embedded::{QueueSettings, SqliteQueue, SqliteStore};
use vitals_http::axum::body::Body;
use vitals_http::axum::http::{header, HeaderMap, Request, StatusCode};
use vitals_http::tower::ServiceExt;
use vitals_http::{full_router, AppState, LocalTokens, WriteKeys};
use vitals_scoring::{DayActivity, UsageWindow};

const ACCOUNTS: usize = 160;
const OWNERS: [&str; 4] = ["ana@example.com", "bob@example.com", "eve@example.com", ""];
/// Days the daily run scores, in order.
const RUN_DAYS: [i64; 3] = [1, 2, 3];

fn day(offset: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1).unwrap() + chrono::Duration::days(offset)
}

fn now() -> DateTime<Utc> {
    day(4).and_hms_opt(8, 0, 0).unwrap().and_utc()
}

/// Accounts of four owners (one unowned), usage steady, declining or growing up to day 0,
/// then scored by the daily run on each of [`RUN_DAYS`] (no events: usage fades, so the
/// at-risk count moves). Answers the at-risk totals of Ana's list after each run.
async fn scored_store() -> (Arc<SqliteStore>, Vec<u64>) {
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    for i in 0..ACCOUNTS {
        let id = AccountId::new(format!("acct-{i:04}")).unwrap();
        let owner = OWNERS[i % OWNERS.len()];
        let mut window = UsageWindow::default();
        for back in (0..90i64).rev() {
            let d = day(-back);
            let peak = i % 14 + 1;
            let users = match i % 3 {
                0 => peak,
                1 => peak.saturating_sub(usize::try_from((90 - back) / 8).unwrap()),
                _ => (peak * usize::try_from(90 - back).unwrap() / 90).max(1),
            };
            window.roll(
                d,
                &DayActivity {
                    day: Some(d),
                    active_users: (0..users).map(|u| format!("u{u}")).collect(),
                    sessions: users as u32 * 2,
                    session_seconds: users as u32 * 600,
                    events: users as u32 * 12,
                    features: vec!["reports".into(), format!("f{}", i % 5)],
                    ..DayActivity::default()
                },
            );
        }
        let profile = AccountProfile {
            name: Some(format!("{}-co-{i}", owner.split('@').next().unwrap_or(""))),
            owner: (!owner.is_empty()).then(|| owner.to_string()),
            tier: Some(["Starter", "Growth", "Enterprise"][i % 3].into()),
            region: Some(["eu-west", "us-east"][i % 2].into()),
            product_line: Some(if i % 5 == 1 { "analytics" } else { "core" }.into()),
            seats: Some(14),
            mrr: (i % 7 != 0).then_some(100.0 + (i % 23) as f64 * 55.0),
            renewal_date: (i % 5 != 0).then(|| day(5 + (i * 13 % 200) as i64)),
            started_on: Some(day(-400)),
            ..AccountProfile::default()
        };
        let mut record = AccountRecord::new(id.clone());
        record.profile = profile.clone();
        record.window = window;
        store.put_profile(&id, &profile).await.unwrap();
        store.put_scoring_state(&record).await.unwrap();
    }
    let queue = SqliteQueue::open_in_memory("alerts", QueueSettings { max_receives: 5 }).unwrap();
    let config = VitalsConfig::default();
    let clock = FixedClock(now());
    let app = app(store.clone());
    let mut at_risk = Vec::new();
    for d in RUN_DAYS {
        DailyRun::new(store.as_ref(), &queue, &config, &clock)
            .run_day(day(d), &mut |_| {})
            .await
            .unwrap();
        let list = json(&app, "/v1/accounts?band=at_risk&limit=1", &ana()).await;
        at_risk.push(list["total"].as_u64().unwrap());
    }
    (store, at_risk)
}

fn tokens() -> LocalTokens {
    LocalTokens::new(vec![7u8; 32], &AuthConfig::default()).unwrap()
}

fn app(store: Arc<SqliteStore>) -> vitals_http::axum::Router {
    full_router(AppState {
        storage: store,
        clock: Arc::new(FixedClock(now())),
        write_keys: Arc::new(WriteKeys::default()),
        retention_days: 730,
        alert_limits: Default::default(),
        signals: Default::default(),
        touches: Default::default(),
        caches: Default::default(),
        authenticator: Arc::new(tokens()),
    })
}

fn ana() -> Principal {
    Principal::new("ana@example.com", Role::Csm)
}

fn bob() -> Principal {
    Principal::new("bob@example.com", Role::Csm)
}

fn admin() -> Principal {
    Principal::new("root@example.com", Role::Admin)
}

fn lead() -> Principal {
    Principal::new("lee@example.com", Role::Lead)
}

async fn get(
    app: &vitals_http::axum::Router,
    path: &str,
    who: &Principal,
) -> (StatusCode, HeaderMap, String) {
    let token = tokens().mint(&who.user, who.role, Utc::now(), chrono::Duration::hours(1));
    let request = Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = vitals_http::axum::body::to_bytes(response.into_body(), 1 << 26)
        .await
        .unwrap();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

async fn json(app: &vitals_http::axum::Router, path: &str, who: &Principal) -> Value {
    let (status, _, body) = get(app, path, who).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Every account id the API lists for the query, in order (all pages).
async fn api_ids(app: &vitals_http::axum::Router, query: &str, who: &Principal) -> Vec<String> {
    let list = json(app, &format!("/v1/accounts?{query}&limit=500"), who).await;
    assert!(list["next_cursor"].is_null(), "one page holds them all");
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["account_id"].as_str().unwrap().to_string())
        .collect()
}

/// The account ids of the page's result rows, in order.
fn page_ids(html: &str) -> Vec<String> {
    assert!(html.contains(r#"<table id="accounts-table">"#));
    html.split(r#"<tr class="account-row" data-account-id=""#)
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_string())
        .collect()
}

/// The account ids of the CSV's rows, in order (the header names the columns).
fn csv_ids(csv: &str) -> Vec<String> {
    let mut lines = csv.split("\r\n").filter(|l| !l.is_empty());
    assert!(lines.next().unwrap().starts_with("account_id,name,owner,"));
    lines
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect()
}

/// Views with their URL parameters, as a bookmarked page would carry them.
const VIEWS: [&str; 9] = [
    "",
    "band=at_risk",
    "band=healthy&sort=-score",
    "decline=any&sort=change_7d",
    "expansion=false&sort=-mrr",
    "tier=growth&region=EU-WEST&sort=renewal",
    "product_line=analytics&sort=risk",
    "q=CO-1&sort=name",
    "renewal_within_days=90&lifecycle=all&sort=change_30d",
];

#[tokio::test]
async fn the_page_and_its_csv_list_what_the_api_lists_for_every_filter_sort_search_and_page() {
    let (store, _) = scored_store().await;
    let app = app(store);
    let mut compared = 0;
    for who in [admin(), lead(), ana()] {
        for view in VIEWS {
            let expected = api_ids(&app, view, &who).await;
            let (status, _, html) = get(&app, &format!("/dashboard/accounts?{view}"), &who).await;
            assert_eq!(status, StatusCode::OK, "{view}");
            let first: Vec<String> = expected.iter().take(50).cloned().collect();
            assert_eq!(page_ids(&html), first, "{who:?} page 1 of {view}");
            let count = expected.len();
            let noun = if count == 1 {
                "account matches"
            } else {
                "accounts match"
            };
            assert!(
                html.contains(&format!(r#"id="accounts-total">{count} {noun}"#)),
                "{who:?} {view}: total {count}"
            );
            if count > 50 {
                let (_, _, next) =
                    get(&app, &format!("/dashboard/accounts?{view}&page=2"), &who).await;
                let second: Vec<String> = expected.iter().skip(50).take(50).cloned().collect();
                assert_eq!(page_ids(&next), second, "{who:?} page 2 of {view}");
                assert!(html.contains(r#"id="accounts-next""#));
                assert!(next.contains(r#"id="accounts-previous""#));
            }
            let (status, headers, csv) =
                get(&app, &format!("/dashboard/accounts.csv?{view}"), &who).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
            let disposition = headers[header::CONTENT_DISPOSITION].to_str().unwrap();
            assert!(disposition.starts_with("attachment; filename=\"accounts-"));
            assert_eq!(csv_ids(&csv), expected, "{who:?} CSV of {view}");
            compared += usize::from(!expected.is_empty());
        }
    }
    assert!(compared >= 14, "most views list something ({compared})");
    // The form's fields are the URL parameters, holding the view's values.
    let (_, _, html) = get(&app, "/dashboard/accounts?band=at_risk&q=co", &admin()).await;
    assert!(html.contains(r#"<option value="at_risk" selected>"#));
    assert!(html.contains(r#"<input name="q" value="co""#));
    // What a reader typed is shown back as text, never as markup (the page's links keep it too).
    let typed = "/dashboard/accounts?q=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E";
    let (status, _, html) = get(&app, typed, &admin()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains(r#"<input name="q" value="&quot;&gt;&lt;script&gt;alert(1)"#));
    // A wrong parameter is refused, naming it.
    let (status, _, html) = get(&app, "/dashboard/accounts?decline=lots", &admin()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("decline: expected any, moderate, severe or none"));
}

#[tokio::test]
async fn a_csm_sees_only_her_book_on_the_page_the_csv_and_the_portfolio_and_another_csm_none_of_it()
{
    let (store, _) = scored_store().await;
    let app = app(store);
    let hers = api_ids(&app, "", &ana()).await;
    assert!(hers.len() > 30);
    let his = api_ids(&app, "", &bob()).await;
    let (_, _, csv) = get(&app, "/dashboard/accounts.csv?lifecycle=all", &ana()).await;
    assert!(csv
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .all(|l| l.split(',').nth(2) == Some("ana@example.com")));
    let (_, _, bobs_csv) = get(&app, "/dashboard/accounts.csv?lifecycle=all", &bob()).await;
    let bobs: BTreeSet<String> = csv_ids(&bobs_csv).into_iter().collect();
    assert!(hers.iter().all(|id| !bobs.contains(id)));
    let mut bobs_pages = BTreeSet::new();
    for page in 1..=3 {
        let (_, _, html) = get(&app, &format!("/dashboard/accounts?page={page}"), &bob()).await;
        assert!(!html.contains("ana-co-") && !html.contains("ana@example.com"));
        bobs_pages.extend(page_ids(&html));
    }
    assert_eq!(bobs_pages.len(), his.len());

    // Her portfolio is her book: the same count as her list, her MRR at risk, her trend.
    let mine = json(&app, "/v1/portfolio", &ana()).await;
    assert_eq!(mine["book"], "owned");
    assert_eq!(mine["accounts"], hers.len());
    let at_risk = api_ids(&app, "band=at_risk", &ana()).await;
    assert_eq!(
        mine["bands"]["at_risk"].as_u64().unwrap_or(0),
        at_risk.len() as u64
    );
    let his_portfolio = json(&app, "/v1/portfolio", &bob()).await;
    assert_eq!(his_portfolio["accounts"], his.len());
    let everyone = json(&app, "/v1/portfolio", &admin()).await;
    assert_eq!(everyone["book"], "all");
    assert!(everyone["accounts"].as_u64().unwrap() > mine["accounts"].as_u64().unwrap());
    // The dashboard says the same, and shows none of another book's accounts.
    let (_, _, page) = get(&app, "/dashboard", &bob()).await;
    assert!(page.contains(&format!("My book as of {}", day(3))));
    assert!(page.contains(&format!("<b>{}</b><span>accounts</span>", his.len())));
    assert!(!page.contains("ana-co-"));
}

#[tokio::test]
async fn the_portfolio_trend_counts_each_days_at_risk_accounts_of_the_readers_book() {
    let (store, at_risk_each_day) = scored_store().await;
    let app = app(store);
    let mine = json(&app, "/v1/portfolio", &ana()).await;
    let trend = mine["trend"].as_array().unwrap();
    let days: Vec<&str> = trend.iter().map(|t| t["as_of"].as_str().unwrap()).collect();
    let expected_days: Vec<String> = RUN_DAYS.iter().map(|d| day(*d).to_string()).collect();
    assert_eq!(days, expected_days);
    let counted: Vec<u64> = trend
        .iter()
        .map(|t| t["at_risk"].as_u64().unwrap())
        .collect();
    assert_eq!(counted, at_risk_each_day, "Ana's at-risk accounts per day");
    assert!(counted.iter().any(|n| *n > 0));
    // MRR at risk of the last day is her at-risk accounts' MRR.
    let at_risk = json(&app, "/v1/accounts?band=at_risk&limit=500", &ana()).await;
    let mrr: f64 = at_risk["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["mrr"].as_f64())
        .sum();
    let last = trend.last().unwrap()["mrr_at_risk"].as_f64().unwrap();
    assert!((last - mrr).abs() < 0.01, "{last} vs {mrr}");
    // The whole portfolio's trend counts every owner's at-risk accounts.
    let everyone = json(&app, "/v1/portfolio", &admin()).await;
    let all_at_risk = everyone["trend"].as_array().unwrap().last().unwrap()["at_risk"]
        .as_u64()
        .unwrap();
    assert!(all_at_risk >= *at_risk_each_day.last().unwrap());
    // The chart plots it.
    let (_, _, page) = get(&app, "/dashboard", &ana()).await;
    assert!(page.contains("At-risk accounts per day"));
    assert!(page.contains("7-day change"));
}
