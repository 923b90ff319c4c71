//! The ingest use case: validate a batch of messages (Segment or PostHog, translated to one
//! [`Message`] shape), attribute each to an account, apply `group`/`identify` traits and mapped
//! outcomes, and store the events durably as per-account-per-day chunks.
//!
//! Exactly once: chunk ids derive from the message ids they hold, so a retried request rewrites
//! the same chunks; the daily rollup dedupes by message id across chunks. Events are written
//! before profiles, and a 2xx is only returned once everything is stored.
//!
//! Late events: an event dated before the UTC day it arrives on leaves a mark (one small write
//! per late day of a request, after its chunks) so the next run recomputes its day: see
//! `run::late`. Events of the current UTC day leave a touch mark (at most one small write per
//! request, none for accounts the process already marked in the interval) so the provisional
//! refresh scores their accounts within minutes: see `crate::freshness`.

mod chunking;
pub mod codec;
#[cfg(test)]
mod damage;
pub mod import;
mod json_cursor;
mod json_scan;
pub mod message;
mod one_pass;
pub mod posthog;
pub mod properties;
pub mod segment;
mod timestamp;
pub mod traits;
pub mod trust;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::config::SignalMapping;
use crate::error::StoreError;
use crate::freshness::TouchRecorder;
use crate::model::{AccountId, AccountProfile, EventChunk, EventKind, Outcome, UserProfile};
use crate::ports::Storage;
use crate::rollup::MappedSignal;
use crate::run::LateMark;
use chunking::push_index;
pub use chunking::{coalesce, explicit_account, explicit_accounts};
pub use message::{
    BatchDefaults, ItemError, Message, ParseContext, MAX_BATCH_BYTES, MAX_EVENT_BYTES,
};
pub use trust::{KeyTrust, ProtectedTraits, DEFAULT_PROTECTED_TRAITS};

/// Most items one batch may hold.
pub const MAX_BATCH_ITEMS: usize = 2_500;
/// Most bytes of received JSON one chunk holds: an account-day with more events in one request
/// is split over several chunks, keeping every DynamoDB item well under its 400 KB limit even
/// before compression.
pub const MAX_CHUNK_SOURCE_BYTES: usize = 256 * 1024;

/// One refused item of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub index: usize,
    #[serde(rename = "messageId", skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    pub error: String,
}

/// A request's items after parsing: the valid messages and the refused items.
#[derive(Debug, Clone, Default)]
pub struct ParsedBatch {
    pub messages: Vec<Message>,
    pub rejected: Vec<Rejection>,
    /// The write key the body carried (`writeKey`, PostHog's `api_key`), if any.
    pub write_key: Option<String>,
}

/// Why a whole request is refused (as opposed to one of its items).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    TooLarge(String),
}

/// What happened to a request's items.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IngestOutcome {
    pub accepted: usize,
    /// Accepted items no account could be found for; kept under `~unattributed`.
    pub unattributed: usize,
    pub rejected: Vec<Rejection>,
    /// Protected traits (owner, MRR, plan...) a client key sent, which were not applied.
    pub ignored_traits: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Storage(#[from] StoreError),
}

/// Marks for the account-days of `chunks` dated before the UTC day they were received on:
/// such a day may have been scored already (see `run::late`). One mark per late day.
fn late_marks(chunks: &[EventChunk], received_at: DateTime<Utc>) -> Vec<LateMark> {
    let today = received_at.date_naive();
    let mut late: BTreeMap<NaiveDate, Vec<AccountId>> = BTreeMap::new();
    for chunk in chunks {
        if chunk.day < today && chunk.account_id.as_str() != AccountId::UNATTRIBUTED {
            late.entry(chunk.day)
                .or_default()
                .push(chunk.account_id.clone());
        }
    }
    late.into_iter()
        .map(|(day, accounts)| LateMark::new(day, accounts))
        .collect()
}

/// Ingests messages into storage.
pub struct Ingest<'a, S: Storage + ?Sized> {
    storage: &'a S,
    signals: Option<&'a SignalMapping>,
    touches: Option<&'a TouchRecorder>,
    /// Set when the sender's key is a client key: these traits are not taken from it.
    protected: Option<&'a ProtectedTraits>,
}

impl<'a, S: Storage + ?Sized> Ingest<'a, S> {
    pub fn new(storage: &'a S) -> Self {
        Ingest {
            storage,
            signals: None,
            touches: None,
            protected: None,
        }
    }

    /// The trust of the sender's write key: from a client key, `protected` traits are ignored
    /// (and counted); without this call every trait is taken (CLI imports, server keys).
    pub fn with_trust(mut self, trust: KeyTrust, protected: &'a ProtectedTraits) -> Self {
        self.protected = (trust == KeyTrust::Client).then_some(protected);
        self
    }

    /// Records which accounts received events of today, for provisional scores (without it,
    /// nothing is recorded: their accounts wait for the daily run).
    pub fn with_touches(mut self, recorder: &'a TouchRecorder) -> Self {
        self.touches = Some(recorder);
        self
    }

    /// Uses this `[signals]` mapping to recognise outcome events (default mapping otherwise).
    pub fn with_signals(mut self, signals: &'a SignalMapping) -> Self {
        self.signals = Some(signals);
        self
    }

    pub async fn handle(
        &self,
        batch: ParsedBatch,
        received_at: DateTime<Utc>,
    ) -> Result<IngestOutcome, IngestError> {
        let ParsedBatch {
            mut messages,
            rejected,
            ..
        } = batch;
        let (table, of_message) = self.attribute(&messages).await?;
        // Each message borrows its account from the table: no account id is copied per event.
        let accounts: Vec<&AccountId> = of_message.iter().map(|&i| &table[i]).collect();
        let unattributed = accounts
            .iter()
            .filter(|a| a.as_str() == AccountId::UNATTRIBUTED)
            .count();
        let accepted = messages.len();
        let chunks = coalesce(&mut messages, &accounts);
        self.storage.put_chunks(&chunks).await?;
        // After the chunks: a run that reads a mark finds its events stored.
        let late = late_marks(&chunks, received_at);
        if !late.is_empty() {
            self.storage.put_late_marks(&late).await?;
        }
        // Also after the chunks: a refresh that reads the mark finds its events.
        if let Some(mark) = self.touches.and_then(|r| r.unmarked(&chunks, received_at)) {
            self.storage
                .put_touch_marks(std::slice::from_ref(&mark))
                .await?;
            if let Some(recorder) = self.touches {
                recorder.stored(&mark);
            }
        }
        let outcomes = self.outcomes(&chunks);
        let ignored_traits = self.apply_traits(&messages, &outcomes, received_at).await?;
        Ok(IngestOutcome {
            accepted,
            unattributed,
            rejected,
            ignored_traits,
        })
    }

    /// Outcome events (`Account Churned`...) per account, from the stored chunks.
    fn outcomes(&self, chunks: &[EventChunk]) -> BTreeMap<AccountId, Vec<Outcome>> {
        let default;
        let signals = match self.signals {
            Some(s) => s,
            None => {
                default = SignalMapping::default();
                &default
            }
        };
        let mut out: BTreeMap<AccountId, Vec<Outcome>> = BTreeMap::new();
        for chunk in chunks {
            if chunk.account_id.as_str() == AccountId::UNATTRIBUTED {
                continue;
            }
            for e in &chunk.events {
                if e.kind != EventKind::Track {
                    continue;
                }
                let Some(MappedSignal::Outcome(kind)) =
                    e.name.as_deref().and_then(|n| signals.signal_of(n))
                else {
                    continue;
                };
                out.entry(chunk.account_id.clone())
                    .or_default()
                    .push(Outcome {
                        kind,
                        on: e.timestamp.date_naive(),
                        source: e.message_id.clone(),
                    });
            }
        }
        out
    }

    /// The account of each message: its group, else `context.groupId`, else the account its user
    /// was linked to by a `group` call (in this batch or before), else `~unattributed`. Each
    /// distinct account is in the table once; messages have its index.
    async fn attribute(
        &self,
        messages: &[Message],
    ) -> Result<(Vec<AccountId>, Vec<usize>), StoreError> {
        let (mut table, explicit) = explicit_accounts(messages);
        let mut links: HashMap<&str, Option<usize>> = HashMap::new();
        for (m, found) in messages.iter().zip(&explicit) {
            if let (EventKind::Group, Some(user), Some(i)) = (m.kind, m.actor(), found) {
                links.insert(user, Some(*i));
            }
        }
        let mut unattributed = None;
        let mut out = Vec::with_capacity(messages.len());
        for (m, found) in messages.iter().zip(explicit) {
            if let Some(i) = found {
                out.push(i);
                continue;
            }
            let linked = match m.actor() {
                Some(user) => match links.get(user) {
                    Some(found) => *found,
                    None => {
                        let found = self
                            .storage
                            .get_user(user)
                            .await?
                            .and_then(|u| u.account_id)
                            .map(|a| push_index(&mut table, a));
                        links.insert(user, found);
                        found
                    }
                },
                None => None,
            };
            let i = match linked {
                Some(i) => i,
                None => *unattributed
                    .get_or_insert_with(|| push_index(&mut table, AccountId::unattributed())),
            };
            out.push(i);
        }
        Ok((table, out))
    }

    /// Applies `group` traits to account profiles (and links the user), and `identify` traits to
    /// users, in event time order so the latest call wins; records outcomes on profiles.
    /// Returns how many protected traits were ignored (client keys only).
    async fn apply_traits(
        &self,
        messages: &[Message],
        outcomes: &BTreeMap<AccountId, Vec<Outcome>>,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let mut ignored = 0;
        let mut ordered: Vec<&Message> = messages
            .iter()
            .filter(|m| matches!(m.kind, EventKind::Group | EventKind::Identify))
            .collect();
        ordered.sort_by_key(|m| m.timestamp);
        let mut profiles: BTreeMap<AccountId, AccountProfile> = BTreeMap::new();
        let mut users: BTreeMap<String, UserProfile> = BTreeMap::new();
        let mut dirty: Vec<AccountId> = Vec::new();
        for (account, found) in outcomes {
            let profile = self.profile(&mut profiles, account).await?;
            let before = profile.outcomes.len();
            for o in found {
                if !profile.outcomes.iter().any(|x| x.source == o.source) {
                    profile.outcomes.push(o.clone());
                }
            }
            if profile.outcomes.len() != before {
                profile
                    .outcomes
                    .sort_by(|a, b| (a.on, &a.source).cmp(&(b.on, &b.source)));
                profile.updated_at = Some(now);
                dirty.push(account.clone());
            }
        }
        for m in ordered {
            if m.kind == EventKind::Group {
                let Some(account) = explicit_account(m) else {
                    continue;
                };
                let profile = self.profile(&mut profiles, &account).await?;
                match self.protected {
                    Some(protected) => {
                        let (allowed, dropped) = protected.strip(&m.traits);
                        ignored += dropped;
                        traits::apply_account_traits(profile, &allowed);
                    }
                    None => {
                        traits::apply_account_traits(profile, &m.traits);
                    }
                }
                profile.updated_at = Some(now);
                dirty.push(account);
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
        for user in users.values() {
            let Some(account) = &user.account_id else {
                continue;
            };
            let profile = self.profile(&mut profiles, account).await?;
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
        Ok(ignored)
    }

    /// The profile of an account, read from storage the first time it is needed.
    async fn profile<'p>(
        &self,
        profiles: &'p mut BTreeMap<AccountId, AccountProfile>,
        account: &AccountId,
    ) -> Result<&'p mut AccountProfile, StoreError> {
        if !profiles.contains_key(account) {
            let existing = self.storage.get_account(account).await?;
            profiles.insert(
                account.clone(),
                existing.map(|r| r.profile).unwrap_or_default(),
            );
        }
        Ok(profiles.entry(account.clone()).or_default())
    }
}
