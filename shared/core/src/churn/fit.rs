//! Fitting the churn model as of a run day, with a time-based split and no look-ahead.
//!
//! Samples are (account, sampled day) pairs from the stored score history: every
//! `sample_every_days` over `training_days` ending `horizon_days` before the run day, so every
//! label ("churned within the horizon after that day") is known by the run day; outcomes dated
//! after the run day are never read. The earliest 70% of the sampled days fit the logistic
//! regression; the latest 30% are held out to check calibration. If Platt scaling, cross-fitted
//! on the hold-out, lowers its Brier score by at least 1%, the model is stored with Platt scaling fitted on
//! the whole hold-out; otherwise the raw probabilities stand.

use chrono::{DateTime, Days, NaiveDate, Utc};
use std::collections::BTreeSet;
use vitals_scoring::calibration::{expected_calibration_error, reliability, Platt};
use vitals_scoring::churn::{ChurnModel, Features};
use vitals_scoring::metrics;

use super::{ChurnModelRecord, HoldoutCheck, TrainingSummary};
use crate::backtest::{BacktestError, BacktestOptions, Replay};
use crate::clock::Clock;
use crate::config::ChurnConfig;
use crate::error::StoreError;
use crate::ports::{AccountStore, ChurnModelStore, EventStore, ScoreHistoryStore, SummaryStore};
use crate::run::CHURNED_ACCOUNTS_KEY;

/// Share of the sampled days (the earliest) the weights are fitted on; the rest check
/// calibration.
const FIT_SHARE: f64 = 0.7;
const RELIABILITY_BINS: usize = 10;
/// Platt scaling is kept only when it lowers the cross-fitted Brier score by at least 1%:
/// smaller gains are noise, and the raw output is easier to explain.
const MIN_BRIER_GAIN: f64 = 0.99;

#[derive(Debug, thiserror::Error)]
pub enum ChurnFitError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ChurnFitError {
    pub fn is_retryable(&self) -> bool {
        match self {
            ChurnFitError::Store(e) => e.is_retryable(),
        }
    }
}

/// Refits and stores the model when the stored one is `refresh_days` old, was made for another
/// horizon, or does not exist. A re-run of an earlier day (a backfill behind the latest model)
/// changes nothing. Answers the new record when one was stored.
pub async fn refresh_churn_model<S>(
    store: &S,
    config: &ChurnConfig,
    clock: &dyn Clock,
    day: NaiveDate,
) -> Result<Option<ChurnModelRecord>, ChurnFitError>
where
    S: AccountStore + ScoreHistoryStore + EventStore + ChurnModelStore + SummaryStore + ?Sized,
{
    if let Some(latest) = store.latest_churn_model().await? {
        let due = latest
            .as_of
            .checked_add_days(Days::new(u64::from(config.refresh_days)))
            .is_none_or(|due| day >= due);
        if day < latest.as_of || (latest.horizon_days == config.horizon_days && !due) {
            return Ok(None);
        }
    }
    let record = match too_few_churns(store, config, clock.now(), day).await? {
        Some(skipped) => skipped,
        None => fit_churn_model(store, config, clock.now(), day).await?,
    };
    store.put_churn_model(&record).await?;
    Ok(Some(record))
}

/// A record without a model when the day's portfolio summary shows fewer accounts with a
/// recorded churn than `min_churns`: no fit could succeed, so the history of every account
/// (about 0.7 read units per account on DynamoDB) is not read. `None` when a fit may succeed
/// or the day has no summary.
async fn too_few_churns<S>(
    store: &S,
    config: &ChurnConfig,
    fitted_at: DateTime<Utc>,
    day: NaiveDate,
) -> Result<Option<ChurnModelRecord>, ChurnFitError>
where
    S: SummaryStore + ?Sized,
{
    let Some(summary) = store.latest_summary().await? else {
        return Ok(None);
    };
    if summary.as_of != Some(day) {
        return Ok(None);
    }
    let known = summary
        .extra
        .get(CHURNED_ACCOUNTS_KEY)
        .and_then(serde_json::Value::as_f64)
        .unwrap_or(0.0);
    if known >= f64::from(config.min_churns) {
        return Ok(None);
    }
    let churned = known as usize;
    Ok(Some(ChurnModelRecord {
        as_of: day,
        fitted_at,
        horizon_days: config.horizon_days,
        model: None,
        calibration: None,
        unavailable: Some(format!(
            "{churned} account(s) with a recorded churn up to {day}; the model needs at least \
             {} (churn.min_churns)",
            config.min_churns
        )),
        training: TrainingSummary {
            churned_accounts: churned,
            ..TrainingSummary::default()
        },
        holdout: None,
    }))
}

/// Fits the model as of `day` (see the module documentation). With fewer than `min_churns`
/// churned accounts in the labelled history, the record has no model and says why.
pub async fn fit_churn_model<S>(
    store: &S,
    config: &ChurnConfig,
    fitted_at: DateTime<Utc>,
    day: NaiveDate,
) -> Result<ChurnModelRecord, ChurnFitError>
where
    S: AccountStore + ScoreHistoryStore + EventStore + ?Sized,
{
    let mut record = ChurnModelRecord {
        as_of: day,
        fitted_at,
        horizon_days: config.horizon_days,
        model: None,
        calibration: None,
        unavailable: None,
        training: TrainingSummary::default(),
        holdout: None,
    };
    let step = config.sample_every_days.max(1);
    let span = u64::from(step * (config.training_days / step));
    let last = day.checked_sub_days(Days::new(u64::from(config.horizon_days)));
    let Some(first) = last.and_then(|l| l.checked_sub_days(Days::new(span))) else {
        record.unavailable = Some("the run day is too early for any labelled history".into());
        return Ok(record);
    };
    let mut opts = BacktestOptions::new(first, day);
    opts.horizon_days = config.horizon_days;
    opts.step_days = step;
    opts.l2 = config.l2;
    let replay = match Replay::load(store, &opts, false).await {
        Ok(r) => r,
        Err(BacktestError::Store(e)) => return Err(e.into()),
        Err(BacktestError::Range(why)) => {
            record.unavailable = Some(why);
            return Ok(record);
        }
    };

    // Only days with samples count for the split (early days may predate the history).
    let sampled_days: BTreeSet<usize> = replay.labelled().map(|(d, _, _)| d).collect();
    let churned = replay.churned_accounts();
    let days = replay.days();
    let day_of = |i: &usize| days.get(*i).copied();
    record.training.from = sampled_days.first().and_then(day_of);
    record.training.to = sampled_days.last().and_then(day_of);
    record.training.churned_accounts = churned;
    if churned < config.min_churns as usize {
        record.unavailable = Some(format!(
            "{churned} churned account(s) in the labelled history up to {day}; the model needs \
             at least {} (churn.min_churns)",
            config.min_churns
        ));
        return Ok(record);
    }
    let fit_days = ((sampled_days.len() as f64 * FIT_SHARE).ceil() as usize).max(1);
    let cut = sampled_days
        .iter()
        .nth(fit_days)
        .copied()
        .unwrap_or(usize::MAX);
    let (mut fit_x, mut fit_y) = (Vec::new(), Vec::new());
    let mut holdout: Vec<(usize, Features, bool)> = Vec::new();
    for (d, features, label) in replay.labelled() {
        if d < cut {
            fit_x.push(features.clone());
            fit_y.push(label);
        } else {
            holdout.push((d, features, label));
        }
    }
    let model = ChurnModel::fit(&fit_x, &fit_y, config.l2);
    record.training.samples = fit_x.len();
    record.training.positives = fit_y.iter().filter(|&&y| y).count();
    if !holdout.is_empty() {
        let (check, platt) = check_calibration(&model, &holdout, days);
        record.holdout = Some(check);
        record.calibration = platt;
    }
    record.model = Some(model);
    Ok(record)
}

/// The hold-out check, and Platt scaling when cross-fitting shows it helps.
fn check_calibration(
    model: &ChurnModel,
    holdout: &[(usize, Features, bool)],
    days: &[NaiveDate],
) -> (HoldoutCheck, Option<Platt>) {
    let raw: Vec<f64> = holdout.iter().map(|(_, x, _)| model.predict(x)).collect();
    let labels: Vec<bool> = holdout.iter().map(|(_, _, y)| *y).collect();
    // Two folds of alternate days: fit Platt on one, apply it to the other.
    let order: Vec<usize> = holdout
        .iter()
        .map(|(d, _, _)| *d)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let fold_of = |d: usize| order.iter().position(|&x| x == d).unwrap_or(0) % 2;
    let mut crossed: Vec<Option<f64>> = vec![None; raw.len()];
    for fold in 0..2 {
        let pick = |want: bool| {
            holdout
                .iter()
                .enumerate()
                .filter(move |(_, (d, _, _))| (fold_of(*d) == fold) == want)
                .map(|(i, _)| i)
        };
        let fit_p: Vec<f64> = pick(false).map(|i| raw[i]).collect();
        let fit_y: Vec<bool> = pick(false).map(|i| labels[i]).collect();
        if let Some(platt) = Platt::fit(&fit_p, &fit_y) {
            for i in pick(true) {
                crossed[i] = Some(platt.apply(raw[i]));
            }
        }
    }
    let cross_fitted: Option<Vec<f64>> = crossed.into_iter().collect();
    let brier_raw = metrics::brier(&raw, &labels);
    let brier_calibrated = cross_fitted
        .as_ref()
        .and_then(|p| metrics::brier(p, &labels));
    let helps =
        matches!((brier_raw, brier_calibrated), (Some(r), Some(c)) if c < r * MIN_BRIER_GAIN);
    let platt = if helps {
        Platt::fit(&raw, &labels)
    } else {
        None
    };
    let day_at = |i: Option<&usize>| i.and_then(|&i| days.get(i).copied());
    let check = HoldoutCheck {
        from: day_at(order.first()).unwrap_or_default(),
        to: day_at(order.last()).unwrap_or_default(),
        samples: raw.len(),
        positives: labels.iter().filter(|&&y| y).count(),
        roc_auc: metrics::roc_auc(&raw, &labels),
        brier_raw,
        ece_raw: expected_calibration_error(&raw, &labels, RELIABILITY_BINS),
        brier_calibrated,
        ece_calibrated: cross_fitted
            .as_ref()
            .and_then(|p| expected_calibration_error(p, &labels, RELIABILITY_BINS)),
        reliability: reliability(&raw, &labels, RELIABILITY_BINS),
    };
    (check, platt)
}
