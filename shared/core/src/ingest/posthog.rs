//! PostHog capture bodies (`/capture/`, `/batch/`, `/e/`, `/i/v0/e/`) → the same [`Message`]s
//! Segment requests become, so attribution, chunks, traits and rollup are shared.
//!
//! The mapping: `distinct_id` is the user, `uuid` the message id, `properties.$groups[type]` the
//! account (type: the configured one, else `company`, else `organization`, else the first),
//! `$identify` (`$set` traits) an identify, `$groupidentify` of the account type (`$group_set`
//! traits) a group call, `$create_alias` an alias, `$pageview`/`$screen` page and screen views,
//! anything else a track. PostHog's own `$`-prefixed properties are not stored.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::message::{
    check_id, check_map, checked_item, clean, corrected, derived_message_id, item_err, raw_id,
    raw_map, raw_name, raw_string, raw_time, ItemError, Message,
};
use super::properties::Properties;
use super::segment::{expect_object, items_of, rejection};
use super::{ParseContext, ParsedBatch, RequestError};
use crate::model::EventKind;

/// Which PostHog group type names the account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostHogOptions {
    /// The `$groups` key holding the account id; `None`: `company`, `organization`, else the
    /// first group type present.
    pub group_type: Option<String>,
}

#[derive(Deserialize)]
struct RawBody<'a> {
    #[serde(borrow, default)]
    api_key: Option<&'a RawValue>,
    #[serde(borrow, default)]
    token: Option<&'a RawValue>,
    #[serde(borrow, default)]
    batch: Option<&'a RawValue>,
    #[serde(borrow, default)]
    sent_at: Option<&'a RawValue>,
    #[serde(borrow, default)]
    event: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(borrow, default)]
    event: Option<&'a RawValue>,
    #[serde(borrow, default)]
    distinct_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    properties: Option<&'a RawValue>,
    #[serde(borrow, default)]
    timestamp: Option<&'a RawValue>,
    #[serde(borrow, default)]
    sent_at: Option<&'a RawValue>,
    #[serde(borrow, default)]
    offset: Option<&'a RawValue>,
    #[serde(borrow, default)]
    uuid: Option<&'a RawValue>,
    #[serde(borrow, default)]
    api_key: Option<&'a RawValue>,
    #[serde(rename = "$set", borrow, default)]
    set: Option<&'a RawValue>,
}

/// Parses a capture body: one event object, `{"batch": [...]}`, or a JSON array of events.
pub fn parse_capture(
    text: &str,
    cx: &ParseContext,
    options: &PostHogOptions,
) -> Result<ParsedBatch, RequestError> {
    let trimmed = text.trim_start();
    let (items, key, sent_at): (Vec<&RawValue>, Option<String>, Option<DateTime<Utc>>) =
        if trimmed.starts_with('[') {
            let raw: &RawValue =
                serde_json::from_str(text).map_err(|e| super::segment::body_error(&e))?;
            (items_of(Some(raw), "body")?, None, None)
        } else {
            expect_object(
                text,
                "a JSON object (one event or {\"batch\": [...]}) or an array of events",
            )?;
            let body: RawBody<'_> =
                serde_json::from_str(text).map_err(|e| super::segment::body_error(&e))?;
            let key = match body.api_key.or(body.token) {
                Some(k) => Some(
                    raw_string(k, "api_key")
                        .map_err(|e| RequestError::Invalid(e.to_string()))?
                        .into_owned(),
                ),
                None => None,
            };
            let sent_at = raw_time(body.sent_at, "sent_at")
                .map_err(|e| RequestError::Invalid(e.to_string()))?;
            if body.batch.is_some() {
                (items_of(body.batch, "batch")?, key, sent_at)
            } else if body.event.is_some() {
                let whole: &RawValue =
                    serde_json::from_str(text).map_err(|e| super::segment::body_error(&e))?;
                (vec![whole], key, sent_at)
            } else {
                return Err(RequestError::Invalid(
                    "body: expected \"event\" (one event) or \"batch\" (an array of events)".into(),
                ));
            }
        };
    let mut parsed = ParsedBatch {
        messages: Vec::with_capacity(items.len()),
        rejected: Vec::new(),
        write_key: key,
    };
    for (index, item) in items.into_iter().enumerate() {
        match parse_event(item, sent_at, cx, options) {
            Ok((m, item_key)) => {
                if parsed.write_key.is_none() {
                    parsed.write_key = item_key;
                }
                parsed.messages.push(m);
            }
            Err(e) => parsed.rejected.push(rejection(index, item, e.to_string())),
        }
    }
    Ok(parsed)
}

fn parse_event(
    raw: &RawValue,
    batch_sent_at: Option<DateTime<Utc>>,
    cx: &ParseContext,
    options: &PostHogOptions,
) -> Result<(Message, Option<String>), ItemError> {
    let text = raw.get();
    let size = checked_item(text)?;
    let e: RawEvent<'_> =
        serde_json::from_str(text).map_err(|err| item_err("item", clean(&err)))?;
    let event = raw_name(e.event, "event")?.ok_or_else(|| item_err("event", "is required"))?;
    let mut props = raw_map(e.properties, "properties")?;
    let distinct_id = match raw_id(e.distinct_id, "distinct_id")? {
        Some(id) => id,
        None => match props.get("distinct_id") {
            Some(Value::String(s)) if !s.is_empty() => {
                check_id(s, "properties.distinct_id")?;
                s.clone()
            }
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(item_err("distinct_id", "is required")),
        },
    };
    let item_key = match e.api_key {
        Some(k) => Some(raw_string(k, "api_key")?.into_owned()),
        None => props
            .get("token")
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    let message_id = match raw_id(e.uuid, "uuid")? {
        Some(id) => id,
        None => derived_message_id(text.as_bytes()),
    };
    let original = raw_time(e.timestamp, "timestamp")?;
    let sent_at = raw_time(e.sent_at, "sent_at")?.or(batch_sent_at);
    let ts = match (original, e.offset) {
        (None, Some(offset)) => {
            let ms: i64 = offset
                .get()
                .parse()
                .map_err(|_| item_err("offset", "must be an integer number of milliseconds"))?;
            cx.received_at - chrono::Duration::milliseconds(ms.clamp(0, i64::MAX / 4_000_000))
        }
        _ => corrected(original, sent_at, cx),
    };
    let timestamp = cx.check_time(ts, "timestamp")?;
    let groups = match props.get("$groups") {
        None | Some(Value::Null) => None,
        Some(Value::Object(g)) => Some(g),
        Some(_) => return Err(item_err("properties.$groups", "must be an object")),
    };
    let account_type = account_group_type(groups, options);
    let context_group_id = match (groups, account_type.as_deref()) {
        (Some(g), Some(t)) => group_key(g.get(t), "properties.$groups")?,
        _ => None,
    };
    let mut m = Message {
        kind: EventKind::Track,
        message_id,
        user_id: Some(distinct_id.clone()),
        anonymous_id: None,
        name: Some(event.clone()),
        group_id: None,
        context_group_id,
        previous_id: None,
        properties: Default::default(),
        traits: Map::new(),
        timestamp,
        size,
    };
    match event.as_str() {
        "$identify" => {
            m.kind = EventKind::Identify;
            m.name = None;
            m.traits = person_traits(&props, e.set)?;
        }
        "$groupidentify" => {
            let group_type = props.get("$group_type").and_then(Value::as_str);
            let wanted = options
                .group_type
                .as_deref()
                .or(group_type.filter(|t| matches!(*t, "company" | "organization")));
            if group_type.is_some() && group_type == wanted {
                m.kind = EventKind::Group;
                m.name = None;
                m.group_id = group_key(props.get("$group_key"), "properties.$group_key")?;
                if m.group_id.is_none() {
                    return Err(item_err("properties.$group_key", "is required"));
                }
                m.traits = match props.remove("$group_set") {
                    None | Some(Value::Null) => Map::new(),
                    Some(Value::Object(t)) => check_map(t, "properties.$group_set")?,
                    Some(_) => return Err(item_err("properties.$group_set", "must be an object")),
                };
            }
            // Another group type (a project, a team): kept as a bookkeeping event.
        }
        "$create_alias" => {
            m.kind = EventKind::Alias;
            m.name = None;
            m.previous_id = match props.get("alias") {
                Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                _ => {
                    return Err(item_err(
                        "properties.alias",
                        "is required for $create_alias",
                    ))
                }
            };
        }
        "$pageview" => {
            m.kind = EventKind::Page;
            m.name = props
                .get("$pathname")
                .or_else(|| props.get("title"))
                .and_then(Value::as_str)
                .map(|s| super::message::truncate(s, 256).to_string());
        }
        "$screen" => {
            m.kind = EventKind::Screen;
            m.name = props
                .get("$screen_name")
                .and_then(Value::as_str)
                .map(|s| super::message::truncate(s, 256).to_string());
        }
        _ => {}
    }
    props.retain(|k, _| !k.starts_with('$') && k != "token" && k != "distinct_id");
    m.properties = Properties::from(&props);
    Ok((m, item_key))
}

/// `$set` (top level or in properties), with `$set_once` under it.
fn person_traits(
    props: &Map<String, Value>,
    top_level: Option<&RawValue>,
) -> Result<Map<String, Value>, ItemError> {
    let mut traits = match props.get("$set_once") {
        Some(Value::Object(o)) => o.clone(),
        _ => Map::new(),
    };
    let set = match top_level {
        Some(raw) => raw_map(Some(raw), "$set")?,
        None => match props.get("$set") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(s)) => s.clone(),
            Some(_) => return Err(item_err("properties.$set", "must be an object")),
        },
    };
    traits.extend(set);
    check_map(traits, "$set")
}

fn account_group_type(
    groups: Option<&Map<String, Value>>,
    options: &PostHogOptions,
) -> Option<String> {
    if let Some(t) = &options.group_type {
        return Some(t.clone());
    }
    let g = groups?;
    ["company", "organization"]
        .into_iter()
        .find(|t| g.contains_key(*t))
        .map(str::to_string)
        .or_else(|| g.keys().next().cloned())
}

fn group_key(v: Option<&Value>, field: &str) -> Result<Option<String>, ItemError> {
    let s = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(item_err(field, "group key must be a string or a number")),
    };
    check_id(&s, field)?;
    Ok((!s.trim().is_empty()).then_some(s))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn posthog_batch_becomes_the_same_messages() {
        let body = r#"{"api_key": "phc_key", "batch": [
          {"event": "Report Built", "distinct_id": "u1", "uuid": "0190a0b6-6a4e-7c3a-9a0b-0c1d2e3f4a5b",
           "timestamp": "2026-03-10T11:00:00Z",
           "properties": {"$groups": {"company": "acme", "project": "p1"}, "$browser": "Chrome", "format": "pdf"}},
          {"event": "$identify", "distinct_id": "u1", "properties": {"$set": {"email": "ann@acme.com"}}},
          {"event": "$groupidentify", "distinct_id": "u1",
           "properties": {"$group_type": "company", "$group_key": "acme", "$group_set": {"name": "Acme", "seats": 40}}},
          {"event": "$pageview", "distinct_id": "u2", "properties": {"$pathname": "/reports"}},
          {"distinct_id": "u3"}
        ]}"#;
        let p = parse_capture(body, &ParseContext::fixed(), &PostHogOptions::default()).unwrap();
        assert_eq!(p.write_key.as_deref(), Some("phc_key"));
        assert_eq!(p.messages.len(), 4);
        let track = &p.messages[0];
        assert_eq!(track.context_group_id.as_deref(), Some("acme"));
        assert_eq!(track.message_id, "0190a0b6-6a4e-7c3a-9a0b-0c1d2e3f4a5b");
        assert_eq!(
            track.properties.to_map().keys().collect::<Vec<_>>(),
            vec!["format"]
        );
        assert_eq!(p.messages[1].kind, EventKind::Identify);
        assert_eq!(p.messages[1].traits["email"], "ann@acme.com");
        let group = &p.messages[2];
        assert_eq!(
            (group.kind, group.group_id.as_deref()),
            (EventKind::Group, Some("acme"))
        );
        assert_eq!(group.traits["seats"], 40);
        assert_eq!(p.messages[3].kind, EventKind::Page);
        assert_eq!(p.rejected[0].error, "event: is required");
    }

    #[test]
    fn single_event_and_array_bodies_are_accepted() {
        let single = r#"{"api_key": "k", "event": "x", "distinct_id": "u", "properties": {"$groups": {"organization": "o1"}}}"#;
        let p = parse_capture(single, &ParseContext::fixed(), &PostHogOptions::default()).unwrap();
        assert_eq!(p.messages[0].context_group_id.as_deref(), Some("o1"));
        let array = r#"[{"event": "x", "properties": {"distinct_id": "u", "token": "k2"}}]"#;
        let p = parse_capture(array, &ParseContext::fixed(), &PostHogOptions::default()).unwrap();
        assert_eq!(p.write_key.as_deref(), Some("k2"));
        assert_eq!(p.messages[0].user_id.as_deref(), Some("u"));
    }

    #[test]
    fn a_configured_group_type_names_the_account() {
        let body = r#"{"api_key": "k", "event": "x", "distinct_id": "u", "properties": {"$groups": {"company": "c", "workspace": "w"}}}"#;
        let options = PostHogOptions {
            group_type: Some("workspace".into()),
        };
        let p = parse_capture(body, &ParseContext::fixed(), &options).unwrap();
        assert_eq!(p.messages[0].context_group_id.as_deref(), Some("w"));
    }
}
