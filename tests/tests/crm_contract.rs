//! CRM write-back (issue 21): after a run, HubSpot companies and Salesforce Accounts receive
//! the health figures of exactly the accounts whose figures changed, once, in the vendors'
//! batch sizes, through a 429 with Retry-After; an unchanged value is never sent twice.
//! Loopback servers check each request against the vendors' documented shapes.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};
use vitals_core::crm::{push_changes, CrmReport, CrmSink};
use vitals_core::model::{AccountId, AccountProfile, AccountRecord, Band, ScoreRecord};
use vitals_core::ports::AccountStore;
use vitals_embedded::SqliteStore;
use vitals_scoring::{score_account, AccountFacts, ScoringConfig, UsageWindow};
use vitals_tests::crm_loopback::{hubspot, salesforce, Crm};
use vitals_tests::support::Must;

const ACCOUNTS: usize = 250;

/// One write-back to one CRM.
async fn push(store: &SqliteStore, sink: &dyn CrmSink) -> CrmReport {
    let mut reports = push_changes(store, &[sink], now())
        .await
        .must("read accounts");
    reports.pop().must_some().must("write-back")
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).must_some()
}

trait MustSome<T> {
    fn must_some(self) -> T;
}
impl<T> MustSome<T> for Option<T> {
    #[track_caller]
    fn must_some(self) -> T {
        match self {
            Some(v) => v,
            None => panic!("a value was expected"),
        }
    }
}

/// `ACCOUNTS` accounts with CRM ids as traits (as sent with their group call), plus one
/// without; each scored `score_of(i)` as of `as_of`.
async fn score_all(store: &SqliteStore, as_of: NaiveDate, score_of: impl Fn(usize) -> f64) {
    let template = score_account(
        &ScoringConfig::default(),
        &AccountFacts::default(),
        &UsageWindow::default(),
        as_of,
        None,
    );
    for i in 0..=ACCOUNTS {
        let id = AccountId::new(format!("acct-{i:03}")).must("id");
        let mut profile = AccountProfile {
            name: Some(format!("Customer {i}")),
            ..AccountProfile::default()
        };
        if i < ACCOUNTS {
            profile
                .custom
                .insert("hubspot_company_id".into(), json!(format!("{}", 9000 + i)));
            profile
                .custom
                .insert("salesforce_account_id".into(), json!(format!("001A{i:05}")));
        }
        let mut score = template.clone();
        score.health.score = score_of(i);
        score.health.band = if score_of(i) < 40.0 {
            Band::AtRisk
        } else {
            Band::Healthy
        };
        let record = AccountRecord {
            account_id: id.clone(),
            profile: profile.clone(),
            score: Some(ScoreRecord {
                account_id: id.clone(),
                as_of,
                computed_at: DateTime::<Utc>::default(),
                score,
            }),
            ..AccountRecord::new(id.clone())
        };
        store.put_profile(&id, &profile).await.must("profile");
        store.put_scoring_state(&record).await.must("scoring state");
    }
}

fn now() -> DateTime<Utc> {
    day(12).and_hms_opt(6, 0, 0).must_some().and_utc()
}

/// Runs the write-back three times: the first run writes every mapped account once (through a
/// 429), an identical second run writes nothing, and after a day in which only three accounts'
/// figures moved, the third writes exactly those three.
async fn writes_exactly_the_changed_accounts(crm: Crm, sink: Arc<dyn CrmSink>, batch_limit: usize) {
    let store = SqliteStore::open_in_memory().must("store");
    score_all(&store, day(10), |i| 30.0 + (i % 50) as f64).await;

    *crm.rate_limit_next.lock().must("lock") = true;
    let first: CrmReport = push(&store, sink.as_ref()).await;
    assert_eq!(
        (first.written, first.unmapped, first.unchanged, first.failed),
        (ACCOUNTS, 1, 0, 0),
        "{first:?}"
    );
    let per_record = crm.writes_per_record();
    assert_eq!(per_record.len(), ACCOUNTS);
    assert!(
        per_record.values().all(|n| *n == 1),
        "every account written once, the 429 not double-counted"
    );
    assert!(crm
        .batches
        .lock()
        .must("lock")
        .iter()
        .all(|n| *n <= batch_limit));

    let second = push(&store, sink.as_ref()).await;
    assert_eq!(
        (second.written, second.unchanged),
        (0, ACCOUNTS),
        "{second:?}"
    );
    assert_eq!(
        crm.writes().len(),
        ACCOUNTS,
        "nothing unchanged is sent again"
    );

    // The next day: every account rescored, three of them to different figures.
    score_all(&store, day(11), |i| match i {
        7 | 120 | 249 => 12.5,
        _ => 30.0 + (i % 50) as f64,
    })
    .await;
    let third = push(&store, sink.as_ref()).await;
    assert_eq!(
        (third.written, third.unchanged),
        (3, ACCOUNTS - 3),
        "{third:?}"
    );
    let writes = crm.writes();
    let last: Vec<&(String, Value)> = writes[ACCOUNTS..].iter().collect();
    assert_eq!(last.len(), 3);
    assert_eq!(
        crm.problems.lock().must("lock").clone(),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn hubspot_companies_receive_exactly_the_changed_accounts_once() {
    let (crm, sink) = hubspot().await;
    writes_exactly_the_changed_accounts(crm.clone(), sink, 100).await;
    let writes = crm.writes();
    let mut moved: Vec<&str> = writes[ACCOUNTS..]
        .iter()
        .map(|(id, _)| id.as_str())
        .collect();
    moved.sort_unstable();
    assert_eq!(moved, ["9007", "9120", "9249"]);
    let props = &writes[ACCOUNTS..]
        .iter()
        .find(|(id, _)| id == "9007")
        .must_some()
        .1;
    assert_eq!(props["vitals_health_score"], "12.5");
    assert_eq!(props["vitals_band"], "at_risk");
    assert_eq!(props["vitals_last_scored"], "2026-03-11");
    assert_eq!(
        props["vitals_churn_risk"], "",
        "no churn model yet: the property is cleared"
    );
    assert_eq!(*crm.batches.lock().must("lock"), vec![100, 100, 50, 3]);
}

#[tokio::test]
async fn salesforce_accounts_receive_exactly_the_changed_accounts_once() {
    let (crm, sink) = salesforce().await;
    writes_exactly_the_changed_accounts(crm.clone(), sink, 200).await;
    let writes = crm.writes();
    let mut moved: Vec<&str> = writes[ACCOUNTS..]
        .iter()
        .map(|(id, _)| id.as_str())
        .collect();
    moved.sort_unstable();
    assert_eq!(moved, ["001A00007", "001A00120", "001A00249"]);
    let record = &writes[ACCOUNTS..]
        .iter()
        .find(|(id, _)| id == "001A00007")
        .must_some()
        .1;
    assert_eq!(record["Vitals_Health_Score__c"], 12.5);
    assert_eq!(record["Vitals_Band__c"], "at_risk");
    assert_eq!(record["Vitals_Last_Scored__c"], "2026-03-11");
    assert_eq!(*crm.batches.lock().must("lock"), vec![200, 50, 3]);
    assert_eq!(
        *crm.token_requests.lock().must("lock"),
        1,
        "the access token is kept between calls"
    );
}

#[tokio::test]
async fn one_write_back_reads_the_accounts_once_for_both_crms() {
    let (hub, hub_sink) = hubspot().await;
    let (sf, sf_sink) = salesforce().await;
    let store = SqliteStore::open_in_memory().must("store");
    score_all(&store, day(10), |i| 30.0 + (i % 50) as f64).await;
    let reports = push_changes(&store, &[hub_sink.as_ref(), sf_sink.as_ref()], now())
        .await
        .must("read accounts");
    let written: Vec<(String, usize)> = reports
        .into_iter()
        .map(|r| {
            let r = r.must("write-back");
            (r.crm, r.written)
        })
        .collect();
    assert_eq!(
        written,
        [
            ("hubspot".to_string(), ACCOUNTS),
            ("salesforce".to_string(), ACCOUNTS)
        ]
    );
    assert_eq!(hub.writes().len(), ACCOUNTS);
    assert_eq!(sf.writes().len(), ACCOUNTS);
}
