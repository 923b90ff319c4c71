//! One segment of a day's run, step by step: open its checkpoint, load its accounts and the
//! day's chunks, then batch after batch score in memory and save, and finish with the
//! segment's listing and the "done" checkpoint. Each step's order is what makes a crash at any
//! point safe to resume from the last checkpoint (see the module documentation of `run`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::NaiveDate;
use vitals_scoring::kernel::DayPlan;
use vitals_scoring::PeerBenchmarks;

use crate::history::HistoryDay;
use crate::model::{AccountId, AccountRecord, Checkpoint, EventChunk, PortfolioSummary};
use crate::ports::Storage;
use crate::query::listing::ListingBuilder;
use crate::score_event::ScoreEvent;
use crate::segment::Segment;

use super::{
    score_if_rolled, summary, DailyRun, RunError, RunReport, Scored, SegmentRead, BATCH, SAVE_BATCH,
};

/// One segment's run in progress: its checkpoint and what was read for it.
struct SegmentRun {
    /// Saved after each batch; its partial summary grows account by account.
    checkpoint: Checkpoint,
    /// The day's chunks by account, taken as each account is scored.
    chunks: BTreeMap<AccountId, Vec<EventChunk>>,
    /// The day's events no account could be found for.
    unattributed: u64,
    /// The accounts whose windows the peer pass rolled already (see `SegmentRead::rolled`).
    rolled: Option<BTreeSet<AccountId>>,
    /// The segment's list rows: those saved before the checkpoint as stored, the others as
    /// they are scored.
    listing: ListingBuilder,
    report: RunReport,
}

/// Batches scored in memory: nothing of them is sent or saved yet.
#[derive(Default)]
struct ScoredBatch {
    /// The score events of the accounts scored, in account order.
    events: Vec<ScoreEvent>,
    /// The new history entries (one per account scored).
    history: Vec<HistoryDay>,
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

impl ScoredBatch {
    /// Adds the next batch, to be saved with this one.
    fn append(&mut self, mut next: ScoredBatch) {
        self.events.append(&mut next.events);
        self.history.append(&mut next.history);
        self.records.append(&mut next.records);
        self.last_account = next.last_account.or(self.last_account.take());
        self.accounts += next.accounts;
    }
}

impl SegmentRun {
    /// Counts a scored batch in the segment's partial summary and listing: those already
    /// done first, then those scored, then those rolled only (the order the summary's running
    /// mean was always added in). Saved later with the checkpoint that carries the summary.
    fn count(&mut self, day: NaiveDate, batch: &ScoredBatch) {
        for record in batch.already_done.iter().chain(&batch.records) {
            self.listing.add(record);
            summary::add_account(&mut self.checkpoint.summary, record, day);
        }
    }
}

impl<S: Storage + ?Sized> DailyRun<'_, S> {
    /// Scores one segment of `day`, resuming from its checkpoint; `peers` ranks the accounts
    /// when a scorecard normalises against peers.
    pub(super) async fn run_segment_with(
        &self,
        day: NaiveDate,
        segment: Segment,
        peers: Option<&PeerBenchmarks>,
        read: Option<SegmentRead>,
    ) -> Result<RunReport, RunError> {
        let Some(checkpoint) = self.open_checkpoint(day, segment).await? else {
            return Ok(RunReport {
                segments_skipped: 1,
                ..Default::default()
            });
        };
        let (mut run, todo) = self.load_segment(day, checkpoint, read).await?;
        let plan = DayPlan::new(&self.config.scoring, day);
        // Scored and counted BATCH accounts at a time (the summary adds them in the same order
        // whatever the save size), saved SAVE_BATCH at a time: each save is one queue send,
        // one history write, one record write and one checkpoint.
        let mut todo = todo.into_iter();
        let mut unsaved = ScoredBatch::default();
        loop {
            let batch: Vec<AccountRecord> = todo.by_ref().take(BATCH).collect();
            if batch.is_empty() {
                break;
            }
            let scored =
                self.score_batch(&plan, batch, &mut run.chunks, run.rolled.as_ref(), peers);
            run.count(day, &scored);
            unsaved.append(scored);
            if unsaved.accounts >= SAVE_BATCH as u64 {
                self.save_batch(std::mem::take(&mut unsaved), &mut run)
                    .await?;
            }
        }
        if unsaved.accounts > 0 {
            self.save_batch(unsaved, &mut run).await?;
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

    /// Reads the segment once, unless the peer pass kept what it read: the day's chunks by
    /// account, every account (stored, and first seen today); and the latest churn model for
    /// the list's churn-risk column. Answers the run and the accounts still to score: those
    /// after the checkpoint's last one, in id order.
    async fn load_segment(
        &self,
        day: NaiveDate,
        checkpoint: Checkpoint,
        read: Option<SegmentRead>,
    ) -> Result<(SegmentRun, Vec<AccountRecord>), RunError> {
        let segment = checkpoint.segment;
        let SegmentRead {
            chunks,
            unattributed,
            accounts,
            rolled,
        } = match read {
            Some(read) => read,
            None => SegmentRead::of(self.storage, segment, day).await?,
        };
        let churn_model = self.storage.latest_churn_model().await?.map(Arc::new);
        // Accounts up to the checkpoint were saved by an earlier attempt: they are listed as
        // stored. The others are listed as they are scored.
        let (saved, todo): (Vec<AccountRecord>, Vec<AccountRecord>) =
            accounts.into_values().partition(|a| {
                checkpoint
                    .last_account
                    .as_ref()
                    .is_some_and(|last| &a.account_id <= last)
            });
        let listing = ListingBuilder::with_churn_model(segment, day, saved.iter(), churn_model);
        let run = SegmentRun {
            checkpoint,
            chunks,
            unattributed,
            rolled,
            listing,
            report: RunReport {
                segments_run: 1,
                ..Default::default()
            },
        };
        Ok((run, todo))
    }

    /// Rolls and scores one batch of accounts in memory, each through the run's one scoring
    /// path ([`DailyRun::score_one`]; its second half only where the peer pass rolled the
    /// windows already).
    fn score_batch(
        &self,
        plan: &DayPlan<'_>,
        batch: Vec<AccountRecord>,
        chunks: &mut BTreeMap<AccountId, Vec<EventChunk>>,
        rolled: Option<&BTreeSet<AccountId>>,
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
        let now = self.clock.now();
        for record in batch {
            let outcome = match rolled {
                Some(rolled) => score_if_rolled(self.config, now, plan, record, rolled, peers),
                None => {
                    let own = chunks.remove(&record.account_id).unwrap_or_default();
                    self.score_one(plan, record, &own, peers)
                }
            };
            match outcome {
                Scored::Fresh { record, events } => {
                    scored.events.extend(events);
                    scored.history.extend(
                        record
                            .score
                            .as_ref()
                            .map(|s| HistoryDay::of_scored(s, self.config.churn.sample_every_days)),
                    );
                    scored.records.push(record);
                }
                Scored::AlreadyDone(record) => scored.already_done.push(record),
                Scored::Inactive(record) => inactive.push(record),
            }
        }
        scored.records.append(&mut inactive);
        scored
    }

    /// Sends the batches' score events, saves their history and records, then moves the
    /// checkpoint (whose summary already counts them) past them. Events go first so a crash
    /// sends them again (same ids, consumers dedupe) rather than never; the checkpoint goes
    /// last so a crash scores the batches again, to the same values.
    async fn save_batch(&self, batch: ScoredBatch, run: &mut SegmentRun) -> Result<(), RunError> {
        let sent = self.send_score_events(&batch.events).await?;
        self.storage.put_history(&batch.history).await?;
        self.storage.put_scoring_states(&batch.records).await?;
        let checkpoint = &mut run.checkpoint;
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
