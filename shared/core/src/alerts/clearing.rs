//! When an alert's condition has cleared: the pure rule behind auto-resolve. An at-risk alert
//! clears when the account's band is above at risk again, a decline alert when the decline ends
//! (or turns into the other severity, which has its own alert), and every alert of an account
//! that churned. Only a state dated on or after the day an alert is about can clear it, so a
//! stale record or an event delivered out of order never resolves a newer problem.

use chrono::NaiveDate;
use vitals_scoring::DeclineSeverity;

use crate::lifecycle::{record_state, AccountState};
use crate::model::{AccountRecord, Alert, Band};
use crate::score_event::{ScoreEvent, ScoreEventKind};

/// What an alert is about, as far as it can clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertCondition {
    AtRisk,
    Decline(DeclineSeverity),
}

impl AlertCondition {
    /// The condition of an alert, from the score event it keeps in `details`; `None` for
    /// alerts that do not clear by themselves (renewals, milestones, custom triggers).
    pub fn of(alert: &Alert) -> Option<Self> {
        let kind = alert.details.get("kind").and_then(|k| k.as_str())?;
        match kind {
            "band_changed" if alert.cause == Band::AtRisk.as_str() => Some(AlertCondition::AtRisk),
            "decline_moderate" => Some(AlertCondition::Decline(DeclineSeverity::Moderate)),
            "decline_severe" => Some(AlertCondition::Decline(DeclineSeverity::Severe)),
            _ => None,
        }
    }
}

/// What is known about an account on one day.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountNow {
    pub as_of: NaiveDate,
    /// `None`: not known from this source.
    pub band: Option<Band>,
    /// `None`: not known; `Some(None)`: not declining.
    pub decline: Option<Option<DeclineSeverity>>,
    pub lifecycle: AccountState,
}

impl AccountNow {
    /// From the account record: its latest score, and its lifecycle on `day` (the day being
    /// looked at, at least the score's day).
    pub fn of_record(record: &AccountRecord, day: NaiveDate) -> Option<Self> {
        let score = record.score.as_ref();
        let as_of = score.map_or(day, |s| s.as_of.max(day));
        let lifecycle = record_state(record, as_of);
        if score.is_none() && lifecycle.is_active() {
            return None;
        }
        Some(AccountNow {
            as_of: score.map_or(day, |s| s.as_of),
            band: score.map(|s| s.score.health.band),
            decline: score.map(|s| s.score.decline.severity()),
            lifecycle,
        })
    }

    /// From a score event: its band, and its decline when it is a decline event.
    pub fn of_event(event: &ScoreEvent) -> Self {
        let decline = match event.kind {
            ScoreEventKind::DeclineModerate => Some(Some(DeclineSeverity::Moderate)),
            ScoreEventKind::DeclineSevere => Some(Some(DeclineSeverity::Severe)),
            _ => None,
        };
        AccountNow {
            as_of: event.as_of,
            band: Some(event.band),
            decline,
            lifecycle: AccountState::Active,
        }
    }
}

/// Why `alert` no longer holds given `now`, or `None` while it still does (or `now` is older
/// than the day the alert is about, or says nothing about its condition).
pub fn cleared(alert: &Alert, now: &AccountNow) -> Option<String> {
    if let AccountState::Churned { on, .. } = now.lifecycle {
        return Some(format!("the account churned on {on}"));
    }
    if now.as_of < alert.about() {
        return None;
    }
    match AlertCondition::of(alert)? {
        AlertCondition::AtRisk => match now.band {
            Some(band) if band != Band::AtRisk => Some(format!(
                "the account's band recovered to {} on {}",
                band.as_str(),
                now.as_of
            )),
            _ => None,
        },
        AlertCondition::Decline(was) => match now.decline {
            Some(None) => Some(format!("the usage decline ended on {}", now.as_of)),
            Some(Some(is)) if is != was => Some(format!(
                "the usage decline is {} since {}",
                severity_word(is),
                now.as_of
            )),
            _ => None,
        },
    }
}

fn severity_word(s: DeclineSeverity) -> &'static str {
    match s {
        DeclineSeverity::Moderate => "moderate",
        DeclineSeverity::Severe => "severe",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::{AccountId, AlertStatus, Severity};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn alert(kind: &str, cause: &str, about: &str) -> Alert {
        let at = chrono::DateTime::parse_from_rfc3339("2026-09-01T06:00:00Z")
            .unwrap()
            .to_utc();
        Alert {
            id: "a".into(),
            account_id: AccountId::new("acme").unwrap(),
            dedupe_key: "k".into(),
            kind: "health".into(),
            cause: cause.into(),
            severity: Severity::Critical,
            status: AlertStatus::Open,
            owner: None,
            about_day: Some(d(about)),
            opened_at: at,
            updated_at: at,
            snoozed_until: None,
            snooze_reason: None,
            transitions: vec![],
            details: serde_json::json!({"kind": kind}),
            version: 1,
        }
    }

    fn now(as_of: &str, band: Band, decline: Option<Option<DeclineSeverity>>) -> AccountNow {
        AccountNow {
            as_of: d(as_of),
            band: Some(band),
            decline,
            lifecycle: AccountState::Active,
        }
    }

    #[test]
    fn an_at_risk_alert_clears_when_the_band_recovers_on_a_later_day() {
        let a = alert("band_changed", "at_risk", "2026-06-10");
        assert_eq!(cleared(&a, &now("2026-06-10", Band::AtRisk, None)), None);
        assert_eq!(
            cleared(&a, &now("2026-06-12", Band::Monitor, None)).as_deref(),
            Some("the account's band recovered to monitor on 2026-06-12")
        );
        // An older state (a record not saved yet, an event out of order) clears nothing.
        assert_eq!(cleared(&a, &now("2026-06-09", Band::Healthy, None)), None);
    }

    #[test]
    fn a_decline_alert_clears_when_the_decline_ends_or_changes_severity() {
        let a = alert("decline_moderate", "moderate", "2026-06-10");
        let moderate = Some(Some(DeclineSeverity::Moderate));
        assert_eq!(
            cleared(&a, &now("2026-06-11", Band::AtRisk, moderate)),
            None
        );
        // A band change says nothing about the decline.
        assert_eq!(cleared(&a, &now("2026-06-11", Band::Healthy, None)), None);
        assert!(cleared(&a, &now("2026-06-11", Band::Monitor, Some(None)))
            .unwrap()
            .contains("decline ended"));
        assert!(cleared(
            &a,
            &now(
                "2026-06-11",
                Band::Monitor,
                Some(Some(DeclineSeverity::Severe))
            )
        )
        .unwrap()
        .contains("severe"));
    }

    #[test]
    fn every_alert_of_a_churned_account_clears_and_others_never_clear_by_themselves() {
        let mut churned = now("2026-06-01", Band::AtRisk, None);
        churned.lifecycle = AccountState::Churned {
            on: d("2026-06-01"),
            last_mrr: None,
        };
        let a = alert("renewal_approaching", "renewal_approaching", "2026-06-10");
        assert!(cleared(&a, &churned)
            .unwrap()
            .contains("churned on 2026-06-01"));
        assert_eq!(
            cleared(&a, &now("2026-07-01", Band::Healthy, Some(None))),
            None
        );
    }
}
