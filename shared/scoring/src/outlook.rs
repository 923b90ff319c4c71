//! What a score means for the business: renewal risk, expansion signal, adoption rate and
//! time-to-value, each a pure function of the score and the account's facts.

use crate::config::{ExpansionRules, RenewalRules};
use crate::decline::{Decline, DeclineSeverity};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// How likely a renewal is to be lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    Low,
    Medium,
    High,
}

/// Renewal risk 0-100 and its level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RenewalRisk {
    pub risk: f64,
    pub level: RiskLevel,
    pub days_to_renewal: i64,
}

/// Renewal risk: how weak the score is (100 - score), plus how fast it is falling (points per
/// point lost since the previous run, capped at 30, plus points for a moderate or severe
/// decline), scaled by nearness: full within `near_days` (or lapsed), `far_factor` from
/// `horizon_days`, linear in between. `None` without a renewal date.
pub fn renewal_risk(
    rules: &RenewalRules,
    score: f64,
    previous_score: Option<f64>,
    decline: &Decline,
    days_to_renewal: Option<i64>,
) -> Option<RenewalRisk> {
    let days = days_to_renewal?;
    let falling = previous_score.map_or(0.0, |p| {
        ((p - score).max(0.0) * rules.points_per_score_drop).min(30.0)
    });
    let declining = match decline.severity() {
        Some(DeclineSeverity::Severe) => rules.severe_decline_points,
        Some(DeclineSeverity::Moderate) => rules.moderate_decline_points,
        None => 0.0,
    };
    let base = ((100.0 - score) + falling + declining).clamp(0.0, 100.0);
    let near = i64::from(rules.near_days);
    let horizon = i64::from(rules.horizon_days.max(rules.near_days + 1));
    let nearness = if days <= near {
        1.0
    } else if days >= horizon {
        rules.far_factor
    } else {
        let t = (days - near) as f64 / (horizon - near) as f64;
        1.0 - t * (1.0 - rules.far_factor)
    };
    let risk = (base * nearness * 10.0).round() / 10.0;
    let level = if risk >= rules.high_from {
        RiskLevel::High
    } else if risk >= rules.medium_from {
        RiskLevel::Medium
    } else {
        RiskLevel::Low
    };
    Some(RenewalRisk {
        risk,
        level,
        days_to_renewal: days,
    })
}

/// One reason an account looks ready to expand.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum ExpansionReason {
    HighScore {
        score: f64,
    },
    /// Score up since the previous run, or usage trending up when there is none.
    Rising {
        score_delta: Option<f64>,
        usage_ratio: Option<f64>,
    },
    SeatsNearLimit {
        active_users: u32,
        seats: u32,
    },
    ManyStakeholders {
        active_users: u32,
    },
}

impl ExpansionReason {
    pub fn describe(&self) -> String {
        match *self {
            ExpansionReason::HighScore { score } => format!("score is high ({score:.0})"),
            ExpansionReason::Rising {
                score_delta: Some(d),
                ..
            } => format!("score rose {d:.0}"),
            ExpansionReason::Rising { usage_ratio, .. } => format!(
                "usage is {:.0}% of its trailing average",
                usage_ratio.unwrap_or(0.0) * 100.0
            ),
            ExpansionReason::SeatsNearLimit {
                active_users,
                seats,
            } => format!("{active_users} of {seats} seats active"),
            ExpansionReason::ManyStakeholders { active_users } => {
                format!("{active_users} active users")
            }
        }
    }
}

/// Whether the account is an expansion candidate, and every condition that held.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Expansion {
    pub candidate: bool,
    pub reasons: Vec<ExpansionReason>,
}

/// A candidate has a high score, rising, and either seats near the limit or many active
/// stakeholders.
pub fn expansion(
    rules: &ExpansionRules,
    score: f64,
    previous_score: Option<f64>,
    usage_ratio: Option<f64>,
    active_users: u32,
    seats: Option<u32>,
) -> Expansion {
    let high = score >= rules.min_score;
    let score_delta = previous_score.map(|p| score - p);
    let rising = match score_delta {
        Some(d) => d > 0.0,
        None => usage_ratio.is_some_and(|r| r >= rules.rising_usage_ratio),
    };
    let near_limit =
        seats.is_some_and(|s| f64::from(active_users) >= rules.seat_share * f64::from(s));
    let stakeholders = active_users >= rules.min_stakeholders;
    let mut reasons = Vec::new();
    if high {
        reasons.push(ExpansionReason::HighScore { score });
    }
    if rising {
        reasons.push(ExpansionReason::Rising {
            score_delta,
            usage_ratio,
        });
    }
    if let (true, Some(seats)) = (near_limit, seats) {
        reasons.push(ExpansionReason::SeatsNearLimit {
            active_users,
            seats,
        });
    }
    if stakeholders {
        reasons.push(ExpansionReason::ManyStakeholders { active_users });
    }
    Expansion {
        candidate: high && rising && (near_limit || stakeholders),
        reasons,
    }
}

/// Adoption rate: seats and key features in use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Adoption {
    /// Active users in the look-back per licensed seat.
    pub seats: Option<f64>,
    /// Share of key features used in the look-back.
    pub features: Option<f64>,
}

/// Days from the account's start to the first-value event; `None` until it happens.
pub fn time_to_value(start: Option<NaiveDate>, first_value_on: Option<NaiveDate>) -> Option<i64> {
    Some((first_value_on? - start?).num_days().max(0))
}

#[cfg(test)]
mod tests;
