//! What the scorer needs to know about an account beyond its usage: contract, seats, champions
//! and the attributes scorecards are chosen by. The core crate maps its profile into this.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An account's commercial and organisational facts, as of the scoring day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountFacts {
    /// Tier or edition ("enterprise", "growth"...); scorecards match it case-insensitively.
    pub tier: Option<String>,
    pub plan: Option<String>,
    pub seats_licensed: Option<u32>,
    pub mrr: Option<f64>,
    pub renewal_date: Option<NaiveDate>,
    pub contract_start: Option<NaiveDate>,
    /// User ids of the customer's champions (the people who sponsor the product internally).
    pub champions: Vec<String>,
    /// Any other attribute scorecards may match on (region, product line, owner...).
    pub attributes: BTreeMap<String, String>,
    /// Whether the billing system says an invoice is overdue now, when it is known. Overrides
    /// the overdue/paid invoice counters in the window.
    pub invoice_overdue: Option<bool>,
}

impl AccountFacts {
    /// Licensed seats, when known and non-zero.
    pub fn seats(&self) -> Option<u32> {
        self.seats_licensed.filter(|&s| s > 0)
    }

    /// The tier scorecards match on: the tier, or the plan when no tier is set.
    pub fn tier_or_plan(&self) -> Option<&str> {
        self.tier.as_deref().or(self.plan.as_deref())
    }
}

/// Where an account is in its life, which decides its scorecard and how decline is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleStage {
    /// The first days (30 by default) after the contract start, or after first activity when
    /// the start is unknown: judged against the new-account benchmark.
    Onboarding,
    /// After onboarding, until the first anniversary.
    #[serde(alias = "year_1", alias = "year1")]
    FirstYear,
    Mature,
}

impl LifecycleStage {
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleStage::Onboarding => "onboarding",
            LifecycleStage::FirstYear => "first_year",
            LifecycleStage::Mature => "mature",
        }
    }
}

/// When the account started: the contract start, else its first active day.
pub fn account_start(facts: &AccountFacts, first_active: Option<NaiveDate>) -> Option<NaiveDate> {
    facts.contract_start.or(first_active)
}

/// The stage on `as_of`, given the account's start and the onboarding length. An account with
/// no known start has just appeared and is onboarding.
pub fn lifecycle_stage(
    start: Option<NaiveDate>,
    as_of: NaiveDate,
    onboarding_days: u32,
) -> LifecycleStage {
    let Some(start) = start else {
        return LifecycleStage::Onboarding;
    };
    let age = (as_of - start).num_days();
    if age < i64::from(onboarding_days) {
        LifecycleStage::Onboarding
    } else if age < 365 {
        LifecycleStage::FirstYear
    } else {
        LifecycleStage::Mature
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_first_thirty_days_are_onboarding() {
        let start = Some(day("2026-01-01"));
        assert_eq!(
            lifecycle_stage(start, day("2026-01-30"), 30),
            LifecycleStage::Onboarding
        );
        assert_eq!(
            lifecycle_stage(start, day("2026-01-31"), 30),
            LifecycleStage::FirstYear
        );
    }

    #[test]
    fn the_first_anniversary_makes_an_account_mature() {
        let start = Some(day("2025-01-01"));
        assert_eq!(
            lifecycle_stage(start, day("2025-12-31"), 30),
            LifecycleStage::FirstYear
        );
        assert_eq!(
            lifecycle_stage(start, day("2026-01-01"), 30),
            LifecycleStage::Mature
        );
    }

    #[test]
    fn an_account_with_no_start_is_onboarding() {
        assert_eq!(
            lifecycle_stage(None, day("2026-01-01"), 30),
            LifecycleStage::Onboarding
        );
    }

    #[test]
    fn contract_start_wins_over_first_activity() {
        let facts = AccountFacts {
            contract_start: Some(day("2026-01-01")),
            ..Default::default()
        };
        assert_eq!(
            account_start(&facts, Some(day("2026-02-01"))),
            Some(day("2026-01-01"))
        );
        assert_eq!(
            account_start(&AccountFacts::default(), Some(day("2026-02-01"))),
            Some(day("2026-02-01"))
        );
    }

    #[test]
    fn tier_falls_back_to_plan() {
        let facts = AccountFacts {
            plan: Some("growth".into()),
            ..Default::default()
        };
        assert_eq!(facts.tier_or_plan(), Some("growth"));
    }
}
