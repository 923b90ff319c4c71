//! Rescoring: recomputes days already scored with the configuration in force now (new weights,
//! a calibrated scorecard), or because late events changed them. What a day's run would have
//! given, had it run now on the events stored now, without notifying anyone about the past.
//!
//! Windows are append-only, so a past day cannot be taken out of one: each account in scope
//! starts from an empty window and rolls the stored chunks from [`WINDOW_DAYS`] − 1 days before
//! the first rescored day (warm-up: nothing is written for those days). The few parts of a window
//! that reach further back (the first active, engagement, invoice and first-value days, survey
//! answers) are carried over from the stored window when they are older than the warm-up. Then
//! every account is scored day by day through the same code path as the daily run
//! (`DailyRun::score_one`; peer percentiles, when a scorecard uses them, rank every account in
//! scope that day), and for each rescored day the history entries, the segment's checkpoint
//! (its partial summary) and the portfolio summary are rewritten. The day before the range is
//! scored too, unwritten, so the first rescored day's change and "rising score" compare with a
//! score made under the same configuration. Nothing is sent to the alert queue.
//!
//! Accounts whose stored window reaches past the range are rolled on to where they were, so a
//! window is never left behind; their current score (and its history) is kept as it was when it
//! is dated after the range. Each account's record (window, current score, trail) and each
//! segment's listing are written once, at the end: a rescore that stops half-way leaves the
//! records as they were, and running it again gives the same result.
//!
//! Memory: every account record in scope is held at once, with one day's chunks; for this
//! release the whole portfolio fits in memory (about 5 KB per account).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use serde::Serialize;
use vitals_scoring::kernel::{needs_peers, DayPlan};
use vitals_scoring::{UsageWindow, WINDOW_DAYS};

use crate::history::HistoryDay;
use crate::model::{
    AccountId, AccountRecord, Checkpoint, EventChunk, PortfolioSummary, ScoreRecord,
};
use crate::ports::Storage;
use crate::query::listing::ListingBuilder;
use crate::segment::Segment;
use crate::trail::ScoreTrail;

use super::days::DayNotOver;
use super::{summary, DailyRun, RunError, Scored, BATCH};

/// Which accounts a rescore recomputes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    All,
    /// Every account of these segments (a segment's partial summary needs all of them).
    Segments(BTreeSet<Segment>),
}

impl Scope {
    fn segments(&self) -> Vec<Segment> {
        match self {
            Scope::All => Segment::all().collect(),
            Scope::Segments(set) => set.iter().copied().collect(),
        }
    }
}

/// What a rescore did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RescoreReport {
    /// Days whose scores were rewritten.
    pub days: u32,
    /// Accounts recomputed.
    pub accounts: u64,
    /// History entries rewritten.
    pub account_days: u64,
    /// Portfolio summaries rewritten.
    pub summaries: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum RescoreError {
    #[error("--from {from} is after --to {to}")]
    Range { from: NaiveDate, to: NaiveDate },
    #[error(transparent)]
    NotOver(#[from] DayNotOver),
    #[error(
        "{to} has not been scored yet ({}): --rescore recomputes days already scored; score \
         the later days without --rescore first",
        .last.map_or_else(|| "no day has been".to_string(), |d| format!("the last scored day is {d}"))
    )]
    NotScored {
        to: NaiveDate,
        last: Option<NaiveDate>,
    },
    #[error(transparent)]
    Run(#[from] RunError),
}

impl RescoreError {
    pub fn is_retryable(&self) -> bool {
        match self {
            RescoreError::Run(e) => e.is_retryable(),
            _ => false,
        }
    }
}

/// One account while it is recomputed.
struct Recomputed {
    /// Taken while the account is scored, put back after.
    record: Option<AccountRecord>,
    /// As stored before the rescore: restored where the rescore must not change them.
    stored_score: Option<ScoreRecord>,
    stored_trail: ScoreTrail,
    /// The last day the stored window had rolled in: the rescore rolls on to it.
    stored_through: Option<NaiveDate>,
    /// Whether the account had a score on the day before the range.
    scored_before: bool,
    /// Current score and trail once the last rescored day is done (when days follow it).
    at_end_of_range: Option<(Option<ScoreRecord>, ScoreTrail)>,
}

/// What a day is to the rescore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Rolled only (its score is not kept).
    WarmUp,
    /// The day before the range: scored for the first day's "previous", not written.
    DayBefore,
    /// Rescored and written.
    Rescored,
    /// After the range: rolled so windows get back to where they were.
    Catch,
}

/// A window holding only what reaches back before `start` (the warm-up's first day): the
/// days the account first did something, and survey answers.
fn window_before(stored: &UsageWindow, start: NaiveDate) -> UsageWindow {
    let before = |d: Option<NaiveDate>| d.filter(|d| *d < start);
    UsageWindow {
        first_active: before(stored.first_active),
        engagement_since: before(stored.engagement_since),
        invoices_since: before(stored.invoices_since),
        first_value_on: before(stored.first_value_on),
        surveys: stored
            .surveys
            .iter()
            .filter(|s| s.day < start)
            .cloned()
            .collect(),
        ..UsageWindow::default()
    }
}

impl<S: Storage + ?Sized> DailyRun<'_, S> {
    /// Recomputes the scored days `from..=to` for the whole portfolio with the current
    /// configuration: history, trails, summaries and listings; no score events are sent.
    /// `on_progress(done, total)` is called after each day read (warm-up days included).
    pub async fn rescore(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        on_progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<RescoreReport, RescoreError> {
        if from > to {
            return Err(RescoreError::Range { from, to });
        }
        self.check_scorable(to)?;
        let last = self.last_scored_day().await?;
        if last.is_none_or(|last| to > last) {
            return Err(RescoreError::NotScored { to, last });
        }
        Ok(self
            .rescore_scope(&Scope::All, from, to, on_progress)
            .await?)
    }

    /// [`DailyRun::rescore`] for the accounts of `scope`, without checking the range.
    pub(crate) async fn rescore_scope(
        &self,
        scope: &Scope,
        from: NaiveDate,
        to: NaiveDate,
        on_progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<RescoreReport, RunError> {
        let segments = scope.segments();
        let start = from - Duration::days(WINDOW_DAYS as i64 - 1);
        let day_before = from - Duration::days(1);
        let mut accounts = self.load_for_rescore(&segments, start, day_before).await?;
        let end = accounts
            .values()
            .flat_map(BTreeMap::values)
            .filter_map(|a| a.stored_through)
            .fold(to, NaiveDate::max);
        let total = u64::try_from((end - start).num_days() + 1).unwrap_or(0);
        let peers_needed = needs_peers(&self.config.scoring);
        let mut report = RescoreReport::default();
        let mut day = start;
        let mut done = 0;
        while day <= end {
            let phase = match day {
                d if d < day_before => Phase::WarmUp,
                d if d == day_before => Phase::DayBefore,
                d if d <= to => Phase::Rescored,
                _ => Phase::Catch,
            };
            let mut chunks: BTreeMap<AccountId, Vec<EventChunk>> = BTreeMap::new();
            let mut unattributed: BTreeMap<Segment, u64> = BTreeMap::new();
            for &segment in &segments {
                let (by_account, lost) = self.chunks_by_account(segment, day).await?;
                let known = accounts.entry(segment).or_default();
                for account in by_account.keys() {
                    // First seen in the events (no record yet): scored from this day on, as
                    // the daily run would have.
                    known.entry(account.clone()).or_insert_with(|| Recomputed {
                        record: Some(AccountRecord::new(account.clone())),
                        stored_score: None,
                        stored_trail: ScoreTrail::default(),
                        stored_through: None,
                        scored_before: false,
                        at_end_of_range: None,
                    });
                }
                chunks.extend(by_account);
                unattributed.insert(segment, lost);
            }
            let plan = DayPlan::new(&self.config.scoring, day);
            let peers =
                (peers_needed && matches!(phase, Phase::DayBefore | Phase::Rescored)).then(|| {
                    let records = accounts
                        .values()
                        .flat_map(BTreeMap::values)
                        .filter_map(|a| a.record.as_ref());
                    self.collect_peers(&plan, records, &chunks)
                });
            let existing = if phase == Phase::Rescored {
                self.storage.list_checkpoints(&Self::run_id(day)).await?
            } else {
                Vec::new()
            };
            for (&segment, of_segment) in accounts.iter_mut() {
                let mut partial = PortfolioSummary::default();
                let mut history = Vec::new();
                for (id, a) in of_segment.iter_mut() {
                    let Some(record) = a.record.take() else {
                        continue;
                    };
                    let own = chunks.remove(id).unwrap_or_default();
                    let (mut record, scored) =
                        match self.score_one(&plan, record, &own, peers.as_ref()) {
                            Scored::Fresh { record, .. } => (record, true),
                            Scored::AlreadyDone(record) | Scored::Inactive(record) => {
                                (record, false)
                            }
                        };
                    match phase {
                        Phase::DayBefore => {
                            record.trail = a.stored_trail.clone();
                            // Scored now but not then: the first rescored day has no previous.
                            // An account not scored (not started, churned) keeps what it has.
                            if scored && !a.scored_before {
                                record.score = None;
                            }
                        }
                        Phase::Rescored => {
                            if scored {
                                if let Some(s) = &record.score {
                                    history.push(HistoryDay::of_scored(
                                        s,
                                        self.config.churn.sample_every_days,
                                    ));
                                }
                            }
                            // Every account counts in the summary, by its lifecycle, as in the
                            // daily run.
                            summary::add_account(&mut partial, &record, day);
                            if day == to && end > to {
                                a.at_end_of_range =
                                    Some((record.score.clone(), record.trail.clone()));
                            }
                        }
                        _ => {}
                    }
                    a.record = Some(record);
                }
                if phase != Phase::Rescored {
                    continue;
                }
                partial.unattributed_events += unattributed.get(&segment).copied().unwrap_or(0);
                report.account_days += history.len() as u64;
                let scored = history.len() as u64;
                self.storage.put_history(&history).await?;
                let before = existing.iter().find(|c| c.segment == segment);
                self.storage
                    .put_checkpoint(&Checkpoint {
                        run_id: Self::run_id(day),
                        segment,
                        done: true,
                        last_account: of_segment.keys().next_back().cloned(),
                        accounts_scored: scored,
                        // Score events are what the first run of the day sent; a rescore sends none.
                        events_emitted: before.map_or(0, |c| c.events_emitted),
                        updated_at: self.clock.now(),
                        summary: partial,
                    })
                    .await?;
            }
            if phase == Phase::Rescored {
                report.days += 1;
                match self.publish_summary(day).await {
                    Ok(_) => report.summaries += 1,
                    // Segments outside the scope have not run that day: its summary waits.
                    Err(RunError::Incomplete { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            done += 1;
            on_progress(done, total);
            day += Duration::days(1);
        }
        // The list rows carry the churn risk of the latest model, as the daily run's do.
        let churn_model = self.storage.latest_churn_model().await?.map(Arc::new);
        for (&segment, of_segment) in accounts.iter_mut() {
            let mut records = Vec::with_capacity(of_segment.len());
            for a in of_segment.values_mut() {
                let Some(mut record) = a.record.take() else {
                    continue;
                };
                if end > to {
                    // Days after the range were only rolled: their scores stay as stored.
                    let (score, trail) = a
                        .at_end_of_range
                        .take()
                        .unwrap_or_else(|| (a.stored_score.clone(), a.stored_trail.clone()));
                    record.trail = trail;
                    record.score = match &a.stored_score {
                        Some(stored) if stored.as_of > to => Some(stored.clone()),
                        _ => score,
                    };
                }
                records.push(record);
            }
            report.accounts += records.len() as u64;
            for batch in records.chunks(BATCH) {
                self.storage.put_scoring_states(batch).await?;
            }
            let listing =
                ListingBuilder::with_churn_model(segment, end, records.iter(), churn_model.clone());
            self.storage.put_segment_listing(&listing.finish()).await?;
        }
        Ok(report)
    }

    /// The stored accounts of `segments`, each starting from a window holding only what
    /// reaches back before `start`.
    async fn load_for_rescore(
        &self,
        segments: &[Segment],
        start: NaiveDate,
        day_before: NaiveDate,
    ) -> Result<BTreeMap<Segment, BTreeMap<AccountId, Recomputed>>, RunError> {
        // Whether anyone was scored the day before: without a summary that day, no one was.
        let day_before_ran = !self
            .storage
            .summaries(day_before, day_before)
            .await?
            .is_empty();
        let mut out = BTreeMap::new();
        for &segment in segments {
            let mut of_segment = BTreeMap::new();
            for (id, mut record) in self.accounts_of(segment, &BTreeMap::new()).await? {
                let scored_before =
                    day_before_ran && self.had_score_on(&record, day_before).await?;
                let stored_trail = record.trail.clone();
                let stored_score = record.score.clone();
                let stored_through = record.window.through;
                record.window = window_before(&record.window, start);
                of_segment.insert(
                    id,
                    Recomputed {
                        record: Some(record),
                        stored_score,
                        stored_trail,
                        stored_through,
                        scored_before,
                        at_end_of_range: None,
                    },
                );
            }
            out.insert(segment, of_segment);
        }
        Ok(out)
    }

    /// Whether the account was scored on `day`: its trail says so when it reaches back that
    /// far, else its history (one read).
    async fn had_score_on(&self, record: &AccountRecord, day: NaiveDate) -> Result<bool, RunError> {
        let points = record.trail.points();
        if points.first().is_some_and(|p| p.day <= day) {
            return Ok(points.iter().any(|p| p.day == day));
        }
        Ok(!self
            .storage
            .history(&record.account_id, day, day)
            .await?
            .is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals_scoring::{SurveyKind, SurveyResponse};

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_rebuilt_window_keeps_only_what_is_older_than_its_warm_up() {
        let stored = UsageWindow {
            through: Some(day("2026-06-30")),
            first_active: Some(day("2026-01-05")),
            engagement_since: Some(day("2026-06-01")),
            surveys: vec![
                SurveyResponse {
                    day: day("2026-02-01"),
                    kind: SurveyKind::Nps,
                    answer: 9,
                },
                SurveyResponse {
                    day: day("2026-06-02"),
                    kind: SurveyKind::Nps,
                    answer: 3,
                },
            ],
            ..UsageWindow::default()
        };
        let w = window_before(&stored, day("2026-03-01"));
        assert_eq!(w.through, None);
        assert_eq!(w.first_active, Some(day("2026-01-05")));
        assert_eq!(w.engagement_since, None);
        assert_eq!(w.surveys.len(), 1);
        assert_eq!(w.surveys[0].answer, 9);
    }
}
