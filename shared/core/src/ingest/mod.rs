//! The ingest use case: validate a batch of Segment messages, attribute each to an account,
//! apply `group`/`identify` traits, and store the events durably as per-account-per-day chunks.
//!
//! Exactly once: chunk ids derive from the message ids they hold, so a retried request rewrites
//! the same chunks; the daily rollup dedupes by message id across chunks. Events are written
//! before profiles, and a 2xx is only returned once everything is stored.

pub mod message;
pub mod traits;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::StoreError;
use crate::model::{AccountId, AccountProfile, EventChunk, EventKind, StoredEvent, UserProfile};
use crate::ports::Storage;
pub use message::{ItemError, Message, ParseContext, MAX_BATCH_BYTES, MAX_EVENT_BYTES};

/// Most items one batch may hold.
pub const MAX_BATCH_ITEMS: usize = 2_500;

/// A request's items with the batch-level fields Segment defines.
#[derive(Debug, Clone)]
pub struct IngestRequest {
    pub items: Vec<Value>,
    /// The endpoint's type for single-message endpoints (`/v1/track`...).
    pub kind_hint: Option<EventKind>,
    pub batch_context: Option<Map<String, Value>>,
    pub batch_sent_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
}

/// One refused item of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub index: usize,
    #[serde(rename = "messageId", skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    pub error: String,
}

/// What happened to a request's items.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IngestOutcome {
    pub accepted: usize,
    /// Accepted items no account could be found for; kept under `~unattributed`.
    pub unattributed: usize,
    pub rejected: Vec<Rejection>,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Storage(#[from] StoreError),
}

/// Ingests Segment messages into storage.
pub struct Ingest<'a, S: Storage + ?Sized> {
    storage: &'a S,
    retention_days: u32,
}

impl<'a, S: Storage + ?Sized> Ingest<'a, S> {
    pub fn new(storage: &'a S, retention_days: u32) -> Self {
        Ingest {
            storage,
            retention_days,
        }
    }

    pub async fn handle(&self, req: IngestRequest) -> Result<IngestOutcome, IngestError> {
        let cx = ParseContext {
            received_at: req.received_at,
            oldest_accepted: req.received_at
                - chrono::Duration::days(i64::from(self.retention_days)),
        };
        let mut outcome = IngestOutcome::default();
        let mut messages = Vec::with_capacity(req.items.len());
        for (index, item) in req.items.iter().enumerate() {
            match message::parse_message(
                item,
                req.kind_hint,
                req.batch_context.as_ref(),
                req.batch_sent_at,
                &cx,
            ) {
                Ok(m) => messages.push(m),
                Err(e) => outcome.rejected.push(Rejection {
                    index,
                    message_id: item
                        .get("messageId")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    error: e.to_string(),
                }),
            }
        }
        let accounts = self.attribute(&messages).await?;
        let chunks = coalesce(&messages, &accounts);
        self.storage.put_chunks(&chunks).await?;
        self.apply_traits(&messages, req.received_at).await?;
        outcome.accepted = messages.len();
        outcome.unattributed = accounts
            .iter()
            .filter(|a| a.as_str() == AccountId::UNATTRIBUTED)
            .count();
        Ok(outcome)
    }

    /// The account of each message: its group, else `context.groupId`, else the account its user
    /// was linked to by a `group` call (in this batch or before), else `~unattributed`.
    async fn attribute(&self, messages: &[Message]) -> Result<Vec<AccountId>, StoreError> {
        let mut links: HashMap<String, Option<AccountId>> = HashMap::new();
        for m in messages.iter().filter(|m| m.kind == EventKind::Group) {
            if let (Some(user), Some(group)) = (m.actor(), explicit_account(m)) {
                links.insert(user.to_string(), Some(group));
            }
        }
        let mut out = Vec::with_capacity(messages.len());
        for m in messages {
            if let Some(account) = explicit_account(m) {
                out.push(account);
                continue;
            }
            let linked = match m.actor() {
                Some(user) => match links.get(user) {
                    Some(found) => found.clone(),
                    None => {
                        let found = self
                            .storage
                            .get_user(user)
                            .await?
                            .and_then(|u| u.account_id);
                        links.insert(user.to_string(), found.clone());
                        found
                    }
                },
                None => None,
            };
            out.push(linked.unwrap_or_else(AccountId::unattributed));
        }
        Ok(out)
    }

    /// Applies `group` traits to account profiles (and links the user), and `identify` traits to
    /// users, in event time order so the latest call wins.
    async fn apply_traits(
        &self,
        messages: &[Message],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut ordered: Vec<&Message> = messages
            .iter()
            .filter(|m| matches!(m.kind, EventKind::Group | EventKind::Identify))
            .collect();
        ordered.sort_by_key(|m| m.timestamp);
        let mut profiles: BTreeMap<AccountId, AccountProfile> = BTreeMap::new();
        let mut users: BTreeMap<String, UserProfile> = BTreeMap::new();
        for m in ordered {
            if m.kind == EventKind::Group {
                let Some(account) = explicit_account(m) else {
                    continue;
                };
                if !profiles.contains_key(&account) {
                    let existing = self.storage.get_account(&account).await?;
                    profiles.insert(
                        account.clone(),
                        existing.map(|r| r.profile).unwrap_or_default(),
                    );
                }
                if let Some(profile) = profiles.get_mut(&account) {
                    traits::apply_account_traits(profile, &m.traits);
                    profile.updated_at = Some(now);
                }
            }
            let Some(user_id) = m.user_id.as_deref() else {
                continue;
            };
            if !users.contains_key(user_id) {
                let existing = self.storage.get_user(user_id).await?;
                users.insert(
                    user_id.to_string(),
                    existing.unwrap_or_else(|| UserProfile {
                        user_id: user_id.to_string(),
                        ..Default::default()
                    }),
                );
            }
            if let Some(user) = users.get_mut(user_id) {
                match m.kind {
                    EventKind::Group => user.account_id = explicit_account(m),
                    _ => {
                        traits::apply_user_traits(user, &m.traits);
                    }
                }
                user.updated_at = Some(now);
            }
        }
        let mut dirty: Vec<AccountId> = profiles.keys().cloned().collect();
        for user in users.values() {
            let Some(account) = &user.account_id else {
                continue;
            };
            if !profiles.contains_key(account) {
                let existing = self.storage.get_account(account).await?;
                profiles.insert(
                    account.clone(),
                    existing.map(|r| r.profile).unwrap_or_default(),
                );
            }
            let Some(profile) = profiles.get_mut(account) else {
                continue;
            };
            let listed = profile.champions.contains(&user.user_id);
            if user.champion != listed {
                if user.champion {
                    profile.champions.push(user.user_id.clone());
                    profile.champions.sort();
                } else {
                    profile.champions.retain(|c| c != &user.user_id);
                }
                dirty.push(account.clone());
            }
        }
        dirty.sort();
        dirty.dedup();
        for account in &dirty {
            if let Some(profile) = profiles.get(account) {
                self.storage.put_profile(account, profile).await?;
            }
        }
        for user in users.values() {
            self.storage.put_user(user).await?;
        }
        Ok(())
    }
}

/// The account a message names itself: `groupId` on group calls, `context.groupId` otherwise.
fn explicit_account(m: &Message) -> Option<AccountId> {
    let id = match m.kind {
        EventKind::Group => m.group_id.clone(),
        _ => m
            .context
            .get("groupId")
            .and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .or_else(|| m.group_id.clone()),
    }?;
    AccountId::new(id).ok()
}

/// Groups accepted messages into one chunk per (account, day).
fn coalesce(messages: &[Message], accounts: &[AccountId]) -> Vec<EventChunk> {
    let mut groups: BTreeMap<(AccountId, NaiveDate), Vec<StoredEvent>> = BTreeMap::new();
    for (m, account) in messages.iter().zip(accounts) {
        let stored = StoredEvent {
            message_id: m.message_id.clone(),
            kind: m.kind,
            name: m.name.clone(),
            user_id: m.actor().map(str::to_string),
            timestamp: m.timestamp,
            properties: m.properties.clone(),
        };
        groups
            .entry((account.clone(), m.timestamp.date_naive()))
            .or_default()
            .push(stored);
    }
    groups
        .into_iter()
        .map(|((account, day), mut events)| {
            // The same message twice in one request is one event.
            events.sort_by(|a, b| a.message_id.cmp(&b.message_id));
            events.dedup_by(|a, b| a.message_id == b.message_id);
            EventChunk::new(account, day, events)
        })
        .collect()
}
