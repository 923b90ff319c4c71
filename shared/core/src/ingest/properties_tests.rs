#![allow(clippy::unwrap_used)]

use super::*;
use crate::ingest::damage::Damage;
use serde_json::json;

/// What properties were before: the parsed map, written back by serde_json.
fn via_map(text: &str) -> Result<(String, usize), String> {
    let map: Map<String, Value> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let json = if map.is_empty() {
        "{}".to_string()
    } else {
        serde_json::to_string(&map).unwrap()
    };
    Ok((json, map.len()))
}

fn via_text(text: &str) -> Result<(String, usize), String> {
    Properties::from_object_text(text)
        .map(|(p, keys)| (p.as_json().to_string(), keys))
        .map_err(|e| e.to_string())
}

#[test]
fn stored_text_is_what_the_parsed_map_writes_whatever_the_input_looks_like() {
    let inputs = [
        r#"{}"#,
        r#"{ }"#,
        r#"{"items":42,"plan":"pro","source":"web"}"#,
        r#"{"plan":"pro","items":42,"source":"web"}"#,
        r#"{ "a" : 1 , "b" : [ 1 , 2 ] }"#,
        r#"{"a":1,"a":2}"#,
        r#"{"a":"caf\u00e9","b":"q\"uote","c":"\/","d":"tab\t"}"#,
        r#"{"n":[1.5,-0,-0.0,0,-1,1e5,1E5,2.50,0.1,1e-7,123456789012345678,12345678901234567890,-9223372036854775808]}"#,
        r#"{"x":{"z":{},"y":[],"a":[{"b":null,"a":true}]},"é":"ü","Z":false}"#,
        r#"{"big":1.7976931348623157e308,"small":5e-324,"f":3.0}"#,
        r#"{"empty":"","s":"multi byte 東京 ~ \u007f"}"#,
    ];
    for text in inputs {
        assert_eq!(via_text(text), via_map(text), "{text}");
    }
}

#[test]
fn text_that_is_not_a_valid_object_is_refused_as_serde_json_refuses_it() {
    for text in [
        r#"[1]"#,
        r#"{"a":1,}"#,
        r#"{"a":"\ud800"}"#,
        r#"{"a":01}"#,
        r#"{"a":1}x"#,
        "{\"a\":\"raw\u{1}control\"}",
        r#"{"a":tru}"#,
    ] {
        assert!(via_map(text).is_err(), "{text}");
        assert!(via_text(text).is_err(), "{text}");
    }
}

#[test]
fn damaged_objects_are_stored_exactly_as_the_map_would_be_or_refused() {
    let seed = r#"{"a":[1,-2.5,1e3,"x"],"b":{"c":null,"d":true},"e":"caf\u00e9 \"q\"","f":-0}"#;
    let alphabet = b"{}[]:,\"\\ 0-1.eE+tufalsnuab";
    let mut damage = Damage::new(0x2545_F491_4F6C_DD1D);
    for _ in 0..20_000 {
        if let Some(text) = damage.apply(seed, alphabet, 3) {
            let expected = via_map(&text);
            match via_text(&text) {
                Ok(found) => assert_eq!(Ok(found), expected, "{text}"),
                Err(_) => assert!(expected.is_err(), "{text}"),
            }
        }
    }
}

#[test]
fn one_property_is_read_without_the_others() {
    let (p, keys) =
        Properties::from_object_text(r#"{"duration_seconds":600,"k\"ey":{"deep":[1]}}"#).unwrap();
    assert_eq!(keys, 2);
    assert_eq!(p.get("duration_seconds"), Some(json!(600)));
    assert_eq!(p.get("k\"ey"), Some(json!({"deep": [1]})));
    assert_eq!(p.get("missing"), None);
    assert_eq!(Properties::default().get("x"), None);
}

#[test]
fn inserting_a_property_keeps_the_text_sorted() {
    let mut p = Properties::default();
    assert!(p.is_empty());
    p.insert("b".into(), json!(2));
    p.insert("a".into(), json!("x"));
    assert_eq!(p.as_json(), r#"{"a":"x","b":2}"#);
    assert_eq!(p.to_map()["b"], json!(2));
    p.clear();
    assert_eq!((p.is_empty(), p.as_json()), (true, "{}"));
}

#[test]
fn serde_form_is_the_object_itself() {
    let map = json!({"plan": "pro", "n": 1.5})
        .as_object()
        .cloned()
        .unwrap();
    let p = Properties::from(&map);
    assert_eq!(
        serde_json::to_string(&p).unwrap(),
        serde_json::to_string(&map).unwrap()
    );
    let back: Properties = serde_json::from_str(r#"{ "n": 1.5, "plan": "pro" }"#).unwrap();
    assert_eq!(back, p);
    assert!(serde_json::from_str::<Properties>("[1]").is_err());
}
