//! Alert delivery end to end on the embedded backend, against HTTP receivers on loopback:
//! Slack Block Kit, signed webhooks, retries without duplicates, the dead-letter queue and its
//! replay, and seed 002's outreach path (check-in, CSM draft, no repeat, follow-up, effect).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};
use vitals_core::alerts::dispatch::{Dispatch, DispatchMessage};
use vitals_core::alerts::effectiveness;
use vitals_core::alerts::rules::{Action, ChannelConfig, OutreachMode, Trigger, Workflow};
use vitals_core::clock::Clock;
use vitals_core::config::AlertsConfig;
use vitals_core::model::{
    AccountId, AccountProfile, AccountRecord, AlertQuery, OutreachRoute, Severity, UserProfile,
};
use vitals_core::notify::Secret;
use vitals_core::ports::{AccountStore, AlertStore, AuditLog, InterventionStore, Queue, UserStore};
use vitals_core::score_event::{ScoreEvent, ScoreEventKind};
use vitals_embedded::{QueueSettings, SqliteQueue, SqliteStore};
use vitals_notify::{sign, HttpNotifier, Outbox};
use vitals_scoring::Band;
use vitals_tests::receiver::Receiver;

/// A receiver and its `/hook` URL.
async fn start_hook(script: &[u16]) -> (Receiver, String) {
    let (r, base) = Receiver::start(script).await;
    (r, format!("{base}/hook"))
}

// ---------------------------------------------------------------------------------------------
// Fixtures

struct FixedClock(chrono::DateTime<Utc>);
impl Clock for FixedClock {
    fn now(&self) -> chrono::DateTime<Utc> {
        self.0
    }
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn acct(s: &str) -> AccountId {
    AccountId::new(s).unwrap()
}

struct World {
    _dir: tempfile::TempDir,
    store: SqliteStore,
    queue: SqliteQueue,
    outbox: std::path::PathBuf,
}

fn world(max_receives: u32) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("vitals.db")).unwrap();
    let queue = SqliteQueue::open(
        &dir.path().join("queue.db"),
        "alerts",
        QueueSettings { max_receives },
    )
    .unwrap();
    let outbox = dir.path().join("outbox");
    World {
        _dir: dir,
        store,
        queue,
        outbox,
    }
}

/// An account with an owner, a champion contact, recent features and a decline.
async fn seed_account(w: &World, id: &str, mrr: f64) -> AccountId {
    let a = acct(id);
    let profile = AccountProfile {
        name: Some(format!("{id} Inc")),
        tier: Some(
            if mrr >= 5000.0 {
                "enterprise"
            } else {
                "standard"
            }
            .into(),
        ),
        mrr: Some(mrr),
        owner: Some("maria.lopez@vendor.com".into()),
        owner_manager: Some("head.of.cs@vendor.com".into()),
        product_line: Some("analytics".into()),
        ..AccountProfile::default()
    };
    w.store.put_profile(&a, &profile).await.unwrap();
    let mut record = AccountRecord::new(a.clone());
    record
        .window
        .users_last_active
        .insert(format!("{id}-ana"), day("2026-02-20"));
    record
        .window
        .users_last_active
        .insert(format!("{id}-bob"), day("2026-02-27"));
    record
        .window
        .features_last_used
        .insert("Dashboards".into(), day("2026-02-20"));
    record
        .window
        .features_last_used
        .insert("Reports".into(), day("2026-02-10"));
    w.store.put_scoring_state(&record).await.unwrap();
    for (user, name, champion) in [("ana", "Ana Díaz", true), ("bob", "Bob Ode", false)] {
        w.store
            .put_user(&UserProfile {
                user_id: format!("{id}-{user}"),
                account_id: Some(a.clone()),
                name: Some(name.into()),
                email: Some(format!("{user}@{id}.example")),
                champion,
                ..UserProfile::default()
            })
            .await
            .unwrap();
    }
    a
}

fn event(account: &AccountId, as_of: &str, kind: ScoreEventKind, score: f64) -> ScoreEvent {
    let as_of = day(as_of);
    ScoreEvent {
        id: ScoreEvent::id_for(account, as_of, kind, ""),
        account_id: account.clone(),
        as_of,
        kind,
        score,
        band: if score < 40.0 {
            Band::AtRisk
        } else {
            Band::Monitor
        },
        previous_score: Some(score + 12.0),
        previous_band: Some(Band::Monitor),
        summary: "usage decline: 14-day active usage is 55% below the 90-day average".into(),
        detail: json!({"ratio": 0.45}),
        // Found by the daily run the morning after: recent enough to notify.
        scored_at: Some(
            Utc.from_utc_datetime(&(as_of + chrono::Days::new(1)).and_hms_opt(6, 0, 0).unwrap()),
        ),
    }
}

fn loopback_config() -> AlertsConfig {
    AlertsConfig {
        allow_private_destinations: vec!["127.0.0.1".into()],
        app_url: Some("https://vitals.example".into()),
        ..AlertsConfig::default()
    }
}

fn notifier(config: &AlertsConfig, w: &World) -> HttpNotifier {
    HttpNotifier::from_config(config, Arc::new(Outbox::new(&w.outbox)), |_| None).unwrap()
}

fn outbox_files(w: &World) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(&w.outbox)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| std::fs::read_to_string(e.path()).unwrap())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Drains the queue like `vitals serve` does, retrying failures at once.
async fn drain(w: &World, dispatch: &Dispatch<'_>) {
    for _ in 0..50 {
        let messages = w.queue.receive(10, Duration::from_secs(30)).await.unwrap();
        if messages.is_empty() {
            return;
        }
        for m in messages {
            match dispatch.handle_body(&m.body).await {
                Ok(_) => w.queue.delete(&m.receipt).await.unwrap(),
                Err(_) => w
                    .queue
                    .retry_later(&m.receipt, Duration::ZERO)
                    .await
                    .unwrap(),
            }
        }
    }
    panic!("queue did not drain");
}

async fn enqueue(w: &World, e: &ScoreEvent) {
    let m = DispatchMessage::Score(e.clone()).to_outgoing().unwrap();
    w.queue.send(&[m]).await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn slack_receiver_gets_block_kit_with_account_score_drivers_draft_and_link() {
    let w = world(5);
    let (slack, url) = start_hook(&[]).await;
    let mut config = loopback_config();
    config.channels.insert(
        "cs-slack".into(),
        ChannelConfig::Slack {
            url: Some(Secret::new(url)),
            url_env: None,
        },
    );
    for wf in &mut config.workflows {
        for action in &mut wf.actions {
            if let Action::Outreach { review_channel, .. } = action {
                *review_channel = Some("cs-slack".into());
            }
        }
    }
    let notifier = notifier(&config, &w);
    let clock = FixedClock(Utc.with_ymd_and_hms(2026, 3, 2, 6, 30, 0).unwrap());
    let dispatch = Dispatch::with_alerts_config(&w.store, &notifier, &clock, &config);
    let a = seed_account(&w, "bigco", 12_000.0).await;
    dispatch
        .handle(&DispatchMessage::Score(event(
            &a,
            "2026-03-01",
            ScoreEventKind::DeclineSevere,
            31.0,
        )))
        .await
        .unwrap();

    assert_eq!(slack.requests().len(), 1, "one Slack message");
    let body = slack.json(0);
    let text = body.to_string();
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert!(text.contains("bigco Inc"), "account: {text}");
    assert!(
        text.contains("*Score*\\n31 (-12)"),
        "score and change: {text}"
    );
    assert!(
        text.contains("Outreach draft to ana@bigco.example"),
        "draft: {text}"
    );
    assert!(text.contains("Hi Ana,"), "personalised draft: {text}");
    let button = blocks
        .iter()
        .find(|b| b["type"] == "actions")
        .expect("a button");
    assert_eq!(
        button["elements"][0]["url"],
        "https://vitals.example/dashboard/accounts/bigco"
    );
    // And one CSM alert, high priority, with the draft by email to the owner.
    let alerts = w
        .store
        .list_alerts(
            &AlertQuery {
                status: None,
                account_id: Some(a.clone()),
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(alerts.items.len(), 1);
    assert_eq!(alerts.items[0].severity, Severity::Critical);
    assert_eq!(alerts.items[0].details["priority"], "high");
    let mail = outbox_files(&w);
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(
        mail[0].contains("To: maria.lopez@vendor.com"),
        "{}",
        mail[0]
    );
    assert!(
        mail[0].contains("Outreach draft (edit and send)"),
        "{}",
        mail[0]
    );
}

#[tokio::test]
async fn webhook_receiver_verifies_the_hmac_signature() {
    let w = world(5);
    let (hook, url) = start_hook(&[]).await;
    let mut config = loopback_config();
    config.channels.insert(
        "crm".into(),
        ChannelConfig::Webhook {
            url,
            secret: Some(Secret::new("whsec_test_123")),
            secret_env: None,
            template: Some(
                r#"{"task": {"subject": {{ title }}, "account": {{ account.id }}, "score": {{ score }}}}"#.into(),
            ),
            headers: Default::default(),
        },
    );
    config.workflows = vec![Workflow {
        name: "expansion-to-crm".into(),
        enabled: true,
        trigger: Trigger::ExpansionSignal,
        when: None,
        actions: vec![Action::Task {
            title: "Expansion: {{ account.name }}".into(),
            channel: "crm".into(),
        }],
    }];
    let notifier = notifier(&config, &w);
    let clock = FixedClock(Utc::now());
    let dispatch = Dispatch::with_alerts_config(&w.store, &notifier, &clock, &config);
    let a = seed_account(&w, "growco", 900.0).await;
    dispatch
        .handle(&DispatchMessage::Score(event(
            &a,
            "2026-03-01",
            ScoreEventKind::ExpansionSignal,
            88.0,
        )))
        .await
        .unwrap();
    let requests = hook.requests();
    assert_eq!(requests.len(), 1);
    let (headers, body) = &requests[0];
    let ts = headers[sign::TIMESTAMP_HEADER].to_str().unwrap();
    let sig = headers[sign::SIGNATURE_HEADER].to_str().unwrap();
    assert!(sig.starts_with("v1="));
    sign::verify(b"whsec_test_123", ts, sig, body, Utc::now().timestamp())
        .expect("signature verifies");
    assert!(sign::verify(b"wrong", ts, sig, body, Utc::now().timestamp()).is_err());
    let json: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(json["task"]["subject"], "Expansion: growco Inc");
    assert_eq!(json["task"]["account"], "growco");
    assert_eq!(
        headers[sign::DELIVERY_HEADER].to_str().unwrap(),
        "expansion-to-crm:2026-03-01:expansion_signal:growco#0"
    );
}

#[tokio::test]
async fn private_destinations_are_refused_unless_allowed() {
    let w = world(5);
    let (hook, url) = start_hook(&[]).await;
    let mut config = AlertsConfig::default();
    config.channels.insert(
        "hook".into(),
        vitals_tests::support::webhook_channel(url, None),
    );
    config.workflows = vec![Workflow {
        name: "w".into(),
        enabled: true,
        trigger: Trigger::ExpansionSignal,
        when: None,
        actions: vec![Action::Webhook {
            channel: "hook".into(),
        }],
    }];
    let notifier = notifier(&config, &w);
    let clock = FixedClock(Utc::now());
    let dispatch = Dispatch::with_alerts_config(&w.store, &notifier, &clock, &config);
    let a = seed_account(&w, "x", 1.0).await;
    // Refused for good: recorded once on the action and in the audit log, not retried.
    dispatch
        .handle(&DispatchMessage::Score(event(
            &a,
            "2026-03-01",
            ScoreEventKind::ExpansionSignal,
            90.0,
        )))
        .await
        .unwrap();
    let intervention = w
        .store
        .list_interventions(Some(&a), None, 10)
        .await
        .unwrap()
        .items
        .remove(0);
    let action = &intervention.actions[0];
    assert_eq!(action.status, vitals_core::model::ActionStatus::Failed);
    let error = action.last_error.as_deref().unwrap();
    assert!(error.contains("destination refused"), "{error}");
    let audit = w.store.list_audit(Some(&a), None, 50).await.unwrap().items;
    let failed: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "delivery.failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].detail["permanent"], json!(true));
    assert!(
        hook.requests().is_empty(),
        "nothing reached the loopback receiver"
    );
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_retries_then_one_delivery_without_duplicates() {
    let w = world(5);
    let (hook, url) = start_hook(&[500, 503]).await;
    let mut config = loopback_config();
    config.channels.insert(
        "hook".into(),
        vitals_tests::support::webhook_channel(url, Some("k")),
    );
    config.workflows = vec![Workflow {
        name: "at-risk".into(),
        enabled: true,
        trigger: Trigger::Decline { severity: None },
        when: None,
        actions: vec![
            Action::Outreach {
                template: "check_in".into(),
                mode: OutreachMode::Auto,
                channel: "email".into(),
                review_channel: None,
            },
            Action::Webhook {
                channel: "hook".into(),
            },
        ],
    }];
    let notifier = notifier(&config, &w);
    let clock = FixedClock(Utc::now());
    let dispatch = Dispatch::with_alerts_config(&w.store, &notifier, &clock, &config);
    let a = seed_account(&w, "flaky", 100.0).await;
    let e = event(&a, "2026-03-01", ScoreEventKind::DeclineModerate, 50.0);
    enqueue(&w, &e).await;
    drain(&w, &dispatch).await;
    let requests = hook.requests();
    assert_eq!(requests.len(), 3, "two failures, then success");
    let keys: Vec<_> = requests
        .iter()
        .map(|(h, _)| h[sign::DELIVERY_HEADER].to_str().unwrap().to_string())
        .collect();
    assert!(
        keys.iter().all(|k| *k == keys[0]),
        "same delivery key: {keys:?}"
    );
    assert_eq!(
        outbox_files(&w).len(),
        1,
        "the email before the webhook went once"
    );
    // The same event again (a re-run) delivers nothing more.
    enqueue(&w, &e).await;
    drain(&w, &dispatch).await;
    assert_eq!(hook.requests().len(), 3);
    assert_eq!(outbox_files(&w).len(), 1);
    assert!(w.queue.dead_letters(10).await.unwrap().is_empty());
    let audit = w.store.list_audit(Some(&a), None, 50).await.unwrap();
    let actions: Vec<_> = audit.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "delivery.failed").count(),
        2,
        "{actions:?}"
    );
    assert!(actions.contains(&"workflow.webhook"), "{actions:?}");
    assert!(actions.contains(&"outreach.sent"), "{actions:?}");
}

#[tokio::test]
async fn a_retry_performs_the_planned_action_after_the_configuration_changed() {
    let w = world(5);
    let (hook, url) = start_hook(&[500]).await;
    let mut before = loopback_config();
    before.channels.insert(
        "hook".into(),
        vitals_tests::support::webhook_channel(url, Some("k")),
    );
    let workflow = |actions| Workflow {
        name: "decline-hook".into(),
        enabled: true,
        trigger: Trigger::Decline { severity: None },
        when: None,
        actions,
    };
    before.workflows = vec![workflow(vec![Action::Webhook {
        channel: "hook".into(),
    }])];
    // Between the two attempts an admin replaces the workflow's action with an alert.
    let mut after = before.clone();
    after.workflows = vec![workflow(vec![Action::Alert {
        severity: Some(Severity::Critical),
        kind: None,
        channel: None,
        priority: None,
    }])];
    let clock = FixedClock(Utc::now());
    let a = seed_account(&w, "mid-change", 100.0).await;
    enqueue(
        &w,
        &event(&a, "2026-03-01", ScoreEventKind::DeclineModerate, 50.0),
    )
    .await;

    let before_notifier = notifier(&before, &w);
    let first = Dispatch::with_alerts_config(&w.store, &before_notifier, &clock, &before);
    let message = w
        .queue
        .receive(1, Duration::from_secs(30))
        .await
        .unwrap()
        .remove(0);
    assert!(
        first.handle_body(&message.body).await.is_err(),
        "the hook answers 500"
    );
    w.queue
        .retry_later(&message.receipt, Duration::ZERO)
        .await
        .unwrap();

    let after_notifier = notifier(&after, &w);
    let second = Dispatch::with_alerts_config(&w.store, &after_notifier, &clock, &after);
    drain(&w, &second).await;
    assert_eq!(
        hook.requests().len(),
        2,
        "the planned webhook is retried and delivered"
    );
    let alerts = w
        .store
        .list_alerts(&AlertQuery::default(), None, 10)
        .await
        .unwrap();
    assert!(
        alerts.items.is_empty(),
        "the retry did not open an alert that was never planned: {:?}",
        alerts.items
    );
    let i = w
        .store
        .list_interventions(Some(&a), None, 10)
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(i.actions[0].action, "webhook");
    assert_eq!(i.actions[0].status, vitals_core::model::ActionStatus::Done);
}

#[tokio::test]
async fn an_always_failing_receiver_ends_in_the_dead_letter_queue_and_replays_from_it() {
    let w = world(3);
    let (hook, url) = start_hook(&[]).await;
    hook.set_always(Some(500));
    let mut config = loopback_config();
    config.channels.insert(
        "hook".into(),
        vitals_tests::support::webhook_channel(url, None),
    );
    config.workflows = vec![Workflow {
        name: "w".into(),
        enabled: true,
        trigger: Trigger::ExpansionSignal,
        when: None,
        actions: vec![Action::Webhook {
            channel: "hook".into(),
        }],
    }];
    let notifier = notifier(&config, &w);
    let clock = FixedClock(Utc::now());
    let dispatch = Dispatch::with_alerts_config(&w.store, &notifier, &clock, &config);
    let a = seed_account(&w, "down", 100.0).await;
    enqueue(
        &w,
        &event(&a, "2026-03-01", ScoreEventKind::ExpansionSignal, 90.0),
    )
    .await;
    drain(&w, &dispatch).await;
    assert_eq!(hook.requests().len(), 3, "max_receives attempts");
    let dead = w.queue.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, "2026-03-01:expansion_signal:down");

    hook.set_always(None);
    assert_eq!(w.queue.replay_dead_letters(10).await.unwrap(), 1);
    drain(&w, &dispatch).await;
    assert_eq!(hook.requests().len(), 4, "delivered once after the replay");
    assert!(w.queue.dead_letters(10).await.unwrap().is_empty());
    let i = w
        .store
        .get_intervention("w:2026-03-01:expansion_signal:down")
        .await
        .unwrap()
        .unwrap();
    assert!(i.is_complete());
    assert_eq!(i.actions[0].attempts, 3);
}

#[tokio::test]
async fn seed_002_check_in_csm_draft_no_repeat_follow_up_and_effect() {
    let w = world(5);
    let config = loopback_config();
    let notifier = notifier(&config, &w);
    let clock = FixedClock(Utc.with_ymd_and_hms(2026, 3, 2, 6, 30, 0).unwrap());
    let dispatch = Dispatch::with_alerts_config(&w.store, &notifier, &clock, &config);
    let standard = seed_account(&w, "smallco", 400.0).await;
    let high = seed_account(&w, "bigco", 20_000.0).await;

    for a in [&standard, &high] {
        enqueue(
            &w,
            &event(a, "2026-03-01", ScoreEventKind::DeclineModerate, 52.0),
        )
        .await;
    }
    drain(&w, &dispatch).await;
    let mail = outbox_files(&w);
    assert_eq!(mail.len(), 2, "{mail:#?}");
    let check_in = mail
        .iter()
        .find(|m| m.contains("To: ana@smallco.example"))
        .unwrap();
    assert!(
        check_in.contains("From: maria.lopez@vendor.com"),
        "{check_in}"
    );
    assert!(
        check_in.contains("Subject: Checking in on smallco Inc"),
        "{check_in}"
    );
    assert!(check_in.contains("Hi Ana,"), "contact name: {check_in}");
    assert!(
        check_in.contains("Dashboards"),
        "most recent feature: {check_in}"
    );
    assert!(check_in.contains("2026-02-20"), "last active: {check_in}");
    assert!(check_in.contains("quick-start guide"), "tip: {check_in}");
    let review = mail
        .iter()
        .find(|m| m.contains("To: maria.lopez@vendor.com"))
        .unwrap();
    assert!(
        review.contains("Outreach draft (edit and send)"),
        "{review}"
    );
    assert!(review.contains("To: ana@bigco.example"), "{review}");
    let alerts = w
        .store
        .list_alerts(&AlertQuery::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(
        alerts.items.len(),
        1,
        "one CSM alert, for the high-value account"
    );
    assert_eq!(alerts.items[0].account_id, high);

    // The next daily run reports the same decline, and the same day is re-run: no repeats.
    for a in [&standard, &high] {
        enqueue(
            &w,
            &event(a, "2026-03-02", ScoreEventKind::DeclineModerate, 50.0),
        )
        .await;
        enqueue(
            &w,
            &event(a, "2026-03-01", ScoreEventKind::DeclineModerate, 52.0),
        )
        .await;
    }
    drain(&w, &dispatch).await;
    assert_eq!(outbox_files(&w).len(), 2, "no repeated outreach");
    let alerts = w
        .store
        .list_alerts(&AlertQuery::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(alerts.items.len(), 1, "no repeated alert");

    // The outreach is logged on the account.
    let i = w
        .store
        .get_intervention("decline-check-in:2026-03-01:decline_moderate:smallco")
        .await
        .unwrap()
        .unwrap();
    let o = i.outreach.as_ref().unwrap();
    assert_eq!(o.route, OutreachRoute::Sent);
    assert_eq!(o.fields["feature"], "Dashboards");
    assert_eq!(i.follow_up_due, Some(day("2026-03-08")));
    let audit = w.store.list_audit(Some(&standard), None, 50).await.unwrap();
    assert!(audit.items.iter().any(|e| e.action == "outreach.sent"));

    // Seven days without a response event: the follow-up is queued once and sent.
    let none = effectiveness::record(&w.store, &w.queue, &clock, &config, day("2026-03-07"))
        .await
        .unwrap();
    assert_eq!(none.follow_ups, 0, "not due yet");
    let due = effectiveness::record(&w.store, &w.queue, &clock, &config, day("2026-03-08"))
        .await
        .unwrap();
    assert_eq!(due.follow_ups, 2, "both outreaches are unanswered");
    let again = effectiveness::record(&w.store, &w.queue, &clock, &config, day("2026-03-08"))
        .await
        .unwrap();
    assert_eq!(again.follow_ups, 0, "queued once");
    drain(&w, &dispatch).await;
    let mail = outbox_files(&w);
    let follow_ups: Vec<_> = mail.iter().filter(|m| m.contains("Following up")).collect();
    assert_eq!(follow_ups.len(), 2, "{mail:#?}");
    assert!(follow_ups
        .iter()
        .any(|m| m.contains("To: ana@smallco.example") && m.contains("Hi Ana,")));
}
