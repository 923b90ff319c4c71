//! The daily scoring run: for one day, segment by segment, roll each account's events into its
//! usage window, score it, emit score events, and save the window, the current score and a
//! history entry; then merge the segments' partial summaries into the portfolio summary.
//!
//! Idempotent and resumable: each segment checkpoints after every batch of accounts; events are
//! sent before the state that records them is saved, with deterministic ids, so a crash at any
//! point followed by a re-run sends at most the same events again (consumers dedupe by id) and
//! yields the same scores. An account whose window already covers the day is not rolled again.

mod backfill;
mod days;
mod events;
mod facts;
mod late;
mod provisional;
mod rescore;
mod segment;
mod summary;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Days, NaiveDate};
use serde::Serialize;
use vitals_scoring::kernel::needs_peers;
use vitals_scoring::kernel::score_with_usage;
use vitals_scoring::kernel::DayPlan;
use vitals_scoring::{PeerBenchmarks, PeerCollector};

use crate::clock::Clock;
use crate::config::VitalsConfig;
use crate::error::{QueueError, StoreError};
use crate::lifecycle::{account_state, record_state, ActivitySpan};
use crate::model::{AccountId, AccountRecord, EventChunk, PortfolioSummary, ScoreRecord};
use crate::ports::{Queue, Storage};
use crate::rollup::day_activity_with_signals;
use crate::score_event::ScoreEvent;
use crate::segment::{Segment, SEGMENT_COUNT};

pub use days::{last_scorable_day, DayNotOver};
pub use events::score_events;
pub use facts::account_facts;
pub use late::{LateMark, LateReport};
pub use provisional::{PeerCache, ProvisionalRefresh, ProvisionalReport, MAX_UNSCORED_DAYS};
pub use rescore::RescoreReport;
pub use summary::CHURNED_ACCOUNTS_KEY;

/// Summary figures that other commands write and each day's summary keeps.
const CARRIED_FORWARD: &[&str] = &["churn_prediction_accuracy"];

/// Account records the peer pass keeps for the scoring pass, so that a day reads them once
/// (in memory, about 12 KB per account with 120 active days: 600 MB at the limit); a larger
/// portfolio has its later segments read again.
const KEPT_FROM_PEER_PASS: usize = 50_000;

/// Accounts scored (and counted in a summary) at a time.
const BATCH: usize = 100;
/// Accounts saved per write, and between two checkpoints of a daily run: a crash scores at
/// most this many again; each save is one queue send and one transaction per kind of row.
const SAVE_BATCH: usize = 10 * BATCH;
/// Accounts read per page when listing a segment.
const PAGE: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Storage(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// Effectiveness tracking or follow-ups after the day failed (the scores are saved).
    #[error("after-run work failed: {0}")]
    FollowUp(String),
    #[error("cannot finish the run of {day}: {missing} segment(s) not done yet")]
    Incomplete { day: NaiveDate, missing: usize },
    /// A score event could not be written as a queue message (nothing was sent).
    #[error("score event not sent: {0}")]
    Encode(String),
}

impl RunError {
    pub fn is_retryable(&self) -> bool {
        match self {
            RunError::Storage(e) => e.is_retryable(),
            RunError::Queue(e) => e.is_retryable(),
            RunError::Incomplete { .. } | RunError::FollowUp(_) => true,
            RunError::Encode(_) => false,
        }
    }
}

/// What a run (or one segment of it) did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunReport {
    pub segments_run: u32,
    /// Segments already done by an earlier (or concurrent) invocation.
    pub segments_skipped: u32,
    pub accounts_scored: u64,
    pub events_emitted: u64,
}

impl RunReport {
    fn add(&mut self, other: &RunReport) {
        self.segments_run += other.segments_run;
        self.segments_skipped += other.segments_skipped;
        self.accounts_scored += other.accounts_scored;
        self.events_emitted += other.events_emitted;
    }
}

pub struct DailyRun<'a, S: Storage + ?Sized> {
    storage: &'a S,
    queue: &'a dyn Queue,
    config: &'a VitalsConfig,
    clock: &'a dyn Clock,
    /// CRMs the day's figures are written back to (`[crm]`), none unless given.
    crm: Vec<std::sync::Arc<dyn crate::crm::CrmSink>>,
}

impl<'a, S: Storage + ?Sized> DailyRun<'a, S> {
    pub fn new(
        storage: &'a S,
        queue: &'a dyn Queue,
        config: &'a VitalsConfig,
        clock: &'a dyn Clock,
    ) -> Self {
        DailyRun {
            storage,
            queue,
            config,
            clock,
            crm: Vec::new(),
        }
    }

    /// Writes each finished day's changed figures to these CRMs (see [`crate::crm`]).
    pub fn with_crm_sinks(mut self, sinks: Vec<std::sync::Arc<dyn crate::crm::CrmSink>>) -> Self {
        self.crm = sinks;
        self
    }

    pub fn run_id(day: NaiveDate) -> String {
        format!("daily:{day}")
    }

    /// Runs every segment of `day` in turn, then publishes the portfolio summary.
    /// `on_segment` is called after each segment (for progress output).
    pub async fn run_day(
        &self,
        day: NaiveDate,
        on_segment: &mut (dyn FnMut(Segment) + Send),
    ) -> Result<RunReport, RunError> {
        let mut report = RunReport::default();
        let (peers, mut kept) = self.peer_benchmarks(day).await?;
        for segment in Segment::all() {
            let read = kept.remove(&segment);
            report.add(
                &self
                    .run_segment_with(day, segment, peers.as_ref(), read)
                    .await?,
            );
            on_segment(segment);
        }
        self.publish_summary(day).await?;
        self.after_day(day).await?;
        tracing::debug!(%day, accounts = report.accounts_scored, events = report.events_emitted, "scoring run finished");
        Ok(report)
    }

    /// Whether every segment of `day` is done (the day needs no more work).
    pub async fn is_done(&self, day: NaiveDate) -> Result<bool, RunError> {
        let done = self.storage.list_checkpoints(&Self::run_id(day)).await?;
        Ok(done.iter().filter(|c| c.done).count() == usize::from(SEGMENT_COUNT))
    }

    /// Scores one segment of `day`, resuming from its checkpoint (the fan-out unit). Scorecards
    /// normalised against peers need the whole portfolio: use [`DailyRun::run_day`] for them.
    pub async fn run_segment(
        &self,
        day: NaiveDate,
        segment: Segment,
    ) -> Result<RunReport, RunError> {
        self.run_segment_with(day, segment, None, None).await
    }

    /// When a scorecard normalises against peers: a first, read-only pass over every segment
    /// measuring each account as of `day`, so percentiles rank the whole portfolio. Accounts
    /// already rolled (a resumed run) are measured from their saved window, so a resumed run
    /// ranks against the same peers as an uninterrupted one.
    ///
    /// Answers the benchmarks and what was read, by segment, up to [`KEPT_FROM_PEER_PASS`]
    /// accounts: the scoring pass starts from it instead of reading it again.
    async fn peer_benchmarks(
        &self,
        day: NaiveDate,
    ) -> Result<(Option<PeerBenchmarks>, BTreeMap<Segment, SegmentRead>), RunError> {
        let mut kept = BTreeMap::new();
        if !needs_peers(&self.config.scoring) || self.is_done(day).await? {
            return Ok((None, kept));
        }
        let mut collector = PeerCollector::default();
        let plan = DayPlan::new(&self.config.scoring, day);
        let mut kept_accounts = 0;
        for segment in Segment::all() {
            let mut read = SegmentRead::of(self.storage, segment, day).await?;
            // A segment kept for the scoring pass has its windows rolled here, once, and
            // measured as they are; past the limit, segments are measured with copies rolled
            // for the measurement, dropped, and read again.
            kept_accounts += read.accounts.len();
            let keep = kept_accounts <= KEPT_FROM_PEER_PASS;
            if keep {
                read.roll_in(self.config, &plan);
            }
            add_peers(
                &mut collector,
                self.config,
                &plan,
                read.accounts.values(),
                &read.chunks,
            );
            if keep {
                kept.insert(segment, read);
            }
        }
        Ok((Some(collector.finish()), kept))
    }

    /// The day's peer benchmarks of `records`, all held in memory (see [`add_peers`]).
    fn collect_peers<'r>(
        &self,
        plan: &DayPlan<'_>,
        records: impl IntoIterator<Item = &'r AccountRecord>,
        chunks: &BTreeMap<AccountId, Vec<EventChunk>>,
    ) -> PeerBenchmarks {
        let mut collector = PeerCollector::default();
        add_peers(&mut collector, self.config, plan, records, chunks);
        collector.finish()
    }

    /// Sends score events to the alert queue, each through its one message encoding
    /// ([`crate::alerts::dispatch::score_message`]); all are encoded before any is sent, so a
    /// failure sends nothing. Answers how many were sent.
    async fn send_score_events(&self, events: &[ScoreEvent]) -> Result<u64, RunError> {
        let messages = events
            .iter()
            .map(crate::alerts::dispatch::score_message)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| RunError::Encode(e.to_string()))?;
        self.queue.send(&messages).await?;
        Ok(messages.len() as u64)
    }

    /// What follows a completed day: intervention effectiveness (score change 14 and 30 days
    /// after each intervention), follow-ups for outreach without a response, the churn
    /// model's refit when due (and still current on the last day that has ended), and the CRM
    /// write-back of the last day that has ended. Idempotent.
    pub async fn after_day(&self, day: NaiveDate) -> Result<(), RunError> {
        crate::alerts::effectiveness::record(
            self.storage,
            self.queue,
            self.clock,
            &self.config.alerts,
            day,
        )
        .await
        .map_err(|e| RunError::FollowUp(e.to_string()))?;
        // The churn model learns from the day's history once it is saved (when due). A day of
        // a backfill whose fit would be stale before the last day that has ended is skipped:
        // only the latest fit is ever shown, and each fit reads every account's history.
        let refresh = u64::from(self.config.churn.refresh_days);
        if day
            .checked_add_days(Days::new(refresh))
            .is_none_or(|d| d > self.last_scorable_day())
        {
            crate::churn::refresh_churn_model(self.storage, &self.config.churn, self.clock, day)
                .await
                .map_err(|e| RunError::FollowUp(format!("churn model: {e}")))?;
        }
        // The CRM gets the figures of the last day that has ended (after the model's refit, so
        // with its churn risk) and the activities since the last run; a backfill's older days
        // are not written. A CRM that fails is logged, not retried here: the next run sends
        // whatever is still unsent.
        if day >= self.last_scorable_day() {
            crate::crm::after_run(self.storage, &self.crm, self.clock.now()).await;
        }
        Ok(())
    }

    /// Merges the segments' partial summaries into the day's portfolio summary.
    pub async fn publish_summary(&self, day: NaiveDate) -> Result<PortfolioSummary, RunError> {
        let checkpoints = self.storage.list_checkpoints(&Self::run_id(day)).await?;
        let done = checkpoints.iter().filter(|c| c.done).count();
        if done < usize::from(SEGMENT_COUNT) {
            return Err(RunError::Incomplete {
                day,
                missing: usize::from(SEGMENT_COUNT) - done,
            });
        }
        let mut merged = summary::merge(checkpoints.into_iter().map(|c| c.summary));
        // Figures written by other commands (the latest backtest's accuracy) carry forward.
        if let Some(previous) = self.storage.latest_summary().await? {
            for key in CARRIED_FORWARD {
                if let Some(v) = previous.extra.get(*key) {
                    merged
                        .extra
                        .entry((*key).to_string())
                        .or_insert_with(|| v.clone());
                }
            }
        }
        merged.as_of = Some(day);
        merged.computed_at = Some(self.clock.now());
        // Books first: storing the summary changes the listing version readers watch.
        let books = summary::take_books(&mut merged, day);
        self.storage.put_book_days(&books).await?;
        self.storage.put_summary(&merged).await?;
        Ok(merged)
    }

    fn score_one(
        &self,
        plan: &DayPlan<'_>,
        record: AccountRecord,
        chunks: &[EventChunk],
        peers: Option<&PeerBenchmarks>,
    ) -> Scored {
        score_one(self.config, self.clock.now(), plan, record, chunks, peers)
    }

    /// The day's chunks of a segment by account, and the number of unattributed events.
    async fn chunks_by_account(
        &self,
        segment: Segment,
        day: NaiveDate,
    ) -> Result<(BTreeMap<AccountId, Vec<EventChunk>>, u64), StoreError> {
        chunks_by_account(self.storage, segment, day).await
    }

    /// Every account of the segment: those stored, and those seen for the first time today.
    async fn accounts_of(
        &self,
        segment: Segment,
        active: &BTreeMap<AccountId, Vec<EventChunk>>,
    ) -> Result<BTreeMap<AccountId, AccountRecord>, StoreError> {
        accounts_of(self.storage, segment, active).await
    }
}

/// One account-day's chunks as the usage and signal counters the window rolls in (each
/// message id once).
fn day_activity(config: &VitalsConfig, chunks: &[EventChunk]) -> vitals_scoring::DayActivity {
    day_activity_with_signals(
        chunks,
        &config.usage,
        &config.signals,
        config.scoring.first_value_event.as_deref(),
    )
}

/// Adds the day's peers among `records` to `collector`: each account measured as of the plan's
/// day with its own `chunks` rolled in (see [`measure_for_peers`]). The one way the daily run,
/// a backfill, a rescore and the provisional refresh rank accounts against each other.
fn add_peers<'r>(
    collector: &mut PeerCollector,
    config: &VitalsConfig,
    plan: &DayPlan<'_>,
    records: impl IntoIterator<Item = &'r AccountRecord>,
    chunks: &BTreeMap<AccountId, Vec<EventChunk>>,
) {
    for record in records {
        let own = chunks
            .get(&record.account_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if let Some(m) = measure_for_peers(config, plan, record, own) {
            collector.add(&m);
        }
    }
}

/// An account measured as of the plan's day for the peer pass, its day rolled in first
/// unless its window already covers it (the record is not saved).
fn measure_for_peers(
    config: &VitalsConfig,
    plan: &DayPlan<'_>,
    record: &AccountRecord,
    chunks: &[EventChunk],
) -> Option<vitals_scoring::Measurement> {
    let day = plan.as_of();
    let facts = account_facts(&record.profile);
    if record.window.through.is_some_and(|t| t >= day) {
        return record_state(record, day)
            .is_active()
            .then(|| plan.measure(&facts, &record.window));
    }
    let activity = day_activity(config, chunks);
    // Only the window rolls: the rest of the record is read as it is.
    let mut window = record.window.clone();
    window.roll(day, &activity);
    // Peers are the accounts scored that day: active ones only.
    account_state(&record.profile, ActivitySpan::of(&window), day)
        .is_active()
        .then(|| plan.measure(&facts, &window))
}

/// Rolls the plan's day into the account's window and scores it: the one scoring path of the
/// daily run, rescoring and provisional scores. `now` stamps the score and its events.
fn score_one(
    config: &VitalsConfig,
    now: chrono::DateTime<chrono::Utc>,
    plan: &DayPlan<'_>,
    mut record: AccountRecord,
    chunks: &[EventChunk],
    peers: Option<&PeerBenchmarks>,
) -> Scored {
    if !roll_in(config, plan, &mut record, chunks) {
        return Scored::AlreadyDone(record);
    }
    score_rolled(config, now, plan, record, peers)
}

/// Rolls the plan's day (its `chunks`) into the account's window, unless the window covers it
/// already: answers whether it rolled.
fn roll_in(
    config: &VitalsConfig,
    plan: &DayPlan<'_>,
    record: &mut AccountRecord,
    chunks: &[EventChunk],
) -> bool {
    let day = plan.as_of();
    if record.window.through.is_some_and(|t| t >= day) {
        return false;
    }
    record.window.roll(day, &day_activity(config, chunks));
    true
}

/// Scores an account whose window [`roll_in`] has just rolled to the plan's day: the second
/// half of [`score_one`], for a caller that rolls every account before its peer pass (so each
/// window rolls once, not once for the peers and again for the score).
fn score_rolled(
    config: &VitalsConfig,
    now: chrono::DateTime<chrono::Utc>,
    plan: &DayPlan<'_>,
    mut record: AccountRecord,
    peers: Option<&PeerBenchmarks>,
) -> Scored {
    let day = plan.as_of();
    // Only active accounts are scored: one not started yet has nothing to judge, and a
    // churned one keeps its last score, frozen (its window still rolls, so activity after
    // the churn can reactivate it).
    if !record_state(&record, day).is_active() {
        return Scored::Inactive(record);
    }
    // The new score replaces it below: taken, not copied.
    let previous = record.score.take().map(|s| s.score);
    let facts = account_facts(&record.profile);
    let measured = plan.measure(&facts, &record.window);
    let scored = score_with_usage(
        &config.scoring,
        &facts,
        &record.window,
        &measured,
        previous.as_ref().map(|p| &p.health),
        peers,
    );
    let events = score_events(
        &record.account_id,
        day,
        &scored,
        previous.as_ref().map(|p| &p.health),
        previous.as_ref().map(|p| p.active_users),
        now,
    );
    record
        .trail
        .record(day, scored.health.score, scored.health.band);
    record.score = Some(ScoreRecord {
        account_id: record.account_id.clone(),
        as_of: day,
        computed_at: now,
        score: scored,
    });
    Scored::Fresh { record, events }
}

/// One segment as a day's run reads it.
pub(super) struct SegmentRead {
    /// The day's chunks by account.
    pub chunks: BTreeMap<AccountId, Vec<EventChunk>>,
    /// The day's events no account could be found for.
    pub unattributed: u64,
    /// Every account of the segment: those stored, and those seen for the first time today.
    pub accounts: BTreeMap<AccountId, AccountRecord>,
    /// Once [`SegmentRead::roll_in`] has rolled the day into the windows (taking the chunks):
    /// the accounts it rolled, which are scored as they are. The others' windows already
    /// covered the day.
    pub rolled: Option<BTreeSet<AccountId>>,
}

impl SegmentRead {
    pub(super) async fn of<S: Storage + ?Sized>(
        storage: &S,
        segment: Segment,
        day: NaiveDate,
    ) -> Result<SegmentRead, StoreError> {
        let (chunks, unattributed) = chunks_by_account(storage, segment, day).await?;
        let accounts = accounts_of(storage, segment, &chunks).await?;
        Ok(SegmentRead {
            chunks,
            unattributed,
            accounts,
            rolled: None,
        })
    }

    /// Rolls the day into every account's window (see [`roll_in`]), taking each account's
    /// chunks, and notes which ones rolled.
    pub(super) fn roll_in(&mut self, config: &VitalsConfig, plan: &DayPlan<'_>) {
        self.rolled = Some(roll_all(config, plan, &mut self.accounts, &mut self.chunks));
    }
}

/// Rolls the plan's day into every account's window (see [`roll_in`]), taking each account's
/// chunks out of `chunks`: answers the accounts that rolled, to be scored with
/// [`score_if_rolled`] once the peer pass has measured them.
fn roll_all(
    config: &VitalsConfig,
    plan: &DayPlan<'_>,
    accounts: &mut BTreeMap<AccountId, AccountRecord>,
    chunks: &mut BTreeMap<AccountId, Vec<EventChunk>>,
) -> BTreeSet<AccountId> {
    let mut rolled = BTreeSet::new();
    for (id, record) in accounts {
        let own = chunks.remove(id).unwrap_or_default();
        if roll_in(config, plan, record, &own) {
            rolled.insert(id.clone());
        }
    }
    rolled
}

/// Scores an account [`roll_all`] rolled; one it did not roll already covered the day.
fn score_if_rolled(
    config: &VitalsConfig,
    now: chrono::DateTime<chrono::Utc>,
    plan: &DayPlan<'_>,
    record: AccountRecord,
    rolled: &BTreeSet<AccountId>,
    peers: Option<&PeerBenchmarks>,
) -> Scored {
    if rolled.contains(&record.account_id) {
        score_rolled(config, now, plan, record, peers)
    } else {
        Scored::AlreadyDone(record)
    }
}

/// The day's chunks of a segment by account, and the number of unattributed events.
async fn chunks_by_account<S: Storage + ?Sized>(
    storage: &S,
    segment: Segment,
    day: NaiveDate,
) -> Result<(BTreeMap<AccountId, Vec<EventChunk>>, u64), StoreError> {
    let mut by_account: BTreeMap<AccountId, Vec<EventChunk>> = BTreeMap::new();
    for chunk in storage.chunks_for_segment_day(segment, day).await? {
        by_account
            .entry(chunk.account_id.clone())
            .or_default()
            .push(chunk);
    }
    let unattributed = by_account
        .remove(&AccountId::unattributed())
        .map_or(0, |chunks| {
            chunks.iter().map(|c| c.events.len() as u64).sum()
        });
    Ok((by_account, unattributed))
}

/// Every account of the segment: those stored, and those seen for the first time today.
async fn accounts_of<S: Storage + ?Sized>(
    storage: &S,
    segment: Segment,
    active: &BTreeMap<AccountId, Vec<EventChunk>>,
) -> Result<BTreeMap<AccountId, AccountRecord>, StoreError> {
    let mut accounts = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = storage
            .list_segment(segment, cursor.as_deref(), PAGE)
            .await?;
        for record in page.items {
            accounts.insert(record.account_id.clone(), record);
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    for account in active.keys() {
        accounts
            .entry(account.clone())
            .or_insert_with(|| AccountRecord::new(account.clone()));
    }
    Ok(accounts)
}

enum Scored {
    Fresh {
        record: AccountRecord,
        events: Vec<ScoreEvent>,
    },
    AlreadyDone(AccountRecord),
    /// Rolled but not scored: not started yet, or churned (see [`crate::lifecycle`]).
    Inactive(AccountRecord),
}
