//! Provisional "today so far" scores (see `crate::freshness`): every interval, the accounts
//! ingest marked as touched are scored on what is known so far, through the daily run's own
//! scoring path ([`score_one`]), and the result is stored beside the account's daily score.
//! Nothing else changes: the stored window, the history, the trail, summaries, checkpoints and
//! segment listings stay as the daily run left them, and no score event is sent, so no alert
//! fires about a day that has not ended. The daily score of that day supersedes it.
//!
//! What a refresh reads per touched account: its record (one read) and its segment's chunks of
//! today (one Query per touched segment, shared by its accounts). Days after the window's last
//! day that the daily run has not scored yet (between midnight and the run: yesterday) are
//! rolled in from their chunks too, at most [`MAX_UNSCORED_DAYS`], so the night does not look
//! like a quiet day. A brand-new account (no window yet) is scored on today's events alone.
//!
//! Peers: a scorecard that ranks against peers ranks the provisional score against the
//! portfolio as the last daily run left it (each stored window measured as of the last scored
//! day: the distribution that run ranked against), built once per process and scored day (a
//! read of every account record) and kept in a [`PeerCache`]. Before the first daily run there
//! are no peers and signals normalise absolutely, as a run does when a peer group is smaller
//! than `peers.min_peers`.
//!
//! Idempotent: a provisional score keeps a digest of its inputs, and an account whose inputs
//! have not changed is not written again, so a refresh with nothing new writes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use chrono::{Duration, NaiveDate};
use serde::Serialize;
use sha2::{Digest, Sha256};
use vitals_scoring::kernel::{needs_peers, DayPlan};
use vitals_scoring::{PeerBenchmarks, PeerCollector, ScoringConfig};

use crate::clock::Clock;
use crate::config::VitalsConfig;
use crate::error::StoreError;
use crate::freshness::RefreshInterval;
use crate::model::{AccountId, AccountRecord, EventChunk, ProvisionalListing, ProvisionalScore};
use crate::ports::Storage;
use crate::query::accounts::AccountRow;
use crate::segment::Segment;

use super::{
    accounts_of, add_peers, chunks_by_account, day_activity, score_one, RunError, Scored, BATCH,
};

/// Most unscored days before today a refresh rolls in from their chunks (yesterday, and the day
/// before when the schedule's time zone ends its day after UTC's); older gaps count as quiet.
pub const MAX_UNSCORED_DAYS: i64 = 2;

/// What one refresh did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProvisionalReport {
    /// The UTC day scored so far (none when provisional scores are off).
    pub day: Option<NaiveDate>,
    /// Accounts the touch marks of the recent intervals named.
    pub touched: usize,
    /// Provisional scores written.
    pub written: usize,
    /// Accounts whose inputs had not changed since their provisional score: nothing written.
    pub unchanged: usize,
    /// Accounts not active today (churned, not started): no provisional score.
    pub inactive: usize,
}

/// The peer distributions of the last scored day, kept by a process between refreshes.
#[derive(Debug, Default)]
pub struct PeerCache {
    kept: Mutex<Option<KeptPeers>>,
}

#[derive(Debug)]
struct KeptPeers {
    day: NaiveDate,
    scoring: ScoringConfig,
    peers: Arc<PeerBenchmarks>,
}

impl PeerCache {
    fn get(&self, day: NaiveDate, scoring: &ScoringConfig) -> Option<Arc<PeerBenchmarks>> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.as_ref()
            .filter(|k| k.day == day && &k.scoring == scoring)
            .map(|k| Arc::clone(&k.peers))
    }

    fn put(&self, day: NaiveDate, scoring: &ScoringConfig, peers: Arc<PeerBenchmarks>) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        *kept = Some(KeptPeers {
            day,
            scoring: scoring.clone(),
            peers,
        });
    }
}

/// The provisional refresh: what the `vitals serve` task and the score Lambda's scheduled
/// "provisional refresh" invocation run every interval.
pub struct ProvisionalRefresh<'a, S: Storage + ?Sized> {
    storage: &'a S,
    config: &'a VitalsConfig,
    clock: &'a dyn Clock,
    peers: &'a PeerCache,
}

impl<'a, S: Storage + ?Sized> ProvisionalRefresh<'a, S> {
    pub fn new(
        storage: &'a S,
        config: &'a VitalsConfig,
        clock: &'a dyn Clock,
        peers: &'a PeerCache,
    ) -> Self {
        ProvisionalRefresh {
            storage,
            config,
            clock,
            peers,
        }
    }

    /// Scores the accounts touched in the recent intervals whose inputs changed, and stores
    /// their provisional scores and list rows.
    pub async fn refresh(&self) -> Result<ProvisionalReport, RunError> {
        let Some(interval) = RefreshInterval::of(&self.config.freshness) else {
            return Ok(ProvisionalReport::default());
        };
        let now = self.clock.now();
        let today = now.date_naive();
        let mut report = ProvisionalReport {
            day: Some(today),
            ..Default::default()
        };
        let mut touched: BTreeMap<Segment, Vec<AccountId>> = BTreeMap::new();
        for account in self.touched(interval, now).await? {
            report.touched += 1;
            touched.entry(account.segment()).or_default().push(account);
        }
        if touched.is_empty() {
            return Ok(report);
        }
        let peers = self.peers_of_last_day(today).await?;
        let plan = DayPlan::new(&self.config.scoring, today);
        let settings = settings_digest(self.config);
        let mut scores = Vec::new();
        let mut rows = Vec::new();
        for (segment, accounts) in touched {
            let mut days = SegmentDays::new(segment);
            for account in accounts {
                let record = self
                    .storage
                    .get_account(&account)
                    .await?
                    .unwrap_or_else(|| AccountRecord::new(account.clone()));
                let unscored = unscored_days(&record, today);
                for &day in unscored.iter().chain([&today]) {
                    days.load(self.storage, day).await?;
                }
                let chunks = unscored
                    .iter()
                    .chain([&today])
                    .flat_map(|&day| days.of(day, &account));
                let inputs = inputs_digest(&record, &settings, chunks);
                if record
                    .provisional
                    .as_ref()
                    .is_some_and(|p| p.day == today && p.inputs == inputs)
                {
                    report.unchanged += 1;
                    continue;
                }
                let mut rolled = record.clone();
                for &day in &unscored {
                    rolled
                        .window
                        .roll(day, &day_activity(self.config, days.of(day, &account)));
                }
                let today_chunks = days.of(today, &account);
                // Its score events are dropped: nothing is sent about a day that has not ended.
                match score_one(
                    self.config,
                    now,
                    &plan,
                    rolled,
                    today_chunks,
                    peers.as_deref(),
                ) {
                    Scored::Fresh { record: scored, .. } => {
                        let Some(mut score) = scored.score.map(|s| s.score) else {
                            continue;
                        };
                        // The usage snapshot is for models fitted on complete days.
                        score.usage = None;
                        let provisional = ProvisionalScore {
                            account_id: account.clone(),
                            day: today,
                            computed_at: now,
                            inputs,
                            score,
                        };
                        let mut shown = record;
                        shown.provisional = Some(provisional.clone());
                        rows.push(AccountRow::from_record(&shown, today));
                        scores.push(provisional);
                    }
                    Scored::Inactive(_) => report.inactive += 1,
                    // A window already through today: the daily run has it.
                    Scored::AlreadyDone(_) => report.unchanged += 1,
                }
            }
        }
        for batch in scores.chunks(BATCH) {
            self.storage.put_provisional_scores(batch).await?;
        }
        report.written = scores.len();
        if !rows.is_empty() {
            self.update_listing(today, rows).await?;
        }
        Ok(report)
    }

    /// The accounts the touch marks of the intervals a refresh at `now` reads name.
    async fn touched(
        &self,
        interval: RefreshInterval,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<BTreeSet<AccountId>, StoreError> {
        let mut touched = BTreeSet::new();
        for start in interval.read_at(now) {
            for mark in self.storage.touch_marks(start).await? {
                touched.extend(mark.accounts);
            }
        }
        touched.remove(&AccountId::unattributed());
        Ok(touched)
    }

    /// Peer distributions as the last daily run (before `today`) ranked against, when a
    /// scorecard ranks against peers: from the cache, else measured from every stored record.
    async fn peers_of_last_day(
        &self,
        today: NaiveDate,
    ) -> Result<Option<Arc<PeerBenchmarks>>, StoreError> {
        if !needs_peers(&self.config.scoring) {
            return Ok(None);
        }
        let last = self.storage.latest_summary().await?.and_then(|s| s.as_of);
        let Some(day) = last.filter(|d| *d < today) else {
            return Ok(None);
        };
        if let Some(peers) = self.peers.get(day, &self.config.scoring) {
            return Ok(Some(peers));
        }
        let plan = DayPlan::new(&self.config.scoring, day);
        let mut collector = PeerCollector::default();
        let none = BTreeMap::new();
        for segment in Segment::all() {
            let accounts = accounts_of(self.storage, segment, &none).await?;
            add_peers(&mut collector, self.config, &plan, accounts.values(), &none);
        }
        let peers = Arc::new(collector.finish());
        self.peers
            .put(day, &self.config.scoring, Arc::clone(&peers));
        Ok(Some(peers))
    }

    /// Merges the new rows into today's provisional rows (yesterday's are dropped) and stores
    /// them, keeping the newest [`ProvisionalListing::MAX_ROWS`].
    async fn update_listing(
        &self,
        today: NaiveDate,
        rows: Vec<AccountRow>,
    ) -> Result<(), StoreError> {
        let mut kept: BTreeMap<String, AccountRow> =
            match self.storage.provisional_listing().await? {
                Some(listing) if listing.day == today => listing
                    .rows
                    .into_iter()
                    .map(|r| (r.account_id.clone(), r))
                    .collect(),
                _ => BTreeMap::new(),
            };
        for row in rows {
            kept.insert(row.account_id.clone(), row);
        }
        let mut rows: Vec<AccountRow> = kept.into_values().collect();
        if rows.len() > ProvisionalListing::MAX_ROWS {
            rows.sort_by_key(|r| std::cmp::Reverse(r.provisional.as_ref().map(|p| p.computed_at)));
            rows.truncate(ProvisionalListing::MAX_ROWS);
            rows.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        }
        self.storage
            .put_provisional_listing(&ProvisionalListing { day: today, rows })
            .await
    }
}

/// One segment's chunks by day and account, each day read once per refresh.
struct SegmentDays {
    segment: Segment,
    days: BTreeMap<NaiveDate, BTreeMap<AccountId, Vec<EventChunk>>>,
}

impl SegmentDays {
    fn new(segment: Segment) -> Self {
        SegmentDays {
            segment,
            days: BTreeMap::new(),
        }
    }

    async fn load<S: Storage + ?Sized>(
        &mut self,
        storage: &S,
        day: NaiveDate,
    ) -> Result<(), StoreError> {
        if !self.days.contains_key(&day) {
            let (by_account, _) = chunks_by_account(storage, self.segment, day).await?;
            self.days.insert(day, by_account);
        }
        Ok(())
    }

    fn of(&self, day: NaiveDate, account: &AccountId) -> &[EventChunk] {
        self.days
            .get(&day)
            .and_then(|d| d.get(account))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

/// Days after the window's last day and before `today` that the daily run has not rolled in
/// yet, the latest [`MAX_UNSCORED_DAYS`] at most; none for an account without a window.
fn unscored_days(record: &AccountRecord, today: NaiveDate) -> Vec<NaiveDate> {
    let Some(through) = record.window.through else {
        return Vec::new();
    };
    let first = (through + Duration::days(1)).max(today - Duration::days(MAX_UNSCORED_DAYS));
    first.iter_days().take_while(|d| *d < today).collect()
}

/// A digest of the configuration a score depends on, so a changed configuration rescores.
fn settings_digest(config: &VitalsConfig) -> Vec<u8> {
    let text = serde_json::to_string(&(&config.scoring, &config.usage, &config.signals))
        .unwrap_or_default();
    Sha256::digest(text.as_bytes()).to_vec()
}

/// What a provisional score is computed from: the configuration, the window's last day, the
/// daily score it compares with, the profile's last change and the chunks rolled in (a chunk's
/// id names its messages).
fn inputs_digest<'c>(
    record: &AccountRecord,
    settings: &[u8],
    chunks: impl Iterator<Item = &'c EventChunk>,
) -> String {
    let mut digest = Sha256::new();
    digest.update(settings);
    let stamp = |d: Option<String>| d.unwrap_or_default();
    for part in [
        stamp(record.window.through.map(|d| d.to_string())),
        stamp(record.score.as_ref().map(|s| s.as_of.to_string())),
        stamp(record.profile.updated_at.map(|t| t.to_rfc3339())),
    ] {
        digest.update(part.as_bytes());
        digest.update([0u8]);
    }
    let mut ids: Vec<(NaiveDate, &str)> = chunks.map(|c| (c.day, c.chunk_id.as_str())).collect();
    ids.sort_unstable();
    ids.dedup();
    for (day, id) in ids {
        digest.update(day.to_string().as_bytes());
        digest.update(id.as_bytes());
        digest.update([0u8]);
    }
    hex::encode(&digest.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_days_the_daily_run_has_not_rolled_in_yet_are_rolled_before_today() {
        let mut record = AccountRecord::new(AccountId::new("acme").unwrap());
        assert!(
            unscored_days(&record, day("2026-03-10")).is_empty(),
            "brand new: today alone"
        );
        record.window.through = Some(day("2026-03-09"));
        assert!(unscored_days(&record, day("2026-03-10")).is_empty());
        record.window.through = Some(day("2026-03-08"));
        assert_eq!(
            unscored_days(&record, day("2026-03-10")),
            [day("2026-03-09")]
        );
        record.window.through = Some(day("2026-02-01"));
        assert_eq!(
            unscored_days(&record, day("2026-03-10")),
            [day("2026-03-08"), day("2026-03-09")]
        );
    }

    #[test]
    fn inputs_change_with_new_chunks_and_not_with_their_order() {
        let record = AccountRecord::new(AccountId::new("acme").unwrap());
        let a = EventChunk::new(record.account_id.clone(), day("2026-03-10"), vec![]);
        let mut b = a.clone();
        b.chunk_id = "other".into();
        let once = inputs_digest(&record, b"s", [&a].into_iter());
        assert_eq!(once, inputs_digest(&record, b"s", [&a, &a].into_iter()));
        let both = inputs_digest(&record, b"s", [&a, &b].into_iter());
        assert_ne!(once, both);
        assert_eq!(both, inputs_digest(&record, b"s", [&b, &a].into_iter()));
        assert_ne!(once, inputs_digest(&record, b"t", [&a].into_iter()));
    }
}
