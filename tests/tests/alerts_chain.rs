//! The `alert_fired` trigger across workflows: an alert one workflow opens starts the workflows
//! waiting for it, and the alerts those open start theirs, all while handling one message; a
//! workflow that matches its own alerts runs once; a chain stops after
//! `MAX_ALERT_CHAIN_DEPTH` levels, audited; a redelivered message repeats nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use serde_json::json;
use vitals_core::alerts::dispatch::{Dispatch, DispatchMessage, MAX_ALERT_CHAIN_DEPTH};
use vitals_core::alerts::rules::{Action, DeclineLevel, Trigger, Workflow};
use vitals_core::clock::FixedClock;
use vitals_core::config::AlertsConfig;
use vitals_core::model::{AccountId, AccountProfile, AlertQuery, Severity};
use vitals_core::ports::{AccountStore, AlertStore, AuditLog};
use vitals_core::score_event::{ScoreEvent, ScoreEventKind};
use vitals_embedded::SqliteStore;
use vitals_notify::{HttpNotifier, Outbox};
use vitals_scoring::Band;
use vitals_tests::receiver::Receiver;

async fn hook() -> (Receiver, String) {
    let (receiver, base) = Receiver::start(&[]).await;
    (receiver, format!("{base}/hook"))
}

fn acct() -> AccountId {
    AccountId::new("acme").unwrap()
}

fn severe_decline() -> DispatchMessage {
    let as_of = "2026-03-01".parse().unwrap();
    DispatchMessage::Score(ScoreEvent {
        id: ScoreEvent::id_for(&acct(), as_of, ScoreEventKind::DeclineSevere, ""),
        account_id: acct(),
        as_of,
        kind: ScoreEventKind::DeclineSevere,
        score: 30.0,
        band: Band::AtRisk,
        previous_score: Some(50.0),
        previous_band: Some(Band::Monitor),
        summary: "usage decline".into(),
        detail: json!({}),
        scored_at: None,
    })
}

/// A workflow started by an alert of `on_kind` (any kind with `None`) that opens an alert of
/// `opens` and calls the hook.
fn on_alert(name: &str, on_kind: Option<&str>, opens: &str) -> Workflow {
    Workflow {
        name: name.into(),
        enabled: true,
        trigger: Trigger::AlertFired {
            kind: on_kind.map(str::to_string),
            severity: None,
        },
        when: None,
        actions: vec![
            Action::Alert {
                severity: Some(Severity::Warning),
                kind: Some(opens.into()),
                channel: None,
                priority: None,
            },
            Action::Webhook {
                channel: "hook".into(),
            },
        ],
    }
}

fn decline_opens(kind: &str) -> Workflow {
    Workflow {
        name: "severe-decline".into(),
        enabled: true,
        trigger: Trigger::Decline {
            severity: Some(DeclineLevel::Severe),
        },
        when: None,
        actions: vec![Action::Alert {
            severity: Some(Severity::Critical),
            kind: Some(kind.into()),
            channel: None,
            priority: None,
        }],
    }
}

struct World {
    _dir: tempfile::TempDir,
    store: SqliteStore,
    config: AlertsConfig,
    notifier: HttpNotifier,
    hook: Receiver,
}

async fn world(workflows: Vec<Workflow>) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("vitals.db")).unwrap();
    store
        .put_profile(
            &acct(),
            &AccountProfile {
                name: Some("Acme".into()),
                ..AccountProfile::default()
            },
        )
        .await
        .unwrap();
    let (hook, url) = hook().await;
    let mut config = AlertsConfig {
        allow_private_destinations: vec!["127.0.0.1".into()],
        workflows,
        ..AlertsConfig::default()
    };
    config.channels.insert(
        "hook".into(),
        vitals_tests::support::webhook_channel(url, None),
    );
    let notifier = HttpNotifier::from_config(
        &config,
        Arc::new(Outbox::new(dir.path().join("outbox"))),
        |_| None,
    )
    .unwrap();
    World {
        _dir: dir,
        store,
        config,
        notifier,
        hook,
    }
}

impl World {
    async fn dispatch(&self) {
        let clock = FixedClock(Utc.with_ymd_and_hms(2026, 3, 2, 6, 30, 0).unwrap());
        Dispatch::with_alerts_config(&self.store, &self.notifier, &clock, &self.config)
            .handle(&severe_decline())
            .await
            .unwrap();
    }

    async fn alert_kinds(&self) -> Vec<String> {
        let query = AlertQuery {
            status: None,
            account_id: Some(acct()),
        };
        let mut kinds: Vec<String> = self
            .store
            .list_alerts(&query, None, 50)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|a| a.kind)
            .collect();
        kinds.sort();
        kinds
    }

    fn hook_workflows(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .hook
            .jsons()
            .iter()
            .map(|b| b["workflow"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    }
}

#[tokio::test]
async fn alerts_opened_by_other_workflows_start_alert_fired_workflows_several_levels_deep() {
    let w = world(vec![
        decline_opens("usage_decline"),
        on_alert("escalate", Some("usage_decline"), "escalation"),
        on_alert("notify-exec", Some("escalation"), "exec_notice"),
    ])
    .await;

    w.dispatch().await;

    assert_eq!(
        w.alert_kinds().await,
        ["escalation", "exec_notice", "usage_decline"]
    );
    assert_eq!(w.hook_workflows(), ["escalate", "notify-exec"]);

    // The same message again (a redelivery) repeats nothing.
    w.dispatch().await;
    assert_eq!(w.alert_kinds().await.len(), 3);
    assert_eq!(w.hook.received().len(), 2);
}

#[tokio::test]
async fn a_workflow_triggered_by_its_own_alerts_runs_once() {
    // `echo` matches every fired alert, its own included.
    let w = world(vec![
        decline_opens("usage_decline"),
        on_alert("echo", None, "echo"),
    ])
    .await;

    w.dispatch().await;

    assert_eq!(w.alert_kinds().await, ["echo", "usage_decline"]);
    assert_eq!(w.hook_workflows(), ["echo"], "echo ran once");
}

#[tokio::test]
async fn an_alert_chain_stops_at_the_depth_limit_and_says_so_in_the_audit_log() {
    // k0 → k1 → ... : each level's workflow waits for the previous level's alert.
    let levels = MAX_ALERT_CHAIN_DEPTH + 2;
    let mut workflows = vec![decline_opens("k0")];
    for i in 0..levels {
        workflows.push(on_alert(
            &format!("level-{}", i + 1),
            Some(&format!("k{i}")),
            &format!("k{}", i + 1),
        ));
    }
    let w = world(workflows).await;

    w.dispatch().await;

    let ran = w.hook_workflows();
    assert_eq!(ran.len(), MAX_ALERT_CHAIN_DEPTH, "{ran:?}");
    assert_eq!(
        ran.last().unwrap(),
        &format!("level-{MAX_ALERT_CHAIN_DEPTH}")
    );
    let audit = w.store.list_audit(Some(&acct()), None, 100).await.unwrap();
    let stopped: Vec<_> = audit
        .items
        .iter()
        .filter(|e| e.action == "workflow.chain_stopped")
        .collect();
    assert_eq!(stopped.len(), 1, "{stopped:?}");
    assert_eq!(
        stopped[0].detail["chain"].as_array().unwrap().len(),
        MAX_ALERT_CHAIN_DEPTH + 1,
        "the chain that led there: {}",
        stopped[0].detail
    );
}
