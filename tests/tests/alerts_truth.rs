//! Issue 17, read-model and alert side, on the embedded backend: a churned account leaves the
//! at-risk counts, MRR at risk and the at-risk list; an alert resolves itself when its
//! condition clears; a backfill notifies nobody; severity follows the cause; links point at the
//! dashboard under `[server] public_url`; a delivery that can never succeed is recorded once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde_json::json;
use vitals_core::alerts::dispatch::{Dispatch, DispatchMessage};
use vitals_core::alerts::rules::{Action, ChannelConfig, Trigger, Workflow};
use vitals_core::clock::Clock;
use vitals_core::config::VitalsConfig;
use vitals_core::model::{
    AccountId, AccountRecord, ActionStatus, AlertQuery, AlertStatus, Outcome, OutcomeKind, Severity,
};
use vitals_core::notify::RecordingNotifier;
use vitals_core::ports::{
    AccountStore, AlertStore, AuditLog, InterventionStore, ListingStore, SummaryStore,
};
use vitals_core::query::access::{Principal, Role};
use vitals_core::query::accounts::{AccountFilter, AccountSort, LifecycleFilter};
use vitals_core::query::listed_rows::ListedRows;
use vitals_core::run::DailyRun;
use vitals_core::score_event::{ScoreEvent, ScoreEventKind};
use vitals_embedded::{QueueSettings, SqliteQueue, SqliteStore};
use vitals_scoring::Band;
use vitals_tests::storage_contract::{profile, score_record, window};

struct FixedClock(DateTime<Utc>);
impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn acct(s: &str) -> AccountId {
    AccountId::new(s).unwrap()
}

fn morning_after(d: &str) -> FixedClock {
    let d = day(d) + chrono::Days::new(1);
    FixedClock(Utc.from_utc_datetime(&d.and_hms_opt(6, 30, 0).unwrap()))
}

struct World {
    _dir: tempfile::TempDir,
    store: SqliteStore,
    queue: SqliteQueue,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("vitals.db")).unwrap();
    let queue = SqliteQueue::open(
        &dir.path().join("queue.db"),
        "alerts",
        QueueSettings::default(),
    )
    .unwrap();
    World {
        _dir: dir,
        store,
        queue,
    }
}

/// An account scored on `on` into `band`, with MRR 1000, already rolled through `on`.
fn scored(id: &str, on: &str, band: Band, churned_on: Option<&str>) -> AccountRecord {
    let account = acct(id);
    let mut record = score_record(&account, day(on), 10.0);
    record.score.health.band = band;
    record.score.health.score = if band == Band::AtRisk { 25.0 } else { 60.0 };
    let mut p = profile(id);
    p.mrr = Some(1000.0);
    if let Some(c) = churned_on {
        p.outcomes.push(Outcome {
            kind: OutcomeKind::Churned,
            on: day(c),
            source: format!("churn-{id}"),
        });
    }
    // A churned account's usage stops before its churn (later activity would reactivate it).
    let last_active = churned_on.map_or(day(on), |c| day(c) - chrono::Days::new(1));
    AccountRecord {
        account_id: account,
        profile: p,
        window: window(last_active.min(day(on)), 10),
        score: Some(record),
        trail: Default::default(),
        provisional: None,
    }
}

async fn store_records(store: &SqliteStore, records: &[AccountRecord]) {
    for r in records {
        store.put_profile(&r.account_id, &r.profile).await.unwrap();
    }
    store.put_scoring_states(records).await.unwrap();
}

#[tokio::test]
async fn a_churned_account_leaves_at_risk_counts_mrr_at_risk_and_the_at_risk_list() {
    let w = world();
    let on = "2026-09-10";
    store_records(
        &w.store,
        &[
            scored("at-risk", on, Band::AtRisk, None),
            scored("churned", on, Band::AtRisk, Some("2026-09-06")),
            scored("fine", on, Band::Monitor, None),
        ],
    )
    .await;
    let config = VitalsConfig::default();
    let clock = morning_after(on);
    DailyRun::new(&w.store, &w.queue, &config, &clock)
        .run_day(day(on), &mut |_| {})
        .await
        .unwrap();

    let summary = w.store.latest_summary().await.unwrap().unwrap();
    assert_eq!(summary.accounts, 2, "only active accounts are counted");
    assert_eq!(summary.bands.get("at_risk"), Some(&1));
    assert_eq!(summary.mrr_at_risk, 1000.0);
    assert_eq!(summary.extra["lifecycle_churned"], json!(1.0));
    assert_eq!(summary.extra["lifecycle_churned_mrr"], json!(1000.0));
    let view = vitals_core::query::portfolio::portfolio_view(&[summary], None);
    assert_eq!(view.kpis.churned_accounts.value, Some(1.0));
    assert_eq!(view.kpis.logo_churn.value, Some(0.333));

    let listing = w.store.account_listing().await.unwrap();
    let rows = ListedRows::new(
        listing
            .segments
            .iter()
            .flat_map(|s| &s.rows)
            .cloned()
            .collect(),
    );
    let admin = Principal::new("admin", Role::Admin);
    let list = |filter: AccountFilter| -> Vec<String> {
        rows.visible(&admin, &filter, AccountSort::AccountId, day(on))
            .into_iter()
            .map(|r| r.account_id.clone())
            .collect()
    };
    let at_risk = AccountFilter {
        band: Some(Band::AtRisk),
        ..AccountFilter::default()
    };
    assert_eq!(list(at_risk.clone()), ["at-risk"]);
    assert_eq!(list(AccountFilter::default()), ["at-risk", "fine"]);
    let churned = AccountFilter {
        lifecycle: Some(LifecycleFilter::parse("churned").unwrap()),
        ..AccountFilter::default()
    };
    assert_eq!(list(churned.clone()), ["churned"]);
    assert!(
        list(AccountFilter {
            band: Some(Band::AtRisk),
            ..churned
        })
        .is_empty(),
        "a churned account is never listed as at risk"
    );
    let row = rows.iter().find(|r| r.account_id == "churned").unwrap();
    assert_eq!(row.churned_on, Some(day("2026-09-06")));
    assert_eq!(row.band, None);
    assert_eq!(row.days_to_renewal, None);
    assert_eq!(row.mrr, Some(1000.0));
    assert_eq!(row.reason, "churned on 2026-09-06 (last MRR 1000)");
}

// ---------------------------------------------------------------------------------------------
// Alerts

fn event(id: &str, as_of: &str, kind: ScoreEventKind, band: Band, run: &str) -> DispatchMessage {
    let a = acct(id);
    let as_of = day(as_of);
    let run_at = Utc.from_utc_datetime(&day(run).and_hms_opt(6, 0, 0).unwrap());
    DispatchMessage::Score(ScoreEvent {
        id: ScoreEvent::id_for(&a, as_of, kind, ""),
        account_id: a,
        as_of,
        kind,
        score: if band == Band::AtRisk { 30.0 } else { 55.0 },
        band,
        previous_score: Some(50.0),
        previous_band: Some(Band::Monitor),
        summary: format!("{} on {as_of}", kind.as_str()),
        detail: json!({}),
        scored_at: Some(run_at),
    })
}

/// The shipped workflows, alerts announced on a Slack channel (recorded, not sent).
fn config() -> VitalsConfig {
    let mut config = VitalsConfig::default();
    config.server.public_url = "https://vitals.example.com/".into();
    config.alerts.channels.insert(
        "cs-slack".into(),
        ChannelConfig::Slack {
            url: None,
            url_env: Some("UNUSED".into()),
        },
    );
    for wf in &mut config.alerts.workflows {
        for a in &mut wf.actions {
            if let Action::Alert { channel, .. } = a {
                *channel = Some("cs-slack".into());
            }
        }
    }
    config
}

async fn dispatch(
    w: &World,
    config: &VitalsConfig,
    notifier: &RecordingNotifier,
    now: &str,
    m: &DispatchMessage,
) {
    let clock = morning_after(now);
    Dispatch::new(&w.store, notifier, &clock, config)
        .handle(m)
        .await
        .unwrap();
}

async fn alerts_of(w: &World, id: &str) -> Vec<vitals_core::model::Alert> {
    w.store
        .list_alerts(
            &AlertQuery {
                status: None,
                account_id: Some(acct(id)),
            },
            None,
            100,
        )
        .await
        .unwrap()
        .items
}

/// The note of an alert's latest transition (why it was resolved).
fn last_note(alert: &vitals_core::model::Alert) -> &str {
    alert
        .transitions
        .last()
        .and_then(|t| t.note.as_deref())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_recovered_accounts_alert_resolves_itself_with_an_audit_entry() {
    let w = world();
    let config = config();
    let notifier = RecordingNotifier::default();
    store_records(
        &w.store,
        &[scored("acme", "2026-06-09", Band::Monitor, None)],
    )
    .await;
    let opened = event(
        "acme",
        "2026-06-10",
        ScoreEventKind::BandChanged,
        Band::AtRisk,
        "2026-06-11",
    );
    dispatch(&w, &config, &notifier, "2026-06-10", &opened).await;
    let alerts = alerts_of(&w, "acme").await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].status, AlertStatus::Open);
    assert_eq!(alerts[0].about_day, Some(day("2026-06-10")));

    // Two days later the band is back to monitor.
    let recovered = event(
        "acme",
        "2026-06-12",
        ScoreEventKind::BandChanged,
        Band::Monitor,
        "2026-06-13",
    );
    dispatch(&w, &config, &notifier, "2026-06-12", &recovered).await;
    let alert = alerts_of(&w, "acme").await.remove(0);
    assert_eq!(alert.status, AlertStatus::Resolved);
    let last = alert.transitions.last().unwrap();
    assert_eq!(last.by, "vitals");
    assert_eq!(
        last.note.as_deref(),
        Some("condition cleared: the account's band recovered to monitor on 2026-06-12")
    );
    let audit = w
        .store
        .list_audit(Some(&acct("acme")), None, 50)
        .await
        .unwrap()
        .items;
    let resolved = audit.iter().find(|e| e.action == "alert.resolved").unwrap();
    assert_eq!(resolved.actor, "vitals");
    assert!(resolved.detail["note"]
        .as_str()
        .unwrap()
        .contains("band recovered"));
}

#[tokio::test]
async fn a_churned_accounts_open_alert_is_resolved_by_the_daily_sweep() {
    let w = world();
    let config = config();
    let notifier = RecordingNotifier::default();
    store_records(
        &w.store,
        &[scored("gone", "2026-09-01", Band::AtRisk, None)],
    )
    .await;
    let opened = event(
        "gone",
        "2026-09-01",
        ScoreEventKind::BandChanged,
        Band::AtRisk,
        "2026-09-02",
    );
    dispatch(&w, &config, &notifier, "2026-09-01", &opened).await;
    store_records(
        &w.store,
        &[scored(
            "gone",
            "2026-09-01",
            Band::AtRisk,
            Some("2026-09-06"),
        )],
    )
    .await;
    let clock = morning_after("2026-09-07");
    let lifecycle = vitals_core::alerts::lifecycle::AlertLifecycle::new(&w.store, &clock);
    let resolved = lifecycle
        .resolve_all_cleared(day("2026-09-07"))
        .await
        .unwrap();
    assert_eq!(resolved.len(), 1);
    let alert = alerts_of(&w, "gone").await.remove(0);
    assert_eq!(alert.status, AlertStatus::Resolved);
    assert!(last_note(&alert).contains("churned on 2026-09-06"));
}

#[tokio::test]
async fn an_alert_dispatched_from_a_backlog_after_the_churn_is_not_left_open() {
    let w = world();
    let config = config();
    let notifier = RecordingNotifier::default();
    // Scored through 2026-09-05, churned on 2026-09-06 (the day after its last score).
    store_records(
        &w.store,
        &[scored(
            "gone",
            "2026-09-05",
            Band::AtRisk,
            Some("2026-09-06"),
        )],
    )
    .await;
    // A backfill's queued event about August, dispatched when `vitals serve` starts later.
    let old = event(
        "gone",
        "2026-08-20",
        ScoreEventKind::BandChanged,
        Band::AtRisk,
        "2026-09-10",
    );
    dispatch(&w, &config, &notifier, "2026-09-10", &old).await;
    let alerts = alerts_of(&w, "gone").await;
    assert_eq!(alerts.len(), 1, "the history keeps that it was at risk");
    assert_eq!(alerts[0].status, AlertStatus::Resolved);
    assert!(last_note(&alerts[0]).contains("churned on 2026-09-06"));
}

#[tokio::test]
async fn a_backfill_of_old_days_records_alerts_but_sends_no_notifications() {
    let w = world();
    let config = config();
    let notifier = RecordingNotifier::default();
    store_records(&w.store, &[scored("old", "2026-03-01", Band::AtRisk, None)]).await;
    // A backfill run on 2026-09-01 over March: every day is months old.
    for (d, kind, band) in [
        ("2026-03-01", ScoreEventKind::BandChanged, Band::AtRisk),
        ("2026-03-02", ScoreEventKind::DeclineSevere, Band::AtRisk),
        ("2026-03-03", ScoreEventKind::DeclineModerate, Band::Monitor),
    ] {
        dispatch(
            &w,
            &config,
            &notifier,
            "2026-09-01",
            &event("old", d, kind, band, "2026-09-01"),
        )
        .await;
    }
    assert!(
        notifier.sent().is_empty(),
        "no notification for days older than 2 days: {:?}",
        notifier.sent()
    );
    let alerts = alerts_of(&w, "old").await;
    assert!(!alerts.is_empty(), "alerts are still recorded");
    let interventions = w
        .store
        .list_interventions(Some(&acct("old")), None, 50)
        .await
        .unwrap()
        .items;
    assert!(!interventions.is_empty());
    for i in &interventions {
        assert!(i.notifications.is_empty());
        assert!(i.follow_up_due.is_none());
        for a in &i.actions {
            assert!(
                a.detail.as_deref().unwrap_or("").contains("history only"),
                "{a:?}"
            );
        }
    }
    // Yesterday's event, found by the daily run this morning, does notify.
    let today = event(
        "old",
        "2026-08-31",
        ScoreEventKind::DeclineSevere,
        Band::AtRisk,
        "2026-09-01",
    );
    dispatch(&w, &config, &notifier, "2026-08-31", &today).await;
    assert!(!notifier.sent().is_empty());
}

#[tokio::test]
async fn severity_follows_the_cause_and_links_point_at_the_dashboard() {
    let w = world();
    let mut config = config();
    // A high-value account: the CSM alert fires on a moderate decline too.
    config.alerts.high_value_mrr = 500.0;
    let notifier = RecordingNotifier::default();
    store_records(
        &w.store,
        &[
            scored("big", "2026-05-01", Band::Monitor, None),
            scored("bad", "2026-05-01", Band::Monitor, None),
        ],
    )
    .await;
    dispatch(
        &w,
        &config,
        &notifier,
        "2026-05-01",
        &event(
            "big",
            "2026-05-01",
            ScoreEventKind::DeclineModerate,
            Band::Monitor,
            "2026-05-02",
        ),
    )
    .await;
    dispatch(
        &w,
        &config,
        &notifier,
        "2026-05-01",
        &event(
            "bad",
            "2026-05-01",
            ScoreEventKind::DeclineSevere,
            Band::AtRisk,
            "2026-05-02",
        ),
    )
    .await;
    let severity = |id: &'static str| {
        let w = &w;
        async move {
            alerts_of(w, id)
                .await
                .iter()
                .map(|a| a.severity)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(severity("big").await, [Severity::Warning]);
    assert_eq!(severity("bad").await, [Severity::Critical]);

    // A configured severity for moderate declines is honoured.
    config.alerts.severity.decline_moderate = Severity::Critical;
    dispatch(
        &w,
        &config,
        &notifier,
        "2026-05-20",
        &event(
            "big",
            "2026-05-20",
            ScoreEventKind::DeclineModerate,
            Band::Monitor,
            "2026-05-21",
        ),
    )
    .await;

    let links: Vec<String> = notifier
        .sent()
        .iter()
        .filter_map(|n| n.link.clone())
        .collect();
    assert!(!links.is_empty());
    for link in &links {
        assert!(
            link == "https://vitals.example.com/dashboard/accounts/big"
                || link == "https://vitals.example.com/dashboard/accounts/bad",
            "{link}"
        );
    }
}

#[tokio::test]
async fn an_email_without_a_recipient_is_recorded_once_and_not_retried() {
    let w = world();
    let mut config = VitalsConfig::default();
    config.alerts.workflows = vec![Workflow {
        name: "tell-owner".into(),
        enabled: true,
        trigger: Trigger::ExpansionSignal,
        when: None,
        actions: vec![Action::Notify {
            channel: "email".into(),
            to: vitals_core::alerts::rules::Recipient::Owner,
        }],
    }];
    let notifier = RecordingNotifier::default();
    let mut record = scored("orphan", "2026-05-01", Band::Healthy, None);
    record.profile.owner = None;
    store_records(&w.store, &[record]).await;
    let m = event(
        "orphan",
        "2026-05-01",
        ScoreEventKind::ExpansionSignal,
        Band::Healthy,
        "2026-05-02",
    );
    // Handled without an error (nothing to retry), twice: still one record of why.
    dispatch(&w, &config, &notifier, "2026-05-01", &m).await;
    dispatch(&w, &config, &notifier, "2026-05-01", &m).await;
    assert!(notifier.sent().is_empty());
    let i = w
        .store
        .list_interventions(Some(&acct("orphan")), None, 10)
        .await
        .unwrap()
        .items;
    assert_eq!(i.len(), 1);
    assert_eq!(i[0].actions[0].status, ActionStatus::Skipped);
    assert!(i[0].actions[0]
        .detail
        .as_deref()
        .unwrap()
        .starts_with("no recipient"));
}
