//! The compact chunk payload both storage backends keep. DynamoDB bills a write per KB of item,
//! so a chunk's events are packed tightly: a per-chunk table of interned strings (event names,
//! user ids), message ids that are UUIDs or derived digests as 16 raw bytes, timestamps as a
//! varint offset from the first event (in milliseconds when exact), properties as compact JSON,
//! the whole deflated.
//!
//! Layout (version 1): `0xFF 0x01` then a raw deflate stream of
//! `strings: varint n, n × (varint len, bytes)`, `base: varint zigzag seconds, varint nanos`,
//! `events: varint n, n × event`, where an event is a flags byte
//! (bits 0-2 kind, bit 3 name, bit 4 user, bits 5-6 message id form, bit 7 properties), the
//! message id, name and user string indexes, a zigzag varint time offset (low bit: 0 = ms,
//! 1 = ns), and `varint len, JSON` properties. `0xFF` cannot start a raw deflate stream (block
//! type 3 is invalid), so payloads of the first format (deflated short-key JSON) still decode.

use std::cell::RefCell;
// Keyed by ids and names from requests: foldhash seeds each process at random (no fixed
// collisions to send) and hashes short keys several times faster than SipHash.
use foldhash::HashMap;
use foldhash::HashMapExt;
use std::io::Read;

use chrono::{DateTime, Utc};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::properties::Properties;
use crate::error::StoreError;
use crate::model::{EventKind, StoredEvent};

const MAGIC: u8 = 0xFF;
const VERSION: u8 = 1;
/// Decoded payloads larger than this are refused as corrupt (a chunk is capped far below).
const MAX_DECODED: u64 = 64 * 1024 * 1024;

const ID_TEXT: u8 = 0;
const ID_UUID: u8 = 1;
const ID_DERIVED: u8 = 2;
const DERIVED_PREFIX: &str = "derived-";

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("decode chunk: {what}"))
}

fn kind_code(k: EventKind) -> u8 {
    match k {
        EventKind::Track => 0,
        EventKind::Page => 1,
        EventKind::Screen => 2,
        EventKind::Identify => 3,
        EventKind::Group => 4,
        EventKind::Alias => 5,
    }
}

fn kind_of(code: u8) -> Option<EventKind> {
    Some(match code {
        0 => EventKind::Track,
        1 => EventKind::Page,
        2 => EventKind::Screen,
        3 => EventKind::Identify,
        4 => EventKind::Group,
        5 => EventKind::Alias,
        _ => return None,
    })
}

/// Appends `v` as a varint (7 bits a byte, low first; the high bit: more follow).
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Appends `b` after its varint length (what [`Reader::bytes`] reads back).
pub fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// Canonical lowercase hyphenated UUID text → its 16 bytes (only if it round-trips exactly).
fn uuid_bytes(s: &str) -> Option<[u8; 16]> {
    if s.len() != 36 {
        return None;
    }
    let u = uuid::Uuid::parse_str(s).ok()?;
    let mut buf = [0u8; 36];
    (u.hyphenated().encode_lower(&mut buf) == s).then(|| *u.as_bytes())
}

/// `derived-` + 32 lowercase hex digits → the 16 bytes.
fn derived_bytes(s: &str) -> Option<[u8; 16]> {
    let hex_part = s.strip_prefix(DERIVED_PREFIX)?;
    if hex_part.len() != 32 || hex_part.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut out = [0u8; 16];
    hex::decode_to_slice(hex_part, &mut out).ok()?;
    Some(out)
}

thread_local! {
    /// Each thread's compressor, reset between chunks: setting one up costs more than
    /// compressing a typical chunk (a few hundred bytes), and an import writes hundreds of
    /// thousands of them.
    static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new(Compression::default(), false));
}

/// Bodies shorter than this are written as one stored (uncompressed) deflate block: deflate
/// saves about a sixth of such a body, and setting it up costs more than everything else an
/// import does for the chunk (most chunks of an account-day are this small). Any inflater reads
/// the block, and zlib itself writes one when it cannot compress.
const STORED_BELOW: usize = 512;

/// Encodes a chunk's events.
pub fn encode(events: &[StoredEvent]) -> Result<Vec<u8>, StoreError> {
    let raw = encode_raw(events)?;
    let mut out = Vec::with_capacity(raw.len() / 2 + 64);
    out.extend_from_slice(&[MAGIC, VERSION]);
    if let Ok(len) = u16::try_from(raw.len()).map(u16::to_le_bytes) {
        if raw.len() < STORED_BELOW {
            // BFINAL = 1, BTYPE = 00, then LEN and its complement, then the bytes as they are.
            out.extend_from_slice(&[0x01, len[0], len[1], !len[0], !len[1]]);
            out.extend_from_slice(&raw);
            return Ok(out);
        }
    }
    DEFLATE
        .with(|c| match c.try_borrow_mut() {
            Ok(mut c) => {
                c.reset();
                deflate(&mut c, &raw, &mut out)
            }
            Err(_) => deflate(
                &mut Compress::new(Compression::default(), false),
                &raw,
                &mut out,
            ),
        })
        .map_err(|e| StoreError::Rejected(format!("compress chunk: {e}")))?;
    Ok(out)
}

/// Deflates `raw` whole (one raw deflate stream) onto the end of `out`.
fn deflate(c: &mut Compress, raw: &[u8], out: &mut Vec<u8>) -> Result<(), flate2::CompressError> {
    loop {
        let done = usize::try_from(c.total_in())
            .unwrap_or(raw.len())
            .min(raw.len());
        if c.compress_vec(&raw[done..], out, FlushCompress::Finish)? == Status::StreamEnd {
            return Ok(());
        }
        // Out of room: the stream goes on into a larger buffer.
        out.reserve(out.capacity().max(256));
    }
}

/// The body of [`encode`] before deflate, for a container that deflates many chunks at once
/// (the DynamoDB adapter packs a request's chunks of one segment-day into one item: one deflate
/// stream over all of them is 4-19% smaller than one per chunk on Zipf account mixes).
pub fn encode_body(events: &[StoredEvent]) -> Result<Vec<u8>, StoreError> {
    encode_raw(events)
}

/// Reads a body written by [`encode_body`].
pub fn decode_body(body: &[u8]) -> Result<Vec<StoredEvent>, StoreError> {
    decode_raw(body)
}

fn encode_raw(events: &[StoredEvent]) -> Result<Vec<u8>, StoreError> {
    let mut strings: Vec<&str> = Vec::new();
    let mut index: HashMap<&str, u64> = HashMap::new();
    for e in events {
        for s in [e.name.as_deref(), e.user_id.as_deref()]
            .into_iter()
            .flatten()
        {
            if !index.contains_key(s) {
                index.insert(s, strings.len() as u64);
                strings.push(s);
            }
        }
    }
    let mut body = Vec::with_capacity(events.len() * 48);
    put_varint(&mut body, strings.len() as u64);
    for s in &strings {
        put_bytes(&mut body, s.as_bytes());
    }
    let base = events.first().map(|e| e.timestamp).unwrap_or_default();
    put_varint(&mut body, zigzag(base.timestamp()));
    put_varint(&mut body, u64::from(base.timestamp_subsec_nanos()));
    put_varint(&mut body, events.len() as u64);
    for e in events {
        let (id_form, id16) = match uuid_bytes(&e.message_id) {
            Some(b) => (ID_UUID, Some(b)),
            None => match derived_bytes(&e.message_id) {
                Some(b) => (ID_DERIVED, Some(b)),
                None => (ID_TEXT, None),
            },
        };
        let mut flags = kind_code(e.kind) | (id_form << 5);
        if e.name.is_some() {
            flags |= 1 << 3;
        }
        if e.user_id.is_some() {
            flags |= 1 << 4;
        }
        if !e.properties.is_empty() {
            flags |= 1 << 7;
        }
        body.push(flags);
        match id16 {
            Some(b) => body.extend_from_slice(&b),
            None => put_bytes(&mut body, e.message_id.as_bytes()),
        }
        for s in [e.name.as_deref(), e.user_id.as_deref()]
            .into_iter()
            .flatten()
        {
            put_varint(&mut body, index.get(s).copied().unwrap_or_default());
        }
        let delta = (e.timestamp - base)
            .num_nanoseconds()
            .ok_or_else(|| StoreError::Rejected("encode chunk: events span too long".into()))?;
        let offset = if delta % 1_000_000 == 0 {
            zigzag(delta / 1_000_000) << 1
        } else {
            (zigzag(delta) << 1) | 1
        };
        put_varint(&mut body, offset);
        if !e.properties.is_empty() {
            put_bytes(&mut body, e.properties.as_json().as_bytes());
        }
    }
    Ok(body)
}

/// Decodes a payload of any format version.
pub fn decode(bytes: &[u8]) -> Result<Vec<StoredEvent>, StoreError> {
    match bytes {
        [MAGIC, VERSION, rest @ ..] => match stored_block(rest) {
            Some(raw) => decode_raw(raw),
            None => decode_raw(&inflate(rest)?),
        },
        [MAGIC, ..] => Err(corrupt("unknown payload version")),
        _ => {
            // Format 0: deflated JSON with short keys.
            let reader = flate2::read::DeflateDecoder::new(bytes).take(MAX_DECODED);
            serde_json::from_reader(reader).map_err(|e| corrupt(&e.to_string()))
        }
    }
}

/// The body of a stream that is one final stored block, as [`encode`] writes small chunks:
/// read in place, with no inflater at all.
fn stored_block(stream: &[u8]) -> Option<&[u8]> {
    let [0x01, l0, l1, n0, n1, body @ ..] = stream else {
        return None;
    };
    let len = u16::from_le_bytes([*l0, *l1]);
    (len == !u16::from_le_bytes([*n0, *n1]) && body.len() == usize::from(len)).then_some(body)
}

thread_local! {
    /// Each thread's inflater, reset between chunks: a new one allocates and clears tens of
    /// kilobytes, more than inflating a typical chunk costs, and a year's backfill reads
    /// hundreds of thousands of chunks.
    static INFLATE: RefCell<Decompress> = RefCell::new(Decompress::new(false));
}

/// Inflates a raw deflate stream whole.
fn inflate(stream: &[u8]) -> Result<Vec<u8>, StoreError> {
    INFLATE.with(|d| match d.try_borrow_mut() {
        Ok(mut d) => {
            d.reset(false);
            inflate_with(&mut d, stream)
        }
        Err(_) => inflate_with(&mut Decompress::new(false), stream),
    })
}

fn inflate_with(d: &mut Decompress, stream: &[u8]) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::with_capacity(stream.len().saturating_mul(4).max(256));
    loop {
        let (was_in, was_out) = (d.total_in(), d.total_out());
        let done = usize::try_from(was_in)
            .unwrap_or(stream.len())
            .min(stream.len());
        let status = d
            .decompress_vec(&stream[done..], &mut out, FlushDecompress::None)
            .map_err(|e| corrupt(&e.to_string()))?;
        if status == Status::StreamEnd {
            return Ok(out);
        }
        if d.total_out() >= MAX_DECODED {
            return Err(corrupt("payload too large"));
        }
        // No progress with room to write: the stream ends before its last block.
        if (d.total_in(), d.total_out()) == (was_in, was_out) && out.len() < out.capacity() {
            return Err(corrupt("truncated"));
        }
        out.reserve(out.capacity().max(256));
    }
}

/// Reads varints and length-prefixed bytes ([`put_varint`], [`put_bytes`]) from a buffer;
/// what it refuses is corrupt data of `what` (`decode chunk`).
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, pos: 0, what }
    }

    fn corrupt(&self, problem: &str) -> StoreError {
        StoreError::Corrupt(format!("{}: {problem}", self.what))
    }

    pub fn varint(&mut self) -> Result<u64, StoreError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self
                .buf
                .get(self.pos)
                .ok_or_else(|| self.corrupt("truncated"))?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.corrupt("varint too long"))
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| self.corrupt("truncated"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// A varint that is a length or a count.
    pub fn length(&mut self) -> Result<usize, StoreError> {
        let v = self.varint()?;
        usize::try_from(v).map_err(|_| self.corrupt("length"))
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], StoreError> {
        let n = self.length()?;
        self.take(n)
    }

    pub fn text(&mut self) -> Result<&'a str, StoreError> {
        let bytes = self.bytes()?;
        std::str::from_utf8(bytes).map_err(|_| self.corrupt("invalid UTF-8"))
    }

    pub fn u8(&mut self) -> Result<u8, StoreError> {
        Ok(self.take(1)?[0])
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], StoreError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// `Corrupt` unless every byte was read.
    pub fn end(&self) -> Result<(), StoreError> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(self.corrupt("trailing bytes"))
        }
    }
}

fn decode_raw(raw: &[u8]) -> Result<Vec<StoredEvent>, StoreError> {
    let mut r = Reader::new(raw, "decode chunk");
    let n_strings = r.length()?;
    let mut strings = Vec::with_capacity(n_strings.min(raw.len()));
    for _ in 0..n_strings {
        strings.push(r.text()?);
    }
    let string = |i: u64| -> Result<String, StoreError> {
        usize::try_from(i)
            .ok()
            .and_then(|i| strings.get(i))
            .map(|s| (*s).to_string())
            .ok_or_else(|| corrupt("string index"))
    };
    let secs = unzigzag(r.varint()?);
    let nanos = u32::try_from(r.varint()?).map_err(|_| corrupt("nanos"))?;
    let base: DateTime<Utc> =
        DateTime::from_timestamp(secs, nanos).ok_or_else(|| corrupt("base time"))?;
    let n = r.length()?;
    let mut events = Vec::with_capacity(n.min(raw.len()));
    for _ in 0..n {
        let flags = *r.take(1)?.first().ok_or_else(|| corrupt("truncated"))?;
        let kind = kind_of(flags & 0b111).ok_or_else(|| corrupt("event kind"))?;
        let message_id = match (flags >> 5) & 0b11 {
            ID_UUID => {
                let b: [u8; 16] = r.take(16)?.try_into().map_err(|_| corrupt("uuid"))?;
                uuid::Uuid::from_bytes(b).hyphenated().to_string()
            }
            ID_DERIVED => format!("{DERIVED_PREFIX}{}", hex::encode(r.take(16)?)),
            ID_TEXT => r.text()?.to_string(),
            _ => return Err(corrupt("message id form")),
        };
        let name = if flags & (1 << 3) != 0 {
            Some(string(r.varint()?)?)
        } else {
            None
        };
        let user_id = if flags & (1 << 4) != 0 {
            Some(string(r.varint()?)?)
        } else {
            None
        };
        let offset = r.varint()?;
        let delta = if offset & 1 == 0 {
            chrono::Duration::milliseconds(unzigzag(offset >> 1))
        } else {
            chrono::Duration::nanoseconds(unzigzag(offset >> 1))
        };
        let timestamp = base
            .checked_add_signed(delta)
            .ok_or_else(|| corrupt("time offset"))?;
        let properties = if flags & (1 << 7) != 0 {
            let (properties, _) =
                Properties::from_object_text(r.text()?).map_err(|e| corrupt(&e.to_string()))?;
            properties
        } else {
            Properties::default()
        };
        events.push(StoredEvent {
            message_id,
            kind,
            name,
            user_id,
            timestamp,
            properties,
        });
    }
    Ok(events)
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
