//! Backfill: scoring a range of days in one pass over the events. The daily run reads every
//! account record of a segment, rolls and scores it, and writes it back, once per day; over a
//! year that decoding and re-encoding of every window dominates the run. A backfill instead
//! reads the account records once, keeps them in memory while it walks the days (each day's
//! window is the previous day's plus that day's events, through the daily run's scoring path
//! split in two: every window is rolled first, so the peer pass measures the rolled windows
//! instead of rolling copies), and writes them back once per stretch of days.
//!
//! Same results and the same resumability as running [`DailyRun::score_day`] day after day:
//! - each day sends its score events (deterministic ids) as it is scored, and its history
//!   is written with other days' (see [`HISTORY_BUFFER`]) before the stretch's records; its
//!   checkpoints ("segment done"), portfolio summary and after-day work follow only
//!   once the stretch's account records are saved, so a day counts as done only when the
//!   windows that include it are stored. A failure inside a stretch (a queue or storage error)
//!   saves the days before the failing one and marks them done; a crash leaves the stretch's
//!   days not done and the records as they were. Either way a re-run scores the rest again
//!   and writes the same values. The records are scored in place, so after a failed send the
//!   saved ones are rolled through the days before again to get them back: slow, but only on
//!   a failure, where a copy of every record kept each day cost a sixth of every run.
//! - a day an earlier run started (any checkpoint of it exists) is finished by
//!   [`DailyRun::score_day`], which resumes from its checkpoints; a stretch starts after it.
//! - a crash after the records are saved and before the stretch's last checkpoint is written
//!   leaves windows rolled past days not marked done: the re-run finds them and recomputes
//!   those days from the stored events as a rescore does (their events were already sent).
//!
//! Memory: every account record is held at once (as [`DailyRun::rescore`] does), with one
//! day's chunks.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use vitals_scoring::kernel::{needs_peers, DayPlan};

use crate::history::HistoryDay;
use crate::model::{AccountId, AccountRecord, Checkpoint, PortfolioSummary};
use crate::ports::Storage;
use crate::query::listing::ListingBuilder;
use crate::score_event::ScoreEvent;
use crate::segment::{Segment, SEGMENT_COUNT};

use super::rescore::Scope;
use super::{
    roll_all, score_if_rolled, summary, DailyRun, RunError, RunReport, Scored, SAVE_BATCH,
};

/// Days scored in memory between two saves of the account records: a crash loses at most
/// this many days of work, and a year is saved about a dozen times instead of 365.
const DAYS_PER_SAVE: i64 = 30;

/// History entries held before they are written. The history is keyed by account then day, so
/// one day's entries land on every account's page: written a day at a time, a year rewrote
/// each page of the table (and its index) 365 times. Written every few days instead, each page
/// is rewritten that many times less; the bound keeps the memory to some 100 MB.
const HISTORY_BUFFER: usize = 100_000;

/// Every account record held by a backfill, by segment.
type Accounts = BTreeMap<Segment, BTreeMap<AccountId, AccountRecord>>;

/// A day scored in memory: the score events it sends, and its history and checkpoints, which
/// wait for the stretch's records to be saved.
struct ScoredDay {
    day: NaiveDate,
    outgoing: Vec<ScoreEvent>,
    history: Vec<HistoryDay>,
    checkpoints: Vec<Checkpoint>,
    report: RunReport,
}

impl<S: Storage + ?Sized> DailyRun<'_, S> {
    /// Scores every day of `from..=to` in order, as [`DailyRun::score_day`] would one day at a
    /// time (see the module documentation). `on_day` is called after each day is done.
    pub async fn backfill(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        on_day: &mut (dyn FnMut(NaiveDate) + Send),
    ) -> Result<RunReport, RunError> {
        let mut report = RunReport::default();
        let mut day = from;
        while day <= to {
            if self.started(day).await? {
                report.add(&self.score_day(day, &mut |_| {}).await?);
                on_day(day);
                day += Duration::days(1);
                continue;
            }
            let mut end = day;
            while end < to
                && (end - day).num_days() + 1 < DAYS_PER_SAVE
                && !self.started(end + Duration::days(1)).await?
            {
                end += Duration::days(1);
            }
            let (stretch, last) = self.backfill_stretch(day, end, on_day).await?;
            report.add(&stretch);
            day = last + Duration::days(1);
        }
        Ok(report)
    }

    /// Whether a run of `day` has begun (some segment has a checkpoint).
    async fn started(&self, day: NaiveDate) -> Result<bool, RunError> {
        Ok(!self
            .storage
            .list_checkpoints(&Self::run_id(day))
            .await?
            .is_empty())
    }

    /// Scores `from..=to`, none of them started, with the account records in memory; answers
    /// the last day done (`to`, or earlier after a recovery).
    async fn backfill_stretch(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        on_day: &mut (dyn FnMut(NaiveDate) + Send),
    ) -> Result<(RunReport, NaiveDate), RunError> {
        let mut accounts = self.saved_accounts().await?;
        let rolled = accounts
            .values()
            .flat_map(BTreeMap::values)
            .filter_map(|r| r.window.through)
            .max();
        if let Some(through) = rolled.filter(|t| *t >= from) {
            let last = through.min(to);
            return Ok((self.recover(from, last, on_day).await?, last));
        }
        let mut report = RunReport::default();
        let mut scored_days = Vec::new();
        let mut failed = None;
        let mut day = from;
        // Days' history not written yet. A failure to write it is a failure of the stretch:
        // nothing is saved or marked done, so a re-run scores the stretch again, to the same
        // history and the same event ids.
        let mut history: Vec<HistoryDay> = Vec::new();
        while day <= to {
            // Reads come before any change to the records, so a failed one leaves them at the
            // day before; the days before it are kept (saved below) and a re-run starts here.
            let scored = match self.claim_late_marks_of(day).await {
                Ok(()) => self.score_in_memory(day, &mut accounts).await,
                Err(e) => Err(e.into()),
            };
            let mut scored = match scored {
                Ok(scored) => scored,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            };
            if let Err(e) = self.send_score_events(&scored.outgoing).await {
                // The records hold this day already: back to the day before, from the saved
                // ones (a failure to get there fails the stretch, as a crash would).
                accounts = self.replay(from, day).await?;
                failed = Some(e);
                break;
            }
            report.add(&scored.report);
            history.append(&mut scored.history);
            scored_days.push(scored);
            if history.len() >= HISTORY_BUFFER {
                self.storage.put_history(&history).await?;
                history.clear();
            }
            day += Duration::days(1);
        }
        let Some(last) = scored_days.last().map(|s| s.day) else {
            return Err(failed.unwrap_or(RunError::Incomplete {
                day: from,
                missing: 0,
            }));
        };
        self.storage.put_history(&history).await?;
        // The windows now cover `last`: save them, then mark the days done in order. The list
        // rows carry the churn risk of the latest model, as the daily run's do.
        let churn_model = self.storage.latest_churn_model().await?.map(Arc::new);
        for (&segment, of_segment) in &accounts {
            let records: Vec<AccountRecord> = of_segment.values().cloned().collect();
            for batch in records.chunks(SAVE_BATCH) {
                self.storage.put_scoring_states(batch).await?;
            }
            let listing = ListingBuilder::with_churn_model(
                segment,
                last,
                records.iter(),
                churn_model.clone(),
            );
            self.storage.put_segment_listing(&listing.finish()).await?;
        }
        // Every day's checkpoints before any summary: once they are all written, a failure in
        // the after-day work leaves only done days, which a re-run finishes with `score_day`.
        for scored in &scored_days {
            for checkpoint in &scored.checkpoints {
                self.storage.put_checkpoint(checkpoint).await?;
            }
        }
        for scored in scored_days {
            self.publish_summary(scored.day).await?;
            self.after_day(scored.day).await?;
            on_day(scored.day);
        }
        match failed {
            Some(e) => Err(e),
            None => Ok((report, last)),
        }
    }

    /// Every stored account record, by segment.
    async fn saved_accounts(&self) -> Result<Accounts, RunError> {
        let mut accounts = Accounts::new();
        for segment in Segment::all() {
            accounts.insert(segment, self.accounts_of(segment, &BTreeMap::new()).await?);
        }
        Ok(accounts)
    }

    /// The records as a stretch from `from` left them after the day before `until`: the saved
    /// ones rolled and scored again through those days. Nothing is sent or kept but the
    /// records: the first pass sent and kept it all, and the late marks stay for a rescore.
    async fn replay(&self, from: NaiveDate, until: NaiveDate) -> Result<Accounts, RunError> {
        let mut accounts = self.saved_accounts().await?;
        let mut day = from;
        while day < until {
            self.score_in_memory(day, &mut accounts).await?;
            day += Duration::days(1);
        }
        Ok(accounts)
    }

    /// A stretch that saved its records and stopped before marking all its days done left
    /// windows rolled past `from`: those days are recomputed from the stored events as a
    /// rescore does (history, checkpoints, summaries; their score events were sent before the
    /// records were saved), then their after-day work runs.
    async fn recover(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        on_day: &mut (dyn FnMut(NaiveDate) + Send),
    ) -> Result<RunReport, RunError> {
        tracing::warn!(%from, %to, "an interrupted backfill saved windows past days not marked done; recomputing them");
        let rescored = self
            .rescore_scope(&Scope::All, from, to, &mut |_, _| {})
            .await?;
        let mut day = from;
        while day <= to {
            self.after_day(day).await?;
            on_day(day);
            day += Duration::days(1);
        }
        Ok(RunReport {
            segments_run: rescored.days * u32::from(SEGMENT_COUNT),
            accounts_scored: rescored.account_days,
            ..RunReport::default()
        })
    }

    /// Rolls and scores one day for every account held in memory, in place, and answers what
    /// the day sends and records: its score events, history entries and checkpoints (with each
    /// segment's partial summary). All its reads come first: after a failure the records still
    /// stand at the day before.
    async fn score_in_memory(
        &self,
        day: NaiveDate,
        accounts: &mut Accounts,
    ) -> Result<ScoredDay, RunError> {
        let mut by_segment = Vec::with_capacity(usize::from(SEGMENT_COUNT));
        for segment in Segment::all() {
            by_segment.push((segment, self.chunks_by_account(segment, day).await?));
        }
        let mut chunks = BTreeMap::new();
        let mut unattributed = BTreeMap::new();
        for (segment, (by_account, lost)) in by_segment {
            let known = accounts.entry(segment).or_default();
            for account in by_account.keys() {
                known
                    .entry(account.clone())
                    .or_insert_with(|| AccountRecord::new(account.clone()));
            }
            chunks.extend(by_account);
            unattributed.insert(segment, lost);
        }
        let plan = DayPlan::new(&self.config.scoring, day);
        // Every window rolls once, before the peer pass, which then measures the rolled
        // windows as they are (no copy rolled for it) and the scoring reuses them.
        let mut rolled = BTreeSet::new();
        for of_segment in accounts.values_mut() {
            rolled.append(&mut roll_all(self.config, &plan, of_segment, &mut chunks));
        }
        let no_chunks = BTreeMap::new();
        let peers = needs_peers(&self.config.scoring).then(|| {
            self.collect_peers(
                &plan,
                accounts.values().flat_map(BTreeMap::values),
                &no_chunks,
            )
        });
        // One queue send for the whole day, not one per segment.
        let mut report = RunReport::default();
        let mut outgoing = Vec::new();
        let mut history: Vec<HistoryDay> = Vec::new();
        let sample_every = self.config.churn.sample_every_days;
        let mut checkpoints = Vec::with_capacity(usize::from(SEGMENT_COUNT));
        let now = self.clock.now();
        for (&segment, of_segment) in accounts.iter_mut() {
            let mut partial = PortfolioSummary::default();
            let events_before = outgoing.len();
            for (id, slot) in of_segment.iter_mut() {
                let record = std::mem::replace(slot, AccountRecord::new(id.clone()));
                let scored =
                    score_if_rolled(self.config, now, &plan, record, &rolled, peers.as_ref());
                let record = match scored {
                    Scored::Fresh { record, events } => {
                        outgoing.extend(events);
                        history.extend(
                            record
                                .score
                                .as_ref()
                                .map(|s| HistoryDay::of_scored(s, sample_every)),
                        );
                        record
                    }
                    Scored::AlreadyDone(record) | Scored::Inactive(record) => record,
                };
                summary::add_account(&mut partial, &record, day);
                *slot = record;
            }
            partial.unattributed_events += unattributed.get(&segment).copied().unwrap_or(0);
            let scored = of_segment.len() as u64;
            let events = (outgoing.len() - events_before) as u64;
            checkpoints.push(Checkpoint {
                run_id: Self::run_id(day),
                segment,
                done: true,
                last_account: of_segment.keys().next_back().cloned(),
                accounts_scored: scored,
                events_emitted: events,
                updated_at: self.clock.now(),
                summary: partial,
            });
            report.segments_run += 1;
            report.accounts_scored += scored;
            report.events_emitted += events;
        }
        Ok(ScoredDay {
            day,
            outgoing,
            history,
            checkpoints,
            report,
        })
    }
}
