use super::*;
use crate::config::Scorecard;
use crate::testkit::{ago, day, window_with, with_users};
use crate::{Band, DeclineSeverity, DeclineStatus};

const AS_OF: &str = "2026-06-01";

fn mature_facts() -> AccountFacts {
    let as_of = day(AS_OF);
    AccountFacts {
        tier: Some("growth".into()),
        seats_licensed: Some(10),
        renewal_date: Some(as_of + chrono::Days::new(200)),
        contract_start: Some(ago(as_of, 500)),
        champions: vec!["u0".into()],
        ..Default::default()
    }
}

/// A busy account: 8 of 10 seats active every day for 120 days, all key features in use.
fn busy_window(config: &ScoringConfig) -> UsageWindow {
    let as_of = day(AS_OF);
    let mut w = window_with(as_of, 0..120, |_| 8);
    let users: Vec<String> = (0..8).map(|i| format!("u{i}")).collect();
    let refs: Vec<&str> = users.iter().map(String::as_str).collect();
    w = with_users(w, &refs, as_of);
    for f in &config.key_features {
        w.features_last_used.insert(f.clone(), ago(as_of, 1));
    }
    w
}

fn config() -> ScoringConfig {
    ScoringConfig {
        key_features: vec!["reports".into(), "alerts".into()],
        ..Default::default()
    }
}

#[test]
fn a_busy_mature_account_is_healthy_and_explains_every_signal() {
    let c = config();
    let s = score_account(&c, &mature_facts(), &busy_window(&c), day(AS_OF), None);
    assert_eq!(s.stage, LifecycleStage::Mature);
    assert_eq!(s.health.scorecard, "default");
    assert_eq!(s.health.band, Band::Healthy, "{:#?}", s.health);
    assert_eq!(s.decline.status, DeclineStatus::Steady);
    assert_eq!(s.decline.ratio, Some(1.0));
    let names: Vec<&str> = s.health.signals.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "usage_depth",
            "breadth",
            "seat_adoption",
            "trend",
            "engagement",
            "sentiment",
            "contract"
        ]
    );
    // no engagement records and no surveys: 20% of the weight is missing
    assert!((s.health.confidence - 0.8).abs() < 1e-12);
    assert_eq!(s.adoption.seats, Some(0.8));
    assert_eq!(s.adoption.features, Some(1.0));
    assert_eq!(s.active_users, 8);
    assert!(s.change.is_none());
}

#[test]
fn a_mature_account_at_exactly_sixty_percent_of_its_average_does_not_fire() {
    let c = config();
    let w = window_with(day(AS_OF), 0..120, |age| if age < 14 { 6 } else { 10 });
    let s = score_account(&c, &mature_facts(), &w, day(AS_OF), None);
    assert_eq!(s.decline.ratio, Some(0.6));
    assert_eq!(s.decline.status, DeclineStatus::Steady);
    let w = window_with(day(AS_OF), 0..120, |age| if age < 14 { 4 } else { 10 });
    let s = score_account(&c, &mature_facts(), &w, day(AS_OF), None);
    assert_eq!(s.decline.ratio, Some(0.4));
    assert_eq!(s.decline.severity(), Some(DeclineSeverity::Moderate));
    let w = window_with(day(AS_OF), 0..120, |age| if age < 14 { 3 } else { 10 });
    let s = score_account(&c, &mature_facts(), &w, day(AS_OF), None);
    assert_eq!(s.decline.severity(), Some(DeclineSeverity::Severe));
}

#[test]
fn a_new_account_is_judged_on_the_days_it_has_had_not_the_whole_look_back() {
    let c = config();
    let as_of = day(AS_OF);
    let started = |days_ago: u64| AccountFacts {
        contract_start: Some(ago(as_of, days_ago)),
        ..mature_facts()
    };
    // Active every day since it started two days ago, as busy as the mature account.
    let w = window_with(as_of, 0..3, |_| 8);
    let new = score_account(&c, &started(2), &w, as_of, None);
    let depth = |s: &AccountScore| {
        s.health
            .signals
            .iter()
            .find(|x| x.name == "usage_depth")
            .and_then(|x| x.value)
            .unwrap()
    };
    // The same three days of use for an account 200 days old are three active days in thirty.
    let old = score_account(&c, &started(200), &w, as_of, None);
    assert!(
        depth(&new) > depth(&old) + 30.0,
        "{} vs {}",
        depth(&new),
        depth(&old)
    );
    assert_ne!(new.health.band, Band::AtRisk, "{:#?}", new.health);
}

#[test]
fn an_onboarding_account_is_judged_against_the_benchmark_not_its_own_first_days() {
    let c = config();
    let as_of = day(AS_OF);
    let facts = AccountFacts {
        contract_start: Some(ago(as_of, 20)),
        ..mature_facts()
    };
    // a big first week (10 users) then 3 a day: against its own start that is a 70% drop,
    // against the benchmark (0.2 x 10 seats = 2 a day) it is well ahead
    let w = window_with(as_of, 0..21, |age| if age >= 14 { 10 } else { 3 });
    let s = score_account(&c, &facts, &w, as_of, None);
    assert_eq!(s.stage, LifecycleStage::Onboarding);
    assert_eq!(s.health.scorecard, "onboarding");
    assert_eq!(s.decline.baseline, crate::Baseline::NewAccountBenchmark);
    assert_eq!(s.decline.ratio, Some(1.5));
    assert_eq!(s.decline.status, DeclineStatus::Steady);
    // one user a day is half the benchmark: moderate
    let w = window_with(as_of, 0..21, |age| if age >= 14 { 10 } else { 1 });
    let s = score_account(&c, &facts, &w, as_of, None);
    assert_eq!(s.decline.ratio, Some(0.5));
    assert_eq!(s.decline.severity(), Some(DeclineSeverity::Moderate));
}

#[test]
fn an_account_with_no_data_scores_neutral_with_zero_confidence() {
    let s = score_account(
        &config(),
        &AccountFacts::default(),
        &UsageWindow::default(),
        day(AS_OF),
        None,
    );
    assert_eq!(s.stage, LifecycleStage::Onboarding);
    assert_eq!(s.health.confidence, 0.0);
    assert_eq!(s.health.score, crate::scorecard::NO_DATA_SCORE);
    assert!(s.health.signals.iter().all(|x| x.value.is_none()));
}

#[test]
fn the_change_since_the_previous_run_names_seat_adoption() {
    let c = config();
    let facts = mature_facts();
    let before = score_account(&c, &facts, &busy_window(&c), day(AS_OF), None);
    let mut w = busy_window(&c);
    for i in 2..8 {
        w.users_last_active
            .insert(format!("u{i}"), ago(day(AS_OF), 60));
    }
    let after = score_account(&c, &facts, &w, day(AS_OF), Some(&before.health));
    let change = after.change.unwrap();
    assert!(change.delta < 0.0);
    assert_eq!(change.movers[0].name, "seat_adoption");
    assert!(
        change.sentence().contains("seat adoption 80% → 20%"),
        "{}",
        change.sentence()
    );
}

#[test]
fn time_to_value_and_champion_activity_come_from_the_window() {
    let c = config();
    let as_of = day(AS_OF);
    let facts = AccountFacts {
        tier: Some("enterprise".into()),
        ..mature_facts()
    };
    let mut w = busy_window(&c);
    w.first_value_on = Some(ago(as_of, 480));
    let s = score_account(&c, &facts, &w, as_of, None);
    assert_eq!(s.time_to_value_days, Some(20));
    assert_eq!(s.health.scorecard, "enterprise");
    let champion = s
        .health
        .signals
        .iter()
        .find(|x| x.name == "champion_activity")
        .unwrap();
    assert_eq!((champion.raw, champion.value), (Some(0.0), Some(100.0)));
}

#[test]
fn scoring_is_deterministic_and_round_trips_through_json() {
    let c = config();
    let a = score_account(&c, &mature_facts(), &busy_window(&c), day(AS_OF), None);
    let b = score_account(&c, &mature_facts(), &busy_window(&c), day(AS_OF), None);
    assert_eq!(a, b);
    let json = serde_json::to_string(&a).unwrap();
    assert_eq!(serde_json::from_str::<AccountScore>(&json).unwrap(), a);
}

fn peer_config() -> ScoringConfig {
    let mut c = config();
    c.scorecards = vec![Scorecard {
        name: "peers".into(),
        when: Default::default(),
        weights: [(Signal::UsageDepth, 1.0)].into_iter().collect(),
        normalise: Normalise::PeerPercentile,
    }];
    c
}

#[test]
fn peer_percentiles_rank_accounts_on_the_same_scorecard() {
    let c = peer_config();
    let facts = mature_facts();
    let windows: Vec<UsageWindow> = (1..=11)
        .map(|n| window_with(day(AS_OF), 0..120, move |_| n))
        .collect();
    let inputs: Vec<AccountInput<'_>> = windows
        .iter()
        .map(|w| AccountInput {
            facts: &facts,
            window: w,
            previous: None,
        })
        .collect();
    let scores = score_batch(&c, &inputs, day(AS_OF));
    assert_eq!(scores[0].health.score, 0.0);
    assert_eq!(scores[5].health.score, 50.0);
    assert_eq!(scores[10].health.score, 100.0);
    assert!(scores
        .iter()
        .all(|s| s.normalise == Normalise::PeerPercentile));
}

#[test]
fn a_peer_group_below_the_minimum_scores_absolutely() {
    let c = peer_config();
    let facts = mature_facts();
    let w = busy_window(&c);
    let input = AccountInput {
        facts: &facts,
        window: &w,
        previous: None,
    };
    let batch = score_batch(&c, &[input], day(AS_OF));
    assert_eq!(batch[0].normalise, Normalise::Absolute);
    assert_eq!(batch[0], score_account(&c, &facts, &w, day(AS_OF), None));
}

/// Accounts of every kind the kernel branches on: mature with champions and surveys, onboarding,
/// first-year with tickets and invoices, an enterprise one, an empty one.
fn pinned_accounts() -> Vec<(AccountFacts, UsageWindow)> {
    let as_of = day(AS_OF);
    let c = config();
    let mut rich = busy_window(&c);
    rich.surveys.push(crate::SurveyResponse {
        day: ago(as_of, 10),
        kind: crate::SurveyKind::Nps,
        answer: 9,
    });
    rich.surveys.push(crate::SurveyResponse {
        day: ago(as_of, 40),
        kind: crate::SurveyKind::Csat,
        answer: 2,
    });
    let mut signals = crate::DaySignals {
        day: ago(as_of, 5),
        checkins: 1,
        invoices_overdue: 1,
        ..Default::default()
    };
    signals.tickets_opened.high = 2;
    signals.tickets_resolved.high = 1;
    rich.signal_days.push(signals);
    rich.engagement_since = Some(ago(as_of, 5));
    rich.invoices_since = Some(ago(as_of, 5));
    let declining = window_with(as_of, 0..120, |age| if age < 14 { 3 } else { 9 });
    let onboarding = window_with(as_of, 0..12, |age| (age % 4) as u32);
    let first_year = window_with(as_of, 0..120, |age| ((age * 7) % 11) as u32);
    vec![
        (mature_facts(), rich),
        (
            AccountFacts {
                tier: Some("Enterprise".into()),
                ..mature_facts()
            },
            declining,
        ),
        (
            AccountFacts {
                contract_start: Some(ago(as_of, 12)),
                seats_licensed: None,
                ..mature_facts()
            },
            onboarding,
        ),
        (
            AccountFacts {
                contract_start: Some(ago(as_of, 200)),
                invoice_overdue: Some(false),
                ..mature_facts()
            },
            first_year,
        ),
        (AccountFacts::default(), UsageWindow::default()),
    ]
}

/// Pins the kernel's exact output, so an optimisation that changes any number fails here.
#[test]
fn scores_stay_exactly_as_pinned() {
    let c = config();
    let got: Vec<(f64, f64, Vec<Option<f64>>)> = pinned_accounts()
        .iter()
        .map(|(f, w)| {
            let s = score_account(&c, f, w, day(AS_OF), None);
            let values = s.health.signals.iter().map(|x| x.value).collect();
            (s.health.score, s.health.confidence, values)
        })
        .collect();
    let pinned = vec![
        (
            84.2,
            1.0,
            vec![
                Some(93.0),
                Some(100.0),
                Some(100.0),
                Some(80.0),
                Some(46.33333333333333),
                Some(57.5),
                Some(60.0),
            ],
        ),
        (
            51.1,
            0.8,
            vec![
                Some(86.35000000000001),
                Some(0.0),
                Some(0.0),
                Some(26.666666666666668),
                None,
                None,
                Some(100.0),
                Some(0.0),
            ],
        ),
        (
            // An onboarding account, judged on the days since it started.
            61.8,
            0.6000000000000001,
            vec![
                Some(98.07692307692308),
                Some(0.0),
                None,
                Some(55.38461538461539),
                None,
            ],
        ),
        (
            56.7,
            0.8000000000000002,
            vec![
                Some(81.53333333333333),
                Some(0.0),
                Some(0.0),
                Some(73.30827067669172),
                None,
                None,
                Some(100.0),
            ],
        ),
        (50.0, 0.0, vec![None, None, None, None, None]),
    ];
    assert_eq!(got, pinned);
}

#[test]
fn measuring_a_batch_gives_what_measuring_each_account_gives() {
    let c = config();
    let accounts = pinned_accounts();
    // nineteen accounts: two warmed groups of eight and three left over
    let inputs: Vec<AccountInput<'_>> = accounts
        .iter()
        .cycle()
        .take(19)
        .map(|(f, w)| AccountInput {
            facts: f,
            window: w,
            previous: None,
        })
        .collect();
    let one_by_one: Vec<Measurement> = inputs
        .iter()
        .map(|a| measure(&c, a.facts, a.window, day(AS_OF)))
        .collect();
    assert_eq!(measure_batch(&c, &inputs, day(AS_OF)), one_by_one);
    let mut visited = Vec::new();
    DayPlan::new(&c, day(AS_OF)).measure_each(&inputs, |i, m| visited.push((i, *m)));
    let expected: Vec<(usize, Measurement)> = one_by_one.iter().copied().enumerate().collect();
    assert_eq!(visited, expected);
    let scores = score_batch(&c, &inputs, day(AS_OF));
    for (a, s) in inputs.iter().zip(&scores) {
        assert_eq!(*s, score_account(&c, a.facts, a.window, day(AS_OF), None));
    }
}
