//! Attribution and chunking of accepted messages: the account each message names, and the
//! per-account-per-day chunks its events are stored in.

use std::borrow::Borrow;
// Keyed by ids and names from requests: foldhash seeds each process at random (no fixed
// collisions to send) and hashes short keys several times faster than SipHash.
use foldhash::HashMap;
use foldhash::HashMapExt;

use chrono::NaiveDate;

use super::{Message, MAX_CHUNK_SOURCE_BYTES};
use crate::model::{AccountId, EventChunk, EventKind, StoredEvent};

/// The account a message names itself: `groupId` on group calls, `context.groupId` otherwise.
pub fn explicit_account(m: &Message) -> Option<AccountId> {
    AccountId::new(explicit_account_text(m)?).ok()
}

fn explicit_account_text(m: &Message) -> Option<&str> {
    match m.kind {
        EventKind::Group => m.group_id.as_deref(),
        _ => m.context_group_id.as_deref().or(m.group_id.as_deref()),
    }
}

/// The accounts messages name themselves ([`explicit_account`]), each distinct one built once
/// however many messages name it: the table of them, and each message's index in it (`None`
/// when it names no valid account).
pub fn explicit_accounts(messages: &[Message]) -> (Vec<AccountId>, Vec<Option<usize>>) {
    let mut table = Vec::new();
    let mut seen: HashMap<&str, Option<usize>> = HashMap::new();
    let mut of_message = Vec::with_capacity(messages.len());
    for m in messages {
        let found = explicit_account_text(m).and_then(|id| {
            *seen.entry(id).or_insert_with(|| {
                AccountId::new(id)
                    .ok()
                    .map(|account| push_index(&mut table, account))
            })
        });
        of_message.push(found);
    }
    (table, of_message)
}

pub(crate) fn push_index(table: &mut Vec<AccountId>, account: AccountId) -> usize {
    table.push(account);
    table.len() - 1
}

/// Groups accepted messages into chunks per (account, day): one chunk, or several when the
/// account-day's events exceed [`MAX_CHUNK_SOURCE_BYTES`]. Splitting is deterministic (events in
/// message id order, cut by size), so a retried request writes the same chunks. Message ids,
/// names and properties are moved out of the messages, not cloned: afterwards the messages only
/// serve to apply traits.
pub fn coalesce<A: Borrow<AccountId>>(messages: &mut [Message], accounts: &[A]) -> Vec<EventChunk> {
    let mut groups: HashMap<(&AccountId, NaiveDate), Vec<(StoredEvent, usize)>> = HashMap::new();
    for (m, account) in messages.iter_mut().zip(accounts) {
        groups
            .entry((account.borrow(), m.timestamp.date_naive()))
            .or_default()
            .push((stored_event(m), m.size));
    }
    let mut keys: Vec<(&AccountId, NaiveDate)> = groups.keys().copied().collect();
    keys.sort();
    let mut chunks = Vec::with_capacity(keys.len());
    for key in keys {
        let Some(mut events) = groups.remove(&key) else {
            continue;
        };
        // The same message twice in one request is one event.
        events.sort_by(|a, b| a.0.message_id.cmp(&b.0.message_id));
        events.dedup_by(|a, b| a.0.message_id == b.0.message_id);
        let (account, day) = key;
        let total = events.len();
        let mut piece = Vec::with_capacity(total);
        let mut bytes = 0usize;
        for (done, (event, size)) in events.into_iter().enumerate() {
            if !piece.is_empty() && bytes + size > MAX_CHUNK_SOURCE_BYTES {
                let full = std::mem::replace(&mut piece, Vec::with_capacity(total - done));
                chunks.push(EventChunk::new(account.clone(), day, full));
                bytes = 0;
            }
            bytes += size;
            piece.push(event);
        }
        if !piece.is_empty() {
            chunks.push(EventChunk::new(account.clone(), day, piece));
        }
    }
    chunks
}

/// The stored form of a message, its id, name and properties moved out (and its user, but
/// from group and identify calls, whose traits are applied after storing).
fn stored_event(m: &mut Message) -> StoredEvent {
    let user_id = match m.kind {
        EventKind::Group | EventKind::Identify => m.actor().map(str::to_string),
        _ => m.user_id.take().or_else(|| m.anonymous_id.take()),
    };
    StoredEvent {
        message_id: std::mem::take(&mut m.message_id),
        kind: m.kind,
        name: m.name.take(),
        user_id,
        timestamp: m.timestamp,
        properties: std::mem::take(&mut m.properties),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn msg(id: &str, size: usize) -> Message {
        Message {
            kind: EventKind::Track,
            message_id: id.into(),
            user_id: Some("u".into()),
            anonymous_id: None,
            name: Some("Report Built".into()),
            group_id: None,
            context_group_id: Some("acme".into()),
            previous_id: None,
            properties: Default::default(),
            traits: Default::default(),
            timestamp: "2026-03-01T10:00:00Z".parse().unwrap(),
            size,
        }
    }

    #[test]
    fn a_large_account_day_is_split_the_same_way_every_time() {
        let acme = AccountId::new("acme").unwrap();
        let make = |order: &[usize]| {
            let mut ms: Vec<Message> = order
                .iter()
                .map(|i| msg(&format!("m{i:03}"), 30 * 1024))
                .collect();
            let accounts = vec![acme.clone(); ms.len()];
            coalesce(&mut ms, &accounts)
        };
        let forward: Vec<usize> = (0..20).collect();
        let backward: Vec<usize> = (0..20).rev().collect();
        let a = make(&forward);
        let b = make(&backward);
        assert_eq!(a.len(), 3, "20 × 30 KB in pieces of at most 256 KB");
        assert_eq!(a, b);
        assert_eq!(a.iter().map(|c| c.events.len()).sum::<usize>(), 20);
    }

    #[test]
    fn each_account_day_is_one_chunk_and_a_repeated_message_is_kept_once() {
        let acme = AccountId::new("acme").unwrap();
        let globex = AccountId::new("globex").unwrap();
        let mut later = msg("m2", 100);
        later.timestamp = "2026-03-02T09:00:00Z".parse().unwrap();
        let mut repeat = msg("m1", 100);
        repeat.name = Some("Repeated".into());
        let mut ms = vec![
            msg("m3", 100),
            later,
            msg("m1", 100),
            repeat,
            msg("m9", 100),
        ];
        let accounts = vec![
            globex.clone(),
            acme.clone(),
            acme.clone(),
            acme.clone(),
            globex.clone(),
        ];
        let chunks = coalesce(&mut ms, &accounts);
        let shape: Vec<(&str, String, Vec<&str>)> = chunks
            .iter()
            .map(|c| {
                let ids = c.events.iter().map(|e| e.message_id.as_str()).collect();
                (c.account_id.as_str(), c.day.to_string(), ids)
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                ("acme", "2026-03-01".to_string(), vec!["m1"]),
                ("acme", "2026-03-02".to_string(), vec!["m2"]),
                ("globex", "2026-03-01".to_string(), vec!["m3", "m9"]),
            ]
        );
        // The first of the two copies is the one kept.
        assert_eq!(chunks[0].events[0].name.as_deref(), Some("Report Built"));
    }
}
