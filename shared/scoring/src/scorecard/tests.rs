use super::*;
use crate::config::{Normalise, ScorecardMatch};
use std::collections::BTreeMap;

fn facts(tier: Option<&str>, region: Option<&str>) -> AccountFacts {
    let mut f = AccountFacts {
        tier: tier.map(str::to_string),
        ..Default::default()
    };
    if let Some(r) = region {
        f.attributes.insert("region".into(), r.into());
    }
    f
}

fn card(name: &str, when: ScorecardMatch, weights: &[(Signal, f64)]) -> Scorecard {
    Scorecard {
        name: name.into(),
        when,
        weights: weights.iter().copied().collect(),
        normalise: Normalise::Absolute,
    }
}

fn config() -> ScoringConfig {
    let mut emea = BTreeMap::new();
    emea.insert("region".to_string(), vec!["emea".to_string()]);
    ScoringConfig {
        scorecards: vec![
            card(
                "onboarding",
                ScorecardMatch {
                    stages: vec![LifecycleStage::Onboarding],
                    ..Default::default()
                },
                &[(Signal::UsageDepth, 1.0)],
            ),
            card(
                "enterprise-emea",
                ScorecardMatch {
                    tiers: vec!["enterprise".into()],
                    attributes: emea,
                    ..Default::default()
                },
                &[(Signal::UsageDepth, 1.0)],
            ),
            card(
                "enterprise",
                ScorecardMatch {
                    tiers: vec!["enterprise".into(), "premium".into()],
                    stages: vec![LifecycleStage::FirstYear, LifecycleStage::Mature],
                    ..Default::default()
                },
                &[(Signal::UsageDepth, 1.0)],
            ),
            card(
                "default",
                ScorecardMatch::default(),
                &[(Signal::UsageDepth, 1.0)],
            ),
        ],
        ..Default::default()
    }
}

fn chosen(f: &AccountFacts, stage: LifecycleStage) -> String {
    let c = config();
    let i = choose_scorecard(&c, f, stage).unwrap();
    c.scorecards[i].name.clone()
}

#[test]
fn onboarding_accounts_get_the_onboarding_scorecard_whatever_their_tier() {
    let f = facts(Some("enterprise"), Some("emea"));
    assert_eq!(chosen(&f, LifecycleStage::Onboarding), "onboarding");
}

#[test]
fn tier_and_attribute_both_have_to_match() {
    let emea = facts(Some("Enterprise"), Some("EMEA"));
    assert_eq!(chosen(&emea, LifecycleStage::Mature), "enterprise-emea");
    let us = facts(Some("enterprise"), Some("us"));
    assert_eq!(chosen(&us, LifecycleStage::Mature), "enterprise");
}

#[test]
fn any_listed_tier_matches_and_the_plan_stands_in_for_a_missing_tier() {
    let premium = AccountFacts {
        plan: Some("premium".into()),
        ..Default::default()
    };
    assert_eq!(chosen(&premium, LifecycleStage::FirstYear), "enterprise");
}

#[test]
fn an_account_matching_nothing_specific_gets_the_catch_all() {
    assert_eq!(
        chosen(&facts(Some("starter"), None), LifecycleStage::Mature),
        "default"
    );
    assert_eq!(
        chosen(&facts(None, None), LifecycleStage::FirstYear),
        "default"
    );
}

#[test]
fn with_no_match_and_no_catch_all_the_last_scorecard_is_used() {
    let mut c = config();
    c.scorecards.pop();
    let i = choose_scorecard(&c, &facts(None, None), LifecycleStage::Mature).unwrap();
    assert_eq!(c.scorecards[i].name, "enterprise");
}

const N: usize = SIGNAL_COUNT;

fn values(pairs: &[(Signal, f64)]) -> [Option<f64>; N] {
    let mut v = [None; N];
    for (s, x) in pairs {
        v[s.index()] = Some(*x);
    }
    v
}

#[test]
fn a_missing_signals_weight_is_shared_by_the_present_ones() {
    let c = card(
        "c",
        ScorecardMatch::default(),
        &[
            (Signal::UsageDepth, 0.5),
            (Signal::SeatAdoption, 0.25),
            (Signal::Sentiment, 0.25),
        ],
    );
    let v = values(&[(Signal::UsageDepth, 80.0), (Signal::SeatAdoption, 20.0)]);
    let h = weigh(Some(&c), &v, &v, &Bands::default());
    // 80 * 2/3 + 20 * 1/3 = 60
    assert_eq!(h.score, 60.0);
    assert_eq!(h.confidence, 0.75);
    let sentiment = h.signals.iter().find(|s| s.name == "sentiment").unwrap();
    assert_eq!(
        (sentiment.value, sentiment.weight, sentiment.points),
        (None, 0.0, 0.0)
    );
    let usage = h.signals.iter().find(|s| s.name == "usage_depth").unwrap();
    assert!((usage.weight - 2.0 / 3.0).abs() < 1e-12);
    let total: f64 = h.signals.iter().map(|s| s.weight).sum();
    assert!((total - 1.0).abs() < 1e-12);
}

#[test]
fn points_add_up_to_the_score() {
    let c = &ScoringConfig::default().scorecards[2];
    let v = values(&[
        (Signal::UsageDepth, 71.0),
        (Signal::Breadth, 33.0),
        (Signal::Trend, 90.0),
        (Signal::Contract, 100.0),
    ]);
    let h = weigh(Some(c), &v, &v, &Bands::default());
    let sum: f64 = h.signals.iter().map(|s| s.points).sum();
    assert!((sum - h.score).abs() <= 0.05);
}

#[test]
fn zero_weight_signals_are_not_listed() {
    let c = card(
        "c",
        ScorecardMatch::default(),
        &[(Signal::UsageDepth, 1.0), (Signal::Breadth, 0.0)],
    );
    let v = values(&[(Signal::UsageDepth, 50.0), (Signal::Breadth, 100.0)]);
    let h = weigh(Some(&c), &v, &v, &Bands::default());
    assert_eq!(h.signals.len(), 1);
    assert_eq!(h.score, 50.0);
    assert_eq!(h.confidence, 1.0);
}

#[test]
fn with_no_data_at_all_the_score_is_neutral_with_zero_confidence() {
    let c = card("c", ScorecardMatch::default(), &[(Signal::UsageDepth, 1.0)]);
    let h = weigh(Some(&c), &[None; N], &[None; N], &Bands::default());
    assert_eq!(h.score, NO_DATA_SCORE);
    assert_eq!(h.confidence, 0.0);
    assert_eq!(h.band, Band::Monitor);
}

#[test]
fn bands_follow_the_thresholds_with_the_boundaries_in_monitor() {
    let b = Bands::default();
    assert_eq!(band(39.9, &b), Band::AtRisk);
    assert_eq!(band(40.0, &b), Band::Monitor);
    assert_eq!(band(80.0, &b), Band::Monitor);
    assert_eq!(band(80.1, &b), Band::Healthy);
    let custom = Bands {
        at_risk_below: 50.0,
        healthy_above: 70.0,
    };
    assert_eq!(band(45.0, &custom), Band::AtRisk);
    assert_eq!(band(75.0, &custom), Band::Healthy);
}
