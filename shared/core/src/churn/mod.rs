//! The churn risk model the product keeps beside the health score: refitted by the daily run
//! from the score history and recorded outcomes ([`fit`]), stored as one small record per fit
//! (the [`ChurnModelStore`](crate::ports::ChurnModelStore) port), and applied to an account's
//! current signals where the account is read ([`risk`], with a short in-process [`cache`] of
//! the latest model so the account view stays within two storage requests).

pub mod cache;
pub mod fit;
pub mod risk;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use vitals_scoring::calibration::{Platt, ReliabilityBin};
use vitals_scoring::churn::{ChurnModel, Features};

pub use fit::{fit_churn_model, refresh_churn_model, ChurnFitError};
pub use risk::{account_churn_risk, ChurnContributor, ChurnRisk, ChurnRiskView};

/// One fit of the churn model (or the record that there was too little data to fit one),
/// stored by the day of the run that made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChurnModelRecord {
    /// The run day it was fitted on: only outcomes known by then were used. Its version.
    pub as_of: NaiveDate,
    pub fitted_at: DateTime<Utc>,
    /// Predicts churn within this many days.
    pub horizon_days: u32,
    /// `None` when there were too few churns; `unavailable` says why.
    pub model: Option<ChurnModel>,
    /// Platt scaling applied to the model's output, when the hold-out check showed the raw
    /// probabilities were off.
    #[serde(default)]
    pub calibration: Option<Platt>,
    /// Why there is no model.
    #[serde(default)]
    pub unavailable: Option<String>,
    pub training: TrainingSummary,
    /// The calibration check on the latest labelled days, when there were any.
    #[serde(default)]
    pub holdout: Option<HoldoutCheck>,
}

impl ChurnModelRecord {
    /// The calibrated probability of churn within the horizon for these signal values.
    pub fn probability(&self, features: &Features) -> Option<f64> {
        let raw = self.model.as_ref()?.predict(features);
        Some(match &self.calibration {
            Some(platt) => platt.apply(raw),
            None => raw,
        })
    }
}

/// What the model learned from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    /// First and last sampled day of the labelled history (each label looks `horizon_days`
    /// past its day, at most up to the run day).
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// (account, day) samples the weights were fitted on, and how many churned.
    pub samples: usize,
    pub positives: usize,
    /// Distinct accounts that churned within a horizon of a sampled day (all labelled days).
    pub churned_accounts: usize,
}

/// How well the probabilities matched what happened on the held-out (latest) labelled days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldoutCheck {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub samples: usize,
    pub positives: usize,
    pub roc_auc: Option<f64>,
    /// Brier score and expected calibration error of the raw logistic output.
    pub brier_raw: Option<f64>,
    pub ece_raw: Option<f64>,
    /// The same with Platt scaling, cross-fitted (fitted on alternate days, scored on the
    /// others), so the figure is not flattered by fitting and scoring on the same samples.
    pub brier_calibrated: Option<f64>,
    pub ece_calibrated: Option<f64>,
    /// Raw output, grouped in 10 bins.
    pub reliability: Vec<ReliabilityBin>,
}
