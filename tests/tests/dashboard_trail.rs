//! The dashboard account page draws its score chart from the trail the daily run keeps on the
//! account record, so it needs no score-history read; an account scored before trails existed
//! still gets its chart, from the history. In-memory embedded store, router driven in process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use vitals_core::clock::FixedClock;
use vitals_core::config::{AuthConfig, VitalsConfig};
use vitals_core::model::{AccountProfile, AccountRecord};
use vitals_core::ports::{AccountStore, ScoreHistoryStore};
use vitals_core::run::DailyRun;
use vitals_embedded::{QueueSettings, SqliteQueue, SqliteStore};
use vitals_http::axum::body::Body;
use vitals_http::axum::http::{header, Request, StatusCode};
use vitals_http::tower::ServiceExt;
use vitals_http::{full_router, AppState, LocalTokens, Role, WriteKeys};
use vitals_tests::storage_contract::{acct, history_day, score_record, window};

const RUN_DAYS: u64 = 12;

fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
}

fn at(day: NaiveDate, hour: u32) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_hms_opt(hour, 0, 0).unwrap())
}

fn profile() -> AccountProfile {
    AccountProfile {
        name: Some("Acme".into()),
        owner: Some("ana@example.com".into()),
        seats: Some(10),
        ..AccountProfile::default()
    }
}

/// The account page as an admin sees it on `today`.
async fn account_page(store: Arc<SqliteStore>, today: NaiveDate) -> String {
    let tokens = LocalTokens::new(vec![7u8; 32], &AuthConfig::default()).unwrap();
    let admin = tokens.mint(
        "root@example.com",
        Role::Admin,
        Utc::now(),
        chrono::Duration::hours(1),
    );
    let app = full_router(AppState {
        storage: store,
        clock: Arc::new(FixedClock(at(today, 8))),
        write_keys: Arc::new(WriteKeys::default()),
        retention_days: 730,
        alert_limits: Default::default(),
        signals: Default::default(),
        touches: Default::default(),
        caches: Default::default(),
        authenticator: Arc::new(tokens),
    });
    let request = Request::get("/dashboard/accounts/acme")
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = vitals_http::axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The points of the score-history chart's line (none when the chart has no line).
fn chart_points(page: &str) -> usize {
    let card = &page[page.find(r#"id="history""#).expect("history card")..];
    let card = &card[..card.find("</svg>").expect("history chart")];
    card.find(r#"<polyline"#).map_or(0, |at| {
        let points = &card[at..];
        let start = points.find(r#"points=""#).unwrap() + r#"points=""#.len();
        let end = start + points[start..].find('"').unwrap();
        points[start..end].split_whitespace().count()
    })
}

#[tokio::test]
async fn after_daily_runs_the_chart_has_a_point_per_day_without_the_history() {
    let scored = SqliteStore::open_in_memory().unwrap();
    let queue = SqliteQueue::open_in_memory("scores", QueueSettings { max_receives: 5 }).unwrap();
    let a = acct("acme");
    scored.put_profile(&a, &profile()).await.unwrap();
    let config = VitalsConfig::default();
    let last_day = first_day() + Days::new(RUN_DAYS - 1);
    let clock = FixedClock(at(last_day, 6));
    let run = DailyRun::new(&scored, &queue, &config, &clock);
    for d in 0..RUN_DAYS {
        run.run_day(first_day() + Days::new(d), &mut |_| {})
            .await
            .unwrap();
    }
    // Re-running the last day adds no point.
    run.run_day(last_day, &mut |_| {}).await.unwrap();
    let record = scored.get_account(&a).await.unwrap().unwrap();
    assert_eq!(record.trail.len(), RUN_DAYS as usize);
    assert_eq!(record.trail.points()[0].day, first_day());
    assert_eq!(
        record.trail.points().last().map(|p| f64::from(p.score)),
        record.score.as_ref().map(|s| s.health().score.round()),
        "the newest point is the current score, in whole points"
    );

    // The same account record in a store that holds no score history at all: every point on
    // the chart can only have come from the record.
    let no_history = SqliteStore::open_in_memory().unwrap();
    no_history.put_profile(&a, &record.profile).await.unwrap();
    no_history.put_scoring_state(&record).await.unwrap();
    let page = account_page(Arc::new(no_history), last_day + Days::new(1)).await;
    assert_eq!(chart_points(&page), RUN_DAYS as usize);
    assert!(
        page.contains(&first_day().to_string()),
        "first day labelled"
    );
    assert!(page.contains(&last_day.to_string()), "last day labelled");
}

#[tokio::test]
async fn an_account_scored_before_trails_existed_charts_its_history() {
    let store = SqliteStore::open_in_memory().unwrap();
    let a = acct("acme");
    let today = first_day() + Days::new(5);
    let old = AccountRecord {
        profile: profile(),
        window: window(today, 10),
        score: Some(score_record(&a, today, 10.0)),
        ..AccountRecord::new(a.clone())
    };
    assert!(old.trail.is_empty());
    store.put_profile(&a, &old.profile).await.unwrap();
    store.put_scoring_state(&old).await.unwrap();
    let history: Vec<_> = (0..4)
        .map(|d| history_day(&a, first_day() + Days::new(d), 10.0 + d as f64))
        .collect();
    store.put_history(&history).await.unwrap();
    let page = account_page(Arc::new(store), today).await;
    assert_eq!(chart_points(&page), 4);
}
