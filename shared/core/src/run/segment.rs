//! One segment of a day's run, step by step: open its checkpoint, load its accounts and the
//! day's chunks, then batch after batch score in memory and save, and finish with the
//! segment's listing and the "done" checkpoint. Each step's order is what makes a crash at any
//! point safe to resume from the last checkpoint (see the module documentation of `run`).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use vitals_scoring::kernel::DayPlan;
use vitals_scoring::PeerBenchmarks;

use crate::model::{
    AccountId, AccountRecord, Checkpoint, EventChunk, PortfolioSummary, ScoreRecord,
};
use crate::ports::Storage;
use crate::query::listing::ListingBuilder;
use crate::score_event::ScoreEvent;
use crate::segment::Segment;

use super::{summary, DailyRun, RunError, RunReport, Scored, BATCH};

/// One segment's run in progress: its checkpoint and what was read for it.
struct SegmentRun {
    /// Saved after each batch; its partial summary grows account by account.
    checkpoint: Checkpoint,
    /// The day's chunks by account, taken as each account is scored.
    chunks: BTreeMap<AccountId, Vec<EventChunk>>,
    /// The day's events no account could be found for.
    unattributed: u64,
    /// The segment's list rows: every account as stored, updated as batches are saved.
    listing: ListingBuilder,
    report: RunReport,
}

/// One batch scored in memory: nothing of it is sent or saved yet.
struct ScoredBatch {
    /// The score events of the accounts scored, in account order.
    events: Vec<ScoreEvent>,
    /// The new history entries (one per account scored).
    history: Vec<ScoreRecord>,
    /// The records to save: those scored, then those rolled but not scored (not started yet,
    /// churned).
    records: Vec<AccountRecord>,
    /// Records whose window already covered the day (saved by an interrupted run that had not
    /// checkpointed them): counted in the summary, not saved again.
    already_done: Vec<AccountRecord>,
    /// Where a resumed run starts after this batch.
    last_account: Option<AccountId>,
    accounts: u64,
}

impl<S: Storage + ?Sized> DailyRun<'_, S> {
    /// Scores one segment of `day`, resuming from its checkpoint; `peers` ranks the accounts
    /// when a scorecard normalises against peers.
    pub(super) async fn run_segment_with(
        &self,
        day: NaiveDate,
        segment: Segment,
        peers: Option<&PeerBenchmarks>,
    ) -> Result<RunReport, RunError> {
        let Some(checkpoint) = self.open_checkpoint(day, segment).await? else {
            return Ok(RunReport {
                segments_skipped: 1,
                ..Default::default()
            });
        };
        let (mut run, todo) = self.load_segment(day, checkpoint).await?;
        let plan = DayPlan::new(&self.config.scoring, day);
        for batch in todo.chunks(BATCH) {
            let scored = self.score_batch(&plan, batch, &mut run.chunks, peers);
            self.save_batch(day, scored, &mut run).await?;
        }
        self.finish_segment(run).await
    }

    /// The checkpoint to resume from (a fresh one on the segment's first run of the day), or
    /// `None` when the segment is already done (by an earlier or a concurrent invocation).
    async fn open_checkpoint(
        &self,
        day: NaiveDate,
        segment: Segment,
    ) -> Result<Option<Checkpoint>, RunError> {
        let run_id = Self::run_id(day);
        Ok(match self.storage.get_checkpoint(&run_id, segment).await? {
            Some(c) if c.done => None,
            Some(c) => Some(c),
            None => Some(Checkpoint {
                run_id,
                segment,
                done: false,
                last_account: None,
                accounts_scored: 0,
                events_emitted: 0,
                updated_at: self.clock.now(),
                summary: PortfolioSummary::default(),
            }),
        })
    }

    /// Reads the segment once: the day's chunks by account, every account (stored, and first
    /// seen today) and the latest churn model for the list's churn-risk column. Answers the
    /// run and the accounts still to score: those after the checkpoint's last one, in id order.
    async fn load_segment(
        &self,
        day: NaiveDate,
        checkpoint: Checkpoint,
    ) -> Result<(SegmentRun, Vec<AccountRecord>), RunError> {
        let segment = checkpoint.segment;
        let (chunks, unattributed) = self.chunks_by_account(segment, day).await?;
        let accounts = self.accounts_of(segment, &chunks).await?;
        let churn_model = self.storage.latest_churn_model().await?.map(Arc::new);
        let listing =
            ListingBuilder::with_churn_model(segment, day, accounts.values(), churn_model);
        let todo = accounts
            .into_values()
            .filter(|a| {
                checkpoint
                    .last_account
                    .as_ref()
                    .is_none_or(|last| &a.account_id > last)
            })
            .collect();
        let run = SegmentRun {
            checkpoint,
            chunks,
            unattributed,
            listing,
            report: RunReport {
                segments_run: 1,
                ..Default::default()
            },
        };
        Ok((run, todo))
    }

    /// Rolls and scores one batch of accounts in memory, each through the run's one scoring
    /// path ([`DailyRun::score_one`]).
    fn score_batch(
        &self,
        plan: &DayPlan<'_>,
        batch: &[AccountRecord],
        chunks: &mut BTreeMap<AccountId, Vec<EventChunk>>,
        peers: Option<&PeerBenchmarks>,
    ) -> ScoredBatch {
        let mut scored = ScoredBatch {
            events: Vec::new(),
            history: Vec::new(),
            records: Vec::with_capacity(batch.len()),
            already_done: Vec::new(),
            last_account: batch.last().map(|r| r.account_id.clone()),
            accounts: batch.len() as u64,
        };
        let mut inactive = Vec::new();
        for record in batch {
            let own = chunks.remove(&record.account_id).unwrap_or_default();
            match self.score_one(plan, record.clone(), &own, peers) {
                Scored::Fresh { record, events } => {
                    scored.events.extend(events);
                    scored.history.extend(record.score.clone());
                    scored.records.push(record);
                }
                Scored::AlreadyDone(record) => scored.already_done.push(record),
                Scored::Inactive(record) => inactive.push(record),
            }
        }
        scored.records.append(&mut inactive);
        scored
    }

    /// Sends the batch's score events, saves its history and records, then moves the
    /// checkpoint past it. Events go first so a crash sends them again (same ids, consumers
    /// dedupe) rather than never; the checkpoint goes last so a crash scores the batch again,
    /// to the same values.
    async fn save_batch(
        &self,
        day: NaiveDate,
        batch: ScoredBatch,
        run: &mut SegmentRun,
    ) -> Result<(), RunError> {
        let sent = self.send_score_events(&batch.events).await?;
        self.storage.put_history(&batch.history).await?;
        self.storage.put_scoring_states(&batch.records).await?;
        let checkpoint = &mut run.checkpoint;
        for record in &batch.already_done {
            summary::add_account(&mut checkpoint.summary, record, day);
        }
        for record in &batch.records {
            run.listing.add(record);
            summary::add_account(&mut checkpoint.summary, record, day);
        }
        checkpoint.last_account = batch.last_account;
        checkpoint.accounts_scored += batch.accounts;
        checkpoint.events_emitted += sent;
        checkpoint.updated_at = self.clock.now();
        self.storage.put_checkpoint(checkpoint).await?;
        run.report.accounts_scored += batch.accounts;
        run.report.events_emitted += sent;
        Ok(())
    }

    /// Counts the day's unattributed events in the segment's partial summary, stores the
    /// segment's listing, then marks the segment done. The listing is stored first so a crash
    /// in between lists the segment again on resume (a done segment is never run again).
    async fn finish_segment(&self, mut run: SegmentRun) -> Result<RunReport, RunError> {
        run.checkpoint.summary.unattributed_events += run.unattributed;
        self.storage
            .put_segment_listing(&run.listing.finish())
            .await?;
        run.checkpoint.done = true;
        run.checkpoint.updated_at = self.clock.now();
        self.storage.put_checkpoint(&run.checkpoint).await?;
        Ok(run.report)
    }
}
