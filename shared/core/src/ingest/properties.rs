//! An event's `properties`, kept as the compact JSON text serde_json writes for the object
//! (keys sorted, no whitespace) instead of a parsed map: ingest only validates and stores them,
//! and the few readers (signal mapping, session duration) parse what they need when they need it.
//!
//! The text is exactly `serde_json::to_string` of the parsed map, so the stored chunk bytes and
//! the JSON form of [`crate::model::StoredEvent`] are what they were when properties were a map.
//! Text already in that form (the common case: SDKs send compact JSON) is checked in one scan
//! and copied; anything else (unsorted keys, escapes, whitespace, unusual numbers) is parsed
//! into a map and written back out.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

/// Nesting deeper than this is left to serde_json (whose own limit is 128).
const MAX_FAST_DEPTH: u32 = 100;
/// Longest integer taken as written: shorter ones always fit an `i64`/`u64`.
const MAX_FAST_DIGITS: usize = 18;

/// A JSON object's compact text (empty when the object is).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Properties(Box<str>);

impl Properties {
    /// Properties from a JSON object's text, and how many keys it has. Errors are serde_json's,
    /// for text that is not a JSON object.
    pub fn from_object_text(text: &str) -> Result<(Properties, usize), serde_json::Error> {
        match canonical_object(text.as_bytes()) {
            Some((end, keys)) if end == text.len() => Ok((Properties::exact(text, keys), keys)),
            _ => {
                let map: Map<String, Value> = serde_json::from_str(text)?;
                Ok((Properties::from(&map), map.len()))
            }
        }
    }

    /// Text known to be canonical with `keys` keys.
    fn exact(text: &str, keys: usize) -> Properties {
        if keys == 0 {
            Properties::default()
        } else {
            Properties(text.into())
        }
    }

    /// The object at the start of `text` if it is already in the stored form: it, its key count
    /// and its length in `text`; `None` when the caller must parse it with serde_json.
    pub(crate) fn canonical_prefix(text: &str) -> Option<(Properties, usize, usize)> {
        let (end, keys) = canonical_object(text.as_bytes())?;
        Some((Properties::exact(&text[..end], keys), keys, end))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The object's compact JSON text (`{}` when empty).
    pub fn as_json(&self) -> &str {
        if self.0.is_empty() {
            "{}"
        } else {
            &self.0
        }
    }

    /// The parsed object.
    pub fn to_map(&self) -> Map<String, Value> {
        if self.0.is_empty() {
            return Map::new();
        }
        // The text was written by serde_json or checked to be what it writes.
        serde_json::from_str(&self.0).unwrap_or_default()
    }

    /// One property's value, parsing only that value.
    pub fn get(&self, key: &str) -> Option<Value> {
        if self.0.is_empty() {
            return None;
        }
        let mut de = serde_json::Deserializer::from_str(&self.0);
        de.deserialize_map(OneKey(key)).ok().flatten()
    }

    /// Removes every property.
    pub fn clear(&mut self) {
        *self = Properties::default();
    }

    /// Sets one property (rewrites the text: for tests and tools, not the ingest path).
    pub fn insert(&mut self, key: String, value: Value) -> Option<Value> {
        let mut map = self.to_map();
        let old = map.insert(key, value);
        *self = Properties::from(&map);
        old
    }
}

impl From<&Map<String, Value>> for Properties {
    fn from(map: &Map<String, Value>) -> Self {
        if map.is_empty() {
            return Properties::default();
        }
        // Serialising a map of JSON values cannot fail.
        Properties(serde_json::to_string(map).unwrap_or_default().into())
    }
}

impl From<Map<String, Value>> for Properties {
    fn from(map: Map<String, Value>) -> Self {
        Properties::from(&map)
    }
}

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_json())
    }
}

/// Serialised as the object itself, for every serde format.
impl Serialize for Properties {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_map().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Properties {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Map::<String, Value>::deserialize(deserializer).map(|m| Properties::from(&m))
    }
}

/// Reads one key's value out of an object, skipping the others.
struct OneKey<'k>(&'k str);

impl<'de> Visitor<'de> for OneKey<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(wanted) = access.next_key_seed(KeyIs(self.0))? {
            if wanted {
                found = Some(access.next_value::<Value>()?);
            } else {
                access.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Whether a key is the wanted one, compared without copying it.
struct KeyIs<'k>(&'k str);

impl<'de> de::DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

/// If `bytes` starts with an object exactly as serde_json writes it from a parsed map (no
/// whitespace, keys in ascending order without escapes, strings without escapes, numbers as
/// serde_json prints them), its length and key count.
fn canonical_object(bytes: &[u8]) -> Option<(usize, usize)> {
    if bytes.first() != Some(&b'{') {
        return None;
    }
    let mut keys = 0;
    let end = canonical_value(bytes, 0, 0, &mut keys)?;
    Some((end, keys))
}

/// Index past the canonical value at `at`; `top_keys` counts the keys of the outermost object.
fn canonical_value(bytes: &[u8], at: usize, depth: u32, top_keys: &mut usize) -> Option<usize> {
    if depth > MAX_FAST_DEPTH {
        return None;
    }
    match *bytes.get(at)? {
        b'{' => {
            let mut at = at + 1;
            if bytes.get(at) == Some(&b'}') {
                return Some(at + 1);
            }
            let mut previous: &[u8] = &[];
            let mut count = 0;
            loop {
                let key_end = plain_string(bytes, at)?;
                let key = &bytes[at + 1..key_end - 1];
                // Strictly ascending: sorted as a map sorts, and no duplicates.
                if count > 0 && key <= previous {
                    return None;
                }
                previous = key;
                count += 1;
                if bytes.get(key_end) != Some(&b':') {
                    return None;
                }
                at = canonical_value(bytes, key_end + 1, depth + 1, &mut 0)?;
                match bytes.get(at)? {
                    b',' => at += 1,
                    b'}' => break,
                    _ => return None,
                }
            }
            if depth == 0 {
                *top_keys = count;
            }
            Some(at + 1)
        }
        b'[' => {
            let mut at = at + 1;
            if bytes.get(at) == Some(&b']') {
                return Some(at + 1);
            }
            loop {
                at = canonical_value(bytes, at, depth + 1, &mut 0)?;
                match bytes.get(at)? {
                    b',' => at += 1,
                    b']' => return Some(at + 1),
                    _ => return None,
                }
            }
        }
        b'"' => plain_string(bytes, at),
        b't' => literal(bytes, at, b"true"),
        b'f' => literal(bytes, at, b"false"),
        b'n' => literal(bytes, at, b"null"),
        b'-' | b'0'..=b'9' => canonical_number(bytes, at),
        _ => None,
    }
}

fn literal(bytes: &[u8], at: usize, word: &[u8]) -> Option<usize> {
    bytes[at..].starts_with(word).then_some(at + word.len())
}

/// A string with no escapes and no control characters: index past its closing quote.
fn plain_string(bytes: &[u8], at: usize) -> Option<usize> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let start = at + 1;
    let end = start + super::json_scan::first_special_byte(bytes.get(start..)?)?;
    (bytes[end] == b'"').then_some(end + 1)
}

/// A number as serde_json prints it: a short integer, or a float that prints back the same.
fn canonical_number(bytes: &[u8], at: usize) -> Option<usize> {
    let len = bytes[at..]
        .iter()
        .take_while(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
        .count();
    let text = std::str::from_utf8(&bytes[at..at + len]).ok()?;
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.bytes().all(|b| b.is_ascii_digit()) {
        // "-0" is read as a float; leading zeros are not JSON.
        let fine = !digits.is_empty()
            && digits.len() <= MAX_FAST_DIGITS
            && (digits == "0" && text.len() == 1 || !digits.starts_with('0'));
        return fine.then_some(at + len);
    }
    let value: f64 = text.parse().ok()?;
    if !value.is_finite() || !text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return None;
    }
    let mut printed = [0u8; 40];
    let mut cursor = std::io::Cursor::new(&mut printed[..]);
    serde_json::to_writer(&mut cursor, &value).ok()?;
    let n = usize::try_from(cursor.position()).ok()?;
    (printed[..n] == *text.as_bytes()).then_some(at + len)
}

#[cfg(test)]
#[path = "properties_tests.rs"]
mod tests;
