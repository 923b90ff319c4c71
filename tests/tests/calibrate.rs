//! `vitals calibrate`'s use case: on a generated portfolio where one signal (sentiment, 10% of
//! the default scorecard) is the true cause of churn, the learned scorecard weighs it most, the
//! learned health score ranks the held-out churns better than the current one, nothing is
//! written without `--apply`, and `--apply` stores exactly one new configuration version (who,
//! when, what changed) that the next runs read.

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

#[tokio::test]
async fn the_signal_that_causes_churn_weighs_most_in_the_learned_scorecard() {
    let store = SqliteStore::open_in_memory().unwrap();
    let report = calibrated(&store).await;
    let card = report.proposed_config.scoring.learned.as_ref().unwrap();
    // The signal with the largest swing in points is the one containing sentiment, and more
    // of it means less churn.
    let strongest = report
        .signals
        .iter()
        .max_by(|a, b| a.points_spread.abs().total_cmp(&b.points_spread.abs()))
        .unwrap();
    assert!(
        strongest.features.iter().any(|f| f == "signal:sentiment"),
        "{:?}",
        report.signals
    );
    assert!(
        strongest.weight < 0.0 && strongest.points_spread > 0.0,
        "{strongest:?}"
    );
    assert!(card.groups.iter().all(|g| g.weight.is_finite()));
    // Held-out days (not used for the proposal): the learned scorecard ranks churn better.
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
        version.summary.contains("scoring.learned"),
        "{}",
        version.summary
    );
    // What the next run reads: the learned scorecard.
    let stored = VitalsConfig::parse(&store.latest_config().await.unwrap().unwrap().body).unwrap();
    assert_eq!(
        stored.scoring.learned,
        report.proposed_config.scoring.learned
    );
}
