use super::*;
use crate::testkit::{ago, day};

const AS_OF: &str = "2026-06-01";

fn rules() -> DeclineRules {
    DeclineRules::default()
}

/// An established account: a trailing average of 10 daily active users over the full 90
/// days, and `recent_sum` user-days in the last 14.
fn established(recent_sum: u64) -> Decline {
    let as_of = day(AS_OF);
    let t = UsageTally {
        short_user_days: recent_sum,
        long_user_days: 900,
        ..Default::default()
    };
    against_own_history(&t, &rules(), Some(ago(as_of, 200)), as_of)
}

#[test]
fn exactly_sixty_percent_of_the_average_does_not_fire() {
    // 84 / 14 = 6 daily active users against an average of 10: ratio exactly 0.6
    let d = established(84);
    assert_eq!(d.ratio, Some(0.6));
    assert_eq!(d.status, DeclineStatus::Steady);
    assert!(!d.fires());
}

#[test]
fn just_below_sixty_percent_is_moderate() {
    let d = established(83);
    assert!(d.ratio.unwrap() < 0.6);
    assert_eq!(d.severity(), Some(DeclineSeverity::Moderate));
}

#[test]
fn just_above_sixty_percent_is_steady() {
    let d = established(85);
    assert!(d.ratio.unwrap() > 0.6);
    assert_eq!(d.status, DeclineStatus::Steady);
}

#[test]
fn exactly_forty_percent_is_moderate_not_severe() {
    // 56 / 14 = 4 against 10: exactly 60% below, which is not "more than 60% below"
    let d = established(56);
    assert_eq!(d.ratio, Some(0.4));
    assert_eq!(d.severity(), Some(DeclineSeverity::Moderate));
}

#[test]
fn just_below_forty_percent_is_severe() {
    let d = established(55);
    assert!(d.ratio.unwrap() < 0.4);
    assert_eq!(d.severity(), Some(DeclineSeverity::Severe));
}

#[test]
fn just_above_forty_percent_is_moderate() {
    let d = established(57);
    assert_eq!(d.severity(), Some(DeclineSeverity::Moderate));
}

#[test]
fn no_recent_usage_at_all_is_severe() {
    let d = established(0);
    assert_eq!(d.ratio, Some(0.0));
    assert_eq!(d.severity(), Some(DeclineSeverity::Severe));
}

#[test]
fn reports_the_recent_index_and_trailing_average_as_mean_daily_active_users() {
    let d = established(84);
    assert_eq!(d.recent_index, Some(6.0));
    assert_eq!(d.baseline_index, Some(10.0));
    assert_eq!(d.baseline, Baseline::OwnHistory);
}

#[test]
fn an_account_with_no_activity_ever_is_not_judged() {
    let as_of = day(AS_OF);
    let d = against_own_history(&UsageTally::default(), &rules(), None, as_of);
    assert_eq!(d.status, DeclineStatus::NotJudged(NotJudged::NoHistory));
    assert_eq!(d.ratio, None);
}

#[test]
fn too_little_history_before_the_recent_period_is_not_judged() {
    let as_of = day(AS_OF);
    let t = UsageTally {
        short_user_days: 10,
        long_user_days: 70,
        ..Default::default()
    };
    // first active 20 days ago: ages 14..=20 are 7 days of trailing history, 14 are needed
    let d = against_own_history(&t, &rules(), Some(ago(as_of, 20)), as_of);
    assert_eq!(
        d.status,
        DeclineStatus::NotJudged(NotJudged::TooLittleHistory {
            baseline_days: 7,
            needed: 14
        })
    );
    // 27 days ago gives exactly 14 trailing days: judged
    let d = against_own_history(&t, &rules(), Some(ago(as_of, 27)), as_of);
    assert!(matches!(
        d.status,
        DeclineStatus::Declining(_) | DeclineStatus::Steady
    ));
}

#[test]
fn a_partial_trailing_period_averages_only_the_days_since_first_activity() {
    let as_of = day(AS_OF);
    // active since 43 days ago: 30 trailing days with 300 user-days = average 10
    let t = UsageTally {
        short_user_days: 84,
        long_user_days: 300,
        ..Default::default()
    };
    let d = against_own_history(&t, &rules(), Some(ago(as_of, 43)), as_of);
    assert_eq!(d.baseline_index, Some(10.0));
    assert_eq!(d.ratio, Some(0.6));
    assert_eq!(d.status, DeclineStatus::Steady);
}

#[test]
fn no_usage_in_the_trailing_period_has_nothing_to_decline_from() {
    let as_of = day(AS_OF);
    let t = UsageTally {
        short_user_days: 5,
        ..Default::default()
    };
    let d = against_own_history(&t, &rules(), Some(ago(as_of, 200)), as_of);
    assert_eq!(
        d.status,
        DeclineStatus::NotJudged(NotJudged::NoBaselineUsage)
    );
}

#[test]
fn onboarding_accounts_are_compared_with_the_new_account_benchmark() {
    let as_of = day(AS_OF);
    let bench = OnboardingBenchmark::default(); // 0.2 daily active users per seat
                                                // 10 days old, 10 seats: expected 2 daily active users; 12 user-days over 10 days = 1.2
    let t = UsageTally {
        short_user_days: 12,
        long_user_days: 0,
        ..Default::default()
    };
    let d = against_benchmark(&t, &rules(), &bench, Some(ago(as_of, 9)), Some(10), as_of);
    assert_eq!(d.baseline, Baseline::NewAccountBenchmark);
    assert_eq!(d.baseline_index, Some(2.0));
    assert_eq!(d.ratio, Some(0.6));
    assert_eq!(d.status, DeclineStatus::Steady);
    let t = UsageTally {
        short_user_days: 7,
        ..t
    };
    let d = against_benchmark(&t, &rules(), &bench, Some(ago(as_of, 9)), Some(10), as_of);
    assert_eq!(d.severity(), Some(DeclineSeverity::Severe));
}

#[test]
fn onboarding_without_seats_uses_the_absolute_benchmark() {
    let as_of = day(AS_OF);
    let bench = OnboardingBenchmark::default(); // 2 daily active users
    let t = UsageTally {
        short_user_days: 14,
        ..Default::default()
    };
    let d = against_benchmark(&t, &rules(), &bench, Some(ago(as_of, 20)), None, as_of);
    assert_eq!(d.recent_index, Some(1.0));
    assert_eq!(d.ratio, Some(0.5));
    assert_eq!(d.severity(), Some(DeclineSeverity::Moderate));
}

#[test]
fn onboarding_accounts_are_not_judged_in_their_first_days() {
    let as_of = day(AS_OF);
    let bench = OnboardingBenchmark::default(); // judged from day 7
    let t = UsageTally::default();
    let d = against_benchmark(&t, &rules(), &bench, Some(ago(as_of, 5)), Some(10), as_of);
    assert_eq!(
        d.status,
        DeclineStatus::NotJudged(NotJudged::TooEarlyInOnboarding { days: 6, needed: 7 })
    );
    let d = against_benchmark(&t, &rules(), &bench, Some(ago(as_of, 6)), Some(10), as_of);
    assert_eq!(d.severity(), Some(DeclineSeverity::Severe));
}

#[test]
fn classify_uses_the_configured_thresholds() {
    let r = DeclineRules {
        fire_below: 0.8,
        severe_below: 0.5,
        ..rules()
    };
    assert_eq!(classify(0.8, &r), DeclineStatus::Steady);
    assert_eq!(
        classify(0.79, &r),
        DeclineStatus::Declining(DeclineSeverity::Moderate)
    );
    assert_eq!(
        classify(0.49, &r),
        DeclineStatus::Declining(DeclineSeverity::Severe)
    );
}
