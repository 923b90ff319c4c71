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
