#![allow(clippy::unwrap_used)]

use super::*;
use serde_json::json;
use std::io::Write;

fn ev(id: &str, kind: EventKind, ts: &str, props: serde_json::Value) -> StoredEvent {
    StoredEvent {
        message_id: id.into(),
        kind,
        name: Some("Report Built".into()),
        user_id: Some("u1".into()),
        timestamp: ts.parse().unwrap(),
        properties: props.as_object().cloned().unwrap_or_default().into(),
    }
}

#[test]
fn every_shape_of_event_round_trips_exactly() {
    let mut anonymous = ev(
        "Not-A-UUID",
        EventKind::Page,
        "2026-03-01T00:00:00.000000001Z",
        json!({}),
    );
    anonymous.name = None;
    anonymous.user_id = None;
    let events = vec![
        ev(
            "0b7b5c4e-8d36-4c1e-9f5b-3b2f3a9f1c2d",
            EventKind::Track,
            "2026-03-01T10:00:00.123Z",
            json!({"plan": "pro", "n": 1.5, "nested": {"a": [null, true]}}),
        ),
        ev(
            "0B7B5C4E-8D36-4C1E-9F5B-3B2F3A9F1C2D",
            EventKind::Group,
            "2026-02-28T23:59:59Z",
            json!({}),
        ),
        ev(
            "derived-00112233445566778899aabbccddeeff",
            EventKind::Identify,
            "2026-03-01T10:00:00Z",
            json!({}),
        ),
        anonymous,
    ];
    let bytes = encode(&events).unwrap();
    assert_eq!(decode(&bytes).unwrap(), events);
    assert_eq!(decode(&encode(&[]).unwrap()).unwrap(), vec![]);
}

#[test]
fn payloads_of_the_first_format_still_decode() {
    let events = vec![ev(
        "m1",
        EventKind::Track,
        "2026-03-01T10:00:00Z",
        json!({"a": 1}),
    )];
    let json = serde_json::to_vec(&events).unwrap();
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&json).unwrap();
    let old = enc.finish().unwrap();
    assert_eq!(decode(&old).unwrap(), events);
}

#[test]
fn garbage_is_corrupt_not_a_panic() {
    for bad in [&[0xFF, 0x01, 1, 2, 3][..], &[0xFF, 0x09], &[1, 2, 3], &[]] {
        assert!(decode(bad).is_err());
    }
}

/// The events a chunk written before properties were kept as text held, with the bytes that
/// version wrote for them (pinned from it): stored chunks keep decoding the same, and new ones
/// are written byte for byte as before.
fn pinned_events() -> Vec<StoredEvent> {
    let props = |text: &str| Properties::from_object_text(text).unwrap().0;
    vec![
        StoredEvent {
            message_id: "0b7b5c4e-8d36-4c1e-9f5b-3b2f3a9f1c2d".into(),
            kind: EventKind::Track,
            name: Some("Report Built".into()),
            user_id: Some("user-1".into()),
            timestamp: "2026-03-01T10:00:00.123Z".parse().unwrap(),
            properties: props(
                r#"{"plan":"pro","items":42,"source":"web","n":1.5,"nested":{"z":[null,true,-3e2],"a":"caf\u00e9 \"q\""}}"#,
            ),
        },
        StoredEvent {
            message_id: "m-2".into(),
            kind: EventKind::Page,
            name: Some("Reports".into()),
            user_id: Some("user-1".into()),
            timestamp: "2026-03-01T10:00:01Z".parse().unwrap(),
            properties: props(r#"{"b": 1, "a" : "é", "a": 2}"#),
        },
        StoredEvent {
            message_id: "derived-00112233445566778899aabbccddeeff".into(),
            kind: EventKind::Identify,
            name: None,
            user_id: None,
            timestamp: "2026-03-01T09:59:59Z".parse().unwrap(),
            properties: Properties::default(),
        },
    ]
}

const PINNED_BODY: &[&str] = &[
    "030c5265706f7274204275696c7406757365722d31075265706f727473c0b8a09a0dc0a9d33a03b80b7b5c4e",
    "8d364c1e9f5b3b2f3a9f1c2d000100647b226974656d73223a34322c226e223a312e352c226e657374656422",
    "3a7b2261223a22636166c3a9205c22715c22222c227a223a5b6e756c6c2c747275652c2d3330302e305d7d2c",
    "22706c616e223a2270726f222c22736f75726365223a22776562227d99036d2d320201b41b0d7b2261223a32",
    "2c2262223a317d4300112233445566778899aabbccddeeff8a23",
];

const PINNED_CHUNK: &[&str] = &[
    "ff0101ca0035ff030c5265706f7274204275696c7406757365722d31075265706f727473c0b8a09a0dc0a9d3",
    "3a03b80b7b5c4e8d364c1e9f5b3b2f3a9f1c2d000100647b226974656d73223a34322c226e223a312e352c22",
    "6e6573746564223a7b2261223a22636166c3a9205c22715c22222c227a223a5b6e756c6c2c747275652c2d33",
    "30302e305d7d2c22706c616e223a2270726f222c22736f75726365223a22776562227d99036d2d320201b41b",
    "0d7b2261223a322c2262223a317d4300112233445566778899aabbccddeeff8a23",
];

const PINNED_JSON: &str = r#"[{"m":"0b7b5c4e-8d36-4c1e-9f5b-3b2f3a9f1c2d","k":"track","n":"Report Built","u":"user-1","t":"2026-03-01T10:00:00.123Z","p":{"items":42,"n":1.5,"nested":{"a":"café \"q\"","z":[null,true,-300.0]},"plan":"pro","source":"web"}},{"m":"m-2","k":"page","n":"Reports","u":"user-1","t":"2026-03-01T10:00:01Z","p":{"a":2,"b":1}},{"m":"derived-00112233445566778899aabbccddeeff","k":"identify","t":"2026-03-01T09:59:59Z"}]"#;

#[test]
fn chunks_are_written_and_read_byte_for_byte_as_before_properties_were_text() {
    let events = pinned_events();
    let body = hex::decode(PINNED_BODY.concat()).unwrap();
    let chunk = hex::decode(PINNED_CHUNK.concat()).unwrap();
    assert_eq!(encode_body(&events).unwrap(), body);
    assert_eq!(encode(&events).unwrap(), chunk);
    assert_eq!(decode_body(&body).unwrap(), events);
    assert_eq!(decode(&chunk).unwrap(), events);
    assert_eq!(serde_json::to_string(&events).unwrap(), PINNED_JSON);
    let from_json: Vec<StoredEvent> = serde_json::from_str(PINNED_JSON).unwrap();
    assert_eq!(from_json, events);
}

#[test]
fn a_small_chunk_is_one_stored_block_any_inflater_reads() {
    let events = pinned_events();
    let chunk = encode(&events[1..]).unwrap();
    let body = encode_body(&events[1..]).unwrap();
    assert_eq!(&chunk[..3], &[MAGIC, VERSION, 0x01]);
    let mut inflated = Vec::new();
    flate2::read::DeflateDecoder::new(&chunk[2..])
        .read_to_end(&mut inflated)
        .unwrap();
    assert_eq!(inflated, body);
    assert_eq!(decode(&chunk).unwrap(), events[1..]);
    // A larger body is still deflated, and reads back the same.
    let many = forty_like(&events[1]);
    let chunk = encode(&many).unwrap();
    assert!(
        chunk.len() < encode_body(&many).unwrap().len() / 2,
        "{}",
        chunk.len()
    );
    assert_eq!(decode(&chunk).unwrap(), many);
}

/// Forty copies of `event` under their own ids: a body long enough to be deflated.
fn forty_like(event: &StoredEvent) -> Vec<StoredEvent> {
    (0..40)
        .map(|i| StoredEvent {
            message_id: format!("m-{i}"),
            ..event.clone()
        })
        .collect()
}

#[test]
fn a_damaged_chunk_is_corrupt_and_the_next_one_still_reads() {
    let events = pinned_events();
    let many = forty_like(&events[1]);
    let deflated = encode(&many).unwrap();
    let stored = encode(&events[1..]).unwrap();
    let mut bad_length = stored.clone();
    bad_length[3] ^= 1;
    // Cut short or with a wrong stored length: each refused (not a hang, not a panic), and
    // the thread's reused inflater reads the next chunk.
    for bad in [
        &deflated[..deflated.len() / 2],
        &deflated[..3],
        &bad_length[..],
        &stored[..stored.len() - 1],
    ] {
        assert!(
            matches!(decode(bad), Err(StoreError::Corrupt(_))),
            "{bad:?}"
        );
        assert_eq!(decode(&deflated).unwrap(), many);
        assert_eq!(decode(&stored).unwrap(), events[1..]);
    }
}
