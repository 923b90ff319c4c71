//! A generated portfolio for the churn model and calibration tests: score history written as the
//! daily run would have written it (the default scorecard's signals, weighed by the kernel), and
//! churn outcomes on the profiles. One signal is the cause: a churning account's value of it
//! slides over the 45 days before its churn, while the others carry only account-to-account
//! noise.

#![allow(dead_code)]

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use vitals_core::history::HistoryDay;
use vitals_core::model::{AccountId, AccountProfile, Outcome, OutcomeKind, ScoreRecord};
use vitals_core::ports::{AccountStore, ScoreHistoryStore};
use vitals_embedded::SqliteStore;
use vitals_scoring::scorecard::{explain_weighted, weigh_values};
use vitals_scoring::signals::SIGNAL_COUNT;
use vitals_scoring::{score_account, AccountFacts, ScoringConfig, Signal, UsageWindow};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Portfolio {
    pub accounts: usize,
    /// Every `churn_every`-th account churns.
    pub churn_every: usize,
    /// History from day 0 to `days - 1`.
    pub days: u64,
    /// The signal whose slide precedes churn.
    pub cause: Signal,
    /// Churns dated after this day are not written (nothing is known after it).
    pub known_until: u64,
}

impl Default for Portfolio {
    fn default() -> Self {
        Portfolio {
            accounts: 80,
            churn_every: 4,
            days: 240,
            cause: Signal::UsageDepth,
            known_until: u64::MAX,
        }
    }
}

pub fn day(n: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Days::new(n)
}

pub fn at(n: u64, hour: u32) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day(n).and_hms_opt(hour, 0, 0).unwrap())
}

pub fn account(i: usize) -> AccountId {
    AccountId::new(format!("acct-{i:03}")).unwrap()
}

impl Portfolio {
    /// The day account `i` churns, if it does: spread over days 80 to 239 whatever the period,
    /// so two portfolios differing only in `days` share their past.
    pub fn churn_day(&self, i: usize) -> Option<u64> {
        i.is_multiple_of(self.churn_every)
            .then(|| 80 + ((i / self.churn_every) as u64 * 37) % 160)
    }

    /// Signal values (0-100) of account `i` on day `d`.
    pub fn values(&self, i: usize, d: u64) -> [Option<f64>; SIGNAL_COUNT] {
        let card = default_card();
        let mut values = [None; SIGNAL_COUNT];
        for signal in card.weights.keys() {
            // Steady, account-specific noise in 30..90.
            let noise = 30.0 + ((i * 37 + signal.index() * 53) % 61) as f64;
            values[signal.index()] = Some(noise);
        }
        let cause = self.cause.index();
        let base = 60.0 + (i % 5) as f64 * 5.0;
        let value = match self.churn_day(i) {
            Some(c) if d + 45 >= c => {
                let into = (d + 45 - c) as f64 / 45.0;
                base - (base - 10.0) * into.min(1.0)
            }
            _ => base,
        };
        values[cause] = Some(value);
        values
    }

    /// Account `i`'s history entry of day `d`, weighed by the default scorecard.
    pub fn entry(&self, i: usize, d: u64) -> ScoreRecord {
        entry_with(&account(i), day(d), &self.values(i, d))
    }

    /// Writes profiles (with the known churns) and every day's history up to each churn.
    pub async fn write(&self, store: &SqliteStore) {
        for i in 0..self.accounts {
            let a = account(i);
            let churn = self.churn_day(i);
            let mut profile = AccountProfile {
                name: Some(format!("Account {i}")),
                owner: Some("ana@example.com".into()),
                ..AccountProfile::default()
            };
            if let Some(c) = churn.filter(|&c| c <= self.known_until) {
                profile.outcomes.push(Outcome {
                    kind: OutcomeKind::Churned,
                    on: day(c),
                    source: format!("churn-{i}"),
                });
            }
            store.put_profile(&a, &profile).await.unwrap();
            let last = churn.unwrap_or(self.days - 1).min(self.days - 1);
            let history: Vec<HistoryDay> = (0..=last)
                .map(|d| HistoryDay::of(&self.entry(i, d)))
                .collect();
            store.put_history(&history).await.unwrap();
        }
    }
}

pub fn default_card() -> vitals_scoring::Scorecard {
    ScoringConfig::default()
        .scorecards
        .into_iter()
        .find(|c| c.name == "default")
        .unwrap()
}

/// A history entry whose health score is the default scorecard's weighing of `values`.
pub fn entry_with(
    a: &AccountId,
    as_of: NaiveDate,
    values: &[Option<f64>; SIGNAL_COUNT],
) -> ScoreRecord {
    let config = ScoringConfig::default();
    let card = default_card();
    let mut score = score_account(
        &config,
        &AccountFacts::default(),
        &UsageWindow::default(),
        as_of,
        None,
    );
    let weighted = weigh_values(Some(&card), values, &config.bands);
    score.health = explain_weighted(Some(&card), values, values, &weighted);
    ScoreRecord {
        account_id: a.clone(),
        as_of,
        computed_at: Utc.from_utc_datetime(&as_of.and_hms_opt(6, 0, 0).unwrap()),
        score,
    }
}
