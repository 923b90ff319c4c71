//! The backtest against an in-memory store: rankings separate churners, data after the end
//! changes nothing, a range shorter than the horizon is refused.

use super::*;
use crate::model::{
    AccountId, AccountProfile, AccountRecord, EventChunk, EventKind, Outcome, OutcomeKind, Page,
    ProvisionalScore, StoredEvent,
};
use crate::ports::StoreResult;
use crate::segment::Segment;
use async_trait::async_trait;
use std::sync::Mutex;
use vitals_scoring::{score_account, AccountFacts, ScoringConfig, UsageWindow};

/// Just enough storage for a backtest: accounts, history and chunks in memory.
#[derive(Default)]
struct Fake {
    accounts: Mutex<BTreeMap<AccountId, AccountRecord>>,
    history: Mutex<BTreeMap<(AccountId, NaiveDate), HistoryDay>>,
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
    async fn put_provisional_scores(&self, _: &[ProvisionalScore]) -> StoreResult<()> {
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
    async fn put_history(&self, records: &[HistoryDay]) -> StoreResult<()> {
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
    ) -> StoreResult<Vec<HistoryDay>> {
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
fn entry(a: &AccountId, as_of: NaiveDate, score: f64) -> HistoryDay {
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
    HistoryDay {
        account_id: a.clone(),
        as_of,
        health: s.health,
        usage: None,
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
    o.horizon_days = 30;
    o.alert_k = 5;
    o
}

#[tokio::test]
async fn rankings_separate_churners() {
    let store = Fake::default();
    portfolio(&store, 150).await;
    // Training must reach the first declines (day 60) and stop a horizon before the test days.
    let mut o = opts(150);
    o.train_share = 0.7;
    let r = run_backtest(&store, &o).await.expect("backtest");
    assert_eq!(evaluation_days(&opts(150)).len(), 13);
    assert_eq!(
        r.train_days.len() + r.purged_days.len() + r.test_days.len(),
        13
    );
    // A horizon (30 days) lies between the last training day and the first test day.
    let (last_train, first_test) = (r.train_days.last().expect("train"), r.test_days[0]);
    assert!(
        *last_train + chrono::Duration::days(30) < first_test,
        "{r:?}"
    );
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
    // Lead time as for every ranking: the first evaluation day in the horizon before the
    // churn that put the account in the day's riskiest decile (4 of 40 accounts, so not every
    // one of the 10 churners fits).
    let lead = health.median_lead_days.expect("lead");
    assert!((1.0..=30.0).contains(&lead), "{lead}");
    assert!(health.warned_churns * 2 >= health.churns, "{health:?}");
    // The at-risk band (score < 40): churners only, caught late in their decline.
    assert_eq!(health.at_risk_precision, Some(1.0), "{health:?}");
    assert!(health.at_risk_recall.is_some_and(|r| r > 0.0 && r < 1.0));
    assert_eq!(model.at_risk_precision, None);
    assert!(r.health_roc_auc().is_some());
}

#[tokio::test]
async fn data_after_the_end_changes_nothing() {
    let short = Fake::default();
    portfolio(&short, 150).await;
    let long = Fake::default();
    portfolio(&long, 200).await;
    // Extra data after day 150 in `long`: history, events, churns (days 151..=200).
    assert!(long.history.lock().expect("lock").len() > short.history.lock().expect("lock").len());
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

/// Health samples of a backtest over every evaluation day.
fn health_samples(r: &BacktestReport) -> usize {
    r.ranking(HEALTH_SCORE, PERIOD_ALL).expect("health").samples
}

#[tokio::test]
async fn accounts_are_not_sampled_before_they_start() {
    let store = Fake::default();
    portfolio(&store, 150).await;
    let before = run_backtest(&store, &opts(150)).await.expect("backtest");
    // A CRM import brought an account whose contract starts on day 100; it was scored from
    // day 0 all the same (as an older release did).
    let late = id(99);
    let profile = AccountProfile {
        started_on: Some(day(100)),
        ..Default::default()
    };
    store.put_profile(&late, &profile).await.expect("profile");
    let history: Vec<HistoryDay> = (0..=150).map(|d| entry(&late, day(d), 50.0)).collect();
    store.put_history(&history).await.expect("history");
    let after = run_backtest(&store, &opts(150)).await.expect("backtest");
    // Evaluation days run 30, 37, ... 114: only 100, 107 and 114 are on or after its start.
    assert_eq!(health_samples(&after), health_samples(&before) + 3);
    assert_eq!(after.accounts, before.accounts + 1);
}

#[tokio::test]
async fn monthly_observation_samples_each_anniversary() {
    let store = Fake::default();
    for i in 0..5 {
        let a = id(i);
        let profile = AccountProfile {
            started_on: Some(day(i as u64)),
            ..Default::default()
        };
        store.put_profile(&a, &profile).await.expect("profile");
        let history: Vec<HistoryDay> = (0..=150).map(|d| entry(&a, day(d), 60.0)).collect();
        store.put_history(&history).await.expect("history");
    }
    let mut o = opts(150);
    o.observe = Observe::Monthly;
    let r = run_backtest(&store, &o).await.expect("backtest");
    // Evaluation weeks cover days 30..=120; each account's anniversaries there: 1 February,
    // 1 March, 1 April (plus its own offset of i days), and 1 May (day 120, its horizon
    // ending on day 150) for the account that started on day 0 only.
    assert_eq!(health_samples(&r), 5 * 3 + 1);
    assert_eq!(r.observe, Observe::Monthly);
}
