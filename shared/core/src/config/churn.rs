//! The churn risk model (`[churn]`): its horizon, how often the daily run refits it, how much
//! history it learns from and how many churns it needs before it predicts anything.

use serde::{Deserialize, Serialize};

use super::ConfigIssue;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChurnConfig {
    /// Predict churn within this many days.
    pub horizon_days: u32,
    /// Refit the model when the stored one is this many days old (1 = every daily run).
    pub refresh_days: u32,
    /// Days of labelled history (ending a horizon before the run day) the model learns from.
    pub training_days: u32,
    /// Days between the sampled days of that history (one sample per account per such day).
    pub sample_every_days: u32,
    /// Fewest churned accounts among the labelled samples for a model to be fitted; with fewer,
    /// no model is stored and accounts show no churn probability.
    pub min_churns: u32,
    /// L2 penalty of the logistic regression (larger = smaller, steadier weights).
    pub l2: f64,
}

impl Default for ChurnConfig {
    fn default() -> Self {
        ChurnConfig {
            horizon_days: 90,
            refresh_days: 7,
            training_days: 364,
            sample_every_days: 7,
            min_churns: 5,
            l2: 1.0,
        }
    }
}

impl ChurnConfig {
    /// Adds this section's problems, each naming its key (`churn.…`).
    pub fn validate(&self, issues: &mut Vec<ConfigIssue>) {
        let mut issue = |key: &str, problem: &str| {
            issues.push(ConfigIssue {
                key: format!("churn.{key}"),
                problem: problem.into(),
            })
        };
        if !(7..=730).contains(&self.horizon_days) {
            issue("horizon_days", "must be from 7 to 730 days");
        }
        if !(1..=90).contains(&self.refresh_days) {
            issue("refresh_days", "must be from 1 to 90 days");
        }
        if !(1..=60).contains(&self.sample_every_days) {
            issue("sample_every_days", "must be from 1 to 60 days");
        }
        if self.training_days < self.sample_every_days.max(1) * 2 || self.training_days > 1460 {
            issue(
                "training_days",
                "must cover at least two sampled days (2 x sample_every_days) and at most 1460",
            );
        }
        if self.min_churns == 0 {
            issue("min_churns", "must be at least 1");
        }
        if !self.l2.is_finite() || self.l2 < 0.0 {
            issue("l2", "must be a number of 0 or more");
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::VitalsConfig;

    #[test]
    fn defaults_predict_ninety_days_and_refit_weekly() {
        let c = VitalsConfig::parse("").expect("defaults");
        assert_eq!(c.churn.horizon_days, 90);
        assert_eq!(c.churn.refresh_days, 7);
        let c = VitalsConfig::parse("[churn]\nhorizon_days = 30\nrefresh_days = 1\n").expect("ok");
        assert_eq!((c.churn.horizon_days, c.churn.refresh_days), (30, 1));
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = VitalsConfig::parse(
            "[churn]\nhorizon_days = 0\nrefresh_days = 0\nmin_churns = 0\nl2 = -1.0\n",
        )
        .expect_err("invalid")
        .to_string();
        for key in [
            "churn.horizon_days",
            "churn.refresh_days",
            "churn.min_churns",
            "churn.l2",
        ] {
            assert!(err.contains(key), "{key} missing from {err}");
        }
        let err = VitalsConfig::parse("[churn]\nhorizon = 30\n")
            .expect_err("unknown key")
            .to_string();
        assert!(err.contains("unknown field `horizon`"), "{err}");
    }
}
