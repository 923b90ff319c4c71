use super::*;
use crate::decline::{Baseline, DeclineStatus};
use crate::testkit::day;

fn steady() -> Decline {
    Decline {
        status: DeclineStatus::Steady,
        baseline: Baseline::OwnHistory,
        recent_index: Some(5.0),
        baseline_index: Some(5.0),
        ratio: Some(1.0),
    }
}

fn severe() -> Decline {
    Decline {
        status: DeclineStatus::Declining(DeclineSeverity::Severe),
        ratio: Some(0.2),
        ..steady()
    }
}

#[test]
fn renewal_risk_is_unknown_without_a_renewal_date() {
    assert_eq!(
        renewal_risk(&RenewalRules::default(), 30.0, None, &steady(), None),
        None
    );
}

#[test]
fn a_weak_score_near_renewal_is_high_risk() {
    let r = renewal_risk(&RenewalRules::default(), 30.0, None, &steady(), Some(20)).unwrap();
    assert_eq!(r.risk, 70.0);
    assert_eq!(r.level, RiskLevel::High);
}

#[test]
fn the_same_score_far_from_renewal_is_a_quarter_of_the_risk() {
    let r = renewal_risk(&RenewalRules::default(), 30.0, None, &steady(), Some(400)).unwrap();
    assert_eq!(r.risk, 17.5);
    assert_eq!(r.level, RiskLevel::Low);
}

#[test]
fn risk_scales_linearly_between_near_and_horizon() {
    // halfway between 30 and 180 days: factor 0.625
    let r = renewal_risk(&RenewalRules::default(), 60.0, None, &steady(), Some(105)).unwrap();
    assert_eq!(r.risk, 25.0);
}

#[test]
fn a_falling_score_and_a_decline_add_risk() {
    let rules = RenewalRules::default();
    let flat = renewal_risk(&rules, 70.0, Some(70.0), &steady(), Some(10)).unwrap();
    let falling = renewal_risk(&rules, 70.0, Some(80.0), &steady(), Some(10)).unwrap();
    let declining = renewal_risk(&rules, 70.0, Some(80.0), &severe(), Some(10)).unwrap();
    assert_eq!(flat.risk, 30.0);
    assert_eq!(falling.risk, 50.0);
    assert_eq!(declining.risk, 80.0);
    assert_eq!(falling.level, RiskLevel::Medium);
}

#[test]
fn a_high_rising_account_near_its_seat_limit_is_an_expansion_candidate() {
    let e = expansion(
        &ExpansionRules::default(),
        85.0,
        Some(80.0),
        None,
        9,
        Some(10),
    );
    assert!(e.candidate);
    assert_eq!(e.reasons.len(), 4);
    assert!(matches!(
        e.reasons[2],
        ExpansionReason::SeatsNearLimit {
            active_users: 9,
            seats: 10
        }
    ));
}

#[test]
fn many_stakeholders_stand_in_for_seats_near_the_limit() {
    let e = expansion(
        &ExpansionRules::default(),
        85.0,
        Some(80.0),
        None,
        6,
        Some(100),
    );
    assert!(e.candidate);
    let e = expansion(
        &ExpansionRules::default(),
        85.0,
        Some(80.0),
        None,
        4,
        Some(100),
    );
    assert!(!e.candidate);
}

#[test]
fn a_falling_or_low_score_is_not_an_expansion_candidate() {
    let rules = ExpansionRules::default();
    assert!(!expansion(&rules, 85.0, Some(90.0), None, 10, Some(10)).candidate);
    assert!(!expansion(&rules, 60.0, Some(50.0), None, 10, Some(10)).candidate);
}

#[test]
fn without_a_previous_score_rising_usage_counts_as_rising() {
    let rules = ExpansionRules::default();
    assert!(expansion(&rules, 85.0, None, Some(1.2), 10, Some(10)).candidate);
    assert!(!expansion(&rules, 85.0, None, Some(1.0), 10, Some(10)).candidate);
}

#[test]
fn expansion_reasons_read_as_words() {
    let r = ExpansionReason::SeatsNearLimit {
        active_users: 9,
        seats: 10,
    };
    assert_eq!(r.describe(), "9 of 10 seats active");
}

#[test]
fn time_to_value_counts_days_from_start_to_first_value() {
    let start = Some(day("2026-01-01"));
    assert_eq!(time_to_value(start, Some(day("2026-01-15"))), Some(14));
    assert_eq!(time_to_value(start, None), None);
    assert_eq!(time_to_value(None, Some(day("2026-01-15"))), None);
}
