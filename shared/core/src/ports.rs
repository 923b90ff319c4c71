//! Ports: what the use cases need from storage and queues. Each storage concern is one narrow
//! trait; [`Storage`] is all of them, which both backends (DynamoDB, embedded) implement and one
//! contract test suite checks.
//!
//! Every write is idempotent by its key: writing the same record twice leaves one record.
//! Listings return newest or key order as documented and page with opaque cursors.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use std::time::Duration;

use crate::churn::ChurnModelRecord;
use crate::error::{QueueError, StoreError};
use crate::freshness::TouchMark;
use crate::history::HistoryDay;
use crate::model::{
    AccountId, AccountListing, AccountProfile, AccountRecord, Alert, AlertQuery, AuditEntry,
    BookDay, Checkpoint, ConfigVersion, EventChunk, Intervention, Page, PortfolioSummary,
    ProvisionalListing, ProvisionalScore, SegmentListing, UserProfile,
};
use crate::run::LateMark;
use crate::segment::Segment;

pub type StoreResult<T> = Result<T, StoreError>;

/// Raw events, kept as per-account-per-day chunks.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Stores chunks durably. A chunk with the same (account, day, chunk id) overwrites.
    async fn put_chunks(&self, chunks: &[EventChunk]) -> StoreResult<()>;
    /// All chunks of one day for the accounts of one segment, in (account, chunk id) order.
    async fn chunks_for_segment_day(
        &self,
        segment: Segment,
        day: NaiveDate,
    ) -> StoreResult<Vec<EventChunk>>;
    /// All chunks of one account on one day, in chunk id order.
    async fn chunks_for_account_day(
        &self,
        account: &AccountId,
        day: NaiveDate,
    ) -> StoreResult<Vec<EventChunk>>;
}

/// The per-account record: profile (written by ingest/import), window and current score
/// (written by the daily run), provisional score (written by the provisional refresh). The
/// parts are written independently and never clobber each other.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates the account if needed and replaces its profile; window and score are kept.
    async fn put_profile(&self, account: &AccountId, profile: &AccountProfile) -> StoreResult<()>;
    /// Creates the account if needed and replaces its window and current score; profile kept.
    async fn put_scoring_state(&self, record: &AccountRecord) -> StoreResult<()>;
    /// [`AccountStore::put_scoring_state`] for a batch of accounts (the daily run's unit of
    /// work). Not atomic across accounts; each account's write is.
    async fn put_scoring_states(&self, records: &[AccountRecord]) -> StoreResult<()> {
        for record in records {
            self.put_scoring_state(record).await?;
        }
        Ok(())
    }
    /// Creates each account if needed and replaces its provisional score only; profile, window,
    /// current score and trail are kept. Not atomic across accounts; each account's write is.
    async fn put_provisional_scores(&self, scores: &[ProvisionalScore]) -> StoreResult<()>;
    async fn get_account(&self, account: &AccountId) -> StoreResult<Option<AccountRecord>>;
    /// Accounts of one segment in account id order, `limit` at most per page.
    async fn list_segment(
        &self,
        segment: Segment,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<AccountRecord>>;
}

/// People at customer accounts.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Replaces the user (by user id).
    async fn put_user(&self, user: &UserProfile) -> StoreResult<()>;
    async fn get_user(&self, user_id: &str) -> StoreResult<Option<UserProfile>>;
    /// Users currently linked to the account, in user id order.
    async fn users_of_account(&self, account: &AccountId) -> StoreResult<Vec<UserProfile>>;
}

/// Daily score history (the current score lives on the [`AccountRecord`]).
#[async_trait]
pub trait ScoreHistoryStore: Send + Sync {
    /// Stores history entries; one per (account, day), a rewrite overwrites.
    async fn put_history(&self, entries: &[HistoryDay]) -> StoreResult<()>;
    /// Entries with `from <= as_of <= to`, oldest first.
    async fn history(
        &self,
        account: &AccountId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<HistoryDay>>;
}

#[async_trait]
pub trait AlertStore: Send + Sync {
    /// Inserts a new alert; `Conflict` if one with the same id exists.
    async fn insert_alert(&self, alert: &Alert) -> StoreResult<()>;
    async fn get_alert(&self, id: &str) -> StoreResult<Option<Alert>>;
    /// Replaces an alert if the stored version is `alert.version - 1`, else `Conflict`.
    async fn update_alert(&self, alert: &Alert) -> StoreResult<()>;
    /// Alerts matching the query, newest opened first.
    async fn list_alerts(
        &self,
        query: &AlertQuery,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<Alert>>;
}

/// Workflow interventions (actions with their delivery state, outreach, follow-up, effect):
/// the record that makes delivery idempotent and outreach visible on the account.
#[async_trait]
pub trait InterventionStore: Send + Sync {
    /// Inserts a new intervention; `Conflict` if one with the same id exists.
    async fn insert_intervention(&self, intervention: &Intervention) -> StoreResult<()>;
    async fn get_intervention(&self, id: &str) -> StoreResult<Option<Intervention>>;
    /// Replaces an intervention if the stored version is `version - 1`, else `Conflict`.
    async fn update_intervention(&self, intervention: &Intervention) -> StoreResult<()>;
    /// Interventions newest created first, optionally of one account only.
    async fn list_interventions(
        &self,
        account: Option<&AccountId>,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<Intervention>>;
}

#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends an entry; an entry with the same id is stored once.
    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()>;
    /// Entries newest first, optionally for one account only.
    async fn list_audit(
        &self,
        account: Option<&AccountId>,
        cursor: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<AuditEntry>>;
}

#[async_trait]
pub trait ConfigStore: Send + Sync {
    /// Stores a new version; `Conflict` if that version number exists (two admins racing).
    async fn put_config_version(&self, version: &ConfigVersion) -> StoreResult<()>;
    async fn latest_config(&self) -> StoreResult<Option<ConfigVersion>>;
    async fn get_config_version(&self, version: u64) -> StoreResult<Option<ConfigVersion>>;
    /// Versions newest first.
    async fn list_config_versions(&self, limit: usize) -> StoreResult<Vec<ConfigVersion>>;
}

#[async_trait]
pub trait CheckpointStore: Send + Sync {
    async fn get_checkpoint(
        &self,
        run_id: &str,
        segment: Segment,
    ) -> StoreResult<Option<Checkpoint>>;
    /// Replaces the checkpoint of (run id, segment).
    async fn put_checkpoint(&self, checkpoint: &Checkpoint) -> StoreResult<()>;
    /// All checkpoints of a run, by segment.
    async fn list_checkpoints(&self, run_id: &str) -> StoreResult<Vec<Checkpoint>>;
}

#[async_trait]
pub trait SummaryStore: Send + Sync {
    /// Stores the summary for its `as_of` day and makes it the latest if it is the newest day.
    async fn put_summary(&self, summary: &PortfolioSummary) -> StoreResult<()>;
    async fn latest_summary(&self) -> StoreResult<Option<PortfolioSummary>>;
    /// Summaries with `from <= as_of <= to`, oldest first (the portfolio trend).
    async fn summaries(&self, from: NaiveDate, to: NaiveDate)
        -> StoreResult<Vec<PortfolioSummary>>;
    /// Stores owners' books of a day; a book of the same (owner, day) overwrites.
    async fn put_book_days(&self, books: &[BookDay]) -> StoreResult<()>;
    /// One owner's books (owner as [`BookDay::owner_key`] spells it) with
    /// `from <= day <= to`, oldest first: one request.
    async fn book_days(
        &self,
        owner: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<BookDay>>;
}

/// The precomputed account listing (`query::listing`): each segment's list rows as its latest
/// run left them, today's provisional rows, and a version token readers keep it by.
#[async_trait]
pub trait ListingStore: Send + Sync {
    /// Replaces the segment's stored account listing (the daily run writes one per segment).
    async fn put_segment_listing(&self, listing: &SegmentListing) -> StoreResult<()>;
    /// Replaces the provisional rows (the provisional refresh writes them); changes the
    /// listing version like a segment listing does.
    async fn put_provisional_listing(&self, listing: &ProvisionalListing) -> StoreResult<()>;
    /// The provisional rows as last written, if any.
    async fn provisional_listing(&self) -> StoreResult<Option<ProvisionalListing>>;
    /// Every segment's listing, in segment order, the provisional rows and the portfolio trend
    /// up to the newest summary, read in one request (a second only for a listing too large
    /// for one item).
    async fn account_listing(&self) -> StoreResult<AccountListing>;
    /// A token that changes whenever a segment listing or a summary is stored (`None` before
    /// the first), read with one small request: a reader keeps a decoded listing until it
    /// changes. A token read before [`ListingStore::account_listing`] never names newer data
    /// than that listing holds.
    async fn listing_version(&self) -> StoreResult<Option<String>>;
}

/// The churn risk model the daily run fits: one record per fit, by the run day it was fitted on.
#[async_trait]
pub trait ChurnModelStore: Send + Sync {
    /// Stores a fit; a fit of the same day overwrites.
    async fn put_churn_model(&self, model: &ChurnModelRecord) -> StoreResult<()>;
    /// The fit of the latest day, if any.
    async fn latest_churn_model(&self) -> StoreResult<Option<ChurnModelRecord>>;
}

/// Marks left by events that arrived after their day ended, until a run recomputes the day
/// (see `run::late`). Small: one item per (ingest request, late day).
#[async_trait]
pub trait LateEventStore: Send + Sync {
    /// Stores marks; a mark with the same (day, id) overwrites (it names the same accounts).
    async fn put_late_marks(&self, marks: &[LateMark]) -> StoreResult<()>;
    /// Every mark (`None`) or those of one day, in (day, id) order.
    async fn late_marks(&self, day: Option<NaiveDate>) -> StoreResult<Vec<LateMark>>;
    /// Deletes these marks by (day, id); a mark already gone is no error.
    async fn delete_late_marks(&self, marks: &[LateMark]) -> StoreResult<()>;
}

/// Which accounts received events of the current day, by refresh interval: kept at ingest so
/// the provisional refresh reads only them (see `crate::freshness`). Small: one item per
/// (ingest request, interval), expiring a day after its interval.
#[async_trait]
pub trait TouchedAccountStore: Send + Sync {
    /// Stores marks; a mark with the same (interval, id) overwrites (it names the same accounts).
    async fn put_touch_marks(&self, marks: &[TouchMark]) -> StoreResult<()>;
    /// The marks of the interval starting at `interval`, in id order.
    async fn touch_marks(&self, interval: DateTime<Utc>) -> StoreResult<Vec<TouchMark>>;
}

/// What was last written to each CRM for each account (see `crate::crm`): one record per
/// (CRM, account), replaced on each write; and how far each CRM's activity log has gone.
#[async_trait]
pub trait CrmPushStore: Send + Sync {
    /// Replaces the records of these (CRM, account) pairs.
    async fn put_crm_pushed(&self, pushed: &[crate::crm::CrmPushed]) -> StoreResult<()>;
    /// Every record of one CRM, in account id order.
    async fn crm_pushed(&self, crm: &str) -> StoreResult<Vec<crate::crm::CrmPushed>>;
    /// How far one CRM's activity log has been written (`crate::crm::activities`).
    async fn crm_activity_mark(&self, crm: &str) -> StoreResult<Option<crate::crm::ActivityMark>>;
    /// Replaces one CRM's activity mark.
    async fn put_crm_activity_mark(&self, mark: &crate::crm::ActivityMark) -> StoreResult<()>;
}

/// What the account page shows: the record, its newest audit entries (the timeline), its
/// alerts (newest opened first), its interventions (newest first) and its history records of
/// the days asked for (the week's and month's comparisons).
#[derive(Debug, Clone, Default)]
pub struct AccountActivity {
    /// `None`: no such account.
    pub record: Option<AccountRecord>,
    pub audit: Vec<AuditEntry>,
    pub alerts: Vec<Alert>,
    pub interventions: Vec<Intervention>,
    /// The history entries of the days asked for that exist, oldest first.
    pub history: Vec<HistoryDay>,
}

/// The account page's reads in as few requests as the backend allows (the embedded store: one
/// read transaction; DynamoDB: two); the provided method asks each store at once.
#[async_trait]
pub trait AccountActivityStore:
    AccountStore + AlertStore + AuditLog + InterventionStore + ScoreHistoryStore
{
    /// The account's record with at most `limit` of each of its audit entries, alerts and
    /// interventions, newest first, and its history records of `history_days`.
    async fn account_activity(
        &self,
        account: &AccountId,
        limit: usize,
        history_days: &[NaiveDate],
    ) -> StoreResult<AccountActivity> {
        let query = AlertQuery {
            status: None,
            account_id: Some(account.clone()),
        };
        let (from, to) = (
            history_days.iter().min().copied(),
            history_days.iter().max().copied(),
        );
        let history = async {
            match (from, to) {
                (Some(from), Some(to)) => self.history(account, from, to).await,
                _ => Ok(Vec::new()),
            }
        };
        let (record, audit, alerts, interventions, history) = futures::join!(
            self.get_account(account),
            self.list_audit(Some(account), None, limit),
            self.list_alerts(&query, None, limit),
            self.list_interventions(Some(account), None, limit),
            history
        );
        let mut history = history?;
        history.retain(|r| history_days.contains(&r.as_of));
        Ok(AccountActivity {
            record: record?,
            audit: audit?.items,
            alerts: alerts?.items,
            interventions: interventions?.items,
            history,
        })
    }
}

/// Declares a trait that is the sum of others, and the blanket impl that gives it to every
/// type implementing them all (so the list of parts is written once).
macro_rules! all_of {
    ($(#[$meta:meta])* pub trait $name:ident: $($part:path),+ $(,)?) => {
        $(#[$meta])*
        pub trait $name: $($part +)+ {}
        impl<T> $name for T where T: $($part +)+ {}
    };
}

all_of! {
    /// Every storage concern at once: what a backend implements and what the binaries hold.
    pub trait Storage:
        EventStore,
        AccountStore,
        UserStore,
        ScoreHistoryStore,
        AlertStore,
        InterventionStore,
        AuditLog,
        ConfigStore,
        CheckpointStore,
        SummaryStore,
        ListingStore,
        ChurnModelStore,
        LateEventStore,
        TouchedAccountStore,
        CrmPushStore,
        AccountActivityStore,
}

/// A message to enqueue. `id` is its idempotency key: consumers dedupe on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub id: String,
    pub body: String,
}

/// A message handed to a consumer. It stays invisible to others until its visibility timeout
/// passes; [`Queue::delete`] ends it, [`Queue::retry_later`] brings it back after a delay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub id: String,
    pub body: String,
    /// Handle for delete / retry_later.
    pub receipt: String,
    /// How many times it has been received, this time included.
    pub receive_count: u32,
}

/// A work queue with at-least-once delivery and a dead-letter queue: a message received
/// `max_receives` times without being deleted moves to the dead-letter queue instead of being
/// delivered again.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Enqueues all messages (batched as the backend allows); fails only if some could not be
    /// sent after retries.
    async fn send(&self, messages: &[OutgoingMessage]) -> Result<(), QueueError>;
    /// Up to `max` visible messages, hidden for `visibility` from other receivers.
    async fn receive(
        &self,
        max: u32,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError>;
    async fn delete(&self, receipt: &str) -> Result<(), QueueError>;
    /// Makes a received message visible again after `delay` (backoff between attempts).
    async fn retry_later(&self, receipt: &str, delay: Duration) -> Result<(), QueueError>;
    /// Messages in the dead-letter queue, without removing them.
    async fn dead_letters(&self, max: u32) -> Result<Vec<ReceivedMessage>, QueueError>;
    /// Moves up to `max` dead letters back to the main queue with a fresh receive count;
    /// returns how many moved.
    async fn replay_dead_letters(&self, max: u32) -> Result<u32, QueueError>;
}
