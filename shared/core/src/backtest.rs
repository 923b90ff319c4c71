//! Backtest: how well did the health score, a churn model and a naive baseline predict the
//! churns that happened?
//!
//! For every evaluation day `d` (every `step_days` from `from`, as long as `d + horizon <= to`)
//! and every account with a score history entry as of `d` (the latest entry of the week up to
//! `d`: the daily run computed it from events up to that day), the sample's label is "the
//! account churned within `(d, d + horizon]`". Accounts that had already churned by `d` are left
//! out. Nothing dated after `to` is read: history is asked for up to `to`, outcomes after `to`
//! are ignored and chunks are read up to the last evaluation day, so adding data after `to`
//! cannot change a backtest that ends at `to`.
//!
//! Three rankings are compared:
//! - `health_score`: risk = 100 - score;
//! - `churn_model`: an L2 logistic regression on the signal values, fitted on the samples of the
//!   first evaluation days (`train_share`) and scored on the later ones (time-based split; the
//!   last training labels look up to `horizon` past the first test day, as any label must);
//! - `baseline_30d_events`: fewer product events (track, page, screen) in the 30 days up to `d`
//!   = more risk, counted from the stored chunks.
//!
//! Metrics pool every (account, day) sample of a period; precision@k is the mean over the
//! period's evaluation days of the share of churners among the `k` riskiest accounts. Lead time
//! is measured per churned account: for the health score, the first day in the `horizon` before
//! the churn that its daily history entry was `at_risk` or flagged declining; for the other
//! rankings, the first evaluation day in that span the account was in the day's top decile.

use crate::error::StoreError;
use crate::model::{AccountId, EventKind, OutcomeKind, ScoreRecord};
use crate::ports::{AccountStore, EventStore, ScoreHistoryStore};
use crate::segment::Segment;
use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use vitals_scoring::churn::{features_of, ChurnModel, Features};
use vitals_scoring::metrics;
use vitals_scoring::Band;

/// Default prediction horizon.
pub const DEFAULT_HORIZON_DAYS: u32 = 90;
/// Ranking names in reports.
pub const HEALTH_SCORE: &str = "health_score";
pub const CHURN_MODEL: &str = "churn_model";
pub const BASELINE: &str = "baseline_30d_events";
/// Period names in reports: every evaluation day, or only the model's test days.
pub const PERIOD_ALL: &str = "all";
pub const PERIOD_TEST: &str = "test";

const BASELINE_DAYS: u64 = 30;
const PAGE: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error("invalid backtest range: {0}")]
    Range(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What to backtest.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestOptions {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub horizon_days: u32,
    /// Days between evaluation days.
    pub step_days: u32,
    /// Share of evaluation days (the earliest) the churn model is fitted on.
    pub train_share: f64,
    /// The alert budget for precision@k: accounts a team can work per evaluation day.
    pub alert_k: usize,
    /// L2 penalty of the churn model.
    pub l2: f64,
}

impl BacktestOptions {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Self {
        BacktestOptions {
            from,
            to,
            horizon_days: DEFAULT_HORIZON_DAYS,
            step_days: 7,
            train_share: 0.5,
            alert_k: 10,
            l2: 1.0,
        }
    }
}

/// One ranking's figures over one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankingReport {
    pub ranking: String,
    pub period: String,
    /// (account, evaluation day) samples.
    pub samples: usize,
    /// Samples whose account churned within the horizon.
    pub positives: usize,
    pub roc_auc: Option<f64>,
    pub pr_auc: Option<f64>,
    pub top_decile_lift: Option<f64>,
    /// For rankings that are probabilities (the churn model) only.
    pub brier: Option<f64>,
    pub precision_at_k: Option<f64>,
    pub median_lead_days: Option<f64>,
    /// Churned accounts of the period that were warned before churning, of `churns`.
    pub warned_churns: usize,
    pub churns: usize,
}

/// The result of a backtest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub horizon_days: u32,
    pub step_days: u32,
    pub alert_k: usize,
    pub train_days: Vec<NaiveDate>,
    pub test_days: Vec<NaiveDate>,
    /// Accounts with at least one sample.
    pub accounts: usize,
    /// Of them, accounts that churned within the horizon of an evaluation day.
    pub churned_accounts: usize,
    pub rankings: Vec<RankingReport>,
    /// The churn model fitted on the training days.
    pub model: ChurnModel,
}

impl BacktestReport {
    pub fn ranking(&self, ranking: &str, period: &str) -> Option<&RankingReport> {
        self.rankings
            .iter()
            .find(|r| r.ranking == ranking && r.period == period)
    }

    /// The headline figure: ROC-AUC of the health score over every evaluation day.
    pub fn health_roc_auc(&self) -> Option<f64> {
        self.ranking(HEALTH_SCORE, PERIOD_ALL)
            .and_then(|r| r.roc_auc)
    }
}

struct Account {
    history: Vec<ScoreRecord>,
    /// Churn days up to `to`, oldest first.
    churns: Vec<NaiveDate>,
    /// Product events per day (deduplicated by message id), up to the last evaluation day.
    events: BTreeMap<NaiveDate, u64>,
}

struct Sample {
    account: usize,
    day: usize,
    label: bool,
    features: Features,
    health_risk: f64,
    baseline_risk: f64,
}

fn add_days(d: NaiveDate, n: u64) -> Option<NaiveDate> {
    d.checked_add_days(Days::new(n))
}

fn sub_days(d: NaiveDate, n: u64) -> Option<NaiveDate> {
    d.checked_sub_days(Days::new(n))
}

/// The evaluation days of a range: every `step` days from `from` while the horizon fits.
pub fn evaluation_days(opts: &BacktestOptions) -> Vec<NaiveDate> {
    let mut days = Vec::new();
    let step = u64::from(opts.step_days.max(1));
    let mut d = opts.from;
    while let Some(end) = add_days(d, u64::from(opts.horizon_days)) {
        if end > opts.to {
            break;
        }
        days.push(d);
        match add_days(d, step) {
            Some(next) => d = next,
            None => break,
        }
    }
    days
}

/// Runs a backtest on stored score history, outcomes and events.
pub async fn run_backtest<S>(
    store: &S,
    opts: &BacktestOptions,
) -> Result<BacktestReport, BacktestError>
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
            "{}..{} is shorter than the {}-day horizon: no evaluation day has its whole horizon \
             in the range",
            opts.from, opts.to, opts.horizon_days
        )));
    };
    let step = u64::from(opts.step_days.max(1));
    let history_from = sub_days(opts.from, step).unwrap_or(opts.from);
    let counts_from = sub_days(opts.from, BASELINE_DAYS).unwrap_or(opts.from);

    // Accounts, their outcomes and history (nothing after `to`).
    let mut ids: Vec<AccountId> = Vec::new();
    let mut accounts: Vec<Account> = Vec::new();
    for segment in Segment::all() {
        let mut cursor: Option<String> = None;
        loop {
            let page = store.list_segment(segment, cursor.as_deref(), PAGE).await?;
            for record in page.items {
                let history = store
                    .history(&record.account_id, history_from, opts.to)
                    .await?
                    .into_iter()
                    .filter(|h| h.as_of <= opts.to)
                    .collect();
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
    let index: BTreeMap<&AccountId, usize> = ids.iter().enumerate().map(|(i, a)| (a, i)).collect();

    // Product events per account-day (each message id once), up to the last evaluation day.
    let mut day = counts_from;
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

    let horizon = u64::from(opts.horizon_days);
    let mut samples: Vec<Sample> = Vec::new();
    for (day_idx, &d) in days.iter().enumerate() {
        let Some(horizon_end) = add_days(d, horizon) else {
            continue;
        };
        let week_start = sub_days(d, step.saturating_sub(1)).unwrap_or(d);
        for (a, account) in accounts.iter().enumerate() {
            if account.churns.iter().any(|&c| c <= d) {
                continue;
            }
            let Some(entry) = account
                .history
                .iter()
                .rev()
                .find(|h| h.as_of <= d && h.as_of >= week_start)
            else {
                continue;
            };
            let label = account.churns.iter().any(|&c| c > d && c <= horizon_end);
            let since = sub_days(d, BASELINE_DAYS - 1).unwrap_or(d);
            let events: u64 = account.events.range(since..=d).map(|(_, n)| n).sum();
            samples.push(Sample {
                account: a,
                day: day_idx,
                label,
                features: features_of(entry.health()),
                health_risk: 100.0 - entry.health().score,
                baseline_risk: -(events as f64),
            });
        }
    }

    // Time-based split.
    let train_len = ((days.len() as f64 * opts.train_share.clamp(0.0, 1.0)).ceil() as usize)
        .clamp(1, days.len());
    let train: Vec<&Sample> = samples.iter().filter(|s| s.day < train_len).collect();
    let test: Vec<&Sample> = samples.iter().filter(|s| s.day >= train_len).collect();
    let model = ChurnModel::fit(
        &train.iter().map(|s| s.features.clone()).collect::<Vec<_>>(),
        &train.iter().map(|s| s.label).collect::<Vec<_>>(),
        opts.l2,
    );
    let all: Vec<&Sample> = samples.iter().collect();

    let ctx = Ctx {
        days: &days,
        accounts: &accounts,
        horizon,
        alert_k: opts.alert_k,
    };
    let health = |s: &Sample| s.health_risk;
    let baseline = |s: &Sample| s.baseline_risk;
    let churn = |s: &Sample| model.predict(&s.features);
    let rankings = vec![
        ctx.report(HEALTH_SCORE, PERIOD_ALL, &all, &health, false),
        ctx.report(BASELINE, PERIOD_ALL, &all, &baseline, false),
        ctx.report(HEALTH_SCORE, PERIOD_TEST, &test, &health, false),
        ctx.report(CHURN_MODEL, PERIOD_TEST, &test, &churn, true),
        ctx.report(BASELINE, PERIOD_TEST, &test, &baseline, false),
    ];

    let sampled: BTreeSet<usize> = samples.iter().map(|s| s.account).collect();
    let churned: BTreeSet<usize> = samples
        .iter()
        .filter(|s| s.label)
        .map(|s| s.account)
        .collect();
    Ok(BacktestReport {
        from: opts.from,
        to: opts.to,
        horizon_days: opts.horizon_days,
        step_days: opts.step_days.max(1),
        alert_k: opts.alert_k,
        train_days: days[..train_len].to_vec(),
        test_days: days[train_len..].to_vec(),
        accounts: sampled.len(),
        churned_accounts: churned.len(),
        rankings,
        model,
    })
}

struct Ctx<'a> {
    days: &'a [NaiveDate],
    accounts: &'a [Account],
    horizon: u64,
    alert_k: usize,
}

impl Ctx<'_> {
    fn report(
        &self,
        ranking: &str,
        period: &str,
        samples: &[&Sample],
        risk: &dyn Fn(&Sample) -> f64,
        probabilities: bool,
    ) -> RankingReport {
        let scores: Vec<f64> = samples.iter().map(|s| risk(s)).collect();
        let labels: Vec<bool> = samples.iter().map(|s| s.label).collect();

        // Per evaluation day: precision@k and the top decile (for lead time).
        let mut by_day: BTreeMap<usize, Vec<(f64, usize, bool)>> = BTreeMap::new();
        for (s, &score) in samples.iter().zip(&scores) {
            by_day
                .entry(s.day)
                .or_default()
                .push((score, s.account, s.label));
        }
        let mut precisions = Vec::new();
        // account -> evaluation days it was in the top decile.
        let mut top: BTreeMap<usize, Vec<NaiveDate>> = BTreeMap::new();
        for (&day, rows) in &by_day {
            let s: Vec<f64> = rows.iter().map(|r| r.0).collect();
            let l: Vec<bool> = rows.iter().map(|r| r.2).collect();
            if let Some(p) = metrics::precision_at_k(&s, &l, self.alert_k) {
                precisions.push(p);
            }
            let mut order: Vec<&(f64, usize, bool)> = rows.iter().collect();
            order.sort_by(|a, b| {
                b.0.partial_cmp(&a.0)
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then(a.1.cmp(&b.1))
            });
            for r in order.iter().take(rows.len().div_ceil(10)) {
                top.entry(r.1).or_default().push(self.days[day]);
            }
        }

        // Lead time per account that churned within the horizon of one of the period's days.
        let first_day = by_day.keys().next().map(|&d| self.days[d]);
        let mut leads = Vec::new();
        let mut churns = 0usize;
        let positives: BTreeSet<usize> = samples
            .iter()
            .filter(|s| s.label)
            .map(|s| s.account)
            .collect();
        for &a in &positives {
            let account = &self.accounts[a];
            let (Some(first_day), Some(&churn)) = (
                first_day,
                account.churns.iter().find(|&&c| Some(c) > first_day),
            ) else {
                continue;
            };
            churns += 1;
            let start = sub_days(churn, self.horizon)
                .unwrap_or(churn)
                .max(first_day);
            let warned = if ranking == HEALTH_SCORE {
                account
                    .history
                    .iter()
                    .find(|h| {
                        h.as_of >= start
                            && h.as_of < churn
                            && (h.health().band == Band::AtRisk || h.score.decline.fires())
                    })
                    .map(|h| h.as_of)
            } else {
                top.get(&a)
                    .and_then(|ds| ds.iter().find(|&&d| d >= start && d < churn).copied())
            };
            if let Some(w) = warned {
                leads.push((churn - w).num_days() as f64);
            }
        }

        RankingReport {
            ranking: ranking.to_string(),
            period: period.to_string(),
            samples: samples.len(),
            positives: labels.iter().filter(|&&l| l).count(),
            roc_auc: metrics::roc_auc(&scores, &labels),
            pr_auc: metrics::pr_auc(&scores, &labels),
            top_decile_lift: metrics::top_decile_lift(&scores, &labels),
            brier: if probabilities {
                metrics::brier(&scores, &labels)
            } else {
                None
            },
            precision_at_k: if precisions.is_empty() {
                None
            } else {
                Some(precisions.iter().sum::<f64>() / precisions.len() as f64)
            },
            median_lead_days: metrics::median(&leads),
            warned_churns: leads.len(),
            churns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AccountProfile, AccountRecord, EventChunk, Outcome, Page, StoredEvent};
    use crate::ports::StoreResult;
    use async_trait::async_trait;
    use chrono::{TimeZone, Utc};
    use std::sync::Mutex;
    use vitals_scoring::{score_account, AccountFacts, ScoringConfig, UsageWindow};

    /// Just enough storage for a backtest: accounts, history and chunks in memory.
    #[derive(Default)]
    struct Fake {
        accounts: Mutex<BTreeMap<AccountId, AccountRecord>>,
        history: Mutex<BTreeMap<(AccountId, NaiveDate), ScoreRecord>>,
        chunks: Mutex<Vec<EventChunk>>,
    }

    #[async_trait]
    impl AccountStore for Fake {
        async fn put_profile(&self, a: &AccountId, p: &AccountProfile) -> StoreResult<()> {
            let mut accounts = self.accounts.lock().expect("lock");
            let r = accounts
                .entry(a.clone())
                .or_insert_with(|| AccountRecord::new(a.clone()));
            r.profile = p.clone();
            Ok(())
        }
        async fn put_scoring_state(&self, _: &AccountRecord) -> StoreResult<()> {
            Ok(())
        }
        async fn get_account(&self, a: &AccountId) -> StoreResult<Option<AccountRecord>> {
            Ok(self.accounts.lock().expect("lock").get(a).cloned())
        }
        async fn list_segment(
            &self,
            segment: Segment,
            _: Option<&str>,
            _: usize,
        ) -> StoreResult<Page<AccountRecord>> {
            let items = self
                .accounts
                .lock()
                .expect("lock")
                .values()
                .filter(|r| r.account_id.segment() == segment)
                .cloned()
                .collect();
            Ok(Page { items, next: None })
        }
    }

    #[async_trait]
    impl ScoreHistoryStore for Fake {
        async fn put_history(&self, records: &[ScoreRecord]) -> StoreResult<()> {
            let mut h = self.history.lock().expect("lock");
            for r in records {
                h.insert((r.account_id.clone(), r.as_of), r.clone());
            }
            Ok(())
        }
        async fn history(
            &self,
            a: &AccountId,
            from: NaiveDate,
            to: NaiveDate,
        ) -> StoreResult<Vec<ScoreRecord>> {
            Ok(self
                .history
                .lock()
                .expect("lock")
                .range((a.clone(), from)..=(a.clone(), to))
                .map(|(_, r)| r.clone())
                .collect())
        }
    }

    #[async_trait]
    impl EventStore for Fake {
        async fn put_chunks(&self, chunks: &[EventChunk]) -> StoreResult<()> {
            self.chunks.lock().expect("lock").extend_from_slice(chunks);
            Ok(())
        }
        async fn chunks_for_segment_day(
            &self,
            segment: Segment,
            day: NaiveDate,
        ) -> StoreResult<Vec<EventChunk>> {
            Ok(self
                .chunks
                .lock()
                .expect("lock")
                .iter()
                .filter(|c| c.day == day && c.account_id.segment() == segment)
                .cloned()
                .collect())
        }
        async fn chunks_for_account_day(
            &self,
            a: &AccountId,
            day: NaiveDate,
        ) -> StoreResult<Vec<EventChunk>> {
            Ok(self
                .chunks
                .lock()
                .expect("lock")
                .iter()
                .filter(|c| c.day == day && &c.account_id == a)
                .cloned()
                .collect())
        }
    }

    fn day(n: u64) -> NaiveDate {
        add_days(NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"), n).expect("day")
    }

    fn id(i: usize) -> AccountId {
        AccountId::new(format!("acct-{i}")).expect("id")
    }

    /// A history entry with a given score and a `usage_depth` signal value.
    fn entry(a: &AccountId, as_of: NaiveDate, score: f64) -> ScoreRecord {
        let mut s = score_account(
            &ScoringConfig::default(),
            &AccountFacts::default(),
            &UsageWindow::default(),
            as_of,
            None,
        );
        s.health.score = score;
        s.health.band = if score < 40.0 {
            Band::AtRisk
        } else {
            Band::Healthy
        };
        for sig in &mut s.health.signals {
            sig.value = (sig.name == "usage_depth").then_some(score);
        }
        ScoreRecord {
            account_id: a.clone(),
            as_of,
            computed_at: Utc.timestamp_opt(0, 0).single().expect("time"),
            score: s,
        }
    }

    fn events(a: &AccountId, on: NaiveDate, n: usize) -> EventChunk {
        let t = on.and_hms_opt(12, 0, 0).expect("time").and_utc();
        let events = (0..n)
            .map(|k| StoredEvent {
                message_id: format!("{a}-{on}-{k}"),
                kind: EventKind::Track,
                name: Some("Report Built".into()),
                user_id: None,
                timestamp: t,
                properties: Default::default(),
            })
            .collect();
        EventChunk::new(a.clone(), on, events)
    }

    /// 40 accounts over 200 days: every 4th account declines from day 60 and churns on day
    /// 60 + 30 + (i % 20); the others stay healthy. Only data up to `until` is written.
    async fn portfolio(store: &Fake, until: u64) {
        for i in 0..40 {
            let a = id(i);
            let churns = i % 4 == 0;
            let churn_day = 90 + (i as u64 % 20);
            let mut profile = AccountProfile::default();
            if churns && churn_day <= until {
                profile.outcomes.push(Outcome {
                    kind: OutcomeKind::Churned,
                    on: day(churn_day),
                    source: format!("m-{i}"),
                });
            }
            // A churn far in the future for everyone else, after `until` when `until` is large.
            if !churns && 190 <= until {
                profile.outcomes.push(Outcome {
                    kind: OutcomeKind::Churned,
                    on: day(190),
                    source: format!("late-{i}"),
                });
            }
            store.put_profile(&a, &profile).await.expect("profile");
            let mut history = Vec::new();
            let mut chunks = Vec::new();
            for d in 0..=until.min(if churns { churn_day } else { 200 }) {
                let score = if churns && d >= 60 {
                    (70.0 - (d - 60) as f64 * 1.5).max(5.0)
                } else {
                    70.0 + (i % 7) as f64
                };
                history.push(entry(&a, day(d), score));
                chunks.push(events(&a, day(d), (score / 10.0) as usize));
            }
            store.put_history(&history).await.expect("history");
            store.put_chunks(&chunks).await.expect("chunks");
        }
    }

    fn opts(to: u64) -> BacktestOptions {
        let mut o = BacktestOptions::new(day(30), day(to));
        o.horizon_days = 60;
        o.alert_k = 5;
        o
    }

    #[tokio::test]
    async fn rankings_separate_churners() {
        let store = Fake::default();
        portfolio(&store, 150).await;
        let r = run_backtest(&store, &opts(150)).await.expect("backtest");
        assert_eq!(evaluation_days(&opts(150)).len(), 9);
        assert_eq!(r.train_days.len() + r.test_days.len(), 9);
        assert_eq!(r.accounts, 40);
        assert_eq!(r.churned_accounts, 10);
        let health = r.ranking(HEALTH_SCORE, PERIOD_ALL).expect("health");
        assert!(health.positives > 0 && health.samples > health.positives);
        // Churners score below everyone once declining: AUC well above chance.
        assert!(health.roc_auc.expect("auc") > 0.7, "{health:?}");
        let model = r.ranking(CHURN_MODEL, PERIOD_TEST).expect("model");
        assert!(
            model.brier.is_some() && model.roc_auc.is_some(),
            "{model:?}"
        );
        assert!(model.roc_auc.expect("auc") > 0.7, "{model:?}");
        assert!(
            r.ranking(BASELINE, PERIOD_ALL)
                .expect("b")
                .roc_auc
                .expect("auc")
                > 0.5
        );
        // Churners go at_risk (score < 40) 20 days after the decline starts, 10-29 days
        // before they churn.
        let lead = health.median_lead_days.expect("lead");
        assert!((10.0..=30.0).contains(&lead), "{lead}");
        assert_eq!(health.warned_churns, health.churns);
        assert!(r.health_roc_auc().is_some());
    }

    #[tokio::test]
    async fn data_after_the_end_changes_nothing() {
        let short = Fake::default();
        portfolio(&short, 150).await;
        let long = Fake::default();
        portfolio(&long, 200).await;
        // Extra data after day 150 in `long`: history, events, churns (days 151..=200).
        assert!(
            long.history.lock().expect("lock").len() > short.history.lock().expect("lock").len()
        );
        let a = run_backtest(&short, &opts(150)).await.expect("short");
        let b = run_backtest(&long, &opts(150)).await.expect("long");
        assert_eq!(a, b);
        // While a backtest to a later day does see the later churns.
        let c = run_backtest(&long, &opts(200)).await.expect("later");
        assert_ne!(a.churned_accounts, c.churned_accounts);
    }

    #[tokio::test]
    async fn a_range_shorter_than_the_horizon_is_refused() {
        let store = Fake::default();
        let o = BacktestOptions::new(day(0), day(30));
        assert!(matches!(
            run_backtest(&store, &o).await,
            Err(BacktestError::Range(_))
        ));
    }
}
