//! Domain types: what Vitals stores and reasons about, in the user's words.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use vitals_scoring::{AccountScore, Band, HealthScore, UsageWindow};

use crate::segment::Segment;
pub use crate::trail::{ScoreTrail, TrailPoint};

/// Reason an identifier was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum InvalidId {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} bytes")]
    TooLong { max: usize },
    #[error("must not contain control characters")]
    ControlCharacter,
}

fn check_id(s: &str) -> Result<(), InvalidId> {
    const MAX: usize = 256;
    if s.trim().is_empty() {
        return Err(InvalidId::Empty);
    }
    if s.len() > MAX {
        return Err(InvalidId::TooLong { max: MAX });
    }
    if s.chars().any(char::is_control) {
        return Err(InvalidId::ControlCharacter);
    }
    Ok(())
}

/// A customer account (Segment's `groupId`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(String);

impl AccountId {
    /// Where events that no account can be found for are kept, counted and visible.
    pub const UNATTRIBUTED: &'static str = "~unattributed";

    pub fn new(s: impl Into<String>) -> Result<Self, InvalidId> {
        let s = s.into();
        check_id(&s)?;
        Ok(AccountId(s))
    }

    pub fn unattributed() -> Self {
        AccountId(Self::UNATTRIBUTED.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn segment(&self) -> Segment {
        Segment::of(self)
    }
}

impl TryFrom<String> for AccountId {
    type Error = InvalidId;
    fn try_from(s: String) -> Result<Self, InvalidId> {
        AccountId::new(s)
    }
}

impl From<AccountId> for String {
    fn from(a: AccountId) -> String {
        a.0
    }
}

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The kind of a Segment message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Track,
    Page,
    Screen,
    Identify,
    Group,
    Alias,
}

/// One accepted event as kept in storage: enough to roll up usage and signals, and to dedupe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    #[serde(rename = "m")]
    pub message_id: String,
    #[serde(rename = "k")]
    pub kind: EventKind,
    /// Event name (track), page/screen name, or absent.
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Skew-corrected event time.
    #[serde(rename = "t")]
    pub timestamp: DateTime<Utc>,
    /// The properties object as compact JSON, parsed where read.
    #[serde(
        rename = "p",
        default,
        skip_serializing_if = "crate::ingest::properties::Properties::is_empty"
    )]
    pub properties: crate::ingest::properties::Properties,
}

/// The events of one account on one day from one accepted request. Its id is derived from the
/// message ids it holds, so a retried request writes the same chunk again instead of a new one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventChunk {
    pub account_id: AccountId,
    pub day: NaiveDate,
    pub chunk_id: String,
    pub events: Vec<StoredEvent>,
}

impl EventChunk {
    /// Builds a chunk whose id is a digest of its (sorted) message ids.
    pub fn new(account_id: AccountId, day: NaiveDate, mut events: Vec<StoredEvent>) -> Self {
        use sha2::{Digest, Sha256};
        events.sort_by(|a, b| a.message_id.cmp(&b.message_id));
        let mut digest = Sha256::new();
        for e in &events {
            digest.update(e.message_id.as_bytes());
            digest.update([0u8]);
        }
        let chunk_id = hex::encode(&digest.finalize()[..12]);
        EventChunk {
            account_id,
            day,
            chunk_id,
            events,
        }
    }

    pub fn segment(&self) -> Segment {
        self.account_id.segment()
    }

    /// Compact payload both storage backends keep (see [`crate::ingest::codec`]).
    pub fn encode_events(&self) -> Result<Vec<u8>, crate::StoreError> {
        crate::ingest::codec::encode(&self.events)
    }

    /// Reads a payload written by [`EventChunk::encode_events`] (any format version).
    pub fn decode_events(bytes: &[u8]) -> Result<Vec<StoredEvent>, crate::StoreError> {
        crate::ingest::codec::decode(bytes)
    }
}

/// What we know about an account from `group` traits or a CRM import.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountProfile {
    pub name: Option<String>,
    pub plan: Option<String>,
    pub tier: Option<String>,
    pub seats: Option<u32>,
    pub mrr: Option<f64>,
    pub arr: Option<f64>,
    pub renewal_date: Option<NaiveDate>,
    /// The owning CSM (email), who sees the account and receives its alerts.
    pub owner: Option<String>,
    pub owner_manager: Option<String>,
    pub region: Option<String>,
    pub product_line: Option<String>,
    /// Contract start; the lifecycle stage is judged from it.
    pub started_on: Option<NaiveDate>,
    /// User ids of the customer's champions (users identified with `champion: true`).
    #[serde(default)]
    pub champions: Vec<String>,
    #[serde(default)]
    pub custom: BTreeMap<String, serde_json::Value>,
    pub updated_at: Option<DateTime<Utc>>,
    /// Business outcomes (churned, renewed, expanded, downgraded) recorded from mapped events,
    /// oldest first, one per source event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<Outcome>,
}

/// What happened to an account commercially.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Churned,
    Renewed,
    Expanded,
    Downgraded,
}

/// One recorded outcome: its kind, the day it happened and the message id it came from (so a
/// re-sent event records it once).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Outcome {
    pub kind: OutcomeKind,
    pub on: NaiveDate,
    pub source: String,
}

/// The current score with its explanation, and the history entry for one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreRecord {
    pub account_id: AccountId,
    pub as_of: NaiveDate,
    pub computed_at: DateTime<Utc>,
    /// The health score with its explanation, decline verdict, renewal risk and expansion.
    pub score: AccountScore,
}

impl ScoreRecord {
    pub fn health(&self) -> &HealthScore {
        &self.score.health
    }
}

/// Everything the daily run needs about one account, kept as one record so that a run reads
/// one item per account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountRecord {
    pub account_id: AccountId,
    #[serde(default)]
    pub profile: AccountProfile,
    #[serde(default)]
    pub window: UsageWindow,
    #[serde(default)]
    pub score: Option<ScoreRecord>,
    /// The last 180 days of score, for charts that should not read the history.
    #[serde(default, skip_serializing_if = "ScoreTrail::is_empty")]
    pub trail: ScoreTrail,
    /// The latest "today so far" score, written by the provisional refresh only (never by the
    /// daily run): see [`AccountRecord::current_provisional`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisional: Option<ProvisionalScore>,
}

impl AccountRecord {
    pub fn new(account_id: AccountId) -> Self {
        AccountRecord {
            account_id,
            profile: AccountProfile::default(),
            window: UsageWindow::default(),
            score: None,
            trail: ScoreTrail::default(),
            provisional: None,
        }
    }

    /// The provisional score, unless a daily score of its day or a later one supersedes it.
    pub fn current_provisional(&self) -> Option<&ProvisionalScore> {
        self.provisional
            .as_ref()
            .filter(|p| self.score.as_ref().is_none_or(|s| s.as_of < p.day))
    }
}

/// A provisional "today so far" score (see `crate::freshness`): the account's window through
/// its last scored day, with the current, unfinished UTC day's events so far rolled into a
/// copy, scored as the daily run scores. Nothing follows from it (no score event, no alert):
/// day-based alerts wait until the day is complete, and its daily score supersedes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvisionalScore {
    pub account_id: AccountId,
    /// The UTC day it covers so far.
    pub day: NaiveDate,
    pub computed_at: DateTime<Utc>,
    /// A digest of what it was computed from (the window's last day, the chunks rolled in, the
    /// profile's last change): a refresh that finds the same inputs writes nothing.
    pub inputs: String,
    /// The explained score, as of `day` (without the usage snapshot kept for model fits).
    pub score: AccountScore,
}

/// A person at a customer account (`identify` traits), and the account they belong to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserProfile {
    pub user_id: String,
    /// The account a `group` call linked this user to; their later events count for it.
    pub account_id: Option<AccountId>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub role: Option<String>,
    #[serde(default)]
    pub champion: bool,
    #[serde(default)]
    pub traits: BTreeMap<String, serde_json::Value>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Critical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Open,
    Acknowledged,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Open => "open",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Resolved => "resolved",
        }
    }
}

/// One change of an alert's status, with who made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertTransition {
    pub at: DateTime<Utc>,
    pub by: String,
    pub to: AlertStatus,
    #[serde(default)]
    pub note: Option<String>,
}

/// A problem on an account that someone should act on. One open alert per dedupe key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: String,
    pub account_id: AccountId,
    /// account + kind + cause: the same problem always has the same key.
    pub dedupe_key: String,
    pub kind: String,
    pub cause: String,
    pub severity: Severity,
    pub status: AlertStatus,
    pub owner: Option<String>,
    /// The scoring day the alert is about (what a reader should see, rather than when it was
    /// processed); absent on alerts stored before it was kept (see [`Alert::about`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about_day: Option<NaiveDate>,
    /// When Vitals processed it (a backfill opens June's alerts in September).
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub snooze_reason: Option<String>,
    #[serde(default)]
    pub transitions: Vec<AlertTransition>,
    #[serde(default)]
    pub details: serde_json::Value,
    /// Optimistic concurrency: an update must carry the stored version + 1.
    pub version: u64,
}

impl Alert {
    /// The scoring day the alert is about: `about_day`, else the day of the score event it
    /// keeps in `details` (alerts stored before `about_day`), else the day it was opened.
    pub fn about(&self) -> NaiveDate {
        self.about_day
            .or_else(|| {
                self.details
                    .get("as_of")
                    .and_then(|v| v.as_str())
                    .and_then(|s| s.parse().ok())
            })
            .unwrap_or_else(|| self.opened_at.date_naive())
    }
}

/// Filters for listing alerts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertQuery {
    pub status: Option<AlertStatus>,
    pub account_id: Option<AccountId>,
}

/// One automated (or human) action, kept for the workflow audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Deterministic for automated actions, so a retried action is logged once.
    pub id: String,
    pub at: DateTime<Utc>,
    pub account_id: Option<AccountId>,
    pub actor: String,
    pub action: String,
    #[serde(default)]
    pub detail: serde_json::Value,
}

/// A stored version of the configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigVersion {
    pub version: u64,
    pub author: String,
    pub created_at: DateTime<Utc>,
    /// The configuration text as applied.
    pub body: String,
    /// What changed, in words, for the version list.
    pub summary: String,
}

/// Progress of one scoring run over one segment, so a crashed run resumes where it stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub run_id: String,
    pub segment: Segment,
    pub done: bool,
    /// The last account fully scored; resuming starts after it.
    pub last_account: Option<AccountId>,
    pub accounts_scored: u64,
    pub events_emitted: u64,
    pub updated_at: DateTime<Utc>,
    /// The segment's share of the portfolio summary so far; merged when all segments are done.
    #[serde(default)]
    pub summary: PortfolioSummary,
}

/// The precomputed portfolio view dashboards read instead of scanning accounts.
///
/// Serde goes through [`PortfolioSummary::from_stored`] (`remote = "Self"`), so summaries stored
/// before a figure got its own field still read back with it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct PortfolioSummary {
    pub as_of: Option<NaiveDate>,
    pub computed_at: Option<DateTime<Utc>>,
    pub accounts: u64,
    #[serde(default)]
    pub bands: BTreeMap<String, u64>,
    /// Accounts per 10-point score bucket: [0-10), [10-20) ... [90-100].
    #[serde(default)]
    pub histogram: Vec<u64>,
    pub mean_score: f64,
    pub mrr_at_risk: f64,
    pub expansion_candidates: u64,
    /// Events of the day no account could be found for (kept under `~unattributed`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unattributed_events: u64,
    /// Further figures later features add without a storage change.
    #[serde(default)]
    pub extra: BTreeMap<String, serde_json::Value>,
    /// Each owner's book (by [`BookDay::owner_key`]), summed in the segments' checkpoints; the
    /// run stores it as [`BookDay`]s (a CSM's trend), not in the day's summary.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_owner: BTreeMap<String, BookFigures>,
}

/// Where summaries stored before `unattributed_events` had its own field kept it, in `extra`.
const OLD_UNATTRIBUTED_KEY: &str = "unattributed_events";

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl PortfolioSummary {
    /// Moves a figure an older version kept in `extra` into its field (a migration on read).
    fn from_stored(mut summary: PortfolioSummary) -> PortfolioSummary {
        if let Some(old) = summary.extra.remove(OLD_UNATTRIBUTED_KEY) {
            // Older runs summed it as a float (`3.0`).
            let count = old
                .as_u64()
                .or_else(|| old.as_f64().map(|f| f.max(0.0).round() as u64))
                .unwrap_or(0);
            summary.unattributed_events = summary.unattributed_events.saturating_add(count);
        }
        summary
    }
}

impl Serialize for PortfolioSummary {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        PortfolioSummary::serialize(self, serializer)
    }
}

impl<'de> Deserialize<'de> for PortfolioSummary {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        PortfolioSummary::deserialize(deserializer).map(PortfolioSummary::from_stored)
    }
}

/// What the portfolio trend plots for one book (an owner's active, scored accounts) on a day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct BookFigures {
    pub accounts: u64,
    pub at_risk: u64,
    pub mrr_at_risk: f64,
    #[serde(default)]
    pub expansion_candidates: u64,
    /// Sum of the scores (the mean is `score_sum / accounts`).
    #[serde(default)]
    pub score_sum: f64,
}

impl BookFigures {
    pub fn add(&mut self, other: &BookFigures) {
        self.accounts += other.accounts;
        self.score_sum += other.score_sum;
        self.at_risk += other.at_risk;
        self.mrr_at_risk += other.mrr_at_risk;
        self.expansion_candidates += other.expansion_candidates;
    }
}

/// One owner's book on one day, written by the daily run next to the day's summary so a CSM's
/// or AE's portfolio trend reads one small range instead of every account's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookDay {
    /// The owner as [`BookDay::owner_key`] spells it.
    pub owner: String,
    pub day: NaiveDate,
    pub figures: BookFigures,
}

impl BookDay {
    /// Owners compare case-insensitively (they are emails), so a book is stored under the
    /// trimmed, lower-case owner.
    pub fn owner_key(owner: &str) -> String {
        owner.trim().to_lowercase()
    }
}

/// One segment's rows of the account list as its latest scoring run left them. The daily run
/// writes one per segment, so the account list and the dashboard read every segment's rows in
/// one request instead of scanning account records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentListing {
    pub segment: Segment,
    /// The day of the run that wrote it.
    pub as_of: NaiveDate,
    /// In account id order.
    pub rows: Vec<crate::query::accounts::AccountRow>,
}

/// The list rows of the accounts scored provisionally on `day`, each carrying its provisional
/// score (the provisional refresh rewrites it; the account list merges it into the segments'
/// rows by account).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvisionalListing {
    pub day: NaiveDate,
    /// In account id order.
    pub rows: Vec<crate::query::accounts::AccountRow>,
}

impl ProvisionalListing {
    /// Most rows kept: the newest provisional scores of the day that fit in one DynamoDB item
    /// (about 120 bytes each, packed). An account left out still shows its provisional score on
    /// its own page.
    pub const MAX_ROWS: usize = 2_500;
}

/// What the account list and the portfolio dashboard read, at once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountListing {
    /// By segment; a segment no run has listed yet is absent.
    pub segments: Vec<SegmentListing>,
    /// Today's provisional rows, when a provisional refresh wrote some.
    pub provisional: Option<ProvisionalListing>,
    /// The summaries of the [`AccountListing::TREND_DAYS`] days up to the newest summary
    /// (inclusive), oldest first; empty before the first run.
    pub trend: Vec<PortfolioSummary>,
}

impl AccountListing {
    /// Length of the portfolio trend the listing carries (the dashboard's trend chart).
    pub const TREND_DAYS: u32 = 90;
}

/// One page of a listing, with an opaque cursor for the next.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Where one workflow action stands within an intervention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    /// Not done yet (or failed and waiting for the message's next attempt).
    Pending,
    Done,
    /// Not needed (snoozed alert, cooldown, no recipient, a backfilled day); `detail` says why.
    Skipped,
    /// Failed for good (the destination refused it, no recipient): recorded once with the
    /// reason in `last_error`, never retried.
    Failed,
}

/// One action of an intervention, with its idempotent delivery key: an action that is `Done`
/// is never performed again, whatever happens to the message that carried it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRecord {
    /// `{intervention id}#{index}`: also sent to receivers as the delivery key.
    pub key: String,
    /// `alert`, `notify`, `task`, `ticket`, `outreach`, `follow_up`, `escalate`, `webhook`,
    /// `campaign` (`outreach_review` for an outreach's review copy): for people and the log.
    pub action: String,
    pub channel: Option<String>,
    pub status: ActionStatus,
    #[serde(default)]
    pub attempts: u32,
    pub last_error: Option<String>,
    pub done_at: Option<DateTime<Utc>>,
    /// What the receiver said, or why the action was skipped.
    pub detail: Option<String>,
    /// The workflow action as planned: a retry performs this, whatever the configuration says
    /// by then. `None` on records planned before it was kept (the configuration's action at the
    /// key's index is used for those).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned: Option<crate::alerts::rules::Action>,
}

/// How an outreach went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutreachRoute {
    /// Sent automatically to the contact from the owner's address (standard accounts).
    Sent,
    /// Routed to the CSM as an editable draft (high-value accounts).
    Review,
}

/// A personalised outreach logged on the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outreach {
    pub template: String,
    pub route: OutreachRoute,
    pub contact_user_id: Option<String>,
    pub contact_name: Option<String>,
    pub to: Option<String>,
    pub from: Option<String>,
    pub subject: String,
    pub body: String,
    /// The personalisation used: feature, last active day, tip.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// The score some days after an intervention (intervention effectiveness).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreAfter {
    pub days: u32,
    pub as_of: NaiveDate,
    pub score: f64,
    /// `score - score_at_start`.
    pub change: f64,
}

/// One workflow acting on one trigger for one account: its actions and their delivery state,
/// the outreach it sent or drafted, the follow-up it scheduled and what the score did after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intervention {
    /// `{workflow}:{trigger id}`: the same trigger never starts the same workflow twice.
    pub id: String,
    pub account_id: AccountId,
    pub workflow: String,
    /// The trigger: a score event kind, `alert_fired` or `no_response`.
    pub trigger: String,
    /// The id of the score event (or alert, or earlier intervention) that triggered it.
    pub trigger_id: String,
    pub created_at: DateTime<Utc>,
    /// The scoring day the trigger is about.
    pub as_of: NaiveDate,
    pub score_at_start: Option<f64>,
    #[serde(default)]
    pub actions: Vec<ActionRecord>,
    /// The notifications to deliver, rendered once so retries send the same content.
    #[serde(default)]
    pub notifications: Vec<crate::notify::Notification>,
    #[serde(default)]
    pub outreach: Option<Outreach>,
    /// Alert opened by this intervention, if any.
    #[serde(default)]
    pub alert_id: Option<String>,
    /// A follow-up is due on this day unless a response arrives first.
    #[serde(default)]
    pub follow_up_due: Option<NaiveDate>,
    #[serde(default)]
    pub responded_on: Option<NaiveDate>,
    /// The follow-up was handed to the queue.
    #[serde(default)]
    pub follow_up_sent: bool,
    #[serde(default)]
    pub effect: Vec<ScoreAfter>,
    /// Optimistic concurrency, as for alerts.
    pub version: u64,
}

impl Intervention {
    pub fn is_complete(&self) -> bool {
        self.actions
            .iter()
            .all(|a| a.status != ActionStatus::Pending)
    }
}
