//! Segment's message format, parsed and validated one item at a time so that a bad item is
//! rejected with a reason while the rest of its batch is accepted.
//!
//! This is the reference path: an item's raw JSON span ([`RawValue`], whose length is the item's
//! size) is read field by field, and only what is stored (ids, name, properties, traits) is copied
//! out; context is scanned for `groupId` only. The one-pass batch reader
//! ([`super::one_pass`]) reuses its checks and hands it every item it is unsure of.

use std::borrow::Cow;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::properties::Properties;
use crate::model::EventKind;

/// Largest accepted single event, in bytes of JSON (Segment's limit).
pub const MAX_EVENT_BYTES: usize = 32 * 1024;
/// Largest accepted batch request, in bytes of JSON after decompression (Segment's limit).
pub const MAX_BATCH_BYTES: usize = 500 * 1024;
/// Most properties or traits one event may carry.
pub const MAX_PROPERTIES: usize = 256;
/// Longest accepted id (user, account, message).
pub const MAX_ID_BYTES: usize = 256;
/// Longest accepted event or page name.
pub const MAX_NAME_BYTES: usize = 1024;
/// Events further in the future than this (after skew correction) are refused.
const MAX_FUTURE: Duration = Duration::hours(24);

/// One validated message, whatever API it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub kind: EventKind,
    pub message_id: String,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    /// Track event name, or page/screen name.
    pub name: Option<String>,
    /// `groupId` of the message itself (group calls).
    pub group_id: Option<String>,
    /// `context.groupId` (track, page, screen): the account the event is about.
    pub context_group_id: Option<String>,
    pub previous_id: Option<String>,
    /// The properties object as compact JSON (see [`Properties`]).
    pub properties: Properties,
    pub traits: Map<String, Value>,
    /// Skew-corrected event time.
    pub timestamp: DateTime<Utc>,
    /// Size of the item as received, in bytes of JSON: an upper bound of what is stored.
    pub size: usize,
}

impl Message {
    /// The user the event is about: `userId`, else `anonymousId`.
    pub fn actor(&self) -> Option<&str> {
        self.user_id.as_deref().or(self.anonymous_id.as_deref())
    }
}

/// Why one item was refused. The text names the field, for the client's developer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ItemError {
    pub field: String,
    pub problem: String,
}

pub(crate) fn item_err(field: &str, problem: impl Into<String>) -> ItemError {
    ItemError {
        field: field.to_string(),
        problem: problem.into(),
    }
}

/// Settings for parsing that come from the request or configuration.
#[derive(Debug, Clone, Copy)]
pub struct ParseContext {
    pub received_at: DateTime<Utc>,
    /// Events older than this are refused (they would fall outside retention).
    pub oldest_accepted: DateTime<Utc>,
}

impl ParseContext {
    /// Accepts events from `retention_days` before `received_at` up to 24 hours after it.
    pub fn new(received_at: DateTime<Utc>, retention_days: u32) -> Self {
        ParseContext {
            received_at,
            oldest_accepted: received_at - Duration::days(i64::from(retention_days)),
        }
    }

    /// The unit tests' context: received 2026-03-10 12:00 UTC, two years of retention.
    #[cfg(test)]
    #[allow(clippy::unwrap_used)]
    pub(crate) fn fixed() -> Self {
        ParseContext::new("2026-03-10T12:00:00Z".parse().unwrap(), 730)
    }

    /// Refuses times too far in the future or older than retention.
    pub fn check_time(&self, ts: DateTime<Utc>, field: &str) -> Result<DateTime<Utc>, ItemError> {
        if ts > self.received_at + MAX_FUTURE {
            return Err(item_err(field, "is more than 24 hours in the future"));
        }
        if ts < self.oldest_accepted {
            return Err(item_err(
                field,
                format!(
                    "is older than the retention period (before {})",
                    self.oldest_accepted.date_naive()
                ),
            ));
        }
        Ok(ts)
    }
}

/// The batch-level fields of a Segment request that items inherit.
#[derive(Debug, Clone, Default)]
pub struct BatchDefaults {
    /// `context.groupId` of the batch.
    pub context_group_id: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// One Segment item's fields as raw JSON spans, borrowed from the request body.
#[derive(Deserialize, Default)]
struct RawItem<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<&'a RawValue>,
    #[serde(rename = "messageId", borrow, default)]
    message_id: Option<&'a RawValue>,
    #[serde(rename = "userId", borrow, default)]
    user_id: Option<&'a RawValue>,
    #[serde(rename = "anonymousId", borrow, default)]
    anonymous_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    event: Option<&'a RawValue>,
    #[serde(borrow, default)]
    name: Option<&'a RawValue>,
    #[serde(rename = "groupId", borrow, default)]
    group_id: Option<&'a RawValue>,
    #[serde(rename = "previousId", borrow, default)]
    previous_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    properties: Option<&'a RawValue>,
    #[serde(borrow, default)]
    traits: Option<&'a RawValue>,
    #[serde(borrow, default)]
    context: Option<&'a RawValue>,
    #[serde(borrow, default)]
    timestamp: Option<&'a RawValue>,
    #[serde(rename = "originalTimestamp", borrow, default)]
    original_timestamp: Option<&'a RawValue>,
    #[serde(rename = "sentAt", borrow, default)]
    sent_at: Option<&'a RawValue>,
}

/// The only part of a context that matters here.
#[derive(Deserialize, Default)]
pub(crate) struct RawContext<'a> {
    #[serde(rename = "groupId", borrow, default)]
    pub(crate) group_id: Option<&'a RawValue>,
}

/// Parses one Segment message from its raw JSON. `kind_hint` is the endpoint's type
/// (`/v1/track` → Track), used when the item has no `type`.
pub fn parse_raw_message(
    raw: &RawValue,
    kind_hint: Option<EventKind>,
    batch: &BatchDefaults,
    cx: &ParseContext,
) -> Result<Message, ItemError> {
    parse_item_text(raw.get(), kind_hint, batch, cx)
}

/// The size of one item's JSON text, refused unless it is an object of at most
/// [`MAX_EVENT_BYTES`] (checked before parsing, so a huge or wrong item costs no parse).
pub(crate) fn checked_item(text: &str) -> Result<usize, ItemError> {
    let size = text.len();
    if size > MAX_EVENT_BYTES {
        return Err(item_err(
            "item",
            format!("event is {size} bytes; the limit is {MAX_EVENT_BYTES}"),
        ));
    }
    if !text.starts_with('{') {
        return Err(item_err("item", "must be a JSON object"));
    }
    Ok(size)
}

/// [`parse_raw_message`] on the item's JSON text (a complete JSON value, as a raw span holds).
pub(crate) fn parse_item_text(
    text: &str,
    kind_hint: Option<EventKind>,
    batch: &BatchDefaults,
    cx: &ParseContext,
) -> Result<Message, ItemError> {
    let size = checked_item(text)?;
    let item: RawItem<'_> = serde_json::from_str(text).map_err(|e| item_err("item", clean(&e)))?;
    let kind = match item.kind {
        None => kind_hint.ok_or_else(|| item_err("type", "is required"))?,
        Some(t) => parse_kind(&raw_string(t, "type")?)?,
    };
    let user_id = raw_id(item.user_id, "userId")?;
    let anonymous_id = raw_id(item.anonymous_id, "anonymousId")?;
    if user_id.is_none() && anonymous_id.is_none() {
        return Err(item_err("userId", "userId or anonymousId is required"));
    }
    let name = match kind {
        EventKind::Track => Some(
            raw_name(item.event, "event")?
                .ok_or_else(|| item_err("event", "is required for track"))?,
        ),
        EventKind::Page | EventKind::Screen => raw_name(item.name, "name")?,
        _ => None,
    };
    let group_id = raw_id(item.group_id, "groupId")?;
    if kind == EventKind::Group && group_id.is_none() {
        return Err(item_err("groupId", "is required for group"));
    }
    let previous_id = raw_id(item.previous_id, "previousId")?;
    if kind == EventKind::Alias && previous_id.is_none() {
        return Err(item_err("previousId", "is required for alias"));
    }
    let properties = raw_properties(item.properties)?;
    let traits = raw_map(item.traits, "traits")?;
    let context_group_id = match item.context {
        None => None,
        Some(c) => {
            if !c.get().starts_with('{') {
                return Err(item_err("context", "must be an object"));
            }
            let parsed: RawContext<'_> =
                serde_json::from_str(c.get()).map_err(|e| item_err("context", clean(&e)))?;
            raw_id(parsed.group_id, "context.groupId")?
        }
    }
    .or_else(|| batch.context_group_id.clone());
    let original = match raw_time(item.timestamp, "timestamp")? {
        Some(t) => Some(t),
        None => raw_time(item.original_timestamp, "originalTimestamp")?,
    };
    let sent_at = raw_time(item.sent_at, "sentAt")?.or(batch.sent_at);
    let timestamp = cx.check_time(corrected(original, sent_at, cx), "timestamp")?;
    let message_id = match raw_id(item.message_id, "messageId")? {
        Some(id) => id,
        // Without a messageId, a digest of the item stands in, so an identical retry dedupes.
        None => derived_message_id(text.as_bytes()),
    };
    Ok(Message {
        kind,
        message_id,
        user_id,
        anonymous_id,
        name,
        group_id,
        context_group_id,
        previous_id,
        properties,
        traits,
        timestamp,
        size,
    })
}

/// Parses one Segment message from a JSON value (tests and callers holding a `Value`).
pub fn parse_message(
    item: &Value,
    kind_hint: Option<EventKind>,
    batch: &BatchDefaults,
    cx: &ParseContext,
) -> Result<Message, ItemError> {
    let text = serde_json::to_string(item).map_err(|e| item_err("item", e.to_string()))?;
    let raw: Box<RawValue> =
        serde_json::from_str(&text).map_err(|e| item_err("item", e.to_string()))?;
    parse_raw_message(&raw, kind_hint, batch, cx)
}

/// serde_json's message without its "at line 1 column 5" suffix, which means nothing to a
/// client inside one batch item.
pub(crate) fn clean(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

pub fn parse_kind(t: &str) -> Result<EventKind, ItemError> {
    Ok(match t {
        "track" => EventKind::Track,
        "page" => EventKind::Page,
        "screen" => EventKind::Screen,
        "identify" => EventKind::Identify,
        "group" => EventKind::Group,
        "alias" => EventKind::Alias,
        other => {
            return Err(item_err(
                "type",
                format!(
                    "unknown type {:?}; expected track, page, screen, identify, group or alias",
                    truncate(other, 40)
                ),
            ))
        }
    })
}

pub(crate) fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A raw JSON string span as text, borrowed when it has no escapes.
pub(crate) fn raw_string<'a>(raw: &'a RawValue, field: &str) -> Result<Cow<'a, str>, ItemError> {
    let s = raw.get();
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        let inner = &s[1..s.len() - 1];
        if !inner.contains('\\') {
            return Ok(Cow::Borrowed(inner));
        }
        return serde_json::from_str::<String>(s)
            .map(Cow::Owned)
            .map_err(|e| item_err(field, clean(&e)));
    }
    Err(item_err(field, "must be a string"))
}

fn is_number(s: &str) -> bool {
    s.starts_with(|c: char| c == '-' || c.is_ascii_digit())
}

/// Ids may be strings or numbers (Segment accepts both); numbers are kept as their text.
pub(crate) fn raw_id(raw: Option<&RawValue>, field: &str) -> Result<Option<String>, ItemError> {
    let Some(raw) = raw else { return Ok(None) };
    let text = raw.get();
    let s: Cow<'_, str> = if is_number(text) {
        Cow::Borrowed(text)
    } else {
        raw_string(raw, field).map_err(|_| item_err(field, "must be a string or a number"))?
    };
    id_text(s, field)
}

/// An id's text, validated; empty means absent.
pub(crate) fn id_text(s: Cow<'_, str>, field: &str) -> Result<Option<String>, ItemError> {
    check_id(&s, field)?;
    Ok((!s.is_empty()).then(|| s.into_owned()))
}

/// Validates an id's length and characters.
pub(crate) fn check_id(s: &str, field: &str) -> Result<(), ItemError> {
    if s.len() > MAX_ID_BYTES {
        return Err(item_err(
            field,
            format!("is longer than {MAX_ID_BYTES} bytes"),
        ));
    }
    // Most ids are printable ASCII, which a byte test tells without decoding characters.
    if !is_printable_ascii(s.as_bytes()) && s.chars().any(char::is_control) {
        return Err(item_err(field, "must not contain control characters"));
    }
    Ok(())
}

/// Whether every byte is printable ASCII (0x20 to 0x7e), eight bytes at a time.
fn is_printable_ascii(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        // Some byte below 0x20, or some byte above 0x7e (0x7f and up carry into the high bit).
        let below = x.wrapping_sub(ONES * 0x20) & !x;
        let above = x.wrapping_add(ONES) | x;
        if (below | above) & HIGH != 0 {
            return false;
        }
    }
    chunks.remainder().iter().all(|b| (0x20..0x7f).contains(b))
}

pub(crate) fn raw_name(raw: Option<&RawValue>, field: &str) -> Result<Option<String>, ItemError> {
    let Some(raw) = raw else { return Ok(None) };
    name_text(raw_string(raw, field)?, field)
}

/// An event or page name's text, validated; blank means absent.
pub(crate) fn name_text(s: Cow<'_, str>, field: &str) -> Result<Option<String>, ItemError> {
    if s.len() > MAX_NAME_BYTES {
        return Err(item_err(
            field,
            format!("is longer than {MAX_NAME_BYTES} bytes"),
        ));
    }
    Ok((!s.trim().is_empty()).then(|| s.into_owned()))
}

pub(crate) fn raw_map(
    raw: Option<&RawValue>,
    field: &str,
) -> Result<Map<String, Value>, ItemError> {
    let Some(raw) = raw else {
        return Ok(Map::new());
    };
    let text = raw.get();
    if !text.starts_with('{') {
        return Err(item_err(field, "must be an object"));
    }
    if text == "{}" {
        return Ok(Map::new());
    }
    let map: Map<String, Value> =
        serde_json::from_str(text).map_err(|e| item_err(field, clean(&e)))?;
    check_map(map, field)
}

/// `properties`: an object of at most [`MAX_PROPERTIES`] keys, kept as its compact text.
pub(crate) fn raw_properties(raw: Option<&RawValue>) -> Result<Properties, ItemError> {
    const FIELD: &str = "properties";
    let Some(raw) = raw else {
        return Ok(Properties::default());
    };
    let text = raw.get();
    if !text.starts_with('{') {
        return Err(item_err(FIELD, "must be an object"));
    }
    let (properties, keys) =
        Properties::from_object_text(text).map_err(|e| item_err(FIELD, clean(&e)))?;
    check_key_count(keys, FIELD)?;
    Ok(properties)
}

pub(crate) fn check_key_count(keys: usize, field: &str) -> Result<(), ItemError> {
    if keys > MAX_PROPERTIES {
        return Err(item_err(
            field,
            format!("has {keys} keys; the limit is {MAX_PROPERTIES}"),
        ));
    }
    Ok(())
}

pub(crate) fn check_map(
    map: Map<String, Value>,
    field: &str,
) -> Result<Map<String, Value>, ItemError> {
    check_key_count(map.len(), field)?;
    Ok(map)
}

pub(crate) fn raw_time(
    raw: Option<&RawValue>,
    field: &str,
) -> Result<Option<DateTime<Utc>>, ItemError> {
    let Some(raw) = raw else { return Ok(None) };
    let s = raw_string(raw, field)
        .map_err(|_| item_err(field, "must be an ISO 8601 date-time string"))?;
    parse_time(&s)
        .map(Some)
        .ok_or_else(|| item_err(field, "must be an ISO 8601 date-time"))
}

pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Some(t) = super::timestamp::parse_common_rfc3339(s) {
        return Some(t);
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            // Dates without a zone are taken as UTC, as Segment does.
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// Segment's clock-skew correction: when the client says when it sent the request (`sentAt`),
/// the event time is moved by the difference between our clock and the client's.
pub(crate) fn corrected(
    original: Option<DateTime<Utc>>,
    sent_at: Option<DateTime<Utc>>,
    cx: &ParseContext,
) -> DateTime<Utc> {
    match (original, sent_at) {
        (Some(t), Some(sent)) => cx.received_at - (sent - t),
        (Some(t), None) => t,
        (None, _) => cx.received_at,
    }
}

pub(crate) fn derived_message_id(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("derived-{}", hex::encode(&Sha256::digest(bytes)[..16]))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(item: &Value) -> Result<Message, ItemError> {
        parse_message(
            item,
            None,
            &BatchDefaults::default(),
            &ParseContext::fixed(),
        )
    }

    #[test]
    fn track_with_sent_at_is_corrected_for_client_clock_skew() {
        // Client clock is 1 hour fast: sentAt says 13:00 when we receive at 12:00.
        let item = json!({"type": "track", "messageId": "m1", "userId": "u1", "event": "Report Built",
            "timestamp": "2026-03-10T12:30:00Z", "sentAt": "2026-03-10T13:00:00Z"});
        let m = parse(&item).unwrap();
        assert_eq!(
            m.timestamp,
            "2026-03-10T11:30:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(m.name.as_deref(), Some("Report Built"));
    }

    #[test]
    fn batch_context_group_applies_unless_the_item_names_its_own() {
        let batch = BatchDefaults {
            context_group_id: Some("acme".into()),
            sent_at: None,
        };
        let item = json!({"type": "page", "messageId": "m1", "userId": "u1",
            "context": {"library": {"name": "y"}}});
        let m = parse_message(&item, None, &batch, &ParseContext::fixed()).unwrap();
        assert_eq!(m.context_group_id.as_deref(), Some("acme"));
        let own = json!({"type": "page", "messageId": "m1", "userId": "u1",
            "context": {"groupId": "globex"}});
        let m = parse_message(&own, None, &batch, &ParseContext::fixed()).unwrap();
        assert_eq!(m.context_group_id.as_deref(), Some("globex"));
    }

    #[test]
    fn escaped_strings_are_unescaped() {
        let item = json!({"type": "track", "userId": "u\"1", "event": "Report \u{e9}"});
        let m = parse(&item).unwrap();
        assert_eq!(m.user_id.as_deref(), Some("u\"1"));
    }

    #[test]
    fn refusals_name_the_field() {
        let cases = [
            (
                json!({"type": "track", "userId": "u"}),
                "event: is required for track",
            ),
            (
                json!({"type": "track", "event": "x"}),
                "userId: userId or anonymousId is required",
            ),
            (
                json!({"type": "bogus", "userId": "u"}),
                "type: unknown type \"bogus\"",
            ),
            (
                json!({"type": "group", "userId": "u"}),
                "groupId: is required for group",
            ),
            (
                json!({"type": "track", "event": "x", "userId": "u", "properties": [1]}),
                "properties: must be an object",
            ),
            (
                json!({"type": "track", "event": "x", "userId": "u", "timestamp": "yesterday"}),
                "timestamp: must be an ISO 8601",
            ),
            (
                json!({"type": "track", "event": "x", "userId": "u", "timestamp": "2030-01-01T00:00:00Z"}),
                "timestamp: is more than 24 hours in the future",
            ),
            (
                json!({"type": "track", "event": "x", "userId": "u", "timestamp": "2001-01-01T00:00:00Z"}),
                "timestamp: is older than the retention period",
            ),
            (
                json!({"type": "track", "event": "x", "userId": {"id": 1}}),
                "userId: must be a string or a number",
            ),
            (json!([1, 2]), "item: must be a JSON object"),
        ];
        for (item, expected) in &cases {
            let err = parse(item).unwrap_err();
            assert!(err.to_string().starts_with(expected), "{item}: {err}");
        }
    }

    #[test]
    fn oversized_event_is_refused() {
        let big = "x".repeat(MAX_EVENT_BYTES);
        let item =
            json!({"type": "track", "event": "x", "userId": "u", "properties": {"blob": big}});
        let err = parse(&item).unwrap_err();
        assert!(err.to_string().contains("limit is 32768"), "{err}");
    }

    #[test]
    fn identical_items_without_message_id_get_the_same_id() {
        let item = json!({"type": "track", "event": "x", "userId": "u", "timestamp": "2026-03-10T10:00:00Z"});
        let a = parse(&item).unwrap();
        let b = parse(&item).unwrap();
        assert_eq!(a.message_id, b.message_id);
        assert!(a.message_id.starts_with("derived-"));
    }

    #[test]
    fn endpoint_type_is_used_when_item_has_none() {
        let item = json!({"userId": "u", "traits": {"email": "a@b.c"}});
        let m = parse_message(
            &item,
            Some(EventKind::Identify),
            &BatchDefaults::default(),
            &ParseContext::fixed(),
        )
        .unwrap();
        assert_eq!(m.kind, EventKind::Identify);
    }

    #[test]
    fn printable_ascii_is_told_from_every_other_byte() {
        for byte in 0..=255u8 {
            for len in [1, 7, 8, 9, 17] {
                for at in [0, len / 2, len - 1] {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = byte;
                    let expected = (0x20..0x7f).contains(&byte);
                    assert_eq!(
                        is_printable_ascii(&bytes),
                        expected,
                        "{byte:#x} at {at} of {len}"
                    );
                }
            }
        }
    }

    #[test]
    fn ids_with_control_characters_are_refused() {
        for bad in [r"u\u0001", r"u\u001f", r"u\u007f", r"u\u0085", r"\u0000"] {
            let item: Value = serde_json::from_str(&format!(
                r#"{{"type": "track", "event": "x", "userId": "{bad}"}}"#
            ))
            .unwrap();
            let err = parse(&item).unwrap_err();
            assert_eq!(
                err.to_string(),
                "userId: must not contain control characters"
            );
        }
        let fine = json!({"type": "track", "event": "x", "userId": "Zoë ~ 東京"});
        assert_eq!(parse(&fine).unwrap().user_id.as_deref(), Some("Zoë ~ 東京"));
    }

    #[test]
    fn numeric_ids_are_kept_as_text() {
        let item = json!({"type": "track", "event": "x", "userId": 42, "context": {"groupId": 7}});
        let m = parse(&item).unwrap();
        assert_eq!(m.user_id.as_deref(), Some("42"));
        assert_eq!(m.context_group_id.as_deref(), Some("7"));
    }
}
