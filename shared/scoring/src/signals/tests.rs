use super::*;
use crate::testkit::{ago, day, window_with, with_users};
use crate::window::{SurveyResponse, TicketCounts};

fn targets() -> SignalTargets {
    SignalTargets::default()
}

fn tally(active_days: u32, per_day_users: u64) -> UsageTally {
    let days = u64::from(active_days);
    UsageTally {
        active_days,
        user_days: days * per_day_users,
        sessions: days * per_day_users * 2,
        session_seconds: days * per_day_users * 1200,
        api_calls: days * per_day_users * 5,
        events: days * per_day_users * 20,
        ..Default::default()
    }
}

#[test]
fn usage_depth_meeting_every_target_is_full_marks() {
    // 30 of 30 days, 10 seats all active daily: 14 sessions/seat/week, 20 session minutes,
    // 5 API calls (half the target) and 20 events per seat per day
    let m = usage_depth(&tally(30, 10), &targets(), 10.0, 30, true);
    assert_eq!(m.raw, Some(30.0));
    let mix = targets().usage_mix;
    let expected = (mix.active_days * 100.0
        + mix.sessions * 100.0
        + mix.duration * 100.0
        + mix.api_calls * 50.0
        + mix.events * 100.0)
        / (mix.active_days + mix.sessions + mix.duration + mix.api_calls + mix.events);
    assert!((m.absolute.unwrap() - expected).abs() < 1e-9);
}

#[test]
fn usage_depth_with_no_usage_in_the_look_back_is_zero_not_missing() {
    let m = usage_depth(&UsageTally::default(), &targets(), 10.0, 30, true);
    assert_eq!(m.absolute, Some(0.0));
    assert_eq!(m.raw, Some(0.0));
}

#[test]
fn usage_depth_is_missing_for_an_account_that_never_sent_usage() {
    let m = usage_depth(&UsageTally::default(), &targets(), 10.0, 30, false);
    assert!(!m.is_present());
}

#[test]
fn usage_depth_is_per_seat() {
    let few = usage_depth(&tally(20, 2), &targets(), 10.0, 30, true);
    let many = usage_depth(&tally(20, 2), &targets(), 100.0, 30, true);
    assert!(many.absolute.unwrap() < few.absolute.unwrap());
}

fn config_with_features(features: &[&str]) -> ScoringConfig {
    ScoringConfig {
        key_features: features.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

#[test]
fn breadth_is_the_share_of_key_features_used_in_the_look_back() {
    let as_of = day("2026-06-01");
    let mut w = UsageWindow::default();
    w.features_last_used.insert("reports".into(), ago(as_of, 3));
    w.features_last_used.insert("alerts".into(), ago(as_of, 29));
    w.features_last_used.insert("export".into(), ago(as_of, 30)); // just outside 30 days
    w.features_last_used.insert("other".into(), as_of); // not a key feature
    let c = config_with_features(&["reports", "alerts", "export", "sso"]);
    let m = breadth(&c, &w, Period::ending(as_of, c.lookback_days), true);
    assert_eq!(m.raw, Some(0.5));
    // 0.5 of a 0.8 target
    assert_eq!(m.absolute, Some(62.5));
}

#[test]
fn breadth_without_key_features_counts_distinct_features_against_the_target() {
    let as_of = day("2026-06-01");
    let mut w = UsageWindow::default();
    for f in ["a", "b", "c", "d"] {
        w.features_last_used.insert(f.into(), as_of);
    }
    let m = breadth(
        &ScoringConfig::default(),
        &w,
        Period::ending(as_of, 30),
        true,
    );
    assert_eq!(m.raw, Some(0.5)); // 4 of 8
}

#[test]
fn seat_adoption_is_active_users_per_licensed_seat() {
    let as_of = day("2026-06-01");
    let w = with_users(UsageWindow::default(), &["a", "b"], ago(as_of, 2));
    let w = with_users(w, &["old"], ago(as_of, 40));
    let users = active_users(&w, Period::ending(as_of, 30));
    assert_eq!(users, 2);
    let facts = AccountFacts {
        seats_licensed: Some(5),
        ..Default::default()
    };
    let m = seat_adoption(&facts, users, &targets(), true);
    assert_eq!(m.raw, Some(0.4));
    assert_eq!(m.absolute, Some(50.0)); // 0.4 of a 0.8 target
}

#[test]
fn seat_adoption_is_missing_without_a_seat_count() {
    let m = seat_adoption(&AccountFacts::default(), 3, &targets(), true);
    assert!(!m.is_present());
}

#[test]
fn trend_gives_a_steady_account_eighty_and_is_missing_without_a_ratio() {
    assert_eq!(trend(Some(1.0), &targets()).absolute, Some(80.0));
    assert_eq!(trend(Some(2.0), &targets()).absolute, Some(100.0));
    assert_eq!(trend(Some(0.5), &targets()).absolute, Some(40.0));
    assert!(!trend(None, &targets()).is_present());
}

#[test]
fn engagement_rewards_training_and_checkins_and_charges_tickets_by_severity() {
    let rules = EngagementRules::default();
    let quiet = EngagementTally::default();
    assert_eq!(engagement(&quiet, &rules, true).absolute, Some(50.0));
    let engaged = EngagementTally {
        trainings: 2,
        checkins: 3,
        ..Default::default()
    };
    assert_eq!(engagement(&engaged, &rules, true).absolute, Some(100.0));
    let troubled = EngagementTally {
        tickets_opened: TicketCounts {
            high: 2,
            urgent: 1,
            ..Default::default()
        },
        ..Default::default()
    };
    // 50 - (2 * 8 + 15)
    let m = engagement(&troubled, &rules, true);
    assert_eq!(m.absolute, Some(19.0));
    assert_eq!(m.raw, Some(3.0));
}

#[test]
fn a_resolved_ticket_costs_half() {
    let rules = EngagementRules::default();
    let t = EngagementTally {
        tickets_opened: TicketCounts {
            high: 2,
            ..Default::default()
        },
        tickets_resolved: TicketCounts {
            high: 1,
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(engagement(&t, &rules, true).absolute, Some(38.0));
}

#[test]
fn engagement_is_missing_until_any_engagement_record_arrives() {
    let m = engagement(
        &EngagementTally::default(),
        &EngagementRules::default(),
        false,
    );
    assert!(!m.is_present());
}

#[test]
fn sentiment_averages_answers_on_a_common_scale() {
    let as_of = day("2026-06-01");
    let mut w = UsageWindow::default();
    let answer = |age, kind, answer| SurveyResponse {
        day: ago(as_of, age),
        kind,
        answer,
    };
    w.surveys = vec![
        answer(400, SurveyKind::Nps, 0), // outside the 180 days
        answer(10, SurveyKind::Nps, 8),  // 80
        answer(5, SurveyKind::Csat, 4),  // 75
        answer(1, SurveyKind::Ces, 7),   // 100
    ];
    let m = sentiment(&w, as_of, 180);
    assert_eq!(m.absolute, Some(85.0));
    assert!(!sentiment(&UsageWindow::default(), as_of, 180).is_present());
}

#[test]
fn net_promoter_score_is_promoters_minus_detractors() {
    let as_of = day("2026-06-01");
    let mut w = UsageWindow::default();
    for a in [10, 9, 7, 3] {
        w.surveys.push(SurveyResponse {
            day: as_of,
            kind: SurveyKind::Nps,
            answer: a,
        });
    }
    assert_eq!(net_promoter_score(&w, as_of, 180), Some(25.0));
}

#[test]
fn contract_charges_overdue_invoices_and_a_near_or_lapsed_renewal() {
    let rules = ContractRules::default();
    let facts = AccountFacts::default();
    assert_eq!(
        contract(&facts, &rules, Some(200), Some(0)).absolute,
        Some(100.0)
    );
    assert_eq!(
        contract(&facts, &rules, Some(200), Some(1)).absolute,
        Some(60.0)
    );
    assert_eq!(
        contract(&facts, &rules, Some(20), None).absolute,
        Some(90.0)
    );
    assert_eq!(
        contract(&facts, &rules, Some(-1), Some(0)).absolute,
        Some(50.0)
    );
    assert_eq!(contract(&facts, &rules, Some(20), None).raw, Some(20.0));
    assert!(!contract(&facts, &rules, None, None).is_present());
}

#[test]
fn contract_adds_the_configured_tier_points() {
    let mut rules = ContractRules::default();
    rules.tier_points.insert("free".into(), -30.0);
    let facts = AccountFacts {
        tier: Some("Free".into()),
        ..Default::default()
    };
    assert_eq!(contract(&facts, &rules, None, None).absolute, Some(70.0));
}

#[test]
fn overdue_flag_from_billing_wins_over_invoice_counters() {
    let e = EngagementTally {
        invoices_overdue: 2,
        invoices_paid: 2,
        ..Default::default()
    };
    let flagged = AccountFacts {
        invoice_overdue: Some(true),
        ..Default::default()
    };
    assert_eq!(overdue_invoices(&flagged, &e, true), Some(1));
    assert_eq!(
        overdue_invoices(&AccountFacts::default(), &e, true),
        Some(0)
    );
    assert_eq!(overdue_invoices(&AccountFacts::default(), &e, false), None);
}

#[test]
fn champion_activity_falls_from_full_to_zero_between_seven_and_forty_five_days() {
    let rules = ChampionRules::default();
    let facts = AccountFacts {
        champions: vec!["ada".into()],
        ..Default::default()
    };
    assert_eq!(
        champion_activity(&facts, &rules, Some(7)).absolute,
        Some(100.0)
    );
    assert_eq!(
        champion_activity(&facts, &rules, Some(26)).absolute,
        Some(50.0)
    );
    assert_eq!(
        champion_activity(&facts, &rules, Some(45)).absolute,
        Some(0.0)
    );
    let unseen = champion_activity(&facts, &rules, None);
    assert_eq!((unseen.raw, unseen.absolute), (None, Some(0.0)));
    assert!(!champion_activity(&AccountFacts::default(), &rules, Some(1)).is_present());
}

#[test]
fn days_since_champion_takes_the_most_recent_champion() {
    let as_of = day("2026-06-01");
    let w = with_users(UsageWindow::default(), &["ada"], ago(as_of, 12));
    let w = with_users(w, &["bob"], ago(as_of, 3));
    let w = with_users(w, &["eve"], as_of);
    let facts = AccountFacts {
        champions: vec!["ada".into(), "bob".into(), "zed".into()],
        ..Default::default()
    };
    assert_eq!(days_since_champion(&facts, &w, as_of), Some(3));
}

#[test]
fn usage_depth_from_a_real_window_counts_only_the_look_back() {
    let as_of = day("2026-06-01");
    let w = window_with(as_of, 0..60, |_| 1);
    let t = crate::tally::tally_usage(
        &w.days,
        as_of,
        crate::tally::Spans {
            lookback: 30,
            short: 14,
            long: 90,
        },
    );
    assert_eq!(usage_depth(&t, &targets(), 1.0, 30, true).raw, Some(30.0));
}

#[test]
fn signal_names_round_trip_and_format_in_their_units() {
    for s in Signal::ALL {
        assert_eq!(Signal::from_name(s.as_str()), Some(s));
    }
    assert_eq!(Signal::SeatAdoption.format_raw(Some(0.41)), "41%");
    assert_eq!(Signal::ChampionActivity.format_raw(None), "no data");
}
