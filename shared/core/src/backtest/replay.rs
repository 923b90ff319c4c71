//! Replaying a range: reading accounts, outcomes, history (and events for the baseline) up to
//! its end, and building the (account, evaluation day) samples every ranking is judged on.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::Datelike;
use chrono::NaiveDate;
use vitals_scoring::churn::{ChurnModel, Features, FitOptions};
use vitals_scoring::usage_features::{self, UsageSnapshot};
use vitals_scoring::ScoringConfig;

use super::ranking::Ctx;
use super::{
    add_days, evaluation_days, health_of, sub_days, Account, BacktestError, BacktestOptions,
    BacktestReport, Observe, Sample, BASELINE, BASELINE_DAYS, CHURN_MODEL, HEALTH_SCORE, PAGE,
    PERIOD_ALL, PERIOD_TEST,
};
use crate::history::HistoryDay;
use crate::model::{AccountId, EventKind, OutcomeKind};
use crate::ports::{AccountStore, EventStore, ScoreHistoryStore};
use crate::segment::Segment;

/// The replayed history of a range: every (account, evaluation day) sample with its label,
/// signal values and history entry, ready to be ranked one way or another.
pub struct Replay {
    opts: BacktestOptions,
    days: Vec<NaiveDate>,
    accounts: Vec<Account>,
    samples: Vec<Sample>,
    /// Evaluation days `..train_len` train the model; `test_start..` test it; those between
    /// are purged (their labels would look into the test days).
    train_len: usize,
    test_start: usize,
    /// The event types the churn model's usage features cover (the most used in training).
    vocabulary: Vec<String>,
}

impl Replay {
    /// Reads accounts, outcomes and history up to `opts.to` (and, with `count_events`, the
    /// product events the baseline counts) and builds the samples.
    pub async fn load<S>(
        store: &S,
        opts: &BacktestOptions,
        count_events: bool,
    ) -> Result<Replay, BacktestError>
    where
        S: AccountStore + ScoreHistoryStore + EventStore + ?Sized,
    {
        if opts.from > opts.to {
            return Err(BacktestError::Range(format!(
                "--from {} is after --to {}",
                opts.from, opts.to
            )));
        }
        let days = evaluation_days(opts);
        let Some(&last_day) = days.last() else {
            return Err(BacktestError::Range(format!(
                "{}..{} is shorter than the {}-day horizon: no evaluation day has its whole \
                 horizon in the range",
                opts.from, opts.to, opts.horizon_days
            )));
        };
        let step = u64::from(opts.step_days.max(1));
        let history_from = sub_days(opts.from, step).unwrap_or(opts.from);

        // Accounts, their outcomes and history (nothing after `to`).
        let mut ids: Vec<AccountId> = Vec::new();
        let mut accounts: Vec<Account> = Vec::new();
        for segment in Segment::all() {
            let mut cursor: Option<String> = None;
            loop {
                let page = store.list_segment(segment, cursor.as_deref(), PAGE).await?;
                for record in page.items {
                    let history: Vec<HistoryDay> = store
                        .history(&record.account_id, history_from, opts.to)
                        .await?
                        .into_iter()
                        .filter(|h| h.as_of <= opts.to)
                        .collect();
                    let history = match opts.observe {
                        Observe::EveryStep => observed_entries(history, &days, step),
                        Observe::Monthly => history,
                    };
                    let mut churns: Vec<NaiveDate> = record
                        .profile
                        .outcomes
                        .iter()
                        .filter(|o| o.kind == OutcomeKind::Churned && o.on <= opts.to)
                        .map(|o| o.on)
                        .collect();
                    churns.sort();
                    churns.dedup();
                    ids.push(record.account_id);
                    accounts.push(Account {
                        start: record.profile.started_on,
                        history,
                        churns,
                        events: BTreeMap::new(),
                    });
                }
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        if count_events {
            count_product_events(store, &ids, &mut accounts, opts.from, last_day).await?;
        }

        let horizon = u64::from(opts.horizon_days);
        let mut samples: Vec<Sample> = Vec::new();
        for (a, account) in accounts.iter().enumerate() {
            for (day_idx, date) in observations(opts, &days, account) {
                let Some(horizon_end) = add_days(date, horizon).filter(|end| *end <= opts.to)
                else {
                    continue;
                };
                if account.churns.iter().any(|&c| c <= date)
                    || account.start.is_some_and(|s| s > date)
                {
                    continue;
                }
                let week_start = sub_days(date, step.saturating_sub(1)).unwrap_or(date);
                let in_week = |h: &HistoryDay| h.as_of <= date && h.as_of >= week_start;
                let Some(entry) = account.history.iter().rposition(in_week) else {
                    continue;
                };
                let snapshot = account
                    .history
                    .iter()
                    .rposition(|h| in_week(h) && h.usage.is_some());
                // Not yet started: no start date and no activity up to the day.
                let usage = snapshot.and_then(|i| account.history[i].usage.as_ref());
                if account.start.is_none() && usage.is_some_and(|u| u.tenure_days.is_none()) {
                    continue;
                }
                let label = account.churns.iter().any(|&c| c > date && c <= horizon_end);
                let since = sub_days(date, BASELINE_DAYS - 1).unwrap_or(date);
                let events: u64 = account.events.range(since..=date).map(|(_, n)| n).sum();
                samples.push(Sample {
                    account: a,
                    day: day_idx,
                    date,
                    label,
                    entry,
                    snapshot,
                    baseline_risk: -(events as f64),
                });
            }
        }
        samples.sort_by_key(|s| (s.day, s.account, s.date));
        // Time-based split with a purge gap of one horizon.
        let test_start = ((days.len() as f64 * opts.train_share.clamp(0.0, 1.0)).ceil() as usize)
            .clamp(1, days.len());
        let first_test = days.get(test_start).copied();
        let train_len = days[..test_start]
            .iter()
            .take_while(|d| {
                first_test.is_none_or(|t| add_days(**d, horizon).is_some_and(|end| end < t))
            })
            .count();
        let snapshot_of = |s: &Sample| {
            s.snapshot
                .and_then(|i| accounts[s.account].history[i].usage.as_ref())
        };
        let vocabulary = usage_features::vocabulary(
            samples
                .iter()
                .filter(|s| s.day < train_len)
                .filter_map(snapshot_of),
            opts.max_event_types,
        );
        Ok(Replay {
            opts: opts.clone(),
            days,
            accounts,
            samples,
            train_len,
            test_start,
            vocabulary,
        })
    }

    /// The event types the usage features cover.
    pub fn vocabulary(&self) -> &[String] {
        &self.vocabulary
    }

    /// The usage snapshot behind a sample.
    fn snapshot(&self, s: &Sample) -> Option<&UsageSnapshot> {
        s.snapshot
            .and_then(|i| self.accounts[s.account].history[i].usage.as_ref())
    }

    /// A sample's model features, made when asked (a year of weekly samples of thousands of
    /// accounts would hold gigabytes of them at once).
    fn features(&self, s: &Sample) -> Features {
        let entry = &self.accounts[s.account].history[s.entry];
        usage_features::of_score(self.snapshot(s), &entry.health, &self.vocabulary)
    }

    /// The evaluation days, oldest first.
    pub fn days(&self) -> &[NaiveDate] {
        &self.days
    }

    /// Every sample as (evaluation day index, signal values, churned within the horizon).
    pub fn labelled(&self) -> impl Iterator<Item = (usize, Features, bool)> + '_ {
        self.samples
            .iter()
            .map(|s| (s.day, self.features(s), s.label))
    }

    /// Distinct accounts that churned within the horizon of a sampled day.
    pub fn churned_accounts(&self) -> usize {
        self.samples
            .iter()
            .filter(|s| s.label)
            .map(|s| s.account)
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// Features and labels of the training days (the earliest `train_share` of them, less the
    /// purge gap), with each sample's evaluation day index.
    pub fn training_set(&self) -> (Vec<Features>, Vec<bool>) {
        self.samples
            .iter()
            .filter(|s| s.day < self.train_len)
            .map(|s| (self.features(s), s.label))
            .unzip()
    }

    /// The day each training sample was observed (days from the common era), in
    /// [`Replay::training_set`]'s order: what a time-ordered model selection splits on.
    pub fn training_days(&self) -> Vec<u32> {
        self.samples
            .iter()
            .filter(|s| s.day < self.train_len)
            .map(|s| u32::try_from(s.date.num_days_from_ce()).unwrap_or(0))
            .collect()
    }

    /// Training samples with a usage snapshot.
    pub fn training_snapshots(&self) -> usize {
        self.samples
            .iter()
            .filter(|s| s.day < self.train_len)
            .filter(|s| self.snapshot(s).is_some())
            .count()
    }

    /// [`Replay::training_set`] by the scorecard that scored each sample.
    pub fn training_sets_by_scorecard(&self) -> BTreeMap<String, (Vec<Features>, Vec<bool>)> {
        let mut out: BTreeMap<String, (Vec<Features>, Vec<bool>)> = BTreeMap::new();
        for s in self.samples.iter().filter(|s| s.day < self.train_len) {
            let card = &self.accounts[s.account].history[s.entry].health.scorecard;
            let set = out.entry(card.clone()).or_default();
            set.0.push(self.features(s));
            set.1.push(s.label);
        }
        out
    }

    /// The churn model fitted on the training samples: an elastic net whose penalty is chosen
    /// on the later training days, a horizon apart from the earlier ones it is fitted on.
    pub fn fit_model(&self) -> ChurnModel {
        let (x, y) = self.training_set();
        let options = FitOptions {
            gap_days: self.opts.horizon_days,
            fallback_l2: self.opts.l2,
            ..FitOptions::default()
        };
        ChurnModel::fit_time_ordered(&x, &y, &self.training_days(), &options).0
    }

    /// The report: the health score as recorded, or re-weighed with `rescore`'s scorecards.
    pub fn report(&self, rescore: Option<&ScoringConfig>) -> BacktestReport {
        let opts = &self.opts;
        let samples = &self.samples;
        let test: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.day >= self.test_start)
            .collect();
        let model = self.fit_model();
        let all: Vec<&Sample> = samples.iter().collect();

        let ctx = Ctx {
            days: &self.days,
            accounts: &self.accounts,
            horizon: u64::from(opts.horizon_days),
            alert_k: opts.alert_k,
            rescore,
        };
        let health =
            |s: &Sample| 100.0 - health_of(&self.accounts[s.account].history[s.entry], rescore).0;
        let baseline = |s: &Sample| s.baseline_risk;
        let churn = |s: &Sample| model.predict(&self.features(s));
        let rankings = vec![
            ctx.report(HEALTH_SCORE, PERIOD_ALL, &all, &health, false),
            ctx.report(BASELINE, PERIOD_ALL, &all, &baseline, false),
            ctx.report(HEALTH_SCORE, PERIOD_TEST, &test, &health, false),
            ctx.report(CHURN_MODEL, PERIOD_TEST, &test, &churn, true),
            ctx.report(BASELINE, PERIOD_TEST, &test, &baseline, false),
        ];

        let sampled: BTreeSet<usize> = samples.iter().map(|s| s.account).collect();
        BacktestReport {
            from: opts.from,
            to: opts.to,
            horizon_days: opts.horizon_days,
            step_days: opts.step_days.max(1),
            alert_k: opts.alert_k,
            observe: opts.observe,
            train_days: self.days[..self.train_len].to_vec(),
            purged_days: self.days[self.train_len..self.test_start].to_vec(),
            test_days: self.days[self.test_start..].to_vec(),
            accounts: sampled.len(),
            churned_accounts: self.churned_accounts(),
            rankings,
            model,
        }
    }
}

/// The history entries samples can pick when every evaluation day is observed: the newest of
/// each day's week (the `step` days ending on it), and the newest there with a usage snapshot.
/// Keeping only those holds a year of daily history as one or two entries a week, so a churn
/// refit of a large portfolio fits in memory.
fn observed_entries(history: Vec<HistoryDay>, days: &[NaiveDate], step: u64) -> Vec<HistoryDay> {
    let mut keep = vec![false; history.len()];
    for &date in days {
        let week_start = sub_days(date, step.saturating_sub(1)).unwrap_or(date);
        let in_week = |h: &HistoryDay| h.as_of <= date && h.as_of >= week_start;
        if let Some(i) = history.iter().rposition(in_week) {
            keep[i] = true;
        }
        if let Some(i) = history
            .iter()
            .rposition(|h| in_week(h) && h.usage.is_some())
        {
            keep[i] = true;
        }
    }
    history
        .into_iter()
        .zip(keep)
        .filter_map(|(h, k)| k.then_some(h))
        .collect()
}

/// When an account is observed: every evaluation day, or each monthly anniversary of its start
/// (filed under the evaluation day of the week it falls in).
fn observations(
    opts: &BacktestOptions,
    days: &[NaiveDate],
    account: &Account,
) -> Vec<(usize, NaiveDate)> {
    match opts.observe {
        Observe::EveryStep => days.iter().copied().enumerate().collect(),
        Observe::Monthly => {
            let Some(start) = account.start.or_else(|| {
                account.history.iter().find_map(|h| {
                    let t = h.usage.as_ref()?.tenure_days?;
                    h.as_of
                        .checked_sub_days(chrono::Days::new(t.unsigned_abs()))
                })
            }) else {
                return Vec::new();
            };
            let step = i64::from(opts.step_days.max(1));
            let (Some(&first), Some(&last)) = (days.first(), days.last()) else {
                return Vec::new();
            };
            let mut out = Vec::new();
            for k in 1u32.. {
                let Some(date) = start.checked_add_months(chrono::Months::new(k)) else {
                    break;
                };
                if date < first {
                    continue;
                }
                let idx = ((date - first).num_days() / step) as usize;
                if date > last + chrono::Duration::days(step - 1) || idx >= days.len() {
                    break;
                }
                out.push((idx, date));
            }
            out
        }
    }
}

/// Product events per account-day (each message id once), from `BASELINE_DAYS` before `from`
/// up to the last evaluation day.
async fn count_product_events<S>(
    store: &S,
    ids: &[AccountId],
    accounts: &mut [Account],
    from: NaiveDate,
    last_day: NaiveDate,
) -> Result<(), BacktestError>
where
    S: EventStore + ?Sized,
{
    let index: BTreeMap<&AccountId, usize> = ids.iter().enumerate().map(|(i, a)| (a, i)).collect();
    let mut day = sub_days(from, BASELINE_DAYS).unwrap_or(from);
    while day <= last_day {
        let mut seen: BTreeMap<usize, HashSet<String>> = BTreeMap::new();
        for segment in Segment::all() {
            for chunk in store.chunks_for_segment_day(segment, day).await? {
                let Some(&i) = index.get(&chunk.account_id) else {
                    continue;
                };
                let ids = seen.entry(i).or_default();
                for e in chunk.events {
                    if matches!(
                        e.kind,
                        EventKind::Track | EventKind::Page | EventKind::Screen
                    ) {
                        ids.insert(e.message_id);
                    }
                }
            }
        }
        for (i, ids) in seen {
            accounts[i].events.insert(day, ids.len() as u64);
        }
        match add_days(day, 1) {
            Some(next) => day = next,
            None => break,
        }
    }
    Ok(())
}
