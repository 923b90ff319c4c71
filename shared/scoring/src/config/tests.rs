use super::*;

fn keys(c: &ScoringConfig) -> Vec<String> {
    c.validate()
        .err()
        .unwrap_or_default()
        .into_iter()
        .map(|i| i.key)
        .collect()
}

#[test]
fn the_default_configuration_is_valid() {
    assert_eq!(ScoringConfig::default().validate(), Ok(()));
}

#[test]
fn an_empty_section_means_the_defaults() {
    let c: ScoringConfig = toml::from_str("").unwrap();
    assert_eq!(c, ScoringConfig::default());
}

#[test]
fn reads_a_hand_written_toml_section() {
    let text = r#"
        key_features = ["dashboards", "alerts", "exports"]
        first_value_event = "report_shared"
        [bands]
        at_risk_below = 35
        [decline]
        fire_below = 0.5
        severe_below = 0.3
        [[scorecards]]
        name = "smb"
        when = { tiers = ["starter", "growth"], stages = ["year_1", "mature"] }
        weights = { usage_depth = 3, seat_adoption = 1 }
        normalise = "peer_percentile"
        [[scorecards]]
        name = "everyone"
        weights = { usage_depth = 1 }
    "#;
    let c: ScoringConfig = toml::from_str(text).unwrap();
    assert_eq!(c.validate(), Ok(()));
    assert_eq!(c.bands.at_risk_below, 35.0);
    assert_eq!(c.bands.healthy_above, 80.0);
    assert_eq!(c.decline.short_days, 14);
    assert_eq!(
        c.scorecards[0].when.stages,
        vec![LifecycleStage::FirstYear, LifecycleStage::Mature]
    );
    assert_eq!(c.scorecards[0].normalise, Normalise::PeerPercentile);
    assert_eq!(c.scorecards[0].weights[&Signal::UsageDepth], 3.0);
}

#[test]
fn unknown_keys_and_signals_are_refused() {
    assert!(toml::from_str::<ScoringConfig>("colour = 1").is_err());
    assert!(toml::from_str::<ScoringConfig>("[decline]\nshort = 7").is_err());
    let bad_signal = "[[scorecards]]\nname = \"x\"\nweights = { happiness = 1 }";
    assert!(toml::from_str::<ScoringConfig>(bad_signal).is_err());
}

#[test]
fn a_negative_weight_is_named_by_its_key_path() {
    let mut c = ScoringConfig::default();
    c.scorecards[1].weights.insert(Signal::Breadth, -1.0);
    let issues = c.validate().unwrap_err();
    assert_eq!(issues[0].key, "scoring.scorecards[1].weights.breadth");
    assert!(issues[0].problem.contains("0 or more"), "{}", issues[0]);
}

#[test]
fn decline_thresholds_must_be_ordered_and_fit_the_window() {
    let mut c = ScoringConfig::default();
    c.decline.severe_below = 0.7;
    c.decline.long_days = 110;
    let k = keys(&c);
    assert!(
        k.contains(&"scoring.decline.severe_below".to_string()),
        "{k:?}"
    );
    assert!(
        k.contains(&"scoring.decline.long_days".to_string()),
        "{k:?}"
    );
}

#[test]
fn the_last_scorecard_must_catch_every_account() {
    let mut c = ScoringConfig::default();
    c.scorecards.pop();
    assert_eq!(keys(&c), vec!["scoring.scorecards[1].when".to_string()]);
}

#[test]
fn scorecards_need_unique_names_and_some_weight() {
    let mut c = ScoringConfig::default();
    c.scorecards[1].name = "onboarding".into();
    c.scorecards[2].weights.clear();
    assert_eq!(
        keys(&c),
        vec![
            "scoring.scorecards[1].name".to_string(),
            "scoring.scorecards[2].weights".to_string()
        ]
    );
    c.scorecards.clear();
    assert_eq!(keys(&c), vec!["scoring.scorecards".to_string()]);
}

#[test]
fn bands_must_be_ordered() {
    let mut c = ScoringConfig::default();
    c.bands.at_risk_below = 90.0;
    assert_eq!(keys(&c), vec!["scoring.bands.at_risk_below".to_string()]);
}

#[test]
fn targets_must_be_positive_and_features_unique() {
    let mut c = ScoringConfig::default();
    c.targets.seat_share = 0.0;
    c.key_features = vec!["a".into(), "a".into(), " ".into()];
    assert_eq!(
        keys(&c),
        vec![
            "scoring.targets.seat_share".to_string(),
            "scoring.key_features[1]".to_string(),
            "scoring.key_features[2]".to_string()
        ]
    );
}

#[test]
fn serialises_and_reads_back_unchanged() {
    let c = ScoringConfig::default();
    let text = toml::to_string(&c).unwrap();
    assert_eq!(toml::from_str::<ScoringConfig>(&text).unwrap(), c);
}
