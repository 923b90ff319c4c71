//! The CRM activity log (issue 21, seed 002: "all outreach is logged back to the CRM with an
//! automated 7-day follow-up"): after the daily run, outreach, follow-ups, alert changes and
//! intervention results reach the account's CRM record once each (HubSpot notes and tasks on
//! the company, Salesforce Tasks on the Account), through a 429 or a daily quota, never twice.
#![allow(clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};
use vitals_core::crm::activities::log_activities;
use vitals_core::crm::{after_run, ActivityReport, CrmSink, CrmSyncError};
use vitals_core::model::{AccountId, AccountProfile, AuditEntry};
use vitals_core::ports::{AccountStore, AuditLog};
use vitals_embedded::SqliteStore;
use vitals_tests::crm_loopback::{hubspot, salesforce};
use vitals_tests::support::Must;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 12, 6, 0, 0)
        .single()
        .expect("time")
}

fn account(id: &str) -> AccountId {
    AccountId::new(id).must("id")
}

/// `acme` has records in both CRMs; `globex` in neither.
async fn store_with_accounts() -> SqliteStore {
    let store = SqliteStore::open_in_memory().must("store");
    let mut acme = AccountProfile {
        name: Some("Acme".into()),
        ..AccountProfile::default()
    };
    acme.custom
        .insert("hubspot_company_id".into(), json!("9001"));
    acme.custom
        .insert("salesforce_account_id".into(), json!("001A00001"));
    store
        .put_profile(&account("acme"), &acme)
        .await
        .must("acme");
    store
        .put_profile(&account("globex"), &AccountProfile::default())
        .await
        .must("globex");
    store
}

async fn audit(
    store: &SqliteStore,
    id: &str,
    ago_minutes: i64,
    who: &str,
    what: &str,
    detail: Value,
) {
    store
        .append_audit(&AuditEntry {
            id: id.into(),
            at: now() - Duration::minutes(ago_minutes),
            account_id: Some(account(who)),
            actor: "dana@example.com".into(),
            action: what.into(),
            detail,
        })
        .await
        .must("audit");
}

/// A day of what Vitals and a CSM did: an outreach, its follow-up coming due, an alert resolved,
/// a workflow on an account no CRM knows, a configuration change (not an activity), and an
/// acknowledgement made a minute ago (too fresh for this run).
async fn a_day_of_work(store: &SqliteStore) {
    audit(store, "action:decline:e1#1", 180, "acme", "outreach.sent", json!({
        "workflow": "decline-outreach",
        "outreach": {"route": "sent", "to": "ann@acme.io", "from": "dana@example.com",
                     "subject": "A tip for your reports", "template": "moderate", "contact": "Ann"}})).await;
    audit(
        store,
        "follow-up-due:decline:e0",
        120,
        "acme",
        "outreach.follow_up_due",
        json!({"intervention": "decline:e0", "due": "2026-03-12"}),
    )
    .await;
    audit(
        store,
        "alert:a1:v2",
        90,
        "acme",
        "alert.resolved",
        json!({"alert_id": "a1", "status": "resolved", "note": "renewal signed"}),
    )
    .await;
    store
        .append_audit(&AuditEntry {
            id: "config:v3".into(),
            at: now() - Duration::minutes(80),
            account_id: None,
            actor: "admin@example.com".into(),
            action: "config.applied".into(),
            detail: json!({"version": 3}),
        })
        .await
        .must("audit");
    audit(
        store,
        "started:decline:g1",
        70,
        "globex",
        "workflow.started",
        json!({"workflow": "decline-outreach", "summary": "usage fell 45%"}),
    )
    .await;
    audit(
        store,
        "alert:a2:v2",
        1,
        "acme",
        "alert.acknowledged",
        json!({"alert_id": "a2", "status": "acknowledged"}),
    )
    .await;
}

async fn log_once(
    store: &SqliteStore,
    sink: &dyn CrmSink,
    at: DateTime<Utc>,
) -> Result<ActivityReport, CrmSyncError> {
    let mut reports = log_activities(store, &[sink], at).await.must("read audit");
    reports.pop().expect("one report")
}

#[tokio::test]
async fn hubspot_gets_each_outreach_follow_up_and_alert_change_once_on_the_company() {
    let (crm, sink) = hubspot().await;
    let store = store_with_accounts().await;
    a_day_of_work(&store).await;

    *crm.rate_limit_next.lock().must("lock") = true;
    let first = log_once(&store, sink.as_ref(), now())
        .await
        .must("first log");
    assert_eq!(
        (first.logged, first.unmapped, first.failed),
        (3, 1, 0),
        "{first:?}"
    );
    let logged = crm.activities();
    let traces: Vec<(&str, &str)> = logged
        .iter()
        .map(|(o, t, _)| (o.as_str(), t.as_str()))
        .collect();
    assert_eq!(
        traces,
        [
            ("notes", "action:decline:e1#1"),
            ("notes", "alert:a1:v2"),
            ("tasks", "follow-up-due:decline:e0")
        ],
        "notes then the task, each once through the 429"
    );
    let note = &logged[0].2;
    let body = note["properties"]["hs_note_body"]
        .as_str()
        .expect("note body");
    assert!(
        body.starts_with("Vitals outreach sent: A tip for your reports"),
        "{body}"
    );
    assert!(body.contains("Ann <ann@acme.io>"), "{body}");
    assert_eq!(note["associations"][0]["to"]["id"], "9001");
    assert_eq!(
        note["properties"]["hs_timestamp"],
        "2026-03-12T03:00:00.000Z"
    );
    let resolved = logged[1].2["properties"]["hs_note_body"]
        .as_str()
        .expect("body");
    assert!(
        resolved.contains("resolved by dana@example.com") && resolved.contains("renewal signed"),
        "{resolved}"
    );
    let task = &logged[2].2["properties"];
    assert_eq!(task["hs_task_status"], "NOT_STARTED");
    assert_eq!(
        task["hs_timestamp"], "2026-03-12T12:00:00.000Z",
        "due the day the follow-up is due"
    );

    let again = log_once(&store, sink.as_ref(), now())
        .await
        .must("second log");
    assert_eq!((again.logged, again.batches), (0, 0), "{again:?}");

    let later = log_once(&store, sink.as_ref(), now() + Duration::minutes(10))
        .await
        .must("later log");
    assert_eq!(
        later.logged, 1,
        "the acknowledgement, settled now: {later:?}"
    );
    let all = crm.activities();
    assert_eq!(all.len(), 4);
    assert_eq!(all[3].1, "alert:a2:v2");
    assert_eq!(crm.problems(), Vec::<String>::new());
}

#[tokio::test]
async fn salesforce_tasks_survive_the_daily_quota_and_a_refused_record_is_not_resent() {
    let (crm, sink) = salesforce().await;
    let store = store_with_accounts().await;
    a_day_of_work(&store).await;
    *crm.refuse_subject.lock().must("lock") = Some("alert resolved".into());

    *crm.quota_exceeded_next.lock().must("lock") = true;
    let quota = log_once(&store, sink.as_ref(), now()).await;
    assert!(
        matches!(&quota, Err(CrmSyncError::Crm { source, .. }) if source.to_string().contains("will retry")),
        "the daily quota is retried by the next run: {quota:?}"
    );
    assert!(crm.activities().is_empty());

    let next = log_once(&store, sink.as_ref(), now())
        .await
        .must("next run");
    assert_eq!(
        (next.logged, next.failed, next.unmapped),
        (2, 1, 1),
        "{next:?}"
    );
    let tasks = crm.activities();
    let outreach = &tasks[0].2;
    assert_eq!(outreach["WhatId"], "001A00001");
    assert_eq!(outreach["Status"], "Completed");
    assert_eq!(outreach["TaskSubtype"], "Email");
    assert_eq!(outreach["ActivityDate"], "2026-03-12");
    let follow_up = &tasks[1].2;
    assert_eq!(follow_up["Status"], "Not Started");
    assert_eq!(follow_up["Priority"], "High");

    let third = log_once(&store, sink.as_ref(), now() + Duration::minutes(1))
        .await
        .must("third run");
    assert_eq!(
        (third.logged, third.failed),
        (0, 0),
        "nothing is sent twice: {third:?}"
    );
    assert_eq!(crm.activities().len(), 2);
    assert_eq!(crm.problems(), Vec::<String>::new());
}

#[tokio::test]
async fn after_the_daily_run_a_crm_with_activities_turned_off_gets_figures_only() {
    let (crm, sink) = hubspot().await;
    let store = store_with_accounts().await;
    a_day_of_work(&store).await;
    let quiet: Arc<dyn CrmSink> = vitals_tests::crm_loopback::hubspot_without_activities(&crm);
    after_run(&store, &[quiet], now()).await;
    assert!(crm.activities().is_empty(), "log_activities = false");
    after_run(&store, &[sink], now()).await;
    assert_eq!(crm.activities().len(), 3);
}
