use super::*;

fn names() -> Vec<String> {
    ["Report Built", "Chart Edited", "Invite Sent"]
        .map(String::from)
        .to_vec()
}

fn number(name: &str) -> Result<u64, StoreError> {
    names()
        .iter()
        .position(|n| n == name)
        .map(|i| i as u64 + 7)
        .ok_or_else(|| StoreError::Rejected(name.to_string()))
}

fn name(n: u64) -> Option<String> {
    names()
        .get(usize::try_from(n.checked_sub(7)?).ok()?)
        .cloned()
}

fn snapshot() -> UsageSnapshot {
    UsageSnapshot {
        events: BTreeMap::from([
            ("Report Built".to_string(), [5.0, 11.0, 10.07]),
            ("Chart Edited".to_string(), [0.0, 2.0, 1.78]),
            ("Invite Sent".to_string(), [1.0, 1e9, 0.123_456_7]),
        ]),
        active_users: 3,
        active_days: 13,
        lookback_days: 30,
        seats: Some(40),
        mrr: Some(237.5),
        tenure_days: Some(14),
        days_since_active: Some(0),
        days_to_renewal: Some(-3),
        signals: BTreeMap::from([
            ("breadth".to_string(), 36.92),
            ("usage_depth".to_string(), 44.37),
            ("trend".to_string(), f32::MAX),
        ]),
    }
}

#[test]
fn a_snapshot_reads_back_exactly() {
    let full = snapshot();
    let bytes = encode(&full, number).expect("encode");
    assert_eq!(decode(&bytes, name).expect("decode"), full);
    let bare = UsageSnapshot::default();
    let bytes = encode(&bare, number).expect("encode");
    assert_eq!(decode(&bytes, name).expect("decode"), bare);
}

#[test]
fn a_snapshot_is_a_fraction_of_its_json() {
    let s = snapshot();
    let bytes = encode(&s, number).expect("encode");
    let json = serde_json::to_vec(&s).expect("json");
    assert!(
        bytes.len() * 4 < json.len(),
        "{} vs {}",
        bytes.len(),
        json.len()
    );
}

#[test]
fn damaged_or_unnamed_bytes_are_corrupt() {
    let bytes = encode(&snapshot(), number).expect("encode");
    let cut = &bytes[..bytes.len() - 1];
    let longer = [bytes.as_slice(), &[0]].concat();
    for damaged in [cut, &longer, &[0u8][..]] {
        let err = decode(damaged, name).expect_err("damaged");
        assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    }
    let err = decode(&bytes, |_| None).expect_err("unnamed");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
}
