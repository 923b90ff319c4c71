//! Segment HTTP Tracking API request bodies (`/v1/batch` and the single-message endpoints) →
//! [`ParsedBatch`]. Each item is validated on its own so a bad item is listed while the others are
//! accepted. A well-formed batch is read in one pass ([`super::one_pass`]); anything that path is
//! unsure of is split into borrowed raw spans here, each parsed field by field, which names every
//! problem.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::message::{self, clean, parse_raw_message, raw_id, raw_string, raw_time};
use super::{BatchDefaults, ParseContext, ParsedBatch, Rejection, RequestError, MAX_BATCH_ITEMS};
use crate::model::EventKind;

#[derive(Deserialize)]
struct RawBatch<'a> {
    #[serde(borrow, default)]
    batch: Option<&'a RawValue>,
    #[serde(borrow, default)]
    context: Option<&'a RawValue>,
    #[serde(rename = "sentAt", borrow, default)]
    sent_at: Option<&'a RawValue>,
    #[serde(rename = "writeKey", borrow, default)]
    write_key: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct RawSingle<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<&'a RawValue>,
    #[serde(rename = "writeKey", borrow, default)]
    write_key: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct RawMessageId<'a> {
    #[serde(rename = "messageId", borrow, default)]
    message_id: Option<&'a RawValue>,
}

/// A whole-body JSON error, with where it is for syntax errors.
pub(crate) fn body_error(e: &serde_json::Error) -> RequestError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            let what = match e.classify() {
                Category::Eof => "unexpected end of input",
                _ => "syntax error",
            };
            RequestError::Invalid(format!(
                "body is not valid JSON: {what} at line {} column {}",
                e.line(),
                e.column()
            ))
        }
        Category::Data => {
            // Well-formed JSON of the wrong shape (e.g. a duplicate key).
            RequestError::Invalid(format!("body: {}", clean(e)))
        }
    }
}

/// Checks the body is a JSON object, telling malformed JSON from another JSON type.
pub(crate) fn expect_object(text: &str, what: &str) -> Result<(), RequestError> {
    if text.trim_start().starts_with('{') {
        return Ok(());
    }
    match serde_json::from_str::<serde::de::IgnoredAny>(text) {
        Err(e) => Err(body_error(&e)),
        Ok(_) => Err(RequestError::Invalid(format!("body must be {what}"))),
    }
}

fn write_key(raw: Option<&RawValue>, field: &str) -> Result<Option<String>, RequestError> {
    match raw {
        None => Ok(None),
        Some(r) => raw_string(r, field)
            .map(|s| Some(s.into_owned()))
            .map_err(|e| RequestError::Invalid(e.to_string())),
    }
}

/// Splits a JSON array span into its items' spans.
pub(crate) fn items_of<'a>(
    raw: Option<&'a RawValue>,
    field: &str,
) -> Result<Vec<&'a RawValue>, RequestError> {
    let raw = raw.ok_or_else(|| RequestError::Invalid(format!("{field}: is required")))?;
    if !raw.get().starts_with('[') {
        return Err(RequestError::Invalid(format!("{field}: must be an array")));
    }
    let items: Vec<&RawValue> = serde_json::from_str(raw.get())
        .map_err(|e| RequestError::Invalid(format!("{field}: {}", clean(&e))))?;
    if items.len() > MAX_BATCH_ITEMS {
        return Err(RequestError::TooLarge(format!(
            "{field}: has {} items; the limit is {MAX_BATCH_ITEMS}",
            items.len()
        )));
    }
    Ok(items)
}

/// Parses a `/v1/batch` (or `/v1/import`) body: in one pass when the body is well formed
/// (see [`super::one_pass`]), else span by span, which names every problem.
pub fn parse_batch(text: &str, cx: &ParseContext) -> Result<ParsedBatch, RequestError> {
    match super::one_pass::parse_batch(text, cx) {
        Ok(parsed) => Ok(parsed),
        Err(super::json_cursor::Undecided) => parse_batch_by_spans(text, cx),
    }
}

/// The batch split into raw item spans, each parsed and validated on its own.
pub(crate) fn parse_batch_by_spans(
    text: &str,
    cx: &ParseContext,
) -> Result<ParsedBatch, RequestError> {
    expect_object(text, "a JSON object with a \"batch\" array")?;
    let body: RawBatch<'_> = serde_json::from_str(text).map_err(|e| body_error(&e))?;
    let write_key = write_key(body.write_key, "writeKey")?;
    let items = items_of(body.batch, "batch")?;
    let context_group_id = match body.context {
        None => None,
        Some(c) if c.get().starts_with('{') => {
            let parsed: message::RawContext<'_> = serde_json::from_str(c.get())
                .map_err(|e| RequestError::Invalid(format!("context: {}", clean(&e))))?;
            raw_id(parsed.group_id, "context.groupId")
                .map_err(|e| RequestError::Invalid(e.to_string()))?
        }
        Some(_) => return Err(RequestError::Invalid("context: must be an object".into())),
    };
    let sent_at =
        raw_time(body.sent_at, "sentAt").map_err(|e| RequestError::Invalid(e.to_string()))?;
    let defaults = BatchDefaults {
        context_group_id,
        sent_at,
    };
    let mut parsed = ParsedBatch {
        messages: Vec::with_capacity(items.len()),
        rejected: Vec::new(),
        write_key,
    };
    for (index, item) in items.into_iter().enumerate() {
        match parse_raw_message(item, None, &defaults, cx) {
            Ok(m) => parsed.messages.push(m),
            Err(e) => parsed.rejected.push(rejection(index, item, e.to_string())),
        }
    }
    Ok(parsed)
}

/// Parses a single-message body (`/v1/track`...): `kind` is the endpoint's type.
pub fn parse_single(
    text: &str,
    kind: EventKind,
    cx: &ParseContext,
) -> Result<ParsedBatch, RequestError> {
    expect_object(text, "a JSON object")?;
    let item: &RawValue = serde_json::from_str(text).map_err(|e| body_error(&e))?;
    let head: RawSingle<'_> = serde_json::from_str(text).map_err(|e| body_error(&e))?;
    if let Some(t) = head.kind {
        let declared = raw_string(t, "type")
            .map_err(|e| RequestError::Invalid(e.to_string()))
            .and_then(|t| {
                message::parse_kind(&t).map_err(|e| RequestError::Invalid(e.to_string()))
            })?;
        if declared != kind {
            return Err(RequestError::Invalid(format!(
                "type: is {:?} but this endpoint takes {:?} messages",
                format!("{declared:?}").to_lowercase(),
                format!("{kind:?}").to_lowercase()
            )));
        }
    }
    let write_key = write_key(head.write_key, "writeKey")?;
    let mut parsed = ParsedBatch {
        write_key,
        ..Default::default()
    };
    match parse_raw_message(item, Some(kind), &BatchDefaults::default(), cx) {
        Ok(m) => parsed.messages.push(m),
        Err(e) => parsed.rejected.push(rejection(0, item, e.to_string())),
    }
    Ok(parsed)
}

pub(crate) fn rejection(index: usize, item: &RawValue, error: String) -> Rejection {
    rejection_of_text(index, item.get(), error)
}

/// A refused item, named by its `messageId` when it has a readable one.
pub(crate) fn rejection_of_text(index: usize, item: &str, error: String) -> Rejection {
    let message_id = serde_json::from_str::<RawMessageId<'_>>(item)
        .ok()
        .and_then(|m| m.message_id)
        .and_then(|r| raw_string(r, "messageId").ok())
        .map(|s| message::truncate(&s, 256).to_string());
    Rejection {
        index,
        message_id,
        error,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_item_is_listed_and_the_others_kept() {
        let body = r#"{"writeKey": "k1", "context": {"groupId": "acme"}, "batch": [
            {"type": "track", "messageId": "a", "userId": "u", "event": "Report Built"},
            {"type": "track", "messageId": "b", "userId": "u"},
            7
        ]}"#;
        let p = parse_batch(body, &ParseContext::fixed()).unwrap();
        assert_eq!(p.write_key.as_deref(), Some("k1"));
        assert_eq!(p.messages.len(), 1);
        assert_eq!(p.messages[0].context_group_id.as_deref(), Some("acme"));
        assert_eq!(p.rejected.len(), 2);
        assert_eq!(p.rejected[0].message_id.as_deref(), Some("b"));
        assert_eq!(p.rejected[1].error, "item: must be a JSON object");
    }

    #[test]
    fn whole_body_problems_are_named() {
        let cases = [
            ("{", "body is not valid JSON: unexpected end of input"),
            ("[1]", "body must be a JSON object"),
            (r#"{"batch": {}}"#, "batch: must be an array"),
            (r#"{}"#, "batch: is required"),
            (
                r#"{"batch": [], "context": 3}"#,
                "context: must be an object",
            ),
        ];
        for (body, expected) in cases {
            let err = parse_batch(body, &ParseContext::fixed())
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(expected), "{body}: {err}");
        }
    }
}
