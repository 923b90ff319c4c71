//! Where an account stands commercially on a day: not started yet, active, or churned. The one
//! rule every part of Vitals asks (the daily run before scoring, the summary, the listing, the
//! account view, the alerts), so they never disagree about which accounts count.
//!
//! - **Not started** before its start: the contract start (`profile.started_on`), else its first
//!   product activity. An account with neither (a profile from a CRM, no usage yet) is taken
//!   as started: nothing says otherwise, and a paying account that never used the product is
//!   the one most worth seeing.
//! - **Churned** from the latest recorded `churned` outcome dated on or before the day, until a
//!   later `renewed` outcome or product activity after the churn day reactivates it.
//! - **Active** otherwise.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::model::{AccountProfile, OutcomeKind, UsageWindow};

/// An account's lifecycle state on one day.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AccountState {
    /// Before its contract start (or first activity): not scored, counted or alerted.
    NotStarted,
    /// Scored, banded, counted and alerted.
    Active,
    /// Churned on `on`; its last score is frozen and `last_mrr` is the revenue lost.
    Churned {
        on: NaiveDate,
        last_mrr: Option<f64>,
    },
}

impl AccountState {
    pub fn is_active(&self) -> bool {
        matches!(self, AccountState::Active)
    }

    /// The state's name as the API and the listing filter spell it.
    pub fn name(&self) -> &'static str {
        match self {
            AccountState::NotStarted => "not_started",
            AccountState::Active => "active",
            AccountState::Churned { .. } => "churned",
        }
    }
}

/// The lifecycle state without its details: what a list row carries and a filter asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    NotStarted,
    #[default]
    Active,
    Churned,
}

impl Lifecycle {
    pub fn is_active(&self) -> bool {
        *self == Lifecycle::Active
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::NotStarted => "not_started",
            Lifecycle::Active => "active",
            Lifecycle::Churned => "churned",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "not_started" => Some(Lifecycle::NotStarted),
            "active" => Some(Lifecycle::Active),
            "churned" => Some(Lifecycle::Churned),
            _ => None,
        }
    }
}

impl From<&AccountState> for Lifecycle {
    fn from(state: &AccountState) -> Self {
        match state {
            AccountState::NotStarted => Lifecycle::NotStarted,
            AccountState::Active => Lifecycle::Active,
            AccountState::Churned { .. } => Lifecycle::Churned,
        }
    }
}

/// The account's first and latest days with product activity, as its usage window knows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActivitySpan {
    pub first: Option<NaiveDate>,
    pub last: Option<NaiveDate>,
}

impl ActivitySpan {
    pub fn of(window: &UsageWindow) -> Self {
        ActivitySpan {
            first: window.first_active,
            last: window.days.last().map(|d| d.day),
        }
    }
}

/// The account's state on `day`, from its profile (start date, outcomes) and its activity. Pure:
/// the same inputs always give the same state, whatever the clock says.
pub fn account_state(
    profile: &AccountProfile,
    activity: ActivitySpan,
    day: NaiveDate,
) -> AccountState {
    if profile
        .started_on
        .or(activity.first)
        .is_some_and(|start| day < start)
    {
        return AccountState::NotStarted;
    }
    let churn = profile
        .outcomes
        .iter()
        .filter(|o| o.kind == OutcomeKind::Churned && o.on <= day)
        .map(|o| o.on)
        .max();
    let Some(churned_on) = churn else {
        return AccountState::Active;
    };
    let renewed_after = profile
        .outcomes
        .iter()
        .any(|o| o.kind == OutcomeKind::Renewed && o.on > churned_on && o.on <= day);
    let active_after = activity
        .last
        .is_some_and(|last| last > churned_on && last <= day);
    if renewed_after || active_after {
        AccountState::Active
    } else {
        AccountState::Churned {
            on: churned_on,
            last_mrr: profile.mrr,
        }
    }
}

/// [`account_state`] of a stored account record on `day`.
pub fn record_state(record: &crate::model::AccountRecord, day: NaiveDate) -> AccountState {
    account_state(&record.profile, ActivitySpan::of(&record.window), day)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::Outcome;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn outcome(kind: OutcomeKind, on: &str) -> Outcome {
        Outcome {
            kind,
            on: d(on),
            source: format!("{kind:?}-{on}"),
        }
    }

    fn profile(started_on: Option<&str>, outcomes: Vec<Outcome>) -> AccountProfile {
        AccountProfile {
            started_on: started_on.map(d),
            mrr: Some(1200.0),
            outcomes,
            ..AccountProfile::default()
        }
    }

    fn span(first: Option<&str>, last: Option<&str>) -> ActivitySpan {
        ActivitySpan {
            first: first.map(d),
            last: last.map(d),
        }
    }

    #[test]
    fn an_account_has_not_started_before_its_contract_start() {
        let p = profile(Some("2026-05-01"), vec![]);
        let s = span(Some("2026-04-20"), Some("2026-04-30"));
        assert_eq!(
            account_state(&p, s, d("2026-04-30")),
            AccountState::NotStarted
        );
        assert_eq!(account_state(&p, s, d("2026-05-01")), AccountState::Active);
    }

    #[test]
    fn without_a_contract_start_the_first_activity_starts_it_and_without_either_it_counts_as_started(
    ) {
        let p = profile(None, vec![]);
        assert_eq!(
            account_state(&p, span(None, None), d("2026-05-01")),
            AccountState::Active
        );
        let s = span(Some("2026-05-03"), Some("2026-05-03"));
        assert_eq!(
            account_state(&p, s, d("2026-05-02")),
            AccountState::NotStarted
        );
        assert_eq!(account_state(&p, s, d("2026-05-03")), AccountState::Active);
    }

    #[test]
    fn a_churn_outcome_churns_the_account_from_its_day_with_its_last_mrr() {
        let p = profile(
            Some("2025-01-01"),
            vec![outcome(OutcomeKind::Churned, "2026-09-06")],
        );
        let s = span(Some("2025-01-02"), Some("2026-09-01"));
        assert_eq!(account_state(&p, s, d("2026-09-05")), AccountState::Active);
        let churned = AccountState::Churned {
            on: d("2026-09-06"),
            last_mrr: Some(1200.0),
        };
        assert_eq!(account_state(&p, s, d("2026-09-06")), churned);
        assert_eq!(account_state(&p, s, d("2027-08-01")), churned);
        assert_eq!(churned.name(), "churned");
    }

    #[test]
    fn a_later_renewal_or_later_activity_reactivates_a_churned_account() {
        let renewed = profile(
            Some("2025-01-01"),
            vec![
                outcome(OutcomeKind::Churned, "2026-03-01"),
                outcome(OutcomeKind::Renewed, "2026-04-01"),
            ],
        );
        let quiet = span(Some("2025-01-01"), Some("2026-02-20"));
        assert!(matches!(
            account_state(&renewed, quiet, d("2026-03-31")),
            AccountState::Churned { .. }
        ));
        assert_eq!(
            account_state(&renewed, quiet, d("2026-04-01")),
            AccountState::Active
        );
        let churned = profile(
            Some("2025-01-01"),
            vec![outcome(OutcomeKind::Churned, "2026-03-01")],
        );
        let back = span(Some("2025-01-01"), Some("2026-05-10"));
        assert_eq!(
            account_state(&churned, back, d("2026-05-10")),
            AccountState::Active
        );
        // Activity on the churn day itself is not a comeback.
        let last_day = span(Some("2025-01-01"), Some("2026-03-01"));
        assert!(matches!(
            account_state(&churned, last_day, d("2026-03-02")),
            AccountState::Churned { .. }
        ));
    }

    #[test]
    fn a_second_churn_after_a_renewal_churns_again() {
        let p = profile(
            Some("2025-01-01"),
            vec![
                outcome(OutcomeKind::Churned, "2026-01-01"),
                outcome(OutcomeKind::Renewed, "2026-02-01"),
                outcome(OutcomeKind::Churned, "2026-06-01"),
            ],
        );
        let s = span(Some("2025-01-01"), Some("2025-12-01"));
        assert_eq!(
            account_state(&p, s, d("2026-07-01")),
            AccountState::Churned {
                on: d("2026-06-01"),
                last_mrr: Some(1200.0)
            }
        );
    }
}
