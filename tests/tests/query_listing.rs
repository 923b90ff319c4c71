//! The account list read from the precomputed listing the daily run writes gives exactly what
//! the old scan of every account record gave for the same data: same rows, same order, same
//! totals, for every filter, sort and role (CSM and AE scoping included). Also: a store scored
//! before listings existed still lists every account (read from its records), and the
//! dashboard's lists come from the listing with the same scoping.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use vitals_core::clock::FixedClock;
use vitals_core::config::{AuthConfig, VitalsConfig};
use vitals_core::model::{AccountId, AccountProfile, AccountRecord, Band, ScoreRecord};
use vitals_core::ports::{AccountStore, ListingStore, Storage};
use vitals_core::query::accounts::{AccountFilter, AccountRow, AccountSort, DeclineFilter};
use vitals_core::query::{Principal, Role};
use vitals_core::run::DailyRun;
use vitals_core::segment::Segment;
use vitals_embedded::{QueueSettings, SqliteQueue, SqliteStore};
use vitals_http::axum::body::Body;
use vitals_http::axum::http::{header, Request, StatusCode};
use vitals_http::tower::ServiceExt;
use vitals_http::{full_router, AppState, LocalTokens, WriteKeys};
use vitals_scoring::{score_account, AccountFacts, DayActivity, ScoringConfig, UsageWindow};

const ACCOUNTS: usize = 150;
const OWNERS: [&str; 4] = ["ana@example.com", "bob@example.com", "eve@example.com", ""];

fn day(offset: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1).unwrap() + chrono::Duration::days(offset)
}

/// Accounts of four owners (one unowned) with usage that is steady, declining or growing, so
/// every band, decline severity and expansion signal occurs; scored as of day 0.
async fn store() -> Arc<SqliteStore> {
    let store = SqliteStore::open_in_memory().unwrap();
    let config = ScoringConfig::default();
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
            seats: Some(14),
            mrr: (i % 7 != 0).then_some(100.0 + (i % 23) as f64 * 55.0),
            renewal_date: (i % 5 != 0).then(|| day(5 + (i * 13 % 200) as i64)),
            started_on: Some(day(-400)),
            ..AccountProfile::default()
        };
        let facts = AccountFacts {
            tier: profile.tier.clone(),
            seats_licensed: profile.seats,
            mrr: profile.mrr,
            renewal_date: profile.renewal_date,
            contract_start: profile.started_on,
            ..AccountFacts::default()
        };
        let record = AccountRecord {
            account_id: id.clone(),
            profile: profile.clone(),
            score: Some(ScoreRecord {
                account_id: id.clone(),
                as_of: day(0),
                computed_at: DateTime::<Utc>::default(),
                score: score_account(&config, &facts, &window, day(0), None),
            }),
            window,
            trail: Default::default(),
            provisional: None,
        };
        store.put_profile(&id, &profile).await.unwrap();
        store.put_scoring_state(&record).await.unwrap();
    }
    Arc::new(store)
}

fn now() -> DateTime<Utc> {
    day(2).and_hms_opt(8, 0, 0).unwrap().and_utc()
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

async fn get(app: &vitals_http::axum::Router, path: &str, who: &Principal) -> (StatusCode, String) {
    let token = tokens().mint(&who.user, who.role, Utc::now(), chrono::Duration::hours(1));
    let request = Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = vitals_http::axum::body::to_bytes(response.into_body(), 1 << 26)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// What the account list answered before listings existed: every record of every segment,
/// scoped by profile owner, made into rows, filtered and sorted.
async fn scanned(
    store: &dyn Storage,
    who: &Principal,
    filter: &AccountFilter,
    sort: AccountSort,
) -> Vec<AccountRow> {
    let today = now().date_naive();
    let mut rows = Vec::new();
    for segment in Segment::all() {
        let page = store.list_segment(segment, None, 10_000).await.unwrap();
        assert!(page.next.is_none());
        rows.extend(
            page.items
                .iter()
                .filter(|r| who.sees(&r.profile))
                .map(|r| AccountRow::from_record(r, today))
                .filter(|r| filter.matches(r)),
        );
    }
    sort.sort(&mut rows);
    rows
}

/// Query strings of the list endpoint with the filter and sort they mean.
fn cases() -> Vec<(&'static str, AccountFilter, AccountSort)> {
    let f = AccountFilter::default;
    vec![
        ("", f(), AccountSort::ScoreAsc),
        (
            "band=at_risk",
            AccountFilter {
                band: Some(Band::AtRisk),
                ..f()
            },
            AccountSort::ScoreAsc,
        ),
        (
            "band=healthy&sort=-score",
            AccountFilter {
                band: Some(Band::Healthy),
                ..f()
            },
            AccountSort::ScoreDesc,
        ),
        (
            "band=monitor&sort=change",
            AccountFilter {
                band: Some(Band::Monitor),
                ..f()
            },
            AccountSort::Change,
        ),
        (
            "decline=any",
            AccountFilter {
                decline: Some(DeclineFilter::Any),
                ..f()
            },
            AccountSort::ScoreAsc,
        ),
        (
            "decline=severe&sort=name",
            AccountFilter {
                decline: Some(DeclineFilter::Severe),
                ..f()
            },
            AccountSort::Name,
        ),
        (
            "decline=none&sort=-mrr",
            AccountFilter {
                decline: Some(DeclineFilter::None),
                ..f()
            },
            AccountSort::Mrr,
        ),
        (
            "expansion=true",
            AccountFilter {
                expansion: Some(true),
                ..f()
            },
            AccountSort::ScoreAsc,
        ),
        (
            "expansion=false&sort=account_id",
            AccountFilter {
                expansion: Some(false),
                ..f()
            },
            AccountSort::AccountId,
        ),
        (
            "tier=GROWTH&region=eu-west",
            AccountFilter {
                tier: Some("GROWTH".into()),
                region: Some("eu-west".into()),
                ..f()
            },
            AccountSort::ScoreAsc,
        ),
        (
            "owner=Bob@Example.com",
            AccountFilter {
                owner: Some("Bob@Example.com".into()),
                ..f()
            },
            AccountSort::ScoreAsc,
        ),
        (
            "renewal_within_days=60&sort=renewal",
            AccountFilter {
                renewal_within_days: Some(60),
                ..f()
            },
            AccountSort::Renewal,
        ),
    ]
}

fn principals() -> [Principal; 5] {
    [
        Principal::new("root@example.com", Role::Admin),
        Principal::new("lee@example.com", Role::Lead),
        Principal::new("ana@example.com", Role::Csm),
        Principal::new("EVE@example.com", Role::Ae),
        Principal::new("nobody@example.com", Role::Csm),
    ]
}

/// Pages through the list endpoint (small pages, so the cursor is exercised) and checks every
/// case for every principal against the scan. Answers how many (case, principal) pairs listed
/// at least one account.
async fn assert_list_matches_scan(store: &Arc<SqliteStore>) -> usize {
    let app = app(store.clone());
    let mut non_empty = 0;
    for who in principals() {
        for (query, filter, sort) in cases() {
            let expected = scanned(store.as_ref(), &who, &filter, sort).await;
            let mut got: Vec<Value> = Vec::new();
            let mut cursor = String::new();
            loop {
                let path = format!("/v1/accounts?{query}&limit=7&cursor={cursor}");
                let (status, body) = get(&app, &path, &who).await;
                assert_eq!(status, StatusCode::OK, "{path}: {body}");
                let page: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(page["total"], expected.len(), "{who:?} {query}");
                got.extend(page["items"].as_array().unwrap().iter().cloned());
                match page["next_cursor"].as_str() {
                    Some(next) => cursor = next.to_string(),
                    None => break,
                }
            }
            assert_eq!(
                got,
                serde_json::to_value(&expected)
                    .unwrap()
                    .as_array()
                    .unwrap()
                    .clone(),
                "{who:?} {query}"
            );
            non_empty += usize::from(!expected.is_empty());
        }
    }
    non_empty
}

#[tokio::test]
async fn the_account_list_from_the_listing_equals_the_scan_for_every_filter_and_role() {
    let store = store().await;
    // Scored before listings existed: every account still listed, from its record.
    assert!(store.account_listing().await.unwrap().segments.is_empty());
    let before = assert_list_matches_scan(&store).await;

    let queue = SqliteQueue::open_in_memory("alerts", QueueSettings { max_receives: 5 }).unwrap();
    let config = VitalsConfig::default();
    let clock = FixedClock(now());
    DailyRun::new(store.as_ref(), &queue, &config, &clock)
        .run_day(day(1), &mut |_| {})
        .await
        .unwrap();
    let listing = store.account_listing().await.unwrap();
    assert_eq!(
        listing.segments.len(),
        usize::from(vitals_core::segment::SEGMENT_COUNT)
    );
    let listed: usize = listing.segments.iter().map(|s| s.rows.len()).sum();
    assert_eq!(listed, ACCOUNTS, "the run lists every account once");
    assert!(listing.segments.iter().all(|s| s.as_of == day(1)));
    assert_eq!(listing.trend.last().and_then(|s| s.as_of), Some(day(1)));

    let after = assert_list_matches_scan(&store).await;
    let pairs = principals().len() * cases().len();
    assert!(
        before > pairs / 2 && after > pairs / 2,
        "most cases list something ({before}, {after} of {pairs})"
    );
}

#[tokio::test]
async fn the_dashboard_lists_come_from_the_listing_scoped_to_the_caller() {
    let store = store().await;
    let queue = SqliteQueue::open_in_memory("alerts", QueueSettings { max_receives: 5 }).unwrap();
    let config = VitalsConfig::default();
    let clock = FixedClock(now());
    DailyRun::new(store.as_ref(), &queue, &config, &clock)
        .run_day(day(1), &mut |_| {})
        .await
        .unwrap();
    let app = app(store.clone());
    let ana = Principal::new("ana@example.com", Role::Csm);
    let (status, html) = get(&app, "/dashboard", &ana).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("at-risk-row"), "Ana has accounts at risk");
    assert!(html.contains("ana-co-"));
    for other in ["bob-co-", "eve-co-", ">-co-"] {
        assert!(!html.contains(other), "Ana's dashboard shows {other}");
    }
    assert!(html.contains(&format!("My book as of {}", day(1))));
    let viewer = Principal::new("viewer@example.com", Role::ReadOnly);
    let (status, html) = get(&app, "/dashboard", &viewer).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("-co-"), "read-only sees no account");
    assert!(html.contains(r#"id="trend""#));
    // Accounts added after the run appear at the next run (the list is as of the latest run).
    let late = AccountId::new("late-account").unwrap();
    store
        .put_profile(
            &late,
            &AccountProfile {
                owner: Some("ana@example.com".into()),
                ..AccountProfile::default()
            },
        )
        .await
        .unwrap();
    let admin = Principal::new("root@example.com", Role::Admin);
    let (_, body) = get(&app, "/v1/accounts?sort=account_id&limit=500", &admin).await;
    assert!(!body.contains("late-account"));
    DailyRun::new(store.as_ref(), &queue, &config, &clock)
        .run_day(day(2), &mut |_| {})
        .await
        .unwrap();
    let (_, body) = get(&app, "/v1/accounts?sort=account_id&limit=500", &admin).await;
    assert!(body.contains("late-account"));
}
