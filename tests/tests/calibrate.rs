//! `vitals calibrate`'s use case: on a generated portfolio where one signal (sentiment, 10% of
//! the default scorecard) is the true cause of churn, the proposal raises that signal's weight,
//! the re-weighed health score ranks the held-out churns better than the current one, nothing
//! is written without `--apply`, and `--apply` stores exactly one new configuration version
//! (who, when, what changed) that the next runs read.

#![allow(clippy::unwrap_used)]

mod churn_fixture;

use churn_fixture::{at, day, Portfolio};
use vitals_core::backtest::{BacktestOptions, HEALTH_SCORE, PERIOD_TEST};
use vitals_core::calibrate::{apply_proposal, calibrate_weights, CalibrationReport};
use vitals_core::clock::FixedClock;
use vitals_core::config::VitalsConfig;
use vitals_core::ports::ConfigStore;
use vitals_embedded::SqliteStore;
use vitals_scoring::Signal;

async fn calibrated(store: &SqliteStore) -> CalibrationReport {
    let portfolio = Portfolio {
        cause: Signal::Sentiment,
        ..Portfolio::default()
    };
    portfolio.write(store).await;
    let mut opts = BacktestOptions::new(day(30), day(239));
    opts.horizon_days = 30;
    calibrate_weights(store, &VitalsConfig::default(), &opts)
        .await
        .unwrap()
}

fn default_card(report: &CalibrationReport) -> &vitals_core::calibrate::ScorecardProposal {
    report
        .proposals
        .iter()
        .find(|p| p.scorecard == "default")
        .unwrap()
}

#[tokio::test]
async fn the_signal_that_causes_churn_gets_more_weight() {
    let store = SqliteStore::open_in_memory().unwrap();
    let report = calibrated(&store).await;
    let card = default_card(&report);
    assert_eq!(card.current[&Signal::Sentiment], 0.10);
    assert!(
        card.proposed[&Signal::Sentiment] > 0.5,
        "sentiment should dominate: {card:?}"
    );
    let total = |w: &std::collections::BTreeMap<Signal, f64>| w.values().sum::<f64>();
    assert!((total(&card.proposed) - total(&card.current)).abs() < 0.01);
    assert!(card.proposed.values().all(|w| *w >= 0.0));
    // Held-out days (not used for the proposal): the proposed weights rank churn better.
    let auc = |r: &vitals_core::backtest::BacktestReport| {
        r.ranking(HEALTH_SCORE, PERIOD_TEST)
            .unwrap()
            .roc_auc
            .unwrap()
    };
    assert!(
        auc(&report.proposed) > auc(&report.current) + 0.05,
        "current {} proposed {}",
        auc(&report.current),
        auc(&report.proposed)
    );
}

#[tokio::test]
async fn without_apply_nothing_is_written_and_apply_writes_one_version() {
    let store = SqliteStore::open_in_memory().unwrap();
    let report = calibrated(&store).await;
    assert!(report.changes_anything());
    assert!(
        store.list_config_versions(10).await.unwrap().is_empty(),
        "proposing wrote a configuration"
    );

    let clock = FixedClock(at(240, 9));
    let version = apply_proposal(&store, &clock, &report, "dana")
        .await
        .unwrap();
    let versions = store.list_config_versions(10).await.unwrap();
    assert_eq!(versions.len(), 1, "exactly one new version");
    assert_eq!(versions[0], version);
    assert_eq!(version.author, "dana");
    assert_eq!(version.created_at, at(240, 9));
    assert!(
        version.summary.contains("scoring.scorecards"),
        "{}",
        version.summary
    );
    // What the next run reads: the proposed weights.
    let stored = VitalsConfig::parse(&store.latest_config().await.unwrap().unwrap().body).unwrap();
    let card = stored
        .scoring
        .scorecards
        .iter()
        .find(|c| c.name == "default")
        .unwrap();
    assert_eq!(card.weights, default_card(&report).proposed);
}
