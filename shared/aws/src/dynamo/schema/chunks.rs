//! Event chunk items. DynamoDB bills every item written at least one write unit, and one ingest
//! request usually mixes many accounts, so `put_chunks` stores all its chunks of one
//! (day, segment) as one pack item in the `CHUNK#{day}#{seg}` partition the daily run reads,
//! rather than one item per account-day. A pack's sort key is a digest of the chunks it holds,
//! so a retried request rewrites the same items and never adds one.
//!
//! Pack payload (`chunks`, binary): a version byte, then one raw deflate stream of
//! `varint n, n × (bytes account id, bytes chunk id, bytes events)`, where `bytes` is a varint
//! length and the bytes, and events are the chunk's body in the core codec
//! ([`codec::encode_body`]). Deflating the whole pack at once lets similar events of different
//! accounts share one compression window. Items of the first layout (one chunk per item, its own
//! deflated `payload`) still read.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use vitals_core::ingest::codec::{self, put_bytes, put_varint, Reader};
use vitals_core::model::{AccountId, EventChunk};
use vitals_core::segment::Segment;
use vitals_core::StoreError;

use super::records::{decode, encode, Key};
use super::{keys, Item};

type StoreResult<T> = Result<T, StoreError>;

/// Most bytes of framed chunk bodies one pack holds before deflate. With the key, the other
/// attributes and deflate's worst case (a few bytes per 16 KB), a pack stays well under
/// DynamoDB's 400 KB item limit; a single chunk is capped lower by ingest (256 KB of source).
pub(crate) const MAX_PACK_BODY_BYTES: usize = 350 * 1024;
const PACK_VERSION: u8 = 1;
/// Decoded packs larger than this are refused as corrupt (a pack is capped far below).
const MAX_DECODED: u64 = 64 * 1024 * 1024;
/// The attribute only items of the first layout (one chunk per item) have.
const SINGLE_CHUNK_PAYLOAD: &str = "payload";

/// Raw bytes stored as a DynamoDB binary (`B`) attribute rather than a list of numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Binary(Vec<u8>);

impl Serialize for Binary {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Binary {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Binary;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("binary data")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Binary, E> {
                Ok(Binary(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Binary, E> {
                Ok(Binary(v))
            }
        }
        d.deserialize_byte_buf(Visitor)
    }
}

#[derive(Serialize, Deserialize)]
struct PackItem {
    pk: String,
    sk: String,
    day: NaiveDate,
    chunks: Binary,
    expires_at: i64,
}

/// An item of the first layout: one chunk, its payload deflated on its own.
#[derive(Deserialize)]
struct SingleChunkItem {
    account_id: AccountId,
    day: NaiveDate,
    chunk_id: String,
    payload: Binary,
}

/// One chunk inside a pack, its events already encoded.
struct Member<'a> {
    account: &'a AccountId,
    chunk_id: &'a str,
    events: Vec<u8>,
}

impl Member<'_> {
    fn framed_len(&self) -> usize {
        self.account.as_str().len() + self.chunk_id.len() + self.events.len() + 3 * 10
    }
}

/// The pack items of one `put_chunks` call: per (day, segment), its chunks in (account, chunk
/// id) order, cut into packs of at most [`MAX_PACK_BODY_BYTES`]. The same chunks always give the
/// same items; of chunks repeated in the call (same account, day and id) the last is kept, as a
/// later write of the same item would be.
pub(crate) fn encode_packs(
    chunks: &[EventChunk],
    retention_days: u32,
) -> StoreResult<Vec<(Key, Item)>> {
    type Members<'a> = BTreeMap<(&'a AccountId, &'a str), &'a EventChunk>;
    let mut groups: BTreeMap<(NaiveDate, Segment), Members<'_>> = BTreeMap::new();
    for c in chunks {
        groups
            .entry((c.day, c.segment()))
            .or_default()
            .insert((&c.account_id, c.chunk_id.as_str()), c);
    }
    let mut items = Vec::new();
    for ((day, segment), members) in groups {
        let mut pack: Vec<Member<'_>> = Vec::new();
        let mut bytes = 0;
        for ((account, chunk_id), chunk) in members {
            let member = Member {
                account,
                chunk_id,
                events: codec::encode_body(&chunk.events)?,
            };
            if !pack.is_empty() && bytes + member.framed_len() > MAX_PACK_BODY_BYTES {
                items.push(encode_pack(day, segment, &pack, retention_days)?);
                pack.clear();
                bytes = 0;
            }
            bytes += member.framed_len();
            pack.push(member);
        }
        if !pack.is_empty() {
            items.push(encode_pack(day, segment, &pack, retention_days)?);
        }
    }
    Ok(items)
}

/// The pack's identity: a digest of its members' (account, chunk id), length-prefixed so no two
/// different member lists hash the same input.
fn pack_digest(members: &[Member<'_>]) -> String {
    let mut digest = Sha256::new();
    for m in members {
        for part in [m.account.as_str(), m.chunk_id] {
            digest.update((part.len() as u64).to_le_bytes());
            digest.update(part.as_bytes());
        }
    }
    digest.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn encode_pack(
    day: NaiveDate,
    segment: Segment,
    members: &[Member<'_>],
    retention_days: u32,
) -> StoreResult<(Key, Item)> {
    let mut body = Vec::with_capacity(members.iter().map(Member::framed_len).sum());
    put_varint(&mut body, members.len() as u64);
    for m in members {
        put_bytes(&mut body, m.account.as_str().as_bytes());
        put_bytes(&mut body, m.chunk_id.as_bytes());
        put_bytes(&mut body, &m.events);
    }
    let mut payload = vec![PACK_VERSION];
    let mut deflate =
        flate2::write::DeflateEncoder::new(&mut payload, flate2::Compression::default());
    deflate
        .write_all(&body)
        .and_then(|()| deflate.finish().map(|_| ()))
        .map_err(|e| StoreError::Rejected(format!("compress chunk pack: {e}")))?;
    let key = Key {
        pk: keys::chunk_pk(day, segment),
        sk: keys::chunk_pack_sk(&pack_digest(members)),
    };
    let item = encode(&PackItem {
        pk: key.pk.clone(),
        sk: key.sk.clone(),
        day,
        chunks: Binary(payload),
        expires_at: keys::expiry_of_day(day, retention_days),
    })?;
    Ok((key, item))
}

/// The chunks an item holds, in either layout.
pub(crate) fn decode_chunks(item: Item) -> StoreResult<Vec<EventChunk>> {
    if item.contains_key(SINGLE_CHUNK_PAYLOAD) {
        let stored: SingleChunkItem = decode(item)?;
        return Ok(vec![EventChunk {
            events: EventChunk::decode_events(&stored.payload.0)?,
            account_id: stored.account_id,
            day: stored.day,
            chunk_id: stored.chunk_id,
        }]);
    }
    let stored: PackItem = decode(item)?;
    let body = match stored.chunks.0.split_first() {
        Some((&PACK_VERSION, deflated)) => {
            let mut body = Vec::new();
            flate2::read::DeflateDecoder::new(deflated)
                .take(MAX_DECODED)
                .read_to_end(&mut body)
                .map_err(|e| corrupt(&e.to_string()))?;
            body
        }
        _ => return Err(corrupt("unknown pack version")),
    };
    let mut r = Reader::new(&body, "decode chunk pack");
    let n = r.length()?;
    let mut chunks = Vec::with_capacity(n.min(body.len()));
    for _ in 0..n {
        let account = AccountId::new(r.text()?).map_err(|e| corrupt(&e.to_string()))?;
        let chunk_id = r.text()?.to_owned();
        chunks.push(EventChunk {
            events: codec::decode_body(r.bytes()?)?,
            account_id: account,
            day: stored.day,
            chunk_id,
        });
    }
    Ok(chunks)
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("decode chunk pack: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::primitives::Blob;
    use aws_sdk_dynamodb::types::AttributeValue;
    use chrono::{TimeZone, Utc};
    use vitals_core::model::{EventKind, StoredEvent};

    fn day() -> NaiveDate {
        "2026-02-03".parse().unwrap()
    }

    fn chunk(account: &str, ids: &[&str]) -> EventChunk {
        let events = ids
            .iter()
            .map(|id| StoredEvent {
                message_id: (*id).into(),
                kind: EventKind::Track,
                name: Some("Report Built".into()),
                user_id: Some(format!("{account}-u1")),
                timestamp: Utc.with_ymd_and_hms(2026, 2, 3, 4, 5, 6).unwrap(),
                properties: Default::default(),
            })
            .collect();
        EventChunk::new(AccountId::new(account).unwrap(), day(), events)
    }

    /// Accounts that all fall in one segment, so their chunks share a pack.
    fn accounts_of_one_segment(n: usize) -> Vec<String> {
        let first = AccountId::new("acct-0").unwrap().segment();
        (0..)
            .map(|i| format!("acct-{i}"))
            .filter(|a| AccountId::new(a.as_str()).unwrap().segment() == first)
            .take(n)
            .collect()
    }

    fn decode_all(items: Vec<(Key, Item)>) -> Vec<EventChunk> {
        let mut chunks: Vec<EventChunk> = items
            .into_iter()
            .flat_map(|(_, item)| decode_chunks(item).unwrap())
            .collect();
        chunks.sort_by(|a, b| (&a.account_id, &a.chunk_id).cmp(&(&b.account_id, &b.chunk_id)));
        chunks
    }

    #[test]
    fn chunks_of_one_segment_day_share_one_item_that_reads_back_equal() {
        let accounts = accounts_of_one_segment(3);
        let chunks: Vec<EventChunk> = accounts
            .iter()
            .map(|a| chunk(a, &[&format!("{a}-m1"), &format!("{a}-m2")]))
            .collect();
        let items = encode_packs(&chunks, 730).unwrap();
        assert_eq!(items.len(), 1);
        let (key, item) = &items[0];
        assert_eq!(key.pk, format!("CHUNK#2026-02-03#{}", chunks[0].segment()));
        assert!(key.sk.starts_with("PACK#"), "{}", key.sk);
        assert!(matches!(item["chunks"], AttributeValue::B(_)));
        assert_eq!(
            item["expires_at"],
            AttributeValue::N(keys::expiry_of_day(day(), 730).to_string())
        );
        let mut want = chunks.clone();
        want.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        assert_eq!(decode_all(items), want);
    }

    #[test]
    fn the_same_chunks_in_any_order_make_the_same_items() {
        let accounts = accounts_of_one_segment(4);
        let chunks: Vec<EventChunk> = accounts.iter().map(|a| chunk(a, &[a])).collect();
        let mut reversed = chunks.clone();
        reversed.reverse();
        assert_eq!(
            encode_packs(&chunks, 730).unwrap(),
            encode_packs(&reversed, 730).unwrap()
        );
    }

    #[test]
    fn a_different_set_of_chunks_gets_a_different_key() {
        let accounts = accounts_of_one_segment(3);
        let a = chunk(&accounts[0], &["m1"]);
        let b = chunk(&accounts[1], &["m2"]);
        let c = chunk(&accounts[2], &["m3"]);
        let key = |cs: &[EventChunk]| encode_packs(cs, 730).unwrap()[0].0.clone();
        assert_ne!(key(&[a.clone(), b.clone()]), key(&[a.clone(), c]));
        assert_ne!(key(&[a.clone(), b]), key(&[a]));
    }

    #[test]
    fn segments_and_days_get_separate_items() {
        let a = chunk("acme", &["m1"]);
        let mut next_day = chunk("acme", &["m2"]);
        next_day.day = day().succ_opt().unwrap();
        let other = (0..)
            .map(|i| format!("other-{i}"))
            .find(|o| AccountId::new(o.as_str()).unwrap().segment() != a.segment())
            .unwrap();
        let items = encode_packs(&[a, next_day, chunk(&other, &["m3"])], 730).unwrap();
        let pks: std::collections::BTreeSet<&str> =
            items.iter().map(|(k, _)| k.pk.as_str()).collect();
        assert_eq!(items.len(), 3);
        assert_eq!(pks.len(), 3);
    }

    #[test]
    fn a_large_segment_day_is_cut_into_packs_under_the_item_limit_the_same_way_every_time() {
        let accounts = accounts_of_one_segment(12);
        // Incompressible properties: 12 chunks of ~100 KB each.
        let mut seed = 7u64;
        let chunks: Vec<EventChunk> = accounts
            .iter()
            .map(|a| {
                let mut c = chunk(a, &[&format!("{a}-m")]);
                let noise: String = (0..100_000)
                    .map(|_| {
                        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                        char::from(b'a' + ((seed >> 33) % 26) as u8)
                    })
                    .collect();
                c.events[0]
                    .properties
                    .insert("noise".into(), serde_json::Value::String(noise));
                c
            })
            .collect();
        let items = encode_packs(&chunks, 730).unwrap();
        assert!(items.len() >= 4, "{} packs", items.len());
        for (_, item) in &items {
            let AttributeValue::B(payload) = &item["chunks"] else {
                panic!("binary payload");
            };
            assert!(payload.as_ref().len() < 380 * 1024);
        }
        let mut reversed = chunks.clone();
        reversed.reverse();
        assert_eq!(encode_packs(&reversed, 730).unwrap(), items);
        let mut want = chunks;
        want.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        assert_eq!(decode_all(items), want);
    }

    #[test]
    fn a_chunk_repeated_in_one_call_is_packed_once() {
        let a = chunk("acme", &["m1", "m2"]);
        let items = encode_packs(&[a.clone(), a.clone()], 730).unwrap();
        assert_eq!(decode_all(items), vec![a]);
    }

    #[test]
    fn an_item_of_the_single_chunk_layout_still_reads() {
        let a = chunk("acme", &["m1"]);
        let item = Item::from([
            ("pk".into(), AttributeValue::S("CHUNK#2026-02-03#00".into())),
            (
                "sk".into(),
                AttributeValue::S(format!("acme#{}", a.chunk_id)),
            ),
            ("account_id".into(), AttributeValue::S("acme".into())),
            ("day".into(), AttributeValue::S("2026-02-03".into())),
            ("chunk_id".into(), AttributeValue::S(a.chunk_id.clone())),
            ("n".into(), AttributeValue::N("1".into())),
            (
                "payload".into(),
                AttributeValue::B(Blob::new(a.encode_events().unwrap())),
            ),
            ("expires_at".into(), AttributeValue::N("1".into())),
        ]);
        assert_eq!(decode_chunks(item).unwrap(), vec![a]);
    }

    #[test]
    fn a_damaged_pack_is_corrupt_not_a_panic() {
        let (_, item) = encode_packs(&[chunk("acme", &["m1"])], 730)
            .unwrap()
            .remove(0);
        for bad in [vec![], vec![9, 1, 2], vec![PACK_VERSION, 0xFF, 0x00]] {
            let mut damaged = item.clone();
            damaged.insert("chunks".into(), AttributeValue::B(Blob::new(bad)));
            assert!(matches!(
                decode_chunks(damaged),
                Err(StoreError::Corrupt(_))
            ));
        }
    }
}
