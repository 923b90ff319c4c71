use super::*;
use crate::history::{codec, HistoryDay};
use crate::model::AccountId;
use chrono::NaiveDate;
use vitals_scoring::signals::Signal;

/// A small deterministic generator: health scores of every kind the kernel gives.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 11
    }

    fn unit(&mut self) -> f64 {
        self.next() as f64 / (1u64 << 53) as f64
    }
}

fn health(rng: &mut Lcg) -> HealthScore {
    let count = (rng.next() % 8) as usize;
    let learned = rng.next().is_multiple_of(5);
    let signals = (0..count)
        .map(|i| {
            let present = !rng.next().is_multiple_of(4);
            let value = present.then(|| (rng.unit() * 100.0 * 1e6).round() / 1e6);
            let weight = rng.unit() / 3.0;
            SignalScore {
                name: if learned {
                    format!("group {i}")
                } else {
                    Signal::ALL[i].as_str().to_string()
                },
                raw: present.then(|| rng.unit() * 90.0),
                value,
                weight,
                points: value.unwrap_or(0.0) * weight,
            }
        })
        .collect();
    let score = if rng.next().is_multiple_of(10) {
        rng.unit() * 100.0
    } else {
        (rng.unit() * 1000.0).round() / 10.0
    };
    HealthScore {
        score,
        band: [Band::AtRisk, Band::Monitor, Band::Healthy][(rng.next() % 3) as usize],
        confidence: rng.unit(),
        scorecard: if learned { "learned" } else { "default" }.to_string(),
        signals,
    }
}

/// What the self-contained entry of `health` reads back as.
fn as_stored(health: &HealthScore) -> HealthScore {
    let account = AccountId::new("acme").expect("id");
    let day: NaiveDate = "2026-03-01".parse().expect("day");
    let entry = HistoryDay {
        account_id: account.clone(),
        as_of: day,
        health: health.clone(),
        usage: None,
    };
    let bytes = codec::encode(&entry).expect("encode");
    codec::decode(&account, day, &bytes).expect("decode").health
}

#[test]
fn a_split_score_reads_back_as_the_self_contained_entry_does() {
    let mut rng = Lcg(7);
    for _ in 0..20_000 {
        let health = health(&mut rng);
        let split = split(&health).expect("split");
        let joined = join(&split.shape, &split.row).expect("join");
        let stored = as_stored(&health);
        for (j, s) in joined.signals.iter().zip(&health.signals) {
            // Recomputed from the f32 value and weight: within f32 rounding of the scored points.
            assert!(
                (j.points - s.points).abs() <= s.points.abs() * 3e-7,
                "{j:?} vs {s:?}"
            );
        }
        assert_eq!(joined, stored);
    }
}

#[test]
fn scores_weighed_alike_share_one_shape() {
    let mut rng = Lcg(11);
    let a = health(&mut rng);
    let mut b = a.clone();
    b.score = 12.5;
    for s in &mut b.signals {
        s.raw = s.raw.map(|r| r + 1.0);
        s.value = s.value.map(|v| v / 2.0);
        s.points = s.value.unwrap_or(0.0) * s.weight;
    }
    let (sa, sb) = (split(&a).expect("a"), split(&b).expect("b"));
    assert_eq!(sa.shape, sb.shape);
    assert_ne!(sa.row, sb.row);
}

#[test]
fn a_row_is_a_few_bytes_a_signal() {
    let health = HealthScore {
        score: 72.5,
        band: Band::Healthy,
        confidence: 0.6,
        scorecard: "default".into(),
        signals: Signal::ALL[..5]
            .iter()
            .enumerate()
            .map(|(i, s)| SignalScore {
                name: s.as_str().into(),
                raw: (i < 2).then_some(12.0),
                value: (i < 2).then_some(40.0),
                weight: if i < 2 { 0.5 } else { 0.0 },
                points: if i < 2 { 20.0 } else { 0.0 },
            })
            .collect(),
    };
    let split = split(&health).expect("split");
    // Flags, score, and raw + value of the two signals with data.
    assert_eq!(split.row.len(), 3 + 2 * 8);
}

#[test]
fn damaged_bytes_are_corrupt() {
    let mut rng = Lcg(3);
    let mut health = health(&mut rng);
    while health.signals.iter().all(|s| s.value.is_none()) {
        health = super::tests::health(&mut rng);
    }
    let split = split(&health).expect("split");
    let cases: [(&[u8], &[u8]); 4] = [
        (&split.shape[..split.shape.len() - 1], &split.row),
        (&split.shape, &split.row[..split.row.len() - 1]),
        (&[0x00], &split.row),
        (&split.shape, &[split.row.as_slice(), &[0]].concat()),
    ];
    for (shape, row) in cases {
        let err = join(shape, row).expect_err("damaged");
        assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    }
}
