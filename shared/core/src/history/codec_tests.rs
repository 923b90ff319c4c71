use super::*;
use chrono::{TimeZone, Utc};
use std::collections::BTreeMap;
use vitals_scoring::facts::AccountFacts;
use vitals_scoring::{score_account, ScoringConfig, UsageWindow};

fn day(s: &str) -> NaiveDate {
    s.parse().expect("day")
}

fn account() -> AccountId {
    AccountId::new("acme").expect("id")
}

/// A day scored by the default scorecard, with a usage snapshot.
fn scored(score: f64) -> HistoryDay {
    let mut s = score_account(
        &ScoringConfig::default(),
        &AccountFacts::default(),
        &UsageWindow::default(),
        day("2026-03-01"),
        None,
    );
    s.health.score = score;
    s.health.signals[0].raw = Some(0.412_345_678);
    s.health.signals[0].value = Some(41.234_567_89);
    s.health.signals[0].weight = 0.294_117_647_058_823_5;
    s.health.signals[0].points = 12.127_814_085;
    s.usage = Some(UsageSnapshot {
        events: BTreeMap::from([("report_built".to_string(), [3.0, 12.0, 40.5])]),
        active_users: 4,
        tenure_days: Some(120),
        ..UsageSnapshot::default()
    });
    HistoryDay::of(&ScoreRecord {
        account_id: account(),
        as_of: day("2026-03-01"),
        computed_at: Utc.timestamp_opt(0, 0).single().expect("time"),
        score: s,
    })
}

fn as_f32(v: f64) -> f64 {
    f64::from(v as f32)
}

#[test]
fn an_entry_reads_back_with_its_score_exact_and_its_figures_to_f32() {
    let entry = scored(41.3);
    let bytes = encode(&entry).expect("encode");
    let back = decode(&entry.account_id, entry.as_of, &bytes).expect("decode");
    assert_eq!(back.health.score, 41.3);
    assert_eq!(back.health.band, entry.health.band);
    assert_eq!(back.health.confidence, entry.health.confidence);
    assert_eq!(back.health.scorecard, entry.health.scorecard);
    assert_eq!(back.usage, entry.usage);
    assert_eq!(back.health.signals.len(), entry.health.signals.len());
    for (b, e) in back.health.signals.iter().zip(&entry.health.signals) {
        assert_eq!(b.name, e.name);
        assert_eq!(b.raw, e.raw.map(as_f32));
        assert_eq!(b.value, e.value.map(as_f32));
        assert_eq!(b.weight, as_f32(e.weight));
        // Points read back as the stored value x the stored weight: within f32 rounding of the
        // scored ones.
        assert_eq!(b.points, as_f32(b.value.unwrap_or(0.0) * b.weight));
        assert!(
            (b.points - e.points).abs() <= e.points.abs() * 3e-7,
            "{b:?} vs {e:?}"
        );
    }
}

#[test]
fn an_entry_without_usage_is_a_few_dozen_bytes_not_kilobytes() {
    let mut entry = scored(64.0);
    let json = serde_json::to_vec(&entry.health).expect("json").len();
    entry.usage = None;
    let bytes = encode(&entry).expect("encode");
    let signals = entry.health.signals.len();
    // Header and scorecard name, then 18 bytes a signal with raw and value.
    assert!(
        bytes.len() <= 24 + entry.health.scorecard.len() + 18 * signals,
        "{}",
        bytes.len()
    );
    assert!(
        bytes.len() * 4 < json,
        "{} bytes against {json} of JSON",
        bytes.len()
    );
    assert_eq!(
        decode(&entry.account_id, entry.as_of, &bytes)
            .expect("decode")
            .usage,
        None
    );
}

#[test]
fn learned_groups_keep_their_names_and_odd_scores_stay_exact() {
    let mut entry = scored(0.0);
    entry.health.score = 33.333_333_333;
    entry.health.signals[1].name = "weekly reports".into();
    entry.health.signals[2].raw = None;
    entry.health.signals[2].value = None;
    let bytes = encode(&entry).expect("encode");
    let back = decode(&entry.account_id, entry.as_of, &bytes).expect("decode");
    assert_eq!(back.health.score, 33.333_333_333);
    assert_eq!(back.health.signals[1].name, "weekly reports");
    assert_eq!(back.health.signals[2].raw, None);
    assert_eq!(back.health.signals[2].value, None);
}

#[test]
fn an_entry_stored_as_json_by_an_older_version_still_reads() {
    let entry = scored(52.5);
    let record = ScoreRecord {
        account_id: entry.account_id.clone(),
        as_of: entry.as_of,
        computed_at: Utc.timestamp_opt(0, 0).single().expect("time"),
        score: score_account(
            &ScoringConfig::default(),
            &AccountFacts::default(),
            &UsageWindow::default(),
            entry.as_of,
            None,
        ),
    };
    let json = serde_json::to_vec(&record).expect("json");
    let back = decode(&entry.account_id, entry.as_of, &json).expect("decode");
    assert_eq!(back.health, record.score.health);
}

#[test]
fn damaged_bytes_are_a_corrupt_entry_not_a_panic() {
    let bytes = encode(&scored(70.0)).expect("encode");
    for cut in [0, 1, 3, 10, bytes.len() - 1] {
        let err = decode(&account(), day("2026-03-01"), &bytes[..cut]).expect_err("truncated");
        assert!(matches!(err, StoreError::Corrupt(_)), "{cut}: {err}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(decode(&account(), day("2026-03-01"), &longer).is_err());
    assert!(decode(&account(), day("2026-03-01"), b"\x00abc").is_err());
}

#[test]
fn an_entry_reads_under_its_day_key_and_a_bad_key_is_corrupt() {
    let entry = scored(61.0);
    let bytes = encode(&entry).expect("encode");
    let back = decode_keyed(&entry.account_id, "2026-03-01", &bytes).expect("decode");
    assert_eq!(back.as_of, entry.as_of);
    let err = decode_keyed(&entry.account_id, "2026-3-1x", &bytes).expect_err("bad key");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err}");
}
