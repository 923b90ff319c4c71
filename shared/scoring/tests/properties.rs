//! Properties every score must have, whatever the account: bounded, deterministic, and never
//! punishing more usage.

use chrono::{Days, NaiveDate};
use proptest::prelude::*;
use vitals_scoring::{
    score_account, AccountFacts, AccountScore, DayUsage, ScoringConfig, Signal, SurveyKind,
    SurveyResponse, UsageWindow,
};

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 1).unwrap_or_default()
}

prop_compose! {
    fn day_usage()(age in 0u64..120, users in 0u32..50, sessions in 0u32..200,
                   seconds in 0u32..100_000, api in 0u32..5_000, events in 0u32..10_000)
                   -> (u64, [u32; 5]) {
        (age, [users, sessions, seconds, api, events])
    }
}

prop_compose! {
    fn window()(days in prop::collection::vec(day_usage(), 0..120),
                users in prop::collection::vec((0u32..40, 0u64..150), 0..40),
                features in prop::collection::vec((0u32..12, 0u64..150), 0..20),
                surveys in prop::collection::vec((0u8..11, 0u64..300), 0..16),
                first_extra in 0u64..400) -> UsageWindow {
        let mut by_day = std::collections::BTreeMap::new();
        for (age, c) in days {
            by_day.insert(as_of() - Days::new(age), c);
        }
        let days: Vec<DayUsage> = by_day
            .into_iter()
            .map(|(day, c)| DayUsage {
                day,
                active_users: c[0],
                sessions: c[1],
                session_seconds: c[2],
                api_calls: c[3],
                events: c[4],
            })
            .collect();
        let first_active = days.first().map(|d| d.day - Days::new(first_extra));
        let mut w = UsageWindow {
            through: Some(as_of()),
            first_active,
            days: days.into(),
            ..Default::default()
        };
        for (u, age) in users {
            w.users_last_active.insert(format!("u{u}"), as_of() - Days::new(age));
        }
        for (f, age) in features {
            w.features_last_used.insert(format!("f{f}"), as_of() - Days::new(age));
        }
        for (answer, age) in surveys {
            w.surveys.push(SurveyResponse { day: as_of() - Days::new(age), kind: SurveyKind::Nps, answer });
        }
        w.surveys.sort_by_key(|s| s.day);
        w
    }
}

prop_compose! {
    fn facts()(seats in prop::option::of(1u32..100), renewal in prop::option::of(-30i64..400),
               start in prop::option::of(0u64..800), enterprise in any::<bool>(),
               champion in prop::option::of(0u32..40)) -> AccountFacts {
        AccountFacts {
            tier: Some(if enterprise { "enterprise" } else { "growth" }.into()),
            seats_licensed: seats,
            renewal_date: renewal.map(|d| as_of() + chrono::Duration::days(d)),
            contract_start: start.map(|d| as_of() - Days::new(d)),
            champions: champion.map(|c| format!("u{c}")).into_iter().collect(),
            ..Default::default()
        }
    }
}

fn config() -> ScoringConfig {
    ScoringConfig {
        key_features: (0..6).map(|i| format!("f{i}")).collect(),
        ..Default::default()
    }
}

fn value(s: &AccountScore, signal: Signal) -> Option<f64> {
    s.health
        .signals
        .iter()
        .find(|x| x.name == signal.as_str())
        .and_then(|x| x.value)
}

proptest! {
    #[test]
    fn scores_and_signal_values_stay_within_bounds(w in window(), f in facts()) {
        let s = score_account(&config(), &f, &w, as_of(), None);
        prop_assert!((0.0..=100.0).contains(&s.health.score));
        prop_assert!((0.0..=1.0).contains(&s.health.confidence));
        for x in &s.health.signals {
            if let Some(v) = x.value {
                prop_assert!((0.0..=100.0).contains(&v), "{} = {}", x.name, v);
            }
            prop_assert!((0.0..=1.0 + 1e-9).contains(&x.weight));
        }
        if s.health.confidence > 0.0 {
            let total: f64 = s.health.signals.iter().map(|x| x.weight).sum();
            prop_assert!((total - 1.0).abs() < 1e-9);
        }
        if let Some(r) = s.renewal {
            prop_assert!((0.0..=100.0).contains(&r.risk));
        }
    }

    #[test]
    fn scoring_is_deterministic_and_survives_storage(w in window(), f in facts()) {
        let a = score_account(&config(), &f, &w, as_of(), None);
        let stored: UsageWindow = serde_json::from_str(&serde_json::to_string(&w).unwrap()).unwrap();
        prop_assert_eq!(&stored, &w);
        let b = score_account(&config(), &f, &stored, as_of(), Some(&a.health));
        prop_assert_eq!(&a.health, &b.health);
        prop_assert_eq!(b.change.map(|c| c.delta), Some(0.0));
    }

    #[test]
    fn more_usage_on_a_recent_day_never_lowers_the_usage_signals(
        w in window(),
        mut f in facts(),
        seats in 1u32..100,
        pick in any::<prop::sample::Index>(),
        extra in prop::array::uniform5(0u32..1_000),
        new_user in 100u32..200,
    ) {
        f.seats_licensed = Some(seats);
        prop_assume!(!w.days.is_empty());
        let before = score_account(&config(), &f, &w, as_of(), None);
        let mut more = w.clone();
        let i = pick.index(more.days.len());
        let mut recent = false;
        more.days.update(i, |d| {
            d.active_users += extra[0];
            d.sessions += extra[1];
            d.session_seconds += extra[2];
            d.api_calls += extra[3];
            d.events += extra[4];
            recent = (as_of() - d.day).num_days() < 14;
        });
        more.users_last_active.insert(format!("u{new_user}"), as_of());
        let after = score_account(&config(), &f, &more, as_of(), None);
        for s in [Signal::UsageDepth, Signal::SeatAdoption, Signal::Breadth] {
            prop_assert!(value(&after, s) >= value(&before, s), "{s:?} fell");
        }
        if recent {
            prop_assert!(value(&after, Signal::Trend) >= value(&before, Signal::Trend));
        }
    }
}
