//! An account's churn risk: the latest model applied to the usage features and signals of its
//! current score, with the features that push it most, or the reason there is none.

use chrono::NaiveDate;
use serde::Serialize;
use vitals_scoring::usage_features;

use super::ChurnModelRecord;
use crate::model::{AccountRecord, OutcomeKind};

/// Contributors shown per prediction.
const TOP_CONTRIBUTORS: usize = 5;
/// Pushes smaller than this (in log-odds) are not worth showing.
const NEGLIGIBLE_EFFECT: f64 = 0.01;

/// The reason given when no model has been stored yet.
pub const NO_MODEL_YET: &str = "no churn model yet: the daily run fits one once enough churns \
     are recorded (see [churn] in the configuration)";

/// One signal's push on the account's churn risk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChurnContributor {
    /// The signal (`{signal}_missing` when it had no data).
    pub name: String,
    /// The name in words ("Active seats", "Sentiment: no data").
    pub label: String,
    /// Change in the log-odds of churn against an account at the training means: positive
    /// raises the risk, negative lowers it.
    pub effect: f64,
}

/// A churn prediction for one account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChurnRisk {
    /// Probability of churning within `horizon_days` (calibrated when `calibrated`).
    pub probability: f64,
    pub horizon_days: u32,
    /// The day the model was fitted (its version).
    pub model_as_of: NaiveDate,
    /// The day of the score whose signals were used.
    pub as_of: NaiveDate,
    pub calibrated: bool,
    /// Largest pushes first.
    pub contributors: Vec<ChurnContributor>,
}

/// The prediction, or why there is none.
pub type ChurnRiskView = Result<ChurnRisk, String>;

/// Applies `model` to the account's current score.
pub fn account_churn_risk(
    record: &AccountRecord,
    model: Option<&ChurnModelRecord>,
) -> ChurnRiskView {
    let Some(model_record) = model else {
        return Err(NO_MODEL_YET.to_string());
    };
    let Some(model) = &model_record.model else {
        return Err(format!(
            "no churn model as of {}: {}",
            model_record.as_of,
            model_record
                .unavailable
                .as_deref()
                .unwrap_or("not enough data")
        ));
    };
    if let Some(last) = record.profile.outcomes.iter().max_by_key(|o| o.on) {
        if last.kind == OutcomeKind::Churned {
            return Err(format!("the account churned on {}", last.on));
        }
    }
    let Some(score) = &record.score else {
        return Err("the account has not been scored yet".to_string());
    };
    // The same features the model was fitted on: its event types' usage and the signals.
    let vocabulary = usage_features::vocabulary_of(&model.features);
    let features =
        usage_features::of_score(score.score.usage.as_ref(), score.health(), &vocabulary);
    let probability = model_record
        .probability(&features)
        .ok_or_else(|| NO_MODEL_YET.to_string())?;
    let slope = model_record.calibration.map_or(1.0, |p| p.slope);
    let contributors = model
        .contributions(&features)
        .into_iter()
        .map(|(name, effect)| ChurnContributor {
            label: vitals_scoring::labels::label(&name),
            name,
            effect: round3(effect * slope),
        })
        .filter(|c| c.effect.abs() >= NEGLIGIBLE_EFFECT)
        .take(TOP_CONTRIBUTORS)
        .collect();
    Ok(ChurnRisk {
        probability,
        horizon_days: model_record.horizon_days,
        model_as_of: model_record.as_of,
        as_of: score.as_of,
        calibrated: model_record.calibration.is_some(),
        contributors,
    })
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}
