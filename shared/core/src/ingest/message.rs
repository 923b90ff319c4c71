//! Segment's message format, parsed and validated one item at a time so that a bad item is
//! rejected with a reason while the rest of its batch is accepted.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use crate::model::EventKind;

/// Largest accepted single event, in bytes of JSON (Segment's limit).
pub const MAX_EVENT_BYTES: usize = 32 * 1024;
/// Largest accepted batch request, in bytes of JSON after decompression (Segment's limit).
pub const MAX_BATCH_BYTES: usize = 500 * 1024;
/// Most properties or traits one event may carry.
pub const MAX_PROPERTIES: usize = 256;
/// Events further in the future than this (after skew correction) are refused.
const MAX_FUTURE: Duration = Duration::hours(24);

/// One validated Segment message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub kind: EventKind,
    pub message_id: String,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    /// Track event name, or page/screen name.
    pub name: Option<String>,
    pub group_id: Option<String>,
    pub previous_id: Option<String>,
    pub properties: Map<String, Value>,
    pub traits: Map<String, Value>,
    pub context: Map<String, Value>,
    /// Skew-corrected event time.
    pub timestamp: DateTime<Utc>,
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

fn item_err(field: &str, problem: impl Into<String>) -> ItemError {
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

/// Parses one Segment message. `kind_hint` is the endpoint's type (`/v1/track` → Track), used
/// when the item has no `type`; `batch_context` merges under the item's own context.
pub fn parse_message(
    item: &Value,
    kind_hint: Option<EventKind>,
    batch_context: Option<&Map<String, Value>>,
    batch_sent_at: Option<DateTime<Utc>>,
    cx: &ParseContext,
) -> Result<Message, ItemError> {
    let obj = item
        .as_object()
        .ok_or_else(|| item_err("item", "must be a JSON object"))?;
    let size = serde_json::to_vec(item)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_EVENT_BYTES {
        return Err(item_err(
            "item",
            format!("event is {size} bytes; the limit is {MAX_EVENT_BYTES}"),
        ));
    }
    let kind = match obj.get("type") {
        None | Some(Value::Null) => kind_hint.ok_or_else(|| item_err("type", "is required"))?,
        Some(Value::String(t)) => parse_kind(t)?,
        Some(_) => return Err(item_err("type", "must be a string")),
    };
    let user_id = opt_id(obj, "userId")?;
    let anonymous_id = opt_id(obj, "anonymousId")?;
    if user_id.is_none() && anonymous_id.is_none() {
        return Err(item_err("userId", "userId or anonymousId is required"));
    }
    let name = match kind {
        EventKind::Track => Some(
            opt_string(obj, "event")?.ok_or_else(|| item_err("event", "is required for track"))?,
        ),
        EventKind::Page | EventKind::Screen => opt_string(obj, "name")?,
        _ => None,
    };
    let group_id = opt_id(obj, "groupId")?;
    if kind == EventKind::Group && group_id.is_none() {
        return Err(item_err("groupId", "is required for group"));
    }
    let previous_id = opt_id(obj, "previousId")?;
    if kind == EventKind::Alias && previous_id.is_none() {
        return Err(item_err("previousId", "is required for alias"));
    }
    let properties = opt_map(obj, "properties")?;
    let traits = opt_map(obj, "traits")?;
    let mut context = batch_context.cloned().unwrap_or_default();
    for (k, v) in opt_map(obj, "context")? {
        context.insert(k, v);
    }
    let timestamp = corrected_timestamp(obj, batch_sent_at, cx)?;
    let message_id = match opt_id(obj, "messageId")? {
        Some(id) => id,
        // Without a messageId, a digest of the item stands in, so an identical retry dedupes.
        None => derived_message_id(item),
    };
    Ok(Message {
        kind,
        message_id,
        user_id,
        anonymous_id,
        name,
        group_id,
        previous_id,
        properties,
        traits,
        context,
        timestamp,
    })
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

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn opt_string(obj: &Map<String, Value>, field: &str) -> Result<Option<String>, ItemError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) if s.len() > 1024 => {
            Err(item_err(field, "is longer than 1024 bytes"))
        }
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(item_err(field, "must be a string")),
    }
}

/// Ids may be strings or numbers (Segment accepts both); numbers are kept as their text.
fn opt_id(obj: &Map<String, Value>, field: &str) -> Result<Option<String>, ItemError> {
    let s = match obj.get(field) {
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => opt_string(obj, field)?,
    };
    match s {
        Some(s) if s.len() > 256 => Err(item_err(field, "is longer than 256 bytes")),
        Some(s) if s.chars().any(char::is_control) => {
            Err(item_err(field, "must not contain control characters"))
        }
        other => Ok(other),
    }
}

fn opt_map(obj: &Map<String, Value>, field: &str) -> Result<Map<String, Value>, ItemError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) if m.len() > MAX_PROPERTIES => Err(item_err(
            field,
            format!("has {} keys; the limit is {MAX_PROPERTIES}", m.len()),
        )),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(item_err(field, "must be an object")),
    }
}

fn opt_time(obj: &Map<String, Value>, field: &str) -> Result<Option<DateTime<Utc>>, ItemError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_time(s)
            .map(Some)
            .ok_or_else(|| item_err(field, "must be an ISO 8601 date-time")),
        Some(_) => Err(item_err(field, "must be an ISO 8601 date-time string")),
    }
}

pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
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
fn corrected_timestamp(
    obj: &Map<String, Value>,
    batch_sent_at: Option<DateTime<Utc>>,
    cx: &ParseContext,
) -> Result<DateTime<Utc>, ItemError> {
    let original = match opt_time(obj, "timestamp")? {
        Some(t) => Some(t),
        None => opt_time(obj, "originalTimestamp")?,
    };
    let sent_at = opt_time(obj, "sentAt")?.or(batch_sent_at);
    let ts = match (original, sent_at) {
        (Some(t), Some(sent)) => cx.received_at - (sent - t),
        (Some(t), None) => t,
        (None, _) => cx.received_at,
    };
    if ts > cx.received_at + MAX_FUTURE {
        return Err(item_err("timestamp", "is more than 24 hours in the future"));
    }
    if ts < cx.oldest_accepted {
        return Err(item_err(
            "timestamp",
            format!(
                "is older than the retention period (before {})",
                cx.oldest_accepted.date_naive()
            ),
        ));
    }
    Ok(ts)
}

fn derived_message_id(item: &Value) -> String {
    use sha2::{Digest, Sha256};
    let bytes = serde_json::to_vec(item).unwrap_or_default();
    format!("derived-{}", hex::encode(&Sha256::digest(&bytes)[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cx() -> ParseContext {
        let now: DateTime<Utc> = "2026-03-10T12:00:00Z".parse().unwrap();
        ParseContext {
            received_at: now,
            oldest_accepted: now - Duration::days(730),
        }
    }

    #[test]
    fn track_with_sent_at_is_corrected_for_client_clock_skew() {
        // Client clock is 1 hour fast: sentAt says 13:00 when we receive at 12:00.
        let item = json!({"type": "track", "messageId": "m1", "userId": "u1", "event": "Report Built",
            "timestamp": "2026-03-10T12:30:00Z", "sentAt": "2026-03-10T13:00:00Z"});
        let m = parse_message(&item, None, None, None, &cx()).unwrap();
        assert_eq!(
            m.timestamp,
            "2026-03-10T11:30:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(m.name.as_deref(), Some("Report Built"));
    }

    #[test]
    fn batch_context_merges_under_item_context() {
        let batch_cx = json!({"groupId": "acme", "library": {"name": "x"}});
        let item = json!({"type": "page", "messageId": "m1", "userId": "u1",
            "context": {"library": {"name": "y"}}});
        let m = parse_message(&item, None, batch_cx.as_object(), None, &cx()).unwrap();
        assert_eq!(m.context["groupId"], "acme");
        assert_eq!(m.context["library"]["name"], "y");
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
        ];
        for (item, expected) in &cases {
            let err = parse_message(item, None, None, None, &cx()).unwrap_err();
            assert!(err.to_string().starts_with(expected), "{item}: {err}");
        }
    }

    #[test]
    fn oversized_event_is_refused() {
        let big = "x".repeat(MAX_EVENT_BYTES);
        let item =
            json!({"type": "track", "event": "x", "userId": "u", "properties": {"blob": big}});
        let err = parse_message(&item, None, None, None, &cx()).unwrap_err();
        assert!(err.to_string().contains("limit is 32768"), "{err}");
    }

    #[test]
    fn identical_items_without_message_id_get_the_same_id() {
        let item = json!({"type": "track", "event": "x", "userId": "u", "timestamp": "2026-03-10T10:00:00Z"});
        let a = parse_message(&item, None, None, None, &cx()).unwrap();
        let b = parse_message(&item, None, None, None, &cx()).unwrap();
        assert_eq!(a.message_id, b.message_id);
    }

    #[test]
    fn endpoint_type_is_used_when_item_has_none() {
        let item = json!({"userId": "u", "traits": {"email": "a@b.c"}});
        let m = parse_message(&item, Some(EventKind::Identify), None, None, &cx()).unwrap();
        assert_eq!(m.kind, EventKind::Identify);
    }
}
