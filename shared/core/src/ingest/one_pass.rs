//! The fast path of `/v1/batch`: the body is read once, each item straight into borrowed fields
//! (its properties checked and kept as compact JSON text, its traits read into a map, its
//! context skipped but for `groupId`), instead of being split into raw spans that are parsed
//! again field by field.
//!
//! It only handles what it can decide for sure. Anything unusual in the body (a syntax error, a
//! duplicate key, an escaped top-level key, a `batch` that is not an array...) makes it give up
//! on the whole body, and anything unusual in an item (a number for an id, a field of the wrong
//! type, a refused value...) makes it give up on that item: the span-by-span path then parses
//! it, so what is accepted, and every error message, stays that path's.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::json_cursor::{read_body, read_item, Item, Lenient, Text, Undecided};
use super::message::{
    check_key_count, check_map, corrected, derived_message_id, id_text, name_text, parse_item_text,
    parse_kind, parse_time, BatchDefaults, Message, ParseContext,
};
use super::properties::Properties;
use super::segment::rejection_of_text;
use super::{ParsedBatch, MAX_EVENT_BYTES};
use crate::model::EventKind;

/// Parses a `/v1/batch` body in one pass, or says the span-by-span path must.
pub(crate) fn parse_batch(text: &str, cx: &ParseContext) -> Result<ParsedBatch, Undecided> {
    // Items are read before the batch-level `sentAt` and `context`, which may come after them:
    // what depends on those is finished once the body is read.
    let mut messages = Vec::with_capacity(text.len() / 256);
    let mut pending = Vec::with_capacity(text.len() / 256);
    let mut undecided = Vec::new();
    let mut index = 0;
    let body = read_body(text, |span, item| {
        match begin_message(span, item, cx) {
            Ok((m, p)) => {
                messages.push(m);
                pending.push((index, span, p));
            }
            Err(Undecided) => undecided.push((index, span)),
        }
        index += 1;
    })?;
    let context_group_id = match body.context {
        None => None,
        Some(Lenient::Value(context)) => id(context.group_id)?,
        Some(Lenient::Other) => return Err(Undecided),
    };
    let defaults = BatchDefaults {
        context_group_id,
        sent_at: time(body.sent_at)?,
    };
    let write_key = match body.write_key {
        None => None,
        Some(Lenient::Value(key)) => Some(key.into_owned()),
        Some(Lenient::Other) => return Err(Undecided),
    };
    let mut finished = vec![true; messages.len()];
    for ((m, (index, span, p)), done) in messages.iter_mut().zip(&pending).zip(&mut finished) {
        if finish_message(m, p, &defaults, cx).is_err() {
            *done = false;
            undecided.push((*index, *span));
        }
    }
    let mut parsed = ParsedBatch {
        messages,
        rejected: Vec::new(),
        write_key,
    };
    if undecided.is_empty() {
        return Ok(parsed);
    }
    // Some items need the span-by-span path: their messages go back in item order.
    let mut in_order: Vec<(usize, Message)> = pending
        .iter()
        .map(|(index, _, _)| *index)
        .zip(parsed.messages.drain(..))
        .zip(finished)
        .filter_map(|(m, done)| done.then_some(m))
        .collect();
    undecided.sort_unstable_by_key(|(index, _)| *index);
    for (index, span) in undecided {
        match parse_item_text(span, None, &defaults, cx) {
            Ok(m) => in_order.push((index, m)),
            Err(e) => parsed
                .rejected
                .push(rejection_of_text(index, span, e.to_string())),
        }
    }
    in_order.sort_by_key(|(index, _)| *index);
    parsed.messages = in_order.into_iter().map(|(_, m)| m).collect();
    Ok(parsed)
}

/// One item standing alone (an NDJSON line, no batch around it) in one pass, with the checks
/// and results of `parse_item_text` with no batch defaults; anything unusual is undecided.
pub(crate) fn parse_line(text: &str, cx: &ParseContext) -> Result<Message, Undecided> {
    let (span, item) = read_item(text)?;
    let (mut message, pending) = begin_message(span, item, cx)?;
    finish_message(&mut message, &pending, &BatchDefaults::default(), cx)?;
    Ok(message)
}

/// What a message still needs from the batch-level fields.
struct Pending {
    original: Option<DateTime<Utc>>,
    sent_at: Option<DateTime<Utc>>,
}

/// One item as a [`Message`], with the checks and results of `parse_item_text`, but for its
/// time and batch-level context, which [`finish_message`] fills in.
fn begin_message(
    span: &str,
    item: Item<'_>,
    cx: &ParseContext,
) -> Result<(Message, Pending), Undecided> {
    // Oversized items and items without a type are refused there.
    if span.len() > MAX_EVENT_BYTES {
        return Err(Undecided);
    }
    let kind = match item.kind {
        Some(Lenient::Value(t)) => parse_kind(&t).map_err(|_| Undecided)?,
        _ => return Err(Undecided),
    };
    let user_id = id(item.user_id)?;
    let anonymous_id = id(item.anonymous_id)?;
    if user_id.is_none() && anonymous_id.is_none() {
        return Err(Undecided);
    }
    let name = match kind {
        EventKind::Track => Some(name(item.event, "event")?.ok_or(Undecided)?),
        EventKind::Page | EventKind::Screen => name(item.name, "name")?,
        _ => None,
    };
    let group_id = id(item.group_id)?;
    let previous_id = id(item.previous_id)?;
    if (kind == EventKind::Group && group_id.is_none())
        || (kind == EventKind::Alias && previous_id.is_none())
    {
        return Err(Undecided);
    }
    let properties = match item.properties {
        None => Properties::default(),
        Some(Lenient::Value((p, keys))) => {
            check_key_count(keys, "properties").map_err(|_| Undecided)?;
            p
        }
        Some(Lenient::Other) => return Err(Undecided),
    };
    let traits = map(item.traits, "traits")?;
    let context_group_id = match item.context {
        None => None,
        Some(Lenient::Value(context)) => id(context.group_id)?,
        Some(Lenient::Other) => return Err(Undecided),
    };
    let original = match time(item.timestamp)? {
        Some(t) => Some(t),
        None => time(item.original_timestamp)?,
    };
    let sent_at = time(item.sent_at)?;
    let message_id = match id(item.message_id)? {
        Some(id) => id,
        None => derived_message_id(span.as_bytes()),
    };
    let message = Message {
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
        timestamp: cx.received_at,
        size: span.len(),
    };
    Ok((message, Pending { original, sent_at }))
}

/// Applies the batch-level `context.groupId` and `sentAt`, and checks the corrected time.
fn finish_message(
    m: &mut Message,
    pending: &Pending,
    batch: &BatchDefaults,
    cx: &ParseContext,
) -> Result<(), Undecided> {
    let sent_at = pending.sent_at.or(batch.sent_at);
    m.timestamp = cx
        .check_time(corrected(pending.original, sent_at, cx), "timestamp")
        .map_err(|_| Undecided)?;
    if m.context_group_id.is_none() {
        m.context_group_id.clone_from(&batch.context_group_id);
    }
    Ok(())
}

/// An id given as a string; numbers are kept as their exact text, which only the span has.
fn id(field: Option<Text<'_>>) -> Result<Option<String>, Undecided> {
    match field {
        None => Ok(None),
        Some(Lenient::Value(s)) => id_text(s, "id").map_err(|_| Undecided),
        Some(Lenient::Other) => Err(Undecided),
    }
}

fn name(field: Option<Text<'_>>, what: &str) -> Result<Option<String>, Undecided> {
    match field {
        None => Ok(None),
        Some(Lenient::Value(s)) => name_text(s, what).map_err(|_| Undecided),
        Some(Lenient::Other) => Err(Undecided),
    }
}

fn map(
    field: Option<Lenient<Map<String, Value>>>,
    what: &str,
) -> Result<Map<String, Value>, Undecided> {
    match field {
        None => Ok(Map::new()),
        Some(Lenient::Value(m)) => check_map(m, what).map_err(|_| Undecided),
        Some(Lenient::Other) => Err(Undecided),
    }
}

fn time(field: Option<Text<'_>>) -> Result<Option<DateTime<Utc>>, Undecided> {
    match field {
        None => Ok(None),
        Some(Lenient::Value(s)) => parse_time(&s).map(Some).ok_or(Undecided),
        Some(Lenient::Other) => Err(Undecided),
    }
}

#[cfg(test)]
#[path = "one_pass_tests.rs"]
mod tests;
