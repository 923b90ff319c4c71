//! Late events: events that arrive after their day ended (mobile SDKs flush late, imports come
//! late). Ingest leaves a [`LateMark`] for each such account-day; the next run recomputes the
//! marked days before it scores new ones, so a score reflects every event received before the
//! run, whatever its timestamp.
//!
//! How marks are made and consumed (no read is added to ingest, and no run re-reads a day it
//! just covered):
//! - Ingest writes the chunks first, then one mark per (request, day) for every event dated
//!   before the UTC day it was received on (chunks are bucketed by UTC day, so such a day may
//!   have been scored). The mark is keyed by a digest of its day and accounts: a retried request
//!   rewrites the same mark.
//! - A fresh run of a day (no checkpoint of it exists yet) deletes that day's marks before it
//!   reads any chunk: their chunks were stored before the marks, so the run counts them.
//! - The next run (scheduled, `vitals score` in any form, the score Lambda) recomputes every
//!   mark dated on or before the last scored day ([`DailyRun::recompute_late`]): the segments of
//!   the marked accounts (every segment when a scorecard ranks against peers, since one
//!   account's change moves its peers' percentiles) are rescored from the earliest marked day
//!   through the last scored day, without notifications, then the marks it read are deleted.
//!   A mark made meanwhile has another key or is rewritten after the read, and stays for the
//!   next run.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::model::AccountId;
use crate::ports::Storage;
use crate::segment::Segment;

use super::rescore::{RescoreReport, Scope};
use super::{DailyRun, RunError};

/// Accounts that received events for `day` after that day ended, from one ingest request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LateMark {
    pub day: NaiveDate,
    /// A digest of the day and the accounts: the same accounts late on the same day make the
    /// same mark.
    pub id: String,
    /// In account id order, each once.
    pub accounts: Vec<AccountId>,
}

impl LateMark {
    pub fn new(day: NaiveDate, mut accounts: Vec<AccountId>) -> Self {
        use sha2::{Digest, Sha256};
        accounts.sort();
        accounts.dedup();
        let mut digest = Sha256::new();
        digest.update(day.to_string().as_bytes());
        for a in &accounts {
            digest.update([0u8]);
            digest.update(a.as_str().as_bytes());
        }
        LateMark {
            day,
            id: hex::encode(&digest.finalize()[..16]),
            accounts,
        }
    }
}

/// What [`DailyRun::recompute_late`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LateReport {
    /// Marks read and cleared.
    pub marks: usize,
    /// Accounts named by those marks.
    pub accounts_marked: usize,
    /// The days recomputed, when there were any.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub rescored: RescoreReport,
}

/// The marks that a run may act on: those of accounts other than `~unattributed`.
fn marked_accounts(marks: &[LateMark]) -> BTreeSet<&AccountId> {
    marks
        .iter()
        .flat_map(|m| m.accounts.iter())
        .filter(|a| a.as_str() != AccountId::UNATTRIBUTED)
        .collect()
}

impl<S: Storage + ?Sized> DailyRun<'_, S> {
    /// Recomputes the accounts late events marked, from their earliest marked day through the
    /// last scored day, then clears the marks it acted on. Marks dated after the last scored
    /// day are left for the fresh runs of their days. `on_progress(done, total)` is called
    /// after each day read.
    pub async fn recompute_late(
        &self,
        on_progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<LateReport, RunError> {
        let Some(last) = self.last_scored_day().await? else {
            return Ok(LateReport::default());
        };
        let due: Vec<LateMark> = self
            .storage
            .late_marks(None)
            .await?
            .into_iter()
            .filter(|m| m.day <= last)
            .collect();
        let Some(from) = due.iter().map(|m| m.day).min() else {
            return Ok(LateReport::default());
        };
        let accounts = marked_accounts(&due);
        let mut report = LateReport {
            marks: due.len(),
            accounts_marked: accounts.len(),
            ..Default::default()
        };
        if !accounts.is_empty() {
            let scope = if vitals_scoring::kernel::needs_peers(&self.config.scoring) {
                Scope::All
            } else {
                Scope::Segments(accounts.iter().map(|a| a.segment()).collect())
            };
            tracing::info!(%from, to = %last, accounts = accounts.len(), "recomputing days that late events changed");
            report.rescored = self.rescore_scope(&scope, from, last, on_progress).await?;
            report.from = Some(from);
            report.to = Some(last);
        }
        self.storage.delete_late_marks(&due).await?;
        Ok(report)
    }

    /// Before the first segment of a fresh run of `day` (no checkpoint of it yet): deletes the
    /// day's late marks, whose events this run is about to read. A resumed run keeps them (the
    /// accounts it scored before may not have seen those events); they are recomputed later.
    pub async fn claim_late_marks_of(&self, day: NaiveDate) -> Result<(), StoreError> {
        if !self
            .storage
            .list_checkpoints(&Self::run_id(day))
            .await?
            .is_empty()
        {
            return Ok(());
        }
        let marks = self.storage.late_marks(Some(day)).await?;
        if !marks.is_empty() {
            self.storage.delete_late_marks(&marks).await?;
        }
        Ok(())
    }

    /// Scores `day` as [`DailyRun::run_day`] does, first claiming the day's late marks when
    /// the run is fresh. What `vitals score`, the scheduler and the score Lambda call.
    pub async fn score_day(
        &self,
        day: NaiveDate,
        on_segment: &mut (dyn FnMut(Segment) + Send),
    ) -> Result<super::RunReport, RunError> {
        self.claim_late_marks_of(day).await?;
        self.run_day(day, on_segment).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(s: &str) -> AccountId {
        AccountId::new(s).unwrap()
    }

    #[test]
    fn the_same_accounts_late_on_the_same_day_make_the_same_mark() {
        let day: NaiveDate = "2026-03-04".parse().unwrap();
        let a = LateMark::new(day, vec![acct("b"), acct("a"), acct("b")]);
        let b = LateMark::new(day, vec![acct("a"), acct("b")]);
        assert_eq!(a, b);
        assert_eq!(a.accounts, vec![acct("a"), acct("b")]);
        let other_day = LateMark::new(day.succ_opt().unwrap(), vec![acct("a"), acct("b")]);
        assert_ne!(a.id, other_day.id);
    }
}
