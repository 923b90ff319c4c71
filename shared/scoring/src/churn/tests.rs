//! Specifications of the churn model.
use super::*;

fn sample(pairs: &[(&str, f64)]) -> Features {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// Low usage churns, high usage stays; `noise` carries nothing.
fn data() -> (Vec<Features>, Vec<bool>) {
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for i in 0..40 {
        let usage = i as f64 / 40.0;
        let noise = ((i * 7) % 10) as f64 / 10.0;
        xs.push(sample(&[("usage", usage), ("noise", noise)]));
        ys.push(usage < 0.3);
    }
    (xs, ys)
}

#[test]
fn separable_data_learns_the_right_sign() {
    let (xs, ys) = data();
    let m = ChurnModel::fit(&xs, &ys, 1.0);
    let usage = m.features.iter().position(|f| f == "usage").expect("usage");
    assert!(m.weights[usage] < 0.0, "{m:?}");
    let low = m.predict(&sample(&[("usage", 0.05), ("noise", 0.5)]));
    let high = m.predict(&sample(&[("usage", 0.95), ("noise", 0.5)]));
    assert!(low > 0.5 && high < 0.5, "{low} {high}");
    let c = m.contributions(&sample(&[("usage", 0.05), ("noise", 0.5)]));
    assert_eq!(c[0].0, "usage");
    assert!(c[0].1 > 0.0);
}

#[test]
fn predictions_stay_in_the_open_interval() {
    let (xs, ys) = data();
    let m = ChurnModel::fit(&xs, &ys, 1e-6);
    for x in &xs {
        let p = m.predict(x);
        assert!(p > 0.0 && p < 1.0, "{p}");
    }
    let p = m.predict(&Features::new());
    assert!(p > 0.0 && p < 1.0);
    assert!((ChurnModel::fit(&[], &[], 1.0).predict(&Features::new()) - 0.5).abs() < 1e-9);
}

#[test]
fn missing_values_use_the_mean_and_an_indicator() {
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for i in 0..30 {
        // Accounts without usage data churn.
        if i % 3 == 0 {
            xs.push(Features::new());
            ys.push(true);
        } else {
            xs.push(sample(&[("usage", 0.5 + (i % 5) as f64 / 10.0)]));
            ys.push(false);
        }
    }
    let m = ChurnModel::fit(&xs, &ys, 0.1);
    assert!(m.missing_weights[0] > 0.0);
    assert!(m.predict(&Features::new()) > m.predict(&sample(&[("usage", 0.7)])));
    let c = m.contributions(&Features::new());
    assert_eq!(c[0].0, "usage_missing");
}

#[test]
fn fitting_is_deterministic_and_serialisable() {
    let (xs, ys) = data();
    let a = ChurnModel::fit(&xs, &ys, 0.5);
    let b = ChurnModel::fit(&xs, &ys, 0.5);
    assert_eq!(a, b);
    let json = serde_json::to_string(&a).expect("serialise");
    let back: ChurnModel = serde_json::from_str(&json).expect("deserialise");
    let x = sample(&[("usage", 0.2), ("noise", 0.1)]);
    assert!((back.predict(&x) - a.predict(&x)).abs() < 1e-12);
}

#[test]
fn calibrated_on_a_constant_feature_to_the_base_rate() {
    let xs = vec![sample(&[("usage", 0.5)]); 20];
    let ys: Vec<bool> = (0..20).map(|i| i < 5).collect();
    let m = ChurnModel::fit(&xs, &ys, 1.0);
    assert!(
        (m.predict(&xs[0]) - 0.25).abs() < 1e-3,
        "{}",
        m.predict(&xs[0])
    );
}

/// A model written by the code before standardisation (the fields it had then), and what it
/// predicted for two samples.
#[test]
fn models_stored_before_standardisation_still_load_and_predict_the_same() {
    let json = r#"{"features":["sentiment","usage"],"means":[0.45909090909090905,0.45],"weights":[0.18410590667027232,-2.1078577670999676],"missing_weights":[0.19300958835243984,0.0],"intercept":-0.10847465763246146,"l2":1.0,"base_rate":0.3,"samples":30}"#;
    let m: ChurnModel = serde_json::from_str(json).expect("deserialise");
    assert!(m.stds.is_empty() && m.calibration.is_none());
    let a = sample(&[("usage", 0.2)]);
    let b = sample(&[("usage", 0.9), ("sentiment", 0.4)]);
    assert!((m.predict(&a) - 0.43720450143040324).abs() < 1e-12);
    assert!((m.predict(&b) - 0.1265399543150578).abs() < 1e-12);
    // Contributions plus the model at the means still add up to the log-odds.
    let at_means = m.intercept + m.weights[0] * m.means[0] + m.weights[1] * m.means[1];
    let sum: f64 = m.contributions(&a).iter().map(|(_, c)| c).sum();
    assert!((at_means + sum - m.linear(&a)).abs() < 1e-12);
}

/// Deterministic generator (splitmix64) for the synthetic data sets.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-300);
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * self.unit()).cos()
    }
}

/// 50 features on different scales: churn rises with `f00` and falls with `f01`; `f02`-`f05`
/// are noisy copies of one hidden factor (correlated with each other, not with churn); the
/// rest are independent noise. `f07` is missing for a tenth of the samples (at random). Each
/// sample has an evaluation day, `per_day` samples a day.
fn synthetic(n: usize, seed: u64, per_day: usize) -> (Vec<Features>, Vec<bool>, Vec<u32>) {
    let mut rng = Rng(seed);
    let (mut xs, mut ys, mut days) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let hidden = rng.normal();
        let mut f = Features::new();
        for j in 0..50 {
            let v = if (2..=5).contains(&j) {
                hidden + 0.3 * rng.normal()
            } else {
                rng.normal()
            };
            if j == 7 && rng.unit() < 0.1 {
                continue;
            }
            // Different units: a count-like scale for even features.
            let scale = if j % 2 == 0 { 10.0 } else { 1.0 };
            f.insert(format!("f{j:02}"), v * scale);
        }
        let z = -1.5 + 1.2 * f["f00"] / 10.0 - 0.9 * f["f01"];
        ys.push(rng.unit() < sigmoid(z));
        xs.push(f);
        days.push((i / per_day.max(1)) as u32);
    }
    (xs, ys, days)
}

fn weight(m: &ChurnModel, name: &str) -> f64 {
    let i = m.features.iter().position(|f| f == name).expect("feature");
    m.weights[i]
}

#[test]
fn the_elastic_net_finds_the_two_real_features_and_zeroes_most_noise() {
    let (xs, ys, _) = synthetic(4000, 1, 40);
    let m = ChurnModel::fit_elastic_net(&xs, &ys, 0.02, 1.0);
    assert!(weight(&m, "f00") > 0.0, "{m:?}");
    assert!(weight(&m, "f01") < 0.0, "{m:?}");
    let noise_kept = m.features[2..]
        .iter()
        .filter(|f| weight(&m, f) != 0.0)
        .count();
    assert!(noise_kept <= 5, "{noise_kept} noise features kept: {m:?}");
    // The two real features carry the most weight per standard deviation.
    let top: Vec<String> = m.standardised_weights()[..2]
        .iter()
        .map(|(n, _)| n.clone())
        .collect();
    assert!(top.contains(&"f00".to_string()) && top.contains(&"f01".to_string()));
    // Elastic net (half L1) keeps the same signs.
    let e = ChurnModel::fit_elastic_net(&xs, &ys, 0.02, 0.5);
    assert!(weight(&e, "f00") > 0.0 && weight(&e, "f01") < 0.0);
}

#[test]
fn time_ordered_selection_keeps_the_signs_and_reports_the_grid() {
    let (xs, ys, days) = synthetic(6000, 2, 40);
    let opts = FitOptions {
        gap_days: 10,
        ..FitOptions::default()
    };
    let (m, sel) = ChurnModel::fit_time_ordered(&xs, &ys, &days, &opts);
    assert_eq!(sel.fallback, None);
    let chosen = sel.chosen.clone().expect("chosen");
    assert!(sel.grid.contains(&chosen));
    assert!(sel.grid.iter().all(|p| p.log_loss >= chosen.log_loss));
    assert!(chosen.roc_auc.expect("auc") > 0.7, "{sel:?}");
    assert_eq!(m.lambda, chosen.lambda);
    assert_eq!(m.l1_ratio, chosen.l1_ratio);
    assert_eq!(sel.samples, 6000);
    assert_eq!(sel.positives, ys.iter().filter(|&&y| y).count());
    assert_eq!(
        sel.fit_samples + sel.validation_samples + sel.purged_samples,
        sel.samples
    );
    assert!(weight(&m, "f00") > 0.0 && weight(&m, "f01") < 0.0);
    let zeroed = m.weights.iter().filter(|w| **w == 0.0).count();
    assert!(zeroed >= 20, "{zeroed} zero weights: {m:?}");
}

#[test]
fn fewer_samples_choose_more_regularisation() {
    let opts = FitOptions {
        gap_days: 0,
        l1_ratios: vec![1.0],
        ..FitOptions::default()
    };
    let (xs, ys, days) = synthetic(300, 3, 3);
    let (_, few) = ChurnModel::fit_time_ordered(&xs, &ys, &days, &opts);
    let (xs, ys, days) = synthetic(8_000, 3, 80);
    let (_, many) = ChurnModel::fit_time_ordered(&xs, &ys, &days, &opts);
    let (few, many) = (few.chosen.expect("few"), many.chosen.expect("many"));
    assert!(few.lambda > many.lambda, "{few:?} {many:?}");
}

#[test]
fn the_purge_gap_drops_the_days_whose_labels_reach_into_validation() {
    // Days 0..=19, two samples each; the last 25 % of days (15..=19) validate.
    let order: Vec<u32> = (0..40).map(|i| i / 2).collect();
    let s = select::split_days(&order, 0.25, 5);
    assert_eq!(s.first_validation_day, Some(15));
    // Day d fits only when d + 5 < 15: days 0..=9; days 10..=14 are purged.
    assert_eq!(s.last_fit_day, Some(9));
    assert_eq!(s.fit, (0..20).collect::<Vec<usize>>());
    assert_eq!(s.validation, (30..40).collect::<Vec<usize>>());
    assert_eq!(s.purged, 10);
    // No gap: every earlier day fits.
    let s = select::split_days(&order, 0.25, 0);
    assert_eq!(s.last_fit_day, Some(14));
    assert_eq!(s.purged, 0);
    // Order of the samples does not matter, only their days.
    let reversed: Vec<u32> = order.iter().rev().copied().collect();
    let s = select::split_days(&reversed, 0.25, 5);
    assert_eq!(s.validation, (0..10).collect::<Vec<usize>>());
}

#[test]
fn validation_labels_never_reach_the_fit() {
    // Flipping every label of the validation and purged days leaves the path fitted on the
    // early days as it was: the same λ values and the same non-zero weights at each.
    let (xs, ys, days) = synthetic(3000, 4, 30);
    let opts = FitOptions {
        gap_days: 10,
        l1_ratios: vec![1.0],
        patience: 1000,
        ..FitOptions::default()
    };
    let (_, a) = ChurnModel::fit_time_ordered(&xs, &ys, &days, &opts);
    let first = a.first_validation_day.expect("validation");
    let flipped: Vec<bool> = ys
        .iter()
        .zip(&days)
        .map(|(&y, &d)| if d + 10 >= first { !y } else { y })
        .collect();
    let (_, b) = ChurnModel::fit_time_ordered(&xs, &flipped, &days, &opts);
    assert_eq!(a.grid.len(), b.grid.len());
    for (p, q) in a.grid.iter().zip(&b.grid) {
        assert_eq!((p.lambda, p.nonzero), (q.lambda, q.nonzero));
    }
    assert_eq!(a.fit_positives, b.fit_positives);
}

#[test]
fn calibrated_probabilities_match_the_base_rate_on_average() {
    let (xs, ys, days) = synthetic(8000, 5, 50);
    let opts = FitOptions {
        gap_days: 5,
        ..FitOptions::default()
    };
    let (m, sel) = ChurnModel::fit_time_ordered(&xs, &ys, &days, &opts);
    // On fresh samples from the same process.
    let (xt, yt, _) = synthetic(8000, 6, 50);
    let mean_p = xt.iter().map(|x| m.predict(x)).sum::<f64>() / xt.len() as f64;
    let rate = yt.iter().filter(|&&y| y).count() as f64 / yt.len() as f64;
    assert!((mean_p - rate).abs() < 0.02, "{mean_p} vs {rate}, {sel:?}");
    assert!(sel.brier_raw.is_some() && sel.brier_calibrated.is_some());
    assert_eq!(sel.calibrated, m.calibration.is_some());
}

#[test]
fn an_overconfident_fit_is_calibrated_when_it_helps() {
    // Very little penalty on few samples and many noise features: the raw model is
    // overconfident on later days; Platt scaling is kept only when it lowers the Brier score.
    let (xs, ys, days) = synthetic(600, 7, 6);
    let opts = FitOptions {
        gap_days: 0,
        ..FitOptions::default()
    };
    let (m, sel) = ChurnModel::fit_time_ordered(&xs, &ys, &days, &opts);
    if let (Some(raw), Some(cal)) = (sel.brier_raw, sel.brier_calibrated) {
        assert_eq!(m.calibration.is_some(), cal < raw, "{sel:?}");
    }
    let x = &xs[0];
    let z = m.linear(x);
    let expected = match m.calibration {
        Some(p) => sigmoid(p.slope * z + p.intercept),
        None => sigmoid(z),
    };
    assert!((m.predict(x) - expected).abs() < 1e-12);
}

#[test]
fn too_little_history_falls_back_to_ridge() {
    let (xs, ys, _) = synthetic(200, 8, 1);
    let days = vec![0u32; 200];
    let (m, sel) = ChurnModel::fit_time_ordered(&xs, &ys, &days, &FitOptions::default());
    assert!(sel.fallback.is_some() && sel.chosen.is_none());
    assert_eq!(m, ChurnModel::fit(&xs, &ys, 1.0));
}

#[test]
fn elastic_net_fits_and_selection_are_deterministic() {
    let (xs, ys, days) = synthetic(2000, 9, 20);
    let opts = FitOptions {
        gap_days: 5,
        ..FitOptions::default()
    };
    let a = ChurnModel::fit_time_ordered(&xs, &ys, &days, &opts);
    let b = ChurnModel::fit_time_ordered(&xs, &ys, &days, &opts);
    assert_eq!(a, b);
    let json = serde_json::to_string(&a.0).expect("serialise");
    let back: ChurnModel = serde_json::from_str(&json).expect("deserialise");
    assert_eq!(back, a.0);
}

#[test]
fn zero_variance_features_get_no_weight_and_indicators_only_where_missing() {
    let (mut xs, ys, _) = synthetic(1000, 10, 10);
    for x in &mut xs {
        x.insert("constant".into(), 3.0);
    }
    let m = ChurnModel::fit_elastic_net(&xs, &ys, 0.001, 0.5);
    assert_eq!(weight(&m, "constant"), 0.0);
    let i = m
        .features
        .iter()
        .position(|f| f == "constant")
        .expect("constant");
    assert_eq!(m.stds[i], 0.0);
    // Only f07 was ever missing: the other indicators carry nothing.
    for (name, mw) in m.features.iter().zip(&m.missing_weights) {
        if name != "f07" {
            assert_eq!(*mw, 0.0, "{name}");
        }
    }
}

#[test]
fn group_contributions_add_up_to_the_feature_contributions() {
    let (xs, ys, _) = synthetic(2000, 11, 20);
    let m = ChurnModel::fit(&xs, &ys, 1.0);
    let groups = correlated_groups(&xs, &m.features, groups::DEFAULT_GROUP_THRESHOLD);
    let x = &xs[3];
    let by_feature: f64 = m.contributions(x).iter().map(|(_, c)| c).sum();
    let by_group = m.contributions_by_group(x, &groups);
    let total: f64 = by_group.iter().map(|(_, c)| c).sum();
    assert!((by_feature - total).abs() < 1e-9);
    let family = groups
        .iter()
        .find(|g| g.features.contains(&"f02".to_string()))
        .expect("f02's group");
    assert_eq!(family.features.len(), 4, "{groups:?}");
    assert!(
        by_group.iter().any(|(n, _)| *n == family.name),
        "{by_group:?}"
    );
    assert_eq!(by_group.len(), groups.len());
}

#[test]
fn grouping_puts_correlated_features_together_and_leaves_independent_ones_alone() {
    let (xs, _, _) = synthetic(3000, 12, 30);
    let names: Vec<String> = ["f05", "f02", "f00", "f03", "f04", "f01"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let groups = correlated_groups(&xs, &names, 0.5);
    assert_eq!(groups.len(), 3, "{groups:?}");
    // Largest first; members in the given order after the most central one.
    assert_eq!(groups[0].features.len(), 4);
    let mut members = groups[0].features.clone();
    members.sort();
    assert_eq!(members, ["f02", "f03", "f04", "f05"]);
    assert_eq!(
        groups[0].name,
        format!("{} and 3 related", groups[0].features[0])
    );
    assert_eq!(groups[1].name, "f00");
    assert_eq!(groups[2].name, "f01");
    assert_eq!(groups, correlated_groups(&xs, &names, 0.5));
    // A threshold above every correlation leaves every feature alone.
    assert_eq!(correlated_groups(&xs, &names, 0.99).len(), 6);
}

#[test]
fn group_scores_average_the_standardised_members() {
    let samples = vec![
        sample(&[("a", 1.0), ("b", 10.0)]),
        sample(&[("a", 3.0), ("b", 30.0)]),
    ];
    let names = vec!["a".to_string(), "b".to_string()];
    let (means, stds) = feature_moments(&samples, &names);
    assert_eq!((means["a"], stds["a"]), (2.0, 1.0));
    assert_eq!((means["b"], stds["b"]), (20.0, 10.0));
    let groups = correlated_groups(&samples, &names, 0.5);
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].name, "a and 1 related");
    let s = group_scores(&sample(&[("a", 3.0), ("b", 10.0)]), &groups, &means, &stds);
    assert_eq!(s["a and 1 related"], 0.0);
    // A member without data is left out of the mean; no member, no value.
    let s = group_scores(&sample(&[("b", 40.0)]), &groups, &means, &stds);
    assert_eq!(s["a and 1 related"], 2.0);
    assert!(group_scores(&Features::new(), &groups, &means, &stds).is_empty());
}
