//! What users rely on in an alert's life, driven as they drive it: the workflows open alerts
//! (dispatch), CSMs change them through `PATCH /v1/alerts/{id}`, and time passes.
//! open → acknowledged → resolved with who and when; one problem is one alert (dedupe key)
//! until it is resolved and the cooldown has passed; a snooze quiets the alert until its end,
//! then the alert comes back with a reminder; invalid changes are refused with clear errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use vitals_core::alerts::dispatch::{Dispatch, DispatchMessage};
use vitals_core::alerts::effectiveness;
use vitals_core::alerts::lifecycle::{AlertLifecycle, LifecycleError};
use vitals_core::alerts::rules::{Action, ChannelConfig, DeclineLevel, Trigger, Workflow};
use vitals_core::alerts::status::{StatusChange, StatusLimits};
use vitals_core::clock::Clock;
use vitals_core::config::{AlertsConfig, AuthConfig};
use vitals_core::model::{AccountId, AccountProfile, Alert, AlertQuery, AlertStatus, Severity};
use vitals_core::ports::{AccountStore, AlertStore, AuditLog, Queue};
use vitals_core::score_event::{ScoreEvent, ScoreEventKind};
use vitals_embedded::{QueueSettings, SqliteQueue, SqliteStore};
use vitals_http::axum::body::Body;
use vitals_http::axum::http::{header, Method, Request, StatusCode};
use vitals_http::tower::ServiceExt;
use vitals_http::{full_router, AppState, LocalTokens, Role, WriteKeys};
use vitals_notify::{HttpNotifier, Outbox};
use vitals_scoring::Band;
use vitals_tests::receiver::Receiver;

const CSM: &str = "ana@vendor.com";

/// A clock the test moves forward.
#[derive(Default)]
struct TestClock(Mutex<Option<DateTime<Utc>>>);

impl TestClock {
    fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().unwrap() = Some(t);
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().unwrap().expect("clock set")
    }
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The CS team's webhook: records every notification.
async fn hook() -> (Receiver, String) {
    let (receiver, base) = Receiver::start(&[]).await;
    (receiver, format!("{base}/hook"))
}

struct World {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    queue: SqliteQueue,
    clock: Arc<TestClock>,
    config: AlertsConfig,
    notifier: HttpNotifier,
    hook: Receiver,
    tokens: Arc<LocalTokens>,
}

/// A severe decline opens a critical alert announced on the `cs-hook` webhook. Workflow
/// cooldown off, so that the alert's own dedupe and cooldown are what is tested.
async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("vitals.db")).unwrap());
    let queue = SqliteQueue::open(
        &dir.path().join("queue.db"),
        "alerts",
        QueueSettings { max_receives: 5 },
    )
    .unwrap();
    let (hook, url) = hook().await;
    let mut config = AlertsConfig {
        allow_private_destinations: vec!["127.0.0.1".into()],
        cooldown_days: 0,
        alert_cooldown_hours: 72,
        ..AlertsConfig::default()
    };
    config.channels.insert(
        "cs-hook".into(),
        ChannelConfig::Webhook {
            url,
            secret: None,
            secret_env: None,
            template: None,
            headers: Default::default(),
        },
    );
    config.workflows = vec![Workflow {
        name: "severe-decline".into(),
        enabled: true,
        trigger: Trigger::Decline {
            severity: Some(DeclineLevel::Severe),
        },
        when: None,
        actions: vec![Action::Alert {
            severity: Some(Severity::Critical),
            kind: Some("usage_decline".into()),
            channel: Some("cs-hook".into()),
            priority: Some("high".into()),
        }],
    }];
    let notifier = HttpNotifier::from_config(
        &config,
        Arc::new(Outbox::new(dir.path().join("outbox"))),
        |_| None,
    )
    .unwrap();
    store
        .put_profile(
            &acct(),
            &AccountProfile {
                name: Some("Acme".into()),
                owner: Some(CSM.into()),
                ..AccountProfile::default()
            },
        )
        .await
        .unwrap();
    let tokens = Arc::new(LocalTokens::new(vec![7; 32], &AuthConfig::default()).unwrap());
    World {
        _dir: dir,
        store,
        queue,
        clock: Arc::new(TestClock::default()),
        config,
        notifier,
        hook,
        tokens,
    }
}

fn acct() -> AccountId {
    AccountId::new("acme").unwrap()
}

/// The daily run's report of a severe decline on `day`.
fn severe_decline(day: &str) -> DispatchMessage {
    let as_of = day.parse().unwrap();
    DispatchMessage::Score(ScoreEvent {
        id: ScoreEvent::id_for(&acct(), as_of, ScoreEventKind::DeclineSevere, ""),
        account_id: acct(),
        as_of,
        kind: ScoreEventKind::DeclineSevere,
        score: 31.0,
        band: Band::AtRisk,
        previous_score: Some(48.0),
        previous_band: Some(Band::Monitor),
        summary: "usage decline: 14-day active usage is 65% below the 90-day average".into(),
        detail: json!({"ratio": 0.35}),
        scored_at: None,
    })
}

impl World {
    /// Handles one message at time `now`, as the dispatcher does.
    async fn dispatch(&self, now: &str, message: &DispatchMessage) {
        self.clock.set(at(now));
        Dispatch::with_alerts_config(
            self.store.as_ref(),
            &self.notifier,
            self.clock.as_ref(),
            &self.config,
        )
        .handle(message)
        .await
        .unwrap();
    }

    /// Handles whatever is on the alert queue.
    async fn drain_queue(&self) {
        let dispatch = Dispatch::with_alerts_config(
            self.store.as_ref(),
            &self.notifier,
            self.clock.as_ref(),
            &self.config,
        );
        for m in self
            .queue
            .receive(10, Duration::from_secs(30))
            .await
            .unwrap()
        {
            dispatch.handle_body(&m.body).await.unwrap();
            self.queue.delete(&m.receipt).await.unwrap();
        }
    }

    async fn alerts(&self) -> Vec<Alert> {
        let query = AlertQuery {
            status: None,
            account_id: Some(acct()),
        };
        let mut alerts = self
            .store
            .list_alerts(&query, None, 50)
            .await
            .unwrap()
            .items;
        alerts.sort_by_key(|a| a.opened_at);
        alerts
    }

    fn notifications(&self) -> Vec<Value> {
        self.hook.jsons()
    }

    /// `PATCH /v1/alerts/{id}` as the owning CSM at time `now`.
    async fn patch(&self, now: &str, id: &str, body: Value) -> (StatusCode, Value) {
        self.clock.set(at(now));
        let app = full_router(AppState {
            storage: self.store.clone(),
            clock: self.clock.clone(),
            write_keys: Arc::new(WriteKeys::new(Vec::<String>::new())),
            retention_days: 730,
            alert_limits: Default::default(),
            signals: Default::default(),
            touches: Default::default(),
            caches: Default::default(),
            authenticator: self.tokens.clone(),
        });
        let token = self
            .tokens
            .mint(CSM, Role::Csm, Utc::now(), chrono::Duration::hours(1));
        let request = Request::builder()
            .method(Method::PATCH)
            .uri(format!("/v1/alerts/{id}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = vitals_http::axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, body)
    }

    async fn wake_snoozed(&self, now: &str) -> Vec<String> {
        self.clock.set(at(now));
        AlertLifecycle::new(self.store.as_ref(), self.clock.as_ref())
            .wake_snoozed(&self.queue)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn an_alert_goes_open_acknowledged_resolved_recording_who_and_when() {
    let w = world().await;
    w.dispatch("2026-03-02T06:30:00Z", &severe_decline("2026-03-01"))
        .await;
    let alerts = w.alerts().await;
    assert_eq!(alerts.len(), 1);
    let id = alerts[0].id.clone();
    assert_eq!(alerts[0].status, AlertStatus::Open);
    assert_eq!(alerts[0].owner.as_deref(), Some(CSM));
    assert_eq!(w.notifications().len(), 1, "announced once");

    let (status, acked) = w
        .patch(
            "2026-03-02T09:00:00Z",
            &id,
            json!({"action": "acknowledge", "version": 1, "note": "looking into it"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{acked}");
    assert_eq!(acked["status"], "acknowledged");
    let (status, resolved) = w
        .patch(
            "2026-03-03T15:00:00Z",
            &id,
            json!({"action": "resolve", "version": 2, "note": "call booked"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{resolved}");

    let alert = w.store.get_alert(&id).await.unwrap().unwrap();
    assert_eq!(alert.status, AlertStatus::Resolved);
    let history: Vec<(AlertStatus, &str, DateTime<Utc>)> = alert
        .transitions
        .iter()
        .map(|t| (t.to, t.by.as_str(), t.at))
        .collect();
    assert_eq!(
        history,
        [
            (AlertStatus::Open, "vitals", at("2026-03-02T06:30:00Z")),
            (AlertStatus::Acknowledged, CSM, at("2026-03-02T09:00:00Z")),
            (AlertStatus::Resolved, CSM, at("2026-03-03T15:00:00Z")),
        ]
    );
    assert_eq!(alert.transitions[2].note.as_deref(), Some("call booked"));
    let audit = w.store.list_audit(Some(&acct()), None, 50).await.unwrap();
    let actions: Vec<&str> = audit.items.iter().map(|e| e.action.as_str()).collect();
    for expected in ["alert.opened", "alert.acknowledged", "alert.resolved"] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }

    // Resolving it again is refused as a conflict with its state, naming why.
    let (status, again) = w
        .patch(
            "2026-03-03T16:00:00Z",
            &id,
            json!({"action": "resolve", "version": 3}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(again.to_string().contains("already resolved"), "{again}");
}

#[tokio::test]
async fn one_problem_is_one_alert_until_resolved_and_the_cooldown_has_passed() {
    let w = world().await;
    w.dispatch("2026-03-02T06:30:00Z", &severe_decline("2026-03-01"))
        .await;
    // The next daily run reports the same decline: the same alert, nobody notified again.
    w.dispatch("2026-03-03T06:30:00Z", &severe_decline("2026-03-02"))
        .await;
    let alerts = w.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].dedupe_key, "acme:usage_decline:severe");
    assert_eq!(w.notifications().len(), 1);

    let first = alerts[0].id.clone();
    let (status, _) = w
        .patch(
            "2026-03-03T10:00:00Z",
            &first,
            json!({"action": "resolve", "version": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Within the 72-hour cooldown after resolving: still nothing new.
    w.dispatch("2026-03-04T06:30:00Z", &severe_decline("2026-03-03"))
        .await;
    assert_eq!(w.alerts().await.len(), 1);
    assert_eq!(w.notifications().len(), 1);
    // After the cooldown, the problem is back: a new alert, announced.
    w.dispatch("2026-03-07T06:30:00Z", &severe_decline("2026-03-06"))
        .await;
    let alerts = w.alerts().await;
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert_ne!(alerts[1].id, first);
    assert_eq!(alerts[1].status, AlertStatus::Open);
    assert_eq!(alerts[1].dedupe_key, alerts[0].dedupe_key);
    assert_eq!(w.notifications().len(), 2);
}

#[tokio::test]
async fn a_snoozed_alert_is_quiet_until_the_snooze_ends_then_comes_back_with_a_reminder() {
    let w = world().await;
    w.dispatch("2026-03-02T06:30:00Z", &severe_decline("2026-03-01"))
        .await;
    let id = w.alerts().await[0].id.clone();

    let (status, past) = w
        .patch(
            "2026-03-02T09:00:00Z",
            &id,
            json!({"action": "snooze", "version": 1, "reason": "holiday", "until": "2026-03-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        past.to_string().contains("until: must be in the future"),
        "{past}"
    );
    let (status, snoozed) = w
        .patch(
            "2026-03-02T09:00:00Z",
            &id,
            json!({"action": "snooze", "version": 1, "reason": "customer on holiday", "until": "2026-03-09T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{snoozed}");

    // While snoozed, the same problem reported again notifies nobody.
    w.dispatch("2026-03-04T06:30:00Z", &severe_decline("2026-03-03"))
        .await;
    assert_eq!(w.notifications().len(), 1, "quiet while snoozed");
    assert!(w.wake_snoozed("2026-03-08T23:59:00Z").await.is_empty());
    assert!(w
        .queue
        .receive(10, Duration::from_secs(1))
        .await
        .unwrap()
        .is_empty());

    // At its end the alert is back (open, not snoozed) and a reminder goes out.
    assert_eq!(
        w.wake_snoozed("2026-03-09T00:00:30Z").await,
        vec![id.clone()]
    );
    let alert = w.store.get_alert(&id).await.unwrap().unwrap();
    assert_eq!(alert.status, AlertStatus::Open);
    assert_eq!(alert.snoozed_until, None);
    let last = alert.transitions.last().unwrap();
    assert_eq!(
        (last.by.as_str(), last.at),
        ("vitals", at("2026-03-09T00:00:30Z"))
    );
    assert!(
        last.note
            .as_deref()
            .unwrap()
            .contains("customer on holiday"),
        "{last:?}"
    );
    w.drain_queue().await;
    let notes = w.notifications();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert_eq!(notes[1]["type"], "reminder");
    assert_eq!(
        notes[1]["title"],
        "Snooze ended: usage decline alert for Acme"
    );
    assert!(
        notes[1]["summary"]
            .as_str()
            .unwrap()
            .contains("snoozed until 2026-03-09 00:00 UTC (customer on holiday)"),
        "{}",
        notes[1]
    );
    let audit = w.store.list_audit(Some(&acct()), None, 50).await.unwrap();
    let actions: Vec<&str> = audit.items.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"alert.snooze_ended"), "{actions:?}");
    assert!(actions.contains(&"alert.reminder"), "{actions:?}");

    // The snooze ended once: later checks remind nobody again.
    assert!(w.wake_snoozed("2026-03-09T00:01:30Z").await.is_empty());
    w.drain_queue().await;
    assert_eq!(w.notifications().len(), 2);
}

#[tokio::test]
async fn invalid_lifecycle_changes_are_refused_with_clear_errors() {
    let w = world().await;
    w.dispatch("2026-03-02T06:30:00Z", &severe_decline("2026-03-01"))
        .await;
    let id = w.alerts().await[0].id.clone();
    w.clock.set(at("2026-03-02T09:00:00Z"));
    let lifecycle = AlertLifecycle::new(w.store.as_ref(), w.clock.as_ref());

    let change = |change: StatusChange| {
        lifecycle.change_status(&id, CSM, None, change, StatusLimits::default())
    };
    let snooze = |reason: &str, until: &str| StatusChange::Snooze {
        reason: reason.into(),
        until: at(until),
    };

    let past = change(snooze("holiday", "2026-03-01T00:00:00Z"))
        .await
        .unwrap_err();
    assert_eq!(past.to_string(), "until: must be in the future");
    let no_reason = change(snooze(" ", "2026-03-09T00:00:00Z"))
        .await
        .unwrap_err();
    assert_eq!(no_reason.to_string(), "reason: a snooze needs a reason");
    let too_far = change(snooze("holiday", "2026-06-01T00:00:00Z"))
        .await
        .unwrap_err();
    assert_eq!(
        too_far.to_string(),
        "until: a snooze may last at most 90 days (until 2026-05-31)"
    );

    let ack = || StatusChange::Acknowledge { note: None };
    let resolve = |note: Option<&str>| StatusChange::Resolve {
        note: note.map(str::to_string),
    };
    change(ack()).await.unwrap();
    let twice = change(ack()).await.unwrap_err();
    assert_eq!(twice.to_string(), "the alert is already acknowledged");
    let stale = lifecycle
        .change_status(&id, CSM, Some(1), resolve(None), StatusLimits::default())
        .await
        .unwrap_err();
    assert!(
        matches!(stale, LifecycleError::Stale { given: 1, .. }),
        "{stale}"
    );
    change(resolve(Some("  fixed  "))).await.unwrap();
    let resolved_again = change(resolve(None)).await.unwrap_err();
    assert_eq!(resolved_again.to_string(), "the alert is already resolved");
    let ack_resolved = change(ack()).await.unwrap_err();
    assert_eq!(ack_resolved.to_string(), "the alert is already resolved");
    let snooze_resolved = change(snooze("later", "2026-03-09T00:00:00Z"))
        .await
        .unwrap_err();
    assert_eq!(snooze_resolved.to_string(), "the alert is already resolved");
    let alert = w.store.get_alert(&id).await.unwrap().unwrap();
    let last = alert.transitions.last().unwrap();
    assert_eq!(last.note.as_deref(), Some("fixed"), "notes are trimmed");
    let missing = lifecycle
        .change_status("nope", CSM, None, resolve(None), StatusLimits::default())
        .await
        .unwrap_err();
    assert_eq!(missing.to_string(), "no alert nope");
}

#[tokio::test]
async fn the_daily_runs_after_day_hook_ends_snoozes_where_no_dispatcher_polls() {
    let w = world().await;
    w.dispatch("2026-03-02T06:30:00Z", &severe_decline("2026-03-01"))
        .await;
    let id = w.alerts().await[0].id.clone();
    let (status, _) = w
        .patch(
            "2026-03-02T09:00:00Z",
            &id,
            json!({"action": "snooze", "version": 1, "reason": "renewal call on the 5th", "until": "2026-03-05T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // The Lambda deployment's daily run, after scoring 2026-03-05.
    w.clock.set(at("2026-03-06T06:10:00Z"));
    let report = effectiveness::record(
        w.store.as_ref(),
        &w.queue,
        w.clock.as_ref(),
        &w.config,
        "2026-03-05".parse().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(report.snoozes_ended, 1);
    w.drain_queue().await;
    let notes = w.notifications();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert_eq!(notes[1]["type"], "reminder");
    assert_eq!(
        w.store.get_alert(&id).await.unwrap().unwrap().snoozed_until,
        None
    );
}

/// A workflow cooling down after acting is logged once per cooldown, not once per trigger:
/// a decline reported every day would otherwise fill the account's timeline and the audit
/// page with one "suppressed" entry a day.
#[tokio::test]
async fn a_workflow_cooling_down_is_logged_once_per_cooldown_not_per_trigger() {
    let mut w = world().await;
    w.config.cooldown_days = 14;
    for day in 1..=6 {
        let as_of = format!("2026-03-{day:02}");
        let now = format!("2026-03-{:02}T06:30:00Z", day + 1);
        w.dispatch(&now, &severe_decline(&as_of)).await;
    }
    let suppressed = |entries: &[vitals_core::model::AuditEntry]| -> Vec<Value> {
        entries
            .iter()
            .filter(|e| e.action == "workflow.suppressed")
            .map(|e| e.detail.clone())
            .collect()
    };
    let audit = w.store.list_audit(Some(&acct()), None, 100).await.unwrap();
    let entries = suppressed(&audit.items);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["workflow"], "severe-decline");
    assert_eq!(
        entries[0]["about_day"], "2026-03-02",
        "the first suppressed trigger"
    );
    assert_eq!(
        entries[0]["until"], "2026-03-15",
        "14 days after it acted on 03-01"
    );

    // After the cooldown the workflow acts again, and the next cooldown gets its own entry.
    for day in [16, 17, 18] {
        let as_of = format!("2026-03-{day:02}");
        let now = format!("2026-03-{:02}T06:30:00Z", day + 1);
        w.dispatch(&now, &severe_decline(&as_of)).await;
    }
    let audit = w.store.list_audit(Some(&acct()), None, 100).await.unwrap();
    let entries = suppressed(&audit.items);
    assert_eq!(entries.len(), 2, "{entries:?}");
    let started = audit
        .items
        .iter()
        .filter(|e| e.action == "workflow.started")
        .count();
    assert_eq!(started, 2, "acted on 03-01 and 03-16");
}
