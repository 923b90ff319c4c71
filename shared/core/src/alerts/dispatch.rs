//! The dispatch use case, run once per alert-queue message by the dispatch Lambda and by
//! `vitals serve`: evaluate the workflows a trigger starts, plan one intervention per workflow
//! (rendered once, stored), then perform each pending action exactly once.
//!
//! Idempotence: an intervention's id is `{workflow}:{trigger id}` and each action has a delivery
//! key `{intervention id}#{index}`; an action marked done is never performed again. A failed
//! delivery leaves its action pending and fails the message, so the queue retries it (with
//! backoff) and only what is still pending is attempted again; after the queue's receive limit
//! the message goes to the dead-letter queue.
//!
//! `alert_fired`: an alert a workflow opens is itself a trigger, so workflows can chain
//! (a critical alert escalates, the escalation calls a webhook...). Chains run within the same
//! message, level by level, at most [`MAX_ALERT_CHAIN_DEPTH`] levels deep, and a workflow never
//! runs twice in one chain, so a workflow that matches its own alerts cannot loop.

mod audit;
mod message;
mod plan;
mod reminder;

use chrono::{Duration, NaiveDate};
use serde_json::json;

pub use message::{score_message, DispatchError, DispatchMessage, FollowUpDue, SnoozeEnded};
pub use plan::drivers_of;

use super::clearing::AccountNow;
use super::lifecycle::{AlertLifecycle, LifecycleError};
use super::rules::{Action, ChannelConfig, Workflow};
use super::workflow::{self, Facts, TriggerEvent};
use super::{cause_of, AlertOutcome, AlertRequest, OpenAlert};
use crate::clock::Clock;
use crate::config::{AlertsConfig, Links, VitalsConfig};
use crate::error::StoreError;
use crate::model::{AccountRecord, ActionStatus, Alert, Intervention, Severity};
use crate::notify::{Notifier, NotifyError};
use crate::ports::Storage;
use crate::score_event::ScoreEvent;

/// How many levels of `alert_fired` workflows one message may start. Alerts opened at the
/// last level do not trigger further workflows (audited as `workflow.chain_stopped`).
pub const MAX_ALERT_CHAIN_DEPTH: usize = 4;

/// What handling one message did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Interventions touched (started or continued).
    pub interventions: Vec<String>,
    pub delivered: u32,
    pub skipped: u32,
    /// Workflows that matched but were within their cooldown for the account.
    pub suppressed: u32,
}

/// An alert opened while handling a message, with the workflows that led to it (its chain).
struct Fired {
    alert: Alert,
    chain: Vec<String>,
}

/// What handling one message has done so far.
#[derive(Default)]
struct Progress {
    report: DispatchReport,
    failures: Vec<DispatchError>,
    /// Alerts opened at the current level: the next level's `alert_fired` triggers.
    fired: Vec<Fired>,
}

pub struct Dispatch<'a> {
    storage: &'a dyn Storage,
    notifier: &'a dyn Notifier,
    clock: &'a dyn Clock,
    config: &'a AlertsConfig,
    /// Where notification links point (`[server] public_url`).
    links: Links,
}

impl<'a> Dispatch<'a> {
    pub fn new(
        storage: &'a dyn Storage,
        notifier: &'a dyn Notifier,
        clock: &'a dyn Clock,
        config: &'a VitalsConfig,
    ) -> Self {
        Dispatch {
            links: config.links(),
            ..Self::with_alerts_config(storage, notifier, clock, &config.alerts)
        }
    }

    /// A dispatcher from the `[alerts]` section alone, for tools and tests without a whole
    /// configuration: links use the deprecated `alerts.app_url`, else the default public URL.
    pub fn with_alerts_config(
        storage: &'a dyn Storage,
        notifier: &'a dyn Notifier,
        clock: &'a dyn Clock,
        config: &'a AlertsConfig,
    ) -> Self {
        Dispatch {
            storage,
            notifier,
            clock,
            config,
            links: config
                .app_url
                .as_deref()
                .map(Links::new)
                .unwrap_or_default(),
        }
    }

    /// An alert's severity: the one its cause calls for (`[alerts.severity]`), else the alert
    /// action's own, else a warning.
    fn severity_of(&self, event: &ScoreEvent, action: Option<Severity>) -> Severity {
        self.config
            .severity
            .for_event(event)
            .or(action)
            .unwrap_or(Severity::Warning)
    }

    /// Why an event must not notify anyone: it is about a day more than
    /// `alerts.notify_within_days` before the run that found it (a backfill). Its workflows
    /// still record their intervention and open (and later resolve) alerts.
    fn history_only(&self, event: &ScoreEvent) -> Option<String> {
        let run_day = event
            .scored_at
            .unwrap_or_else(|| self.clock.now())
            .date_naive();
        let age = (run_day - event.as_of).num_days();
        (age > i64::from(self.config.notify_within_days)).then(|| {
            format!(
                "history only: {} was {age} days before the run (alerts.notify_within_days = {})",
                event.as_of, self.config.notify_within_days
            )
        })
    }

    /// Handles one queue message body.
    pub async fn handle_body(&self, body: &str) -> Result<DispatchReport, DispatchError> {
        self.handle(&DispatchMessage::parse(body)?).await
    }

    pub async fn handle(&self, message: &DispatchMessage) -> Result<DispatchReport, DispatchError> {
        let (trigger, trigger_id) = match message {
            DispatchMessage::Score(e) => (TriggerEvent::Score(e), e.id.clone()),
            DispatchMessage::FollowUp(f) => (
                TriggerEvent::NoResponse(&f.event),
                format!("no-response:{}", f.intervention_id),
            ),
            DispatchMessage::SnoozeEnded(s) => return self.remind_snooze_ended(s).await,
        };
        let event = trigger.score_event();
        let account = self
            .storage
            .get_account(&event.account_id)
            .await?
            .unwrap_or_else(|| AccountRecord::new(event.account_id.clone()));
        let mut progress = Progress::default();
        self.run_workflows(&trigger, &trigger_id, &account, &[], &mut progress)
            .await?;
        // Alerts opened above are triggers too (`alert_fired`), level by level.
        let mut depth = 0;
        while !progress.fired.is_empty() {
            let level = std::mem::take(&mut progress.fired);
            if depth == MAX_ALERT_CHAIN_DEPTH {
                for f in &level {
                    tracing::warn!(alert = %f.alert.id, chain = ?f.chain, "alert_fired chain stopped at its depth limit");
                    self.audit(
                        &format!("chain-stopped:{}", f.alert.id),
                        &account,
                        "workflow.chain_stopped",
                        json!({"alert_id": f.alert.id, "chain": f.chain, "max_depth": MAX_ALERT_CHAIN_DEPTH}),
                    )
                    .await?;
                }
                break;
            }
            depth += 1;
            for f in &level {
                let t = TriggerEvent::AlertFired {
                    alert: &f.alert,
                    event,
                };
                let id = format!("alert:{}", f.alert.id);
                self.run_workflows(&t, &id, &account, &f.chain, &mut progress)
                    .await?;
            }
        }
        // The condition of an earlier alert may have cleared (a recovered band, a decline that
        // ended): judged on the newest of this event and the account's record.
        if let DispatchMessage::Score(e) = message {
            self.resolve_cleared(e, &account).await?;
        }
        let Progress {
            report, failures, ..
        } = progress;
        match failures
            .iter()
            .find(|f| f.is_retryable())
            .or(failures.first())
        {
            None => Ok(report),
            Some(f) => {
                let all = failures
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                Err(match f {
                    DispatchError::Retryable(_) => DispatchError::Retryable(all),
                    DispatchError::Permanent(_) => DispatchError::Permanent(all),
                })
            }
        }
    }

    async fn resolve_cleared(
        &self,
        event: &ScoreEvent,
        account: &AccountRecord,
    ) -> Result<(), DispatchError> {
        // Where the account stands today, not on the event's day: an event dispatched from a
        // backlog (a backfill's queue, a stopped dispatcher) must not leave an alert open on
        // an account that has churned since.
        let today = self.clock.now().date_naive().max(event.as_of);
        let from_record = AccountNow::of_record(account, today);
        let now = match from_record {
            Some(r) if r.as_of >= event.as_of || !r.lifecycle.is_active() => r,
            _ => AccountNow::of_event(event),
        };
        match AlertLifecycle::new(self.storage, self.clock)
            .resolve_cleared(&event.account_id, &now)
            .await
        {
            Ok(_) => Ok(()),
            Err(LifecycleError::Store(e)) => Err(e.into()),
            Err(e) => Err(DispatchError::Retryable(format!("auto-resolve: {e}"))),
        }
    }

    async fn run_workflows(
        &self,
        trigger: &TriggerEvent<'_>,
        trigger_id: &str,
        account: &AccountRecord,
        chain: &[String],
        progress: &mut Progress,
    ) -> Result<(), DispatchError> {
        let event = trigger.score_event();
        let facts = Facts::new(
            &account.account_id,
            &account.profile,
            event,
            self.config.high_value_mrr,
        );
        for wf in workflow::matching(&self.config.workflows, trigger, &facts) {
            // A workflow already in this chain would be triggered by its own alert: a loop.
            if chain.contains(&wf.name) {
                continue;
            }
            let id = format!("{}:{trigger_id}", wf.name);
            let mut intervention = match self.storage.get_intervention(&id).await? {
                Some(existing) => existing,
                None => {
                    let exempt = matches!(trigger, TriggerEvent::AlertFired { .. });
                    let cooling = if exempt {
                        None
                    } else {
                        self.cooling_intervention(wf, account, event.as_of).await?
                    };
                    if let Some((earlier, earlier_day)) = cooling {
                        progress.report.suppressed += 1;
                        // One entry per cooldown, not one per trigger: the id names the
                        // intervention that started it, and the first write of an id wins.
                        let until =
                            earlier_day + Duration::days(i64::from(self.config.cooldown_days));
                        self.audit(
                            &format!("suppressed:{}:{earlier}", wf.name),
                            account,
                            "workflow.suppressed",
                            json!({"workflow": wf.name, "trigger": trigger.name(), "about_day": event.as_of, "after": earlier, "until": until, "reason": format!("acted on this account within {} days; triggers until {until} are not acted on", self.config.cooldown_days)}),
                        )
                        .await?;
                        continue;
                    }
                    let planned = self.plan(wf, trigger, &id, account).await?;
                    match self.storage.insert_intervention(&planned).await {
                        Ok(()) => {
                            self.audit(
                                &format!("started:{id}"),
                                account,
                                "workflow.started",
                                json!({"workflow": wf.name, "intervention": id, "trigger": trigger.name(), "summary": event.summary}),
                            )
                            .await?;
                            planned
                        }
                        Err(StoreError::Conflict(_)) => {
                            self.storage.get_intervention(&id).await?.ok_or_else(|| {
                                DispatchError::Retryable(format!("intervention {id} vanished"))
                            })?
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            };
            progress.report.interventions.push(id.clone());
            if intervention.is_complete() {
                continue;
            }
            let chain: Vec<String> = chain.iter().chain([&wf.name]).cloned().collect();
            self.perform(wf, event, account, &mut intervention, &chain, progress)
                .await?;
        }
        Ok(())
    }

    /// The intervention (id and scoring day) of this workflow on the account within the
    /// cooldown, if any (by scoring day, so a backfill behaves as the daily runs would have).
    async fn cooling_intervention(
        &self,
        wf: &Workflow,
        account: &AccountRecord,
        as_of: NaiveDate,
    ) -> Result<Option<(String, NaiveDate)>, StoreError> {
        if self.config.cooldown_days == 0 {
            return Ok(None);
        }
        let window = Duration::days(i64::from(self.config.cooldown_days));
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .storage
                .list_interventions(Some(&account.account_id), cursor.as_deref(), 100)
                .await?;
            if let Some(earlier) = page
                .items
                .iter()
                .find(|i| i.workflow == wf.name && (as_of - i.as_of).abs() < window)
            {
                return Ok(Some((earlier.id.clone(), earlier.as_of)));
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(None),
            }
        }
    }

    /// Performs the pending actions, saving progress after each so nothing is done twice.
    /// Alerts it opens join `progress.fired` with `chain` (the workflows that led here).
    async fn perform(
        &self,
        wf: &Workflow,
        event: &ScoreEvent,
        account: &AccountRecord,
        intervention: &mut Intervention,
        chain: &[String],
        progress: &mut Progress,
    ) -> Result<(), DispatchError> {
        let now = self.clock.now();
        for i in 0..intervention.actions.len() {
            if intervention.actions[i].status != ActionStatus::Pending {
                continue;
            }
            let key = intervention.actions[i].key.clone();
            let planned = intervention.actions[i].planned.clone();
            let action = planned.as_ref().or_else(|| configured_action(wf, &key));
            // 1. The part that is not a delivery: open the alert.
            let mut skip: Option<String> = None;
            if let (
                Some(Action::Alert {
                    severity,
                    kind,
                    priority,
                    ..
                }),
                false,
            ) = (action, key.ends_with(".review"))
            {
                let kind = kind.clone().unwrap_or_else(|| "health".into());
                let request = AlertRequest {
                    event,
                    kind,
                    cause: cause_of(event),
                    severity: self.severity_of(event, *severity),
                    cooldown: Duration::hours(i64::from(self.config.alert_cooldown_hours)),
                    extra: json!({"workflow": wf.name, "priority": priority, "intervention": intervention.id}),
                };
                match OpenAlert::new(self.storage, self.clock)
                    .open(&request)
                    .await?
                {
                    AlertOutcome::Opened(id) => {
                        if let Some(alert) = self.storage.get_alert(&id).await? {
                            progress.fired.push(Fired {
                                alert,
                                chain: chain.to_vec(),
                            });
                        }
                        intervention.alert_id = Some(id);
                    }
                    // This intervention opened it on an earlier attempt: its `alert_fired`
                    // workflows run again (idempotent by intervention id) in case that attempt
                    // stopped before them.
                    AlertOutcome::AlreadyOpen(id)
                        if intervention.alert_id.as_deref() == Some(&id) =>
                    {
                        if let Some(alert) = self.storage.get_alert(&id).await? {
                            progress.fired.push(Fired {
                                alert,
                                chain: chain.to_vec(),
                            });
                        }
                    }
                    AlertOutcome::AlreadyOpen(id) => {
                        skip = Some(format!("alert {id} is already open for this problem"))
                    }
                    AlertOutcome::Snoozed { id, until } => {
                        skip = Some(format!("alert {id} is snoozed until {until}"))
                    }
                    AlertOutcome::CoolingDown(id) => {
                        skip = Some(format!("alert {id} was resolved recently (cooldown)"))
                    }
                    AlertOutcome::NotAlerting => {}
                }
            }
            // 2. The delivery, if the action has one.
            let result: Result<Option<String>, NotifyError> = match skip {
                Some(reason) => {
                    let a = &mut intervention.actions[i];
                    a.status = ActionStatus::Skipped;
                    a.detail = Some(reason);
                    Ok(None)
                }
                None => match intervention.notifications.iter().find(|n| n.key == key) {
                    None => Ok(Some(match action {
                        Some(Action::FollowUp) => format!(
                            "follow-up due {}",
                            intervention
                                .follow_up_due
                                .map(|d| d.to_string())
                                .unwrap_or_default()
                        ),
                        Some(Action::Alert { .. }) => format!(
                            "alert {}",
                            intervention.alert_id.clone().unwrap_or_default()
                        ),
                        _ => "done".into(),
                    })),
                    Some(n) => match self.config.channel(&n.channel) {
                        Some(ChannelConfig::Log) => Ok(Some("recorded on the account".into())),
                        None => Err(NotifyError::UnknownChannel(n.channel.clone())),
                        Some(_) => self.notifier.deliver(n).await.map(|d| Some(d.detail)),
                    },
                },
            };
            let a = &mut intervention.actions[i];
            match result {
                Ok(detail) => {
                    if a.status == ActionStatus::Pending {
                        a.status = ActionStatus::Done;
                        a.done_at = Some(now);
                        // An alert opened without its announcement says why it was not sent.
                        a.detail = match (detail, a.detail.take()) {
                            (Some(done), Some(why)) => {
                                Some(format!("{done}; not announced: {why}"))
                            }
                            (done, why) => done.or(why),
                        };
                        a.last_error = None;
                        progress.report.delivered += 1;
                    } else {
                        progress.report.skipped += 1;
                    }
                }
                Err(e) => {
                    a.attempts += 1;
                    a.last_error = Some(e.to_string());
                    tracing::warn!(key = %a.key, channel = ?a.channel, error = %e, "delivery failed");
                    if e.is_retryable() {
                        progress
                            .failures
                            .push(DispatchError::Retryable(format!("{}: {e}", a.key)));
                    } else {
                        // Retrying the same delivery cannot help: recorded once, with the
                        // reason, on the intervention and in the audit log; never retried.
                        a.status = ActionStatus::Failed;
                        a.detail = Some(e.to_string());
                    }
                }
            }
            let snapshot = a.clone();
            // Save before auditing: the record is what makes the action happen once.
            intervention.version += 1;
            self.storage.update_intervention(intervention).await?;
            if snapshot.status == ActionStatus::Failed {
                self.audit(
                    &format!("failed:{}", snapshot.key),
                    account,
                    "delivery.failed",
                    json!({"workflow": wf.name, "intervention": intervention.id, "key": snapshot.key, "channel": snapshot.channel, "attempt": snapshot.attempts, "error": snapshot.last_error, "permanent": true}),
                )
                .await?;
            } else if snapshot.status != ActionStatus::Pending {
                self.audit_action(wf, account, intervention, &snapshot)
                    .await?;
            } else {
                self.audit(
                    &format!("failed:{}:{}", snapshot.key, snapshot.attempts),
                    account,
                    "delivery.failed",
                    json!({"workflow": wf.name, "intervention": intervention.id, "key": snapshot.key, "channel": snapshot.channel, "attempt": snapshot.attempts, "error": snapshot.last_error}),
                )
                .await?;
            }
        }
        Ok(())
    }
}

/// The configuration's action for a key (`{intervention}#{index}`, `.review` for a review
/// copy): only for records planned before actions were kept on them.
fn configured_action<'w>(wf: &'w Workflow, key: &str) -> Option<&'w Action> {
    let index: usize = key.rsplit('#').next()?.split('.').next()?.parse().ok()?;
    wf.actions.get(index)
}
