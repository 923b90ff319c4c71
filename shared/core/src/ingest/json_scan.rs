//! Skipping JSON values the one-pass reader does not keep (an item's `context` but for its
//! `groupId`, `integrations`, unknown fields), checking their syntax as serde_json's own skipping
//! does, at a fraction of its cost per byte. It is conservative: whatever it accepts, serde_json
//! accepts; what it is unsure of (nesting deeper than 64), it refuses, and the caller then gives
//! the body to the span-by-span path.

/// Deepest nesting skipped here.
const MAX_DEPTH: u32 = 64;

/// Index just past the JSON value that starts at `at` (after optional whitespace), or `None`
/// if it is not valid JSON (or nested deeper than [`MAX_DEPTH`]).
pub(crate) fn skip_value(bytes: &[u8], mut at: usize) -> Option<usize> {
    // One bit per open container, 1 for an object.
    let mut objects: u64 = 0;
    let mut depth: u32 = 0;
    loop {
        // At a value.
        at = skip_whitespace(bytes, at);
        match *bytes.get(at)? {
            open @ (b'{' | b'[') => {
                at = skip_whitespace(bytes, at + 1);
                let is_object = open == b'{';
                let close = if is_object { b'}' } else { b']' };
                if bytes.get(at) == Some(&close) {
                    at += 1;
                } else {
                    if depth == MAX_DEPTH {
                        return None;
                    }
                    objects = objects << 1 | u64::from(is_object);
                    depth += 1;
                    if is_object {
                        at = skip_key(bytes, at)?;
                    }
                    continue;
                }
            }
            b'"' => at = skip_string(bytes, at)?,
            b't' => at = skip_literal(bytes, at, b"true")?,
            b'f' => at = skip_literal(bytes, at, b"false")?,
            b'n' => at = skip_literal(bytes, at, b"null")?,
            b'-' | b'0'..=b'9' => at = skip_number(bytes, at)?,
            _ => return None,
        }
        // After a value: close containers until one goes on with a comma.
        loop {
            if depth == 0 {
                // Stricter than serde_json on what may follow, never more lenient.
                let ends = matches!(
                    bytes.get(at),
                    None | Some(b' ' | b'\n' | b'\t' | b'\r' | b',' | b'}' | b']')
                );
                return ends.then_some(at);
            }
            let in_object = objects & 1 == 1;
            at = skip_whitespace(bytes, at);
            match *bytes.get(at)? {
                b',' => {
                    at += 1;
                    if in_object {
                        at = skip_key(bytes, skip_whitespace(bytes, at))?;
                    }
                    break;
                }
                b'}' if in_object => {}
                b']' if !in_object => {}
                _ => return None,
            }
            at += 1;
            objects >>= 1;
            depth -= 1;
        }
    }
}

pub(crate) fn skip_whitespace(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\t' | b'\r') = bytes.get(at) {
        at += 1;
    }
    at
}

/// A member's key and its colon; `at` is on the key's opening quote.
fn skip_key(bytes: &[u8], at: usize) -> Option<usize> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let at = skip_whitespace(bytes, skip_string(bytes, at)?);
    (bytes.get(at) == Some(&b':')).then_some(at + 1)
}

/// A string whose opening quote is at `at`: index past its closing quote.
pub(crate) fn skip_string(bytes: &[u8], mut at: usize) -> Option<usize> {
    at += 1;
    loop {
        at += first_special_byte(bytes.get(at..)?)?;
        match bytes[at] {
            b'"' => return Some(at + 1),
            b'\\' => match *bytes.get(at + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => at += 2,
                // Any four hex digits, as serde_json checks when skipping.
                b'u' => {
                    let hex = bytes.get(at + 2..at + 6)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    at += 6;
                }
                _ => return None,
            },
            // A raw control character.
            _ => return None,
        }
    }
}

fn skip_literal(bytes: &[u8], at: usize, word: &[u8]) -> Option<usize> {
    bytes[at..].starts_with(word).then_some(at + word.len())
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`; what follows is checked by the caller.
fn skip_number(bytes: &[u8], mut at: usize) -> Option<usize> {
    let digits = |at: usize| {
        bytes[at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    if bytes.get(at) == Some(&b'-') {
        at += 1;
    }
    match bytes.get(at)? {
        b'0' => at += 1,
        b'1'..=b'9' => at += digits(at),
        _ => return None,
    }
    if bytes.get(at) == Some(&b'.') {
        let n = digits(at + 1);
        if n == 0 {
            return None;
        }
        at += 1 + n;
    }
    if let Some(b'e' | b'E') = bytes.get(at) {
        at += 1;
        if let Some(b'+' | b'-') = bytes.get(at) {
            at += 1;
        }
        let n = digits(at);
        if n == 0 {
            return None;
        }
        at += n;
    }
    // A digit right after a leading zero ("01") is not a number: the caller finds no separator.
    Some(at)
}

/// Index of the first `"`, `\` or control character (below 0x20), eight bytes at a time.
pub(crate) fn first_special_byte(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    const QUOTES: u64 = ONES * b'"' as u64;
    const BACKSLASHES: u64 = ONES * b'\\' as u64;
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        // Mycroft's zero-byte test: the lowest flagged byte is always a true match.
        let control = x.wrapping_sub(ONES * 0x20) & !x;
        let quote = (x ^ QUOTES).wrapping_sub(ONES) & !(x ^ QUOTES);
        let backslash = (x ^ BACKSLASHES).wrapping_sub(ONES) & !(x ^ BACKSLASHES);
        let found = (control | quote | backslash) & HIGH;
        if found != 0 {
            return Some(offset + found.trailing_zeros() as usize / 8);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|p| offset + p)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ingest::damage::Damage;
    use serde::de::IgnoredAny;

    /// What serde_json says: the end of the one value at the start of `text`, if valid.
    fn serde_end(text: &str) -> Option<usize> {
        let mut values = serde_json::Deserializer::from_str(text).into_iter::<IgnoredAny>();
        match values.next() {
            Some(Ok(_)) => Some(values.byte_offset()),
            _ => None,
        }
    }

    fn assert_never_more_lenient(text: &str) {
        if let Some(end) = skip_value(text.as_bytes(), 0) {
            assert_eq!(serde_end(text), Some(end), "{text:?}");
        }
    }

    #[test]
    fn valid_values_are_skipped_to_their_end() {
        let values = [
            r#"{}"#,
            r#"[]"#,
            r#"{"a":1,"b":[true,false,null,-0.5e+10,"x\"\\\/\b\f\n\r\t\u00e9y"],"c":{"d":{}}}"#,
            r#" [ 1 , [ ] , { "k" : "v" } ] "#,
            r#""\ud800""#,
            "0",
            "-12.5E-3",
            r#"{"ip":"203.0.113.7","page":{"url":"https://app.example.com/","search":""}}"#,
        ];
        for v in values {
            let end = skip_value(v.as_bytes(), 0);
            assert_eq!(end, serde_end(v), "{v:?}");
            assert!(end.is_some(), "{v:?}");
        }
    }

    #[test]
    fn invalid_values_are_refused() {
        let values = [
            "",
            "{",
            "[1,]",
            "{,}",
            r#"{"a"}"#,
            r#"{"a":}"#,
            r#"{"a" 1}"#,
            "[1 2]",
            "01",
            "-",
            "1.",
            "1e",
            ".5",
            "+1",
            "tru",
            "nul",
            r#""\x""#,
            r#""\u12g4""#,
            "\"a\u{1}b\"",
            r#"{"a":1]"#,
            "[1}",
            r#"{1:2}"#,
            "\"abc",
        ];
        for v in values {
            assert_eq!(skip_value(v.as_bytes(), 0), None, "{v:?}");
        }
        let nested = |levels: usize| format!("{}1{}", "[".repeat(levels), "]".repeat(levels));
        assert!(skip_value(nested(64).as_bytes(), 0).is_some());
        assert_eq!(skip_value(nested(65).as_bytes(), 0), None);
    }

    #[test]
    fn damaged_json_is_never_accepted_where_serde_json_refuses_it() {
        let seeds = [
            r#"{"groupId":"acct-1","library":{"name":"analytics.js","version":"next-1.72.0"},"ip":"203.0.113.7","n":[-1.5e3,0,true,null,{"x":"\u00e9\n"}]}"#,
            r#"[{"a":[[],{}],"b":"\\\"q"},12,-0.0]"#,
        ];
        let alphabet = b"{}[]:,\"\\ 0-1.eE+tufalsnu\x01a";
        let mut damage = Damage::new(0x2545_F491_4F6C_DD1D);
        for seed in seeds {
            for _ in 0..20_000 {
                if let Some(text) = damage.apply(seed, alphabet, 3) {
                    assert_never_more_lenient(&text);
                }
            }
        }
    }

    #[test]
    fn special_bytes_are_found_wherever_they_are() {
        for len in 0..40 {
            for at in 0..len {
                for special in [b'"', b'\\', 0x00, 0x1f] {
                    let mut bytes = vec![b'a'; len];
                    // Non-ASCII bytes and bytes just above the control range are not special.
                    if at > 0 {
                        bytes[at - 1] = 0xe9;
                    }
                    if at + 1 < len {
                        bytes[at + 1] = b' ';
                    }
                    bytes[at] = special;
                    assert_eq!(first_special_byte(&bytes), Some(at), "{bytes:?}");
                }
            }
            assert_eq!(first_special_byte(&vec![b'!'; len]), None);
        }
    }
}
