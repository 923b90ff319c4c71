//! Reads a `/v1/batch` body for the one-pass path ([`super::one_pass`]): the top-level object
//! and each item's object are walked by hand, so each item's span is known and its fields are
//! borrowed in the same pass; nested values (properties, traits, context, fields of unexpected
//! types) are read by serde_json from where the cursor stands.
//!
//! Every byte is still checked as JSON: plain strings here (no control characters), the rest by
//! serde_json. What this reader does not handle (escaped keys, duplicate keys, a syntax error)
//! makes it give up with [`Undecided`].

use std::borrow::Cow;

use serde::de::Deserialize;
use serde_json::{Map, Value};

use super::json_scan::{first_special_byte, skip_value, skip_whitespace};
use super::properties::Properties;
use super::MAX_BATCH_ITEMS;

/// The one-pass path cannot decide: the span-by-span path must.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Undecided;

/// A field's value when it has the expected JSON type; `Other` for any other type, which the
/// span-by-span path then judges (a number kept as its text, or a refusal naming the field).
/// `null` is read as an absent field (`None`), as that path does.
pub(crate) enum Lenient<T> {
    Value(T),
    Other,
}

/// A string field, borrowed from the body when it has no escapes.
pub(crate) type Text<'a> = Lenient<Cow<'a, str>>;

/// A context object: only `groupId` is kept, the rest is checked for syntax and skipped.
pub(crate) struct Context<'a> {
    pub(crate) group_id: Option<Text<'a>>,
}

/// One Segment item's fields, borrowed from the body where no unescaping was needed.
#[derive(Default)]
pub(crate) struct Item<'a> {
    pub(crate) kind: Option<Text<'a>>,
    pub(crate) message_id: Option<Text<'a>>,
    pub(crate) user_id: Option<Text<'a>>,
    pub(crate) anonymous_id: Option<Text<'a>>,
    pub(crate) event: Option<Text<'a>>,
    pub(crate) name: Option<Text<'a>>,
    pub(crate) group_id: Option<Text<'a>>,
    pub(crate) previous_id: Option<Text<'a>>,
    /// The object's compact text and key count.
    pub(crate) properties: Option<Lenient<(Properties, usize)>>,
    pub(crate) traits: Option<Lenient<Map<String, Value>>>,
    pub(crate) context: Option<Lenient<Context<'a>>>,
    pub(crate) timestamp: Option<Text<'a>>,
    pub(crate) original_timestamp: Option<Text<'a>>,
    pub(crate) sent_at: Option<Text<'a>>,
}

/// The batch-level fields of the body.
#[derive(Default)]
pub(crate) struct BodyFields<'a> {
    pub(crate) context: Option<Lenient<Context<'a>>>,
    pub(crate) sent_at: Option<Text<'a>>,
    pub(crate) write_key: Option<Text<'a>>,
}

/// Walks a batch body, handing each item (its span and fields) to `on_item` as it is read,
/// and returns the batch-level fields, which may come after the items.
pub(crate) fn read_body<'a>(
    text: &'a str,
    mut on_item: impl FnMut(&'a str, Item<'a>),
) -> Result<BodyFields<'a>, Undecided> {
    let mut cursor = Cursor { text, at: 0 };
    let mut body = BodyFields::default();
    // batch, context, sentAt, writeKey: a second one is a duplicate field.
    let mut seen = [false; 4];
    cursor.expect(b'{')?;
    loop {
        cursor.skip_whitespace();
        let key = cursor.key()?;
        cursor.expect(b':')?;
        cursor.skip_whitespace();
        let slot = match key {
            "batch" => 0,
            "context" => 1,
            "sentAt" => 2,
            "writeKey" => 3,
            _ => {
                cursor.skip()?;
                if cursor.eat(b',') {
                    continue;
                }
                break;
            }
        };
        if std::mem::replace(&mut seen[slot], true) {
            return Err(Undecided);
        }
        match slot {
            0 => cursor.items(&mut on_item)?,
            1 => body.context = cursor.context()?,
            2 => body.sent_at = cursor.text_field()?,
            _ => body.write_key = cursor.text_field()?,
        }
        if !cursor.eat(b',') {
            break;
        }
    }
    cursor.expect(b'}')?;
    cursor.skip_whitespace();
    if !seen[0] || cursor.at != text.len() {
        return Err(Undecided);
    }
    Ok(body)
}

/// Reads one item object standing alone (an NDJSON line of `vitals import events`): its span
/// (the object without surrounding whitespace) and fields. Anything but whitespace around the
/// object makes it undecided.
pub(crate) fn read_item(text: &str) -> Result<(&str, Item<'_>), Undecided> {
    let mut cursor = Cursor { text, at: 0 };
    cursor.skip_whitespace();
    let start = cursor.at;
    let item = cursor.item()?;
    let end = cursor.at;
    cursor.skip_whitespace();
    if cursor.at != text.len() {
        return Err(Undecided);
    }
    Ok((&text[start..end], item))
}

struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        self.at = skip_whitespace(self.text.as_bytes(), self.at);
    }

    /// Moves past a value that is not kept, checking its syntax.
    fn skip(&mut self) -> Result<(), Undecided> {
        self.at = skip_value(self.text.as_bytes(), self.at).ok_or(Undecided)?;
        Ok(())
    }

    /// Moves past `null`; false (cursor unmoved) if something else is there.
    fn null(&mut self) -> bool {
        let found = self.text[self.at..].starts_with("null");
        self.at += if found { 4 } else { 0 };
        found
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.skip_whitespace();
        let found = self.peek() == Some(byte);
        self.at += usize::from(found);
        found
    }

    fn expect(&mut self, byte: u8) -> Result<(), Undecided> {
        self.eat(byte).then_some(()).ok_or(Undecided)
    }

    /// Reads one JSON value with serde_json, moving past it.
    fn value<T: Deserialize<'a>>(&mut self) -> Result<T, Undecided> {
        let mut values = serde_json::Deserializer::from_str(&self.text[self.at..]).into_iter::<T>();
        match values.next() {
            Some(Ok(value)) => {
                self.at += values.byte_offset();
                Ok(value)
            }
            _ => Err(Undecided),
        }
    }

    /// A string at the cursor with no escapes, borrowed; `None` (cursor unmoved) if it has some.
    fn plain_string(&mut self) -> Result<Option<&'a str>, Undecided> {
        if self.peek() != Some(b'"') {
            return Err(Undecided);
        }
        let start = self.at + 1;
        let bytes = self.text.as_bytes();
        let end = start + first_special_byte(&bytes[start..]).ok_or(Undecided)?;
        match bytes[end] {
            b'"' => {
                self.at = end + 1;
                // Both ends are ASCII quotes, so this is on character boundaries.
                Ok(Some(&self.text[start..end]))
            }
            b'\\' => Ok(None),
            // A raw control character: not JSON.
            _ => Err(Undecided),
        }
    }

    fn key(&mut self) -> Result<&'a str, Undecided> {
        self.plain_string()?.ok_or(Undecided)
    }

    /// A string field: its text, `None` for `null`, `Other` for any other type.
    fn text_field(&mut self) -> Result<Option<Text<'a>>, Undecided> {
        match self.peek() {
            Some(b'"') => Ok(Some(Lenient::Value(match self.plain_string()? {
                Some(s) => Cow::Borrowed(s),
                None => Cow::Owned(self.value::<String>()?),
            }))),
            Some(b'n') if self.null() => Ok(None),
            _ => self.skip().map(|()| Some(Lenient::Other)),
        }
    }

    /// A properties or traits object, built as serde_json builds it from text.
    fn map_field(&mut self) -> Result<Option<Lenient<Map<String, Value>>>, Undecided> {
        match self.peek() {
            Some(b'{') => self.value().map(|m| Some(Lenient::Value(m))),
            Some(b'n') if self.null() => Ok(None),
            _ => self.skip().map(|()| Some(Lenient::Other)),
        }
    }

    /// A properties object, kept as compact text: copied when it already is, else built by
    /// serde_json and written out.
    fn properties_field(&mut self) -> Result<Option<Lenient<(Properties, usize)>>, Undecided> {
        match self.peek() {
            Some(b'{') => {}
            Some(b'n') if self.null() => return Ok(None),
            _ => return self.skip().map(|()| Some(Lenient::Other)),
        }
        if let Some((properties, keys, len)) = Properties::canonical_prefix(&self.text[self.at..]) {
            self.at += len;
            return Ok(Some(Lenient::Value((properties, keys))));
        }
        let map: Map<String, Value> = self.value()?;
        let keys = map.len();
        Ok(Some(Lenient::Value((Properties::from(&map), keys))))
    }

    /// An item's context: its `groupId`, the rest skipped. Anything but an object is `Other`.
    fn context(&mut self) -> Result<Option<Lenient<Context<'a>>>, Undecided> {
        match self.peek() {
            Some(b'{') => self.at += 1,
            Some(b'n') if self.null() => return Ok(None),
            _ => return self.skip().map(|()| Some(Lenient::Other)),
        }
        let mut group_id = None;
        if self.eat(b'}') {
            return Ok(Some(Lenient::Value(Context { group_id })));
        }
        let mut seen = false;
        loop {
            self.skip_whitespace();
            let key = self.key()?;
            self.expect(b':')?;
            self.skip_whitespace();
            if key == "groupId" {
                if std::mem::replace(&mut seen, true) {
                    return Err(Undecided);
                }
                group_id = self.text_field()?;
            } else {
                self.skip()?;
            }
            if !self.eat(b',') {
                break;
            }
        }
        self.expect(b'}')?;
        Ok(Some(Lenient::Value(Context { group_id })))
    }

    fn items(&mut self, on_item: &mut impl FnMut(&'a str, Item<'a>)) -> Result<(), Undecided> {
        self.expect(b'[')?;
        if self.eat(b']') {
            return Ok(());
        }
        let mut count = 0;
        loop {
            self.skip_whitespace();
            let start = self.at;
            let item = self.item()?;
            count += 1;
            if count > MAX_BATCH_ITEMS {
                return Err(Undecided);
            }
            on_item(&self.text[start..self.at], item);
            if !self.eat(b',') {
                break;
            }
        }
        self.expect(b']')
    }

    /// One item object, its known fields read, the others checked and skipped.
    fn item(&mut self) -> Result<Item<'a>, Undecided> {
        let mut item = Item::default();
        self.expect(b'{')?;
        if self.eat(b'}') {
            return Ok(item);
        }
        // One bit per known field: a second one is a duplicate field.
        let mut seen = 0u16;
        loop {
            self.skip_whitespace();
            let key = self.key()?;
            self.expect(b':')?;
            self.skip_whitespace();
            let (bit, slot) = match key {
                "type" => (0, &mut item.kind),
                "messageId" => (1, &mut item.message_id),
                "userId" => (2, &mut item.user_id),
                "anonymousId" => (3, &mut item.anonymous_id),
                "event" => (4, &mut item.event),
                "name" => (5, &mut item.name),
                "groupId" => (6, &mut item.group_id),
                "previousId" => (7, &mut item.previous_id),
                "timestamp" => (8, &mut item.timestamp),
                "originalTimestamp" => (9, &mut item.original_timestamp),
                "sentAt" => (10, &mut item.sent_at),
                other => {
                    let bit = match other {
                        "properties" => 11,
                        "traits" => 12,
                        "context" => 13,
                        _ => 16,
                    };
                    if bit < 16 && !first_time(&mut seen, bit) {
                        return Err(Undecided);
                    }
                    match bit {
                        11 => item.properties = self.properties_field()?,
                        12 => item.traits = self.map_field()?,
                        13 => item.context = self.context()?,
                        _ => self.skip()?,
                    }
                    if self.eat(b',') {
                        continue;
                    }
                    break;
                }
            };
            if !first_time(&mut seen, bit) {
                return Err(Undecided);
            }
            *slot = self.text_field()?;
            if !self.eat(b',') {
                break;
            }
        }
        self.expect(b'}')?;
        Ok(item)
    }
}

/// Marks a known field as seen; false if it already was (a duplicate field).
fn first_time(seen: &mut u16, bit: u32) -> bool {
    let mask = 1u16 << bit;
    let first = *seen & mask == 0;
    *seen |= mask;
    first
}
