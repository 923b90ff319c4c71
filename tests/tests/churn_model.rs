//! The churn risk model in use: the daily run refits it from the score history and the outcomes
//! known by the run day, stores it, and the account view (API and dashboard) shows each
//! account's probability of churning within the horizon with its main contributors, or why
//! there is none. Embedded store, router driven in process.

#![allow(clippy::unwrap_used)]

mod churn_fixture;

use std::sync::Arc;

use chrono::Utc;
use churn_fixture::{account, at, day, entry_with, Portfolio};
use serde_json::Value;
use vitals_core::churn::{fit_churn_model, refresh_churn_model};
use vitals_core::clock::FixedClock;
use vitals_core::config::{AuthConfig, ChurnConfig, VitalsConfig};
use vitals_core::model::AccountRecord;
use vitals_core::ports::{AccountStore, ChurnModelStore, ListingStore};
use vitals_core::run::DailyRun;
use vitals_embedded::{QueueSettings, SqliteQueue, SqliteStore};
use vitals_http::axum::body::Body;
use vitals_http::axum::http::{header, Request, StatusCode};
use vitals_http::tower::ServiceExt;
use vitals_http::{full_router, AppState, LocalTokens, Role, WriteKeys};
use vitals_scoring::signals::SIGNAL_COUNT;
use vitals_scoring::Signal;

const SECRET: [u8; 32] = [7; 32];

fn churn_config() -> ChurnConfig {
    ChurnConfig {
        horizon_days: 30,
        training_days: 154,
        ..ChurnConfig::default()
    }
}

/// The run day: late enough that 154 days of labelled history end 30 days before it.
const RUN_DAY: u64 = 200;

async fn generated(portfolio: &Portfolio) -> Arc<SqliteStore> {
    let store = SqliteStore::open_in_memory().unwrap();
    portfolio.write(&store).await;
    Arc::new(store)
}

async fn get_account(store: Arc<SqliteStore>, id: &str) -> Value {
    serde_json::from_str(&get(store, &format!("/v1/accounts/{id}")).await).unwrap()
}

/// The body of a GET answered 200, as an admin.
async fn get(store: Arc<SqliteStore>, path: &str) -> String {
    let tokens = LocalTokens::new(SECRET.to_vec(), &AuthConfig::default()).unwrap();
    let token = tokens.mint(
        "root@example.com",
        Role::Admin,
        Utc::now(),
        chrono::Duration::hours(1),
    );
    let app = full_router(AppState {
        storage: store,
        clock: Arc::new(FixedClock(at(RUN_DAY + 1, 8))),
        write_keys: Arc::new(WriteKeys::new(["write-key-1".to_string()])),
        retention_days: 730,
        alert_limits: Default::default(),
        signals: Default::default(),
        touches: Default::default(),
        caches: Default::default(),
        authenticator: Arc::new(tokens),
    });
    let request = Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = vitals_http::axum::body::to_bytes(response.into_body(), 1 << 22)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Sets an account's current score to the default scorecard over these values, with `cause`
/// at `cause_value`.
async fn score_now(store: &SqliteStore, i: usize, cause: Signal, cause_value: f64) {
    let mut values = [Some(60.0); SIGNAL_COUNT];
    values[cause.index()] = Some(cause_value);
    let mut record = AccountRecord::new(account(i));
    record.score = Some(entry_with(&account(i), day(RUN_DAY), &values));
    store.put_scoring_state(&record).await.unwrap();
}

/// The generated portfolio's store, a configuration with [`churn_config`] and an alert queue.
async fn run_setup() -> (Arc<SqliteStore>, VitalsConfig, SqliteQueue) {
    let store = generated(&Portfolio::default()).await;
    let config = VitalsConfig {
        churn: churn_config(),
        ..VitalsConfig::default()
    };
    let queue = SqliteQueue::open_in_memory("alerts", QueueSettings { max_receives: 5 }).unwrap();
    (store, config, queue)
}

#[tokio::test]
async fn a_backfill_refits_the_model_only_on_days_whose_fit_is_still_current() {
    let (store, config, queue) = run_setup().await;
    // A backfill run a month later: RUN_DAY's fit would be stale long before the last day
    // that has ended, so the run does not spend a read of every history on it.
    let later = FixedClock(at(RUN_DAY + 31, 6));
    let run = DailyRun::new(store.as_ref(), &queue, &config, &later);
    run.run_day(day(RUN_DAY), &mut |_| {}).await.unwrap();
    assert!(store.latest_churn_model().await.unwrap().is_none());
    // Within `refresh_days` of the last day that has ended, it fits.
    let recent = RUN_DAY + 30 - u64::from(config.churn.refresh_days) + 1;
    run.run_day(day(recent), &mut |_| {}).await.unwrap();
    let stored = store.latest_churn_model().await.unwrap().unwrap();
    assert_eq!(stored.as_of, day(recent));
}

#[tokio::test]
async fn the_daily_run_refits_the_model_and_the_account_view_shows_the_risk() {
    let (store, config, queue) = run_setup().await;
    let clock = FixedClock(at(RUN_DAY + 1, 6));
    DailyRun::new(store.as_ref(), &queue, &config, &clock)
        .run_day(day(RUN_DAY), &mut |_| {})
        .await
        .unwrap();
    let stored = store.latest_churn_model().await.unwrap().unwrap();
    assert_eq!(stored.as_of, day(RUN_DAY));
    assert_eq!(stored.horizon_days, 30);
    let model = stored.model.as_ref().expect("enough churns for a model");
    let usage = model
        .features
        .iter()
        .position(|f| f == "signal:usage_depth")
        .unwrap();
    assert!(
        model.weights[usage] < 0.0,
        "more usage, less churn: {model:?}"
    );
    let holdout = stored.holdout.as_ref().expect("a calibration check");
    assert!(holdout.samples > 0 && holdout.positives > 0, "{holdout:?}");
    assert!(holdout.brier_raw.is_some() && !holdout.reliability.is_empty());

    // Two live accounts: one whose usage has slid, one steady.
    score_now(&store, 1, Signal::UsageDepth, 12.0).await;
    score_now(&store, 2, Signal::UsageDepth, 75.0).await;
    let risky = get_account(store.clone(), "acct-001").await;
    let steady = get_account(store.clone(), "acct-002").await;
    let p = |v: &Value| v["churn_risk"]["probability"].as_f64().unwrap();
    assert!(p(&risky) > p(&steady), "{risky:#}\n{steady:#}");
    assert!(p(&risky) > 0.0 && p(&risky) < 1.0);
    let risk = &risky["churn_risk"];
    assert_eq!(risk["horizon_days"], 30);
    assert_eq!(risk["model_as_of"], day(RUN_DAY).to_string());
    assert_eq!(risk["contributors"][0]["name"], "signal:usage_depth");
    assert!(risk["contributors"][0]["effect"].as_f64().unwrap() > 0.0);
    assert!(
        steady["churn_risk"]["contributors"][0]["effect"]
            .as_f64()
            .unwrap()
            < 0.0
    );
    assert_eq!(risky["churn_risk_unavailable"], Value::Null);

    // The dashboard's account page shows the same prediction.
    let page = get(store.clone(), "/dashboard/accounts/acct-001").await;
    assert!(page.contains(r#"id="churn-risk""#), "{page}");
    let percent = format!(
        "<b>{:.0}%</b> chance of churning within 30 days",
        p(&risky) * 100.0
    );
    assert!(page.contains(&percent), "{percent} not in the page");
    assert!(
        page.contains("Usage depth") && !page.contains("signal:usage_depth"),
        "contributors read as words, not raw names"
    );

    // A churned account gets no prediction, and says why.
    let churned = get_account(store.clone(), "acct-000").await;
    assert_eq!(churned["churn_risk"], Value::Null);
    assert!(churned["churn_risk_unavailable"]
        .as_str()
        .unwrap()
        .contains("churned on"));
}

#[tokio::test]
async fn with_too_few_churns_there_is_no_model_and_the_view_says_why() {
    let portfolio = Portfolio {
        accounts: 12,
        ..Portfolio::default()
    };
    let store = generated(&portfolio).await;
    let clock = FixedClock(at(RUN_DAY + 1, 6));
    let stored = refresh_churn_model(store.as_ref(), &churn_config(), &clock, day(RUN_DAY))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.model, None);
    let why = stored.unavailable.clone().unwrap();
    assert!(why.contains("churn.min_churns"), "{why}");
    score_now(&store, 1, Signal::UsageDepth, 50.0).await;
    let view = get_account(store.clone(), "acct-001").await;
    assert_eq!(view["churn_risk"], Value::Null);
    let reason = view["churn_risk_unavailable"].as_str().unwrap();
    assert!(reason.contains("needs at least 5"), "{reason}");
}

#[tokio::test]
async fn before_any_fit_the_view_says_there_is_no_model_yet() {
    let store = generated(&Portfolio {
        accounts: 4,
        ..Portfolio::default()
    })
    .await;
    score_now(&store, 1, Signal::UsageDepth, 50.0).await;
    let view = get_account(store, "acct-001").await;
    assert_eq!(view["churn_risk"], Value::Null);
    assert!(view["churn_risk_unavailable"]
        .as_str()
        .unwrap()
        .starts_with("no churn model yet"));
}

#[tokio::test]
async fn the_model_uses_no_outcome_or_history_after_the_run_day() {
    // The same portfolio, once as known on the run day and once with everything after it.
    let known = Portfolio {
        days: RUN_DAY + 1,
        known_until: RUN_DAY,
        ..Portfolio::default()
    };
    let later = Portfolio {
        days: RUN_DAY + 60,
        ..Portfolio::default()
    };
    let (a, b) = (generated(&known).await, generated(&later).await);
    let config = churn_config();
    let fitted_at = at(RUN_DAY + 1, 6);
    let on_a = fit_churn_model(a.as_ref(), &config, fitted_at, day(RUN_DAY))
        .await
        .unwrap();
    let on_b = fit_churn_model(b.as_ref(), &config, fitted_at, day(RUN_DAY))
        .await
        .unwrap();
    assert!(on_a.model.is_some());
    assert_eq!(on_a, on_b, "data after the run day changed the model");
    // Labels only look up to the run day: the last sampled day is a horizon before it.
    assert!(on_a.holdout.as_ref().unwrap().to <= day(RUN_DAY - 30));
    let later_fit = fit_churn_model(b.as_ref(), &config, fitted_at, day(RUN_DAY + 28))
        .await
        .unwrap();
    assert_ne!(later_fit.model, on_b.model, "a later run day learns more");
}

#[tokio::test]
async fn the_model_is_refit_only_when_due() {
    let store = generated(&Portfolio::default()).await;
    let config = churn_config();
    let clock = FixedClock(at(RUN_DAY, 6));
    let refit = |d: u64| {
        let store = store.clone();
        let config = config.clone();
        async move {
            refresh_churn_model(store.as_ref(), &config, &clock, day(d))
                .await
                .unwrap()
                .map(|m| m.as_of)
        }
    };
    assert_eq!(refit(RUN_DAY).await, Some(day(RUN_DAY)));
    assert_eq!(refit(RUN_DAY).await, None, "a re-run of the day");
    assert_eq!(
        refit(RUN_DAY + 6).await,
        None,
        "6 days old, refresh_days = 7"
    );
    assert_eq!(
        refit(RUN_DAY - 10).await,
        None,
        "a backfill behind the model"
    );
    assert_eq!(refit(RUN_DAY + 7).await, Some(day(RUN_DAY + 7)));
    // A new horizon refits at once.
    let longer = ChurnConfig {
        horizon_days: 45,
        ..config.clone()
    };
    let again = refresh_churn_model(store.as_ref(), &longer, &clock, day(RUN_DAY + 8))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.horizon_days, 45);
}

#[tokio::test]
async fn timid_probabilities_are_calibrated_on_the_held_out_days() {
    // A heavy penalty shrinks the weights: raw probabilities huddle near the base rate, too
    // low for accounts about to churn. Platt scaling, checked by cross-fitting, corrects it.
    let store = generated(&Portfolio::default()).await;
    let config = ChurnConfig {
        l2: 200.0,
        ..churn_config()
    };
    let fit = fit_churn_model(store.as_ref(), &config, at(RUN_DAY, 6), day(RUN_DAY))
        .await
        .unwrap();
    let check = fit.holdout.as_ref().unwrap();
    let (raw, calibrated) = (check.brier_raw.unwrap(), check.brier_calibrated.unwrap());
    assert!(calibrated < raw, "{check:?}");
    let platt = fit.calibration.expect("calibration applied");
    assert!(platt.slope > 1.0, "timid output is stretched: {platt:?}");
}

#[tokio::test]
async fn a_rescore_lists_each_active_account_with_its_churn_risk() {
    let (store, config, queue) = run_setup().await;
    let clock = FixedClock(at(RUN_DAY + 1, 6));
    let run = DailyRun::new(store.as_ref(), &queue, &config, &clock);
    run.run_day(day(RUN_DAY), &mut |_| {}).await.unwrap();
    let model = store.latest_churn_model().await.unwrap().unwrap();
    run.rescore(day(RUN_DAY - 3), day(RUN_DAY), &mut |_, _| {})
        .await
        .unwrap();
    let listing = store.account_listing().await.unwrap();
    let mut with_risk = 0;
    for row in listing.segments.iter().flat_map(|s| &s.rows) {
        if !row.lifecycle.is_active() || row.score.is_none() {
            continue;
        }
        let id = vitals_core::model::AccountId::new(row.account_id.clone()).unwrap();
        let record = store.get_account(&id).await.unwrap().unwrap();
        let expected = vitals_core::churn::account_churn_risk(&record, Some(&model))
            .ok()
            .map(|r| r.probability);
        assert_eq!(row.churn_risk, expected, "{}", row.account_id);
        with_risk += usize::from(expected.is_some());
    }
    assert!(with_risk > 10, "{with_risk} rows with a churn risk");
}
