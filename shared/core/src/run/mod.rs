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
mod summary;

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use serde::Serialize;
use vitals_scoring::kernel::needs_peers;
use vitals_scoring::kernel::score_with_usage;
use vitals_scoring::kernel::DayPlan;
use vitals_scoring::{PeerBenchmarks, PeerCollector};

use crate::clock::Clock;
use crate::config::VitalsConfig;
use crate::error::{QueueError, StoreError};
use crate::lifecycle::record_state;
use crate::model::{
    AccountId, AccountRecord, Checkpoint, EventChunk, PortfolioSummary, ScoreRecord,
};
use crate::ports::{Queue, Storage};
use crate::query::listing::ListingBuilder;
use crate::rollup::day_activity_with_signals;
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

/// Accounts scored between two checkpoints.
const BATCH: usize = 100;
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
        let peers = self.peer_benchmarks(day).await?;
        for segment in Segment::all() {
            report.add(&self.run_segment_with(day, segment, peers.as_ref()).await?);
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
        self.run_segment_with(day, segment, None).await
    }

    /// When a scorecard normalises against peers: a first, read-only pass over every segment
    /// measuring each account as of `day`, so percentiles rank the whole portfolio. Accounts
    /// already rolled (a resumed run) are measured from their saved window, so a resumed run
    /// ranks against the same peers as an uninterrupted one.
    async fn peer_benchmarks(&self, day: NaiveDate) -> Result<Option<PeerBenchmarks>, RunError> {
        if !needs_peers(&self.config.scoring) || self.is_done(day).await? {
            return Ok(None);
        }
        let mut collector = PeerCollector::default();
        let plan = DayPlan::new(&self.config.scoring, day);
        for segment in Segment::all() {
            let (by_account, _) = self.chunks_by_account(segment, day).await?;
            for record in self.accounts_of(segment, &by_account).await?.into_values() {
                let chunks = by_account
                    .get(&record.account_id)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                if let Some(m) = self.measure_for_peers(&plan, &record, chunks) {
                    collector.add(&m);
                }
            }
        }
        Ok(Some(collector.finish()))
    }

    /// An account measured as of the plan's day for the peer pass (see [`measure_for_peers`]).
    fn measure_for_peers(
        &self,
        plan: &DayPlan<'_>,
        record: &AccountRecord,
        chunks: &[EventChunk],
    ) -> Option<vitals_scoring::Measurement> {
        measure_for_peers(self.config, plan, record, chunks)
    }

    async fn run_segment_with(
        &self,
        day: NaiveDate,
        segment: Segment,
        peers: Option<&PeerBenchmarks>,
    ) -> Result<RunReport, RunError> {
        let run_id = Self::run_id(day);
        let mut checkpoint = match self.storage.get_checkpoint(&run_id, segment).await? {
            Some(c) if c.done => {
                return Ok(RunReport {
                    segments_skipped: 1,
                    ..Default::default()
                })
            }
            Some(c) => c,
            None => Checkpoint {
                run_id: run_id.clone(),
                segment,
                done: false,
                last_account: None,
                accounts_scored: 0,
                events_emitted: 0,
                updated_at: self.clock.now(),
                summary: PortfolioSummary::default(),
            },
        };
        let (mut by_account, unattributed) = self.chunks_by_account(segment, day).await?;
        let accounts = self.accounts_of(segment, &by_account).await?;
        // The list's churn-risk column (workspace): rows carry the latest churn model's
        // probability; one read per segment.
        let churn_model = self
            .storage
            .latest_churn_model()
            .await?
            .map(std::sync::Arc::new);
        let mut listing =
            ListingBuilder::with_churn_model(segment, day, accounts.values(), churn_model);
        let mut report = RunReport {
            segments_run: 1,
            ..Default::default()
        };
        let todo: Vec<AccountRecord> = accounts
            .into_values()
            .filter(|a| {
                checkpoint
                    .last_account
                    .as_ref()
                    .is_none_or(|last| &a.account_id > last)
            })
            .collect();
        let plan = DayPlan::new(&self.config.scoring, day);
        for batch in todo.chunks(BATCH) {
            let mut outgoing = Vec::new();
            let mut saved = Vec::with_capacity(batch.len());
            let mut inactive = Vec::new();
            for record in batch {
                let chunks = by_account.remove(&record.account_id).unwrap_or_default();
                match self.score_one(&plan, record.clone(), &chunks, peers) {
                    Scored::Fresh { record, events } => {
                        outgoing.extend(events);
                        saved.push(record);
                    }
                    Scored::AlreadyDone(record) => {
                        summary::add_account(&mut checkpoint.summary, &record, day);
                    }
                    Scored::Inactive(record) => inactive.push(record),
                }
            }
            let messages = outgoing
                .iter()
                .map(crate::alerts::dispatch::score_message)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| RunError::Encode(e.to_string()))?;
            self.queue.send(&messages).await?;
            let history: Vec<ScoreRecord> = saved.iter().filter_map(|r| r.score.clone()).collect();
            self.storage.put_history(&history).await?;
            saved.append(&mut inactive);
            self.storage.put_scoring_states(&saved).await?;
            for record in &saved {
                listing.add(record);
                summary::add_account(&mut checkpoint.summary, record, day);
            }
            checkpoint.last_account = batch.last().map(|r| r.account_id.clone());
            checkpoint.accounts_scored += batch.len() as u64;
            checkpoint.events_emitted += messages.len() as u64;
            checkpoint.updated_at = self.clock.now();
            self.storage.put_checkpoint(&checkpoint).await?;
            report.accounts_scored += batch.len() as u64;
            report.events_emitted += messages.len() as u64;
        }
        add_unattributed(&mut checkpoint.summary, unattributed);
        // Before the segment counts as done, so a crash in between lists it again on resume.
        self.storage.put_segment_listing(&listing.finish()).await?;
        checkpoint.done = true;
        checkpoint.updated_at = self.clock.now();
        self.storage.put_checkpoint(&checkpoint).await?;
        Ok(report)
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

/// Counts a segment-day's events no account could be found for in its partial summary.
fn add_unattributed(summary: &mut PortfolioSummary, unattributed: u64) {
    if unattributed > 0 {
        let now = summary
            .extra
            .get("unattributed_events")
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(0.0);
        summary.extra.insert(
            "unattributed_events".into(),
            serde_json::json!(now + unattributed as f64),
        );
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
    let mut rolled = record.clone();
    rolled.window.roll(day, &activity);
    // Peers are the accounts scored that day: active ones only.
    record_state(&rolled, day)
        .is_active()
        .then(|| plan.measure(&facts, &rolled.window))
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
    let day = plan.as_of();
    if record.window.through.is_some_and(|t| t >= day) {
        return Scored::AlreadyDone(record);
    }
    let activity = day_activity(config, chunks);
    let previous = record.score.as_ref().map(|s| s.score.clone());
    record.window.roll(day, &activity);
    // Only active accounts are scored: one not started yet has nothing to judge, and a
    // churned one keeps its last score, frozen (its window still rolls, so activity after
    // the churn can reactivate it).
    if !record_state(&record, day).is_active() {
        return Scored::Inactive(record);
    }
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
        events: Vec<crate::score_event::ScoreEvent>,
    },
    AlreadyDone(AccountRecord),
    /// Rolled but not scored: not started yet, or churned (see [`crate::lifecycle`]).
    Inactive(AccountRecord),
}
