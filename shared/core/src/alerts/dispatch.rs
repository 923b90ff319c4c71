//! The dispatch use case, run once per alert-queue message by the dispatch Lambda and by
//! `vitals serve`: evaluate the workflows a trigger starts, plan one intervention per workflow
//! (rendered once, stored), then perform each pending action exactly once.
//!
//! Idempotence: an intervention's id is `{workflow}:{trigger id}` and each action has a delivery
//! key `{intervention id}#{index}`; an action marked done is never performed again. A failed
//! delivery leaves its action pending and fails the message, so the queue retries it (with
//! backoff) and only what is still pending is attempted again; after the queue's receive limit
//! the message goes to the dead-letter queue.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::outreach;
use super::rules::{Action, ChannelConfig, OutreachMode, Recipient, Workflow};
use super::workflow::{self, Facts, TriggerEvent};
use super::{cause_of, AlertOutcome, AlertRequest, OpenAlert};
use crate::clock::Clock;
use crate::config::AlertsConfig;
use crate::error::StoreError;
use crate::model::{
    AccountProfile, AccountRecord, ActionRecord, ActionStatus, Alert, AuditEntry, Intervention,
    Outreach, OutreachRoute,
};
use crate::notify::{Draft, Notification, NotificationKind, Notifier, NotifyError};
use crate::ports::{OutgoingMessage, Storage};
use crate::score_event::ScoreEvent;

/// An outreach got no response: the `no_response` trigger, queued by
/// [`super::effectiveness::record`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUpDue {
    /// The intervention whose outreach got no response.
    pub intervention_id: String,
    pub due: NaiveDate,
    /// The score event of that intervention (the account, score and context).
    pub event: ScoreEvent,
}

/// A message on the alert queue.
#[derive(Debug, Clone, PartialEq)]
pub enum DispatchMessage {
    Score(ScoreEvent),
    FollowUp(FollowUpDue),
}

#[derive(Serialize, Deserialize)]
struct FollowUpEnvelope {
    follow_up: FollowUpDue,
}

impl DispatchMessage {
    pub fn parse(body: &str) -> Result<Self, DispatchError> {
        let value: serde_json::Value = serde_json::from_str(body)
            .map_err(|e| DispatchError::Permanent(format!("message is not JSON: {e}")))?;
        if value.get("follow_up").is_some() {
            let envelope: FollowUpEnvelope = serde_json::from_value(value)
                .map_err(|e| DispatchError::Permanent(format!("not a follow-up: {e}")))?;
            Ok(DispatchMessage::FollowUp(envelope.follow_up))
        } else {
            serde_json::from_value(value)
                .map(DispatchMessage::Score)
                .map_err(|e| DispatchError::Permanent(format!("not a score event: {e}")))
        }
    }

    /// The message to enqueue (deterministic id: a re-run enqueues the same message).
    pub fn to_outgoing(&self) -> Result<OutgoingMessage, DispatchError> {
        let (id, body) = match self {
            DispatchMessage::Score(e) => (e.id.clone(), serde_json::to_string(e)),
            DispatchMessage::FollowUp(f) => (
                format!("follow-up:{}", f.intervention_id),
                serde_json::to_string(&FollowUpEnvelope {
                    follow_up: f.clone(),
                }),
            ),
        };
        let body = body.map_err(|e| DispatchError::Permanent(format!("encode message: {e}")))?;
        Ok(OutgoingMessage { id, body })
    }
}

/// Why a message could not be fully handled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DispatchError {
    /// Some delivery or storage call may succeed later: retry the message with backoff.
    #[error("{0}")]
    Retryable(String),
    /// Retrying the same message cannot help (malformed message, refused destination, 4xx);
    /// it still goes through the queue's attempts and ends in the dead-letter queue, where it
    /// can be replayed after the configuration is fixed.
    #[error("{0}")]
    Permanent(String),
}

impl DispatchError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, DispatchError::Retryable(_))
    }
}

impl From<StoreError> for DispatchError {
    fn from(e: StoreError) -> Self {
        if e.is_retryable() || matches!(e, StoreError::Conflict(_)) {
            DispatchError::Retryable(e.to_string())
        } else {
            DispatchError::Permanent(e.to_string())
        }
    }
}

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

pub struct Dispatch<'a> {
    storage: &'a dyn Storage,
    notifier: &'a dyn Notifier,
    clock: &'a dyn Clock,
    config: &'a AlertsConfig,
}

impl<'a> Dispatch<'a> {
    pub fn new(
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
        }
    }

    /// Handles one queue message body.
    pub async fn handle_body(&self, body: &str) -> Result<DispatchReport, DispatchError> {
        self.handle(&DispatchMessage::parse(body)?).await
    }

    pub async fn handle(&self, message: &DispatchMessage) -> Result<DispatchReport, DispatchError> {
        let (trigger_id, event) = match message {
            DispatchMessage::Score(e) => (e.id.clone(), e),
            DispatchMessage::FollowUp(f) => {
                (format!("no-response:{}", f.intervention_id), &f.event)
            }
        };
        let trigger = match message {
            DispatchMessage::Score(e) => TriggerEvent::Score(e),
            DispatchMessage::FollowUp(f) => TriggerEvent::NoResponse(&f.event),
        };
        let account = self
            .storage
            .get_account(&event.account_id)
            .await?
            .unwrap_or_else(|| AccountRecord::new(event.account_id.clone()));
        let mut report = DispatchReport::default();
        let mut failures: Vec<DispatchError> = Vec::new();
        let mut fired: Vec<Alert> = Vec::new();
        self.run_workflows(
            &trigger,
            &trigger_id,
            &account,
            &mut report,
            &mut failures,
            &mut fired,
        )
        .await?;
        // Alerts opened above are triggers too (`alert_fired`), one level deep.
        for alert in &fired {
            let t = TriggerEvent::AlertFired { alert, event };
            let id = format!("alert:{}", alert.id);
            let mut ignore = Vec::new();
            self.run_workflows(&t, &id, &account, &mut report, &mut failures, &mut ignore)
                .await?;
        }
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

    async fn run_workflows(
        &self,
        trigger: &TriggerEvent<'_>,
        trigger_id: &str,
        account: &AccountRecord,
        report: &mut DispatchReport,
        failures: &mut Vec<DispatchError>,
        fired: &mut Vec<Alert>,
    ) -> Result<(), DispatchError> {
        let event = trigger.score_event();
        let facts = Facts::new(
            &account.account_id,
            &account.profile,
            event,
            self.config.high_value_mrr,
        );
        for wf in workflow::matching(&self.config.workflows, trigger, &facts) {
            let id = format!("{}:{trigger_id}", wf.name);
            let mut intervention = match self.storage.get_intervention(&id).await? {
                Some(existing) => existing,
                None => {
                    let exempt = matches!(trigger, TriggerEvent::AlertFired { .. });
                    if !exempt && self.in_cooldown(wf, account, event.as_of).await? {
                        report.suppressed += 1;
                        self.audit(
                            &format!("suppressed:{id}"),
                            account,
                            "workflow.suppressed",
                            json!({"workflow": wf.name, "trigger": trigger.name(), "reason": format!("acted on this account within {} days", self.config.cooldown_days)}),
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
            report.interventions.push(id.clone());
            if intervention.is_complete() {
                continue;
            }
            self.perform(
                wf,
                event,
                account,
                &mut intervention,
                report,
                failures,
                fired,
            )
            .await?;
        }
        Ok(())
    }

    /// Whether this workflow already acted on the account within the cooldown (by scoring day,
    /// so a backfill behaves as the daily runs would have).
    async fn in_cooldown(
        &self,
        wf: &Workflow,
        account: &AccountRecord,
        as_of: NaiveDate,
    ) -> Result<bool, StoreError> {
        if self.config.cooldown_days == 0 {
            return Ok(false);
        }
        let window = Duration::days(i64::from(self.config.cooldown_days));
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .storage
                .list_interventions(Some(&account.account_id), cursor.as_deref(), 100)
                .await?;
            if page
                .items
                .iter()
                .any(|i| i.workflow == wf.name && (as_of - i.as_of).abs() < window)
            {
                return Ok(true);
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(false),
            }
        }
    }

    /// Renders the workflow's actions into an intervention: notifications with their content
    /// fixed now, so every retry sends the same thing.
    async fn plan(
        &self,
        wf: &Workflow,
        trigger: &TriggerEvent<'_>,
        id: &str,
        account: &AccountRecord,
    ) -> Result<Intervention, DispatchError> {
        let event = trigger.score_event();
        let profile = &account.profile;
        let now = self.clock.now();
        let base = self.base_notification(wf, event, account);
        let high_value = workflow::is_high_value(profile, self.config.high_value_mrr);
        let mut intervention = Intervention {
            id: id.to_string(),
            account_id: account.account_id.clone(),
            workflow: wf.name.clone(),
            trigger: trigger.name().to_string(),
            trigger_id: match trigger {
                TriggerEvent::Score(e) => e.id.clone(),
                TriggerEvent::AlertFired { alert, .. } => alert.id.clone(),
                TriggerEvent::NoResponse(e) => e.id.clone(),
            },
            created_at: now,
            as_of: event.as_of,
            score_at_start: account
                .score
                .as_ref()
                .map(|s| s.health().score)
                .or(Some(event.score)),
            actions: Vec::new(),
            notifications: Vec::new(),
            outreach: None,
            alert_id: None,
            follow_up_due: None,
            responded_on: None,
            follow_up_sent: false,
            effect: Vec::new(),
            version: 1,
        };
        let template_ctx = self.template_context(account, event, None);
        for (index, action) in wf.actions.iter().enumerate() {
            let key = format!("{id}#{index}");
            let mut record = ActionRecord {
                key: key.clone(),
                action: action.name().to_string(),
                channel: action.channels().first().map(|c| c.to_string()),
                status: ActionStatus::Pending,
                attempts: 0,
                last_error: None,
                done_at: None,
                detail: None,
            };
            let mut extra: Vec<ActionRecord> = Vec::new();
            match action {
                Action::Alert {
                    severity,
                    channel,
                    priority,
                    ..
                } => {
                    if let Some(channel) = channel {
                        let mut n = base.clone();
                        n.key = key.clone();
                        n.channel = channel.clone();
                        n.kind = NotificationKind::Alert;
                        n.severity = Some(*severity);
                        n.title = format!(
                            "{}: {}",
                            severity_word(*severity),
                            account_title(profile, &account.account_id)
                        );
                        n.recipients = profile.owner.iter().cloned().collect();
                        n.data["priority"] =
                            json!(priority.clone().unwrap_or_else(|| "normal".into()));
                        intervention.notifications.push(n);
                    }
                }
                Action::Notify { channel, to } => {
                    let mut n = base.clone();
                    n.key = key.clone();
                    n.channel = channel.clone();
                    n.kind = NotificationKind::Alert;
                    n.recipients = recipients(profile, *to);
                    intervention.notifications.push(n);
                }
                Action::Task { title, channel } | Action::Ticket { title, channel, .. } => {
                    let is_ticket = matches!(action, Action::Ticket { .. });
                    let mut n = base.clone();
                    n.key = key.clone();
                    n.channel = channel.clone();
                    n.kind = if is_ticket {
                        NotificationKind::Ticket
                    } else {
                        NotificationKind::Task
                    };
                    n.title = outreach::render_str(title, &template_ctx).map_err(|e| {
                        DispatchError::Permanent(format!("workflow {}: title: {e}", wf.name))
                    })?;
                    n.recipients = profile.owner.iter().cloned().collect();
                    if let Action::Ticket { priority, .. } = action {
                        n.data["priority"] = json!(priority);
                    }
                    intervention.notifications.push(n);
                }
                Action::Escalate { channel } => match &profile.owner_manager {
                    Some(manager) => {
                        let mut n = base.clone();
                        n.key = key.clone();
                        n.channel = channel.clone();
                        n.kind = NotificationKind::Escalation;
                        n.title = format!(
                            "Escalation: {}",
                            account_title(profile, &account.account_id)
                        );
                        n.recipients = vec![manager.clone()];
                        intervention.notifications.push(n);
                    }
                    None => {
                        record.status = ActionStatus::Skipped;
                        record.detail =
                            Some("the account has no owner_manager to escalate to".into());
                    }
                },
                Action::Webhook { channel } => {
                    let mut n = base.clone();
                    n.key = key.clone();
                    n.channel = channel.clone();
                    n.kind = NotificationKind::Webhook;
                    intervention.notifications.push(n);
                }
                Action::Campaign {
                    campaign,
                    medium,
                    channel,
                } => {
                    let mut n = base.clone();
                    n.key = key.clone();
                    n.channel = channel.clone();
                    n.kind = NotificationKind::Campaign;
                    n.title = format!(
                        "Start campaign {campaign} for {}",
                        account_title(profile, &account.account_id)
                    );
                    n.data["campaign"] = json!(campaign);
                    n.data["medium"] = json!(medium);
                    intervention.notifications.push(n);
                }
                Action::FollowUp => {
                    intervention.follow_up_due =
                        Some(event.as_of + Duration::days(i64::from(self.config.follow_up_days)));
                }
                Action::Outreach {
                    template,
                    mode,
                    channel,
                    review_channel,
                } => {
                    let users = self.storage.users_of_account(&account.account_id).await?;
                    let p = outreach::personalise(&users, profile, &account.window, self.config);
                    let sender = profile
                        .owner
                        .clone()
                        .unwrap_or_else(|| self.config.email.default_from.clone());
                    let ctx = self.template_context(account, event, Some((&p, &sender)));
                    let tpl = self.config.templates.get(template).ok_or_else(|| {
                        DispatchError::Permanent(format!(
                            "workflow {}: unknown template {template:?}",
                            wf.name
                        ))
                    })?;
                    let (subject, body) = outreach::render(tpl, &ctx).map_err(|e| {
                        DispatchError::Permanent(format!("template {template}: {e}"))
                    })?;
                    let contact_email = p.contact.as_ref().and_then(|c| c.email.clone());
                    let wants_auto = match mode {
                        OutreachMode::Auto => true,
                        OutreachMode::Review => false,
                        OutreachMode::ByValue => !high_value,
                    };
                    // Without a contact address the draft goes to the CSM instead.
                    let route = if wants_auto && contact_email.is_some() {
                        OutreachRoute::Sent
                    } else {
                        OutreachRoute::Review
                    };
                    let draft = Draft {
                        to: contact_email.clone(),
                        to_name: p.contact.as_ref().and_then(|c| c.name.clone()),
                        from: Some(sender.clone()),
                        subject: subject.clone(),
                        body: body.clone(),
                    };
                    let mut n = base.clone();
                    n.key = key.clone();
                    n.channel = channel.clone();
                    n.draft = Some(draft);
                    match route {
                        OutreachRoute::Sent => {
                            n.kind = NotificationKind::Outreach;
                            n.title = subject.clone();
                            n.recipients = contact_email.iter().cloned().collect();
                        }
                        OutreachRoute::Review => {
                            n.kind = NotificationKind::OutreachReview;
                            n.title = format!(
                                "Review outreach draft for {}",
                                account_title(profile, &account.account_id)
                            );
                            n.recipients = profile.owner.iter().cloned().collect();
                            if let Some(rc) = review_channel {
                                let mut r = n.clone();
                                r.key = format!("{key}.review");
                                r.channel = rc.clone();
                                extra.push(ActionRecord {
                                    key: r.key.clone(),
                                    action: "outreach_review".into(),
                                    channel: Some(rc.clone()),
                                    ..record.clone()
                                });
                                intervention.notifications.push(r);
                            }
                        }
                    }
                    if n.recipients.is_empty() {
                        record.status = ActionStatus::Skipped;
                        record.detail =
                            Some("no contact address and no owner to review the draft".into());
                    } else {
                        intervention.notifications.push(n);
                    }
                    let mut fields = std::collections::BTreeMap::new();
                    if let Some(f) = &p.feature {
                        fields.insert("feature".to_string(), f.clone());
                    }
                    if let Some(d) = p.last_active {
                        fields.insert("last_active".to_string(), d.to_string());
                    }
                    fields.insert("tip".to_string(), p.tip.clone());
                    intervention.outreach = Some(Outreach {
                        template: template.clone(),
                        route,
                        contact_user_id: p.contact.as_ref().map(|c| c.user_id.clone()),
                        contact_name: p.contact.as_ref().and_then(|c| c.name.clone()),
                        to: match route {
                            OutreachRoute::Sent => contact_email,
                            OutreachRoute::Review => profile.owner.clone(),
                        },
                        from: Some(sender),
                        subject,
                        body,
                        fields,
                    });
                }
            }
            intervention.actions.push(record);
            intervention.actions.append(&mut extra);
        }
        Ok(intervention)
    }

    /// Performs the pending actions, saving progress after each so nothing is done twice.
    #[allow(clippy::too_many_arguments)]
    async fn perform(
        &self,
        wf: &Workflow,
        event: &ScoreEvent,
        account: &AccountRecord,
        intervention: &mut Intervention,
        report: &mut DispatchReport,
        failures: &mut Vec<DispatchError>,
        fired: &mut Vec<Alert>,
    ) -> Result<(), DispatchError> {
        let now = self.clock.now();
        for i in 0..intervention.actions.len() {
            if intervention.actions[i].status != ActionStatus::Pending {
                continue;
            }
            let key = intervention.actions[i].key.clone();
            let index: Option<usize> = key
                .rsplit('#')
                .next()
                .and_then(|s| s.split('.').next())
                .and_then(|s| s.parse().ok());
            let action = index.and_then(|ix| wf.actions.get(ix));
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
                    severity: *severity,
                    cooldown: Duration::hours(i64::from(self.config.alert_cooldown_hours)),
                    extra: json!({"workflow": wf.name, "priority": priority, "intervention": intervention.id}),
                };
                match OpenAlert::new(self.storage, self.clock)
                    .open(&request)
                    .await?
                {
                    AlertOutcome::Opened(id) => {
                        if let Some(alert) = self.storage.get_alert(&id).await? {
                            fired.push(alert);
                        }
                        intervention.alert_id = Some(id);
                    }
                    AlertOutcome::AlreadyOpen(id)
                        if intervention.alert_id.as_deref() == Some(&id) => {}
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
                        a.detail = detail;
                        a.last_error = None;
                        report.delivered += 1;
                    } else {
                        report.skipped += 1;
                    }
                }
                Err(e) => {
                    a.attempts += 1;
                    a.last_error = Some(e.to_string());
                    tracing::warn!(key = %a.key, channel = ?a.channel, error = %e, "delivery failed");
                    failures.push(if e.is_retryable() {
                        DispatchError::Retryable(format!("{}: {e}", a.key))
                    } else {
                        DispatchError::Permanent(format!("{}: {e}", a.key))
                    });
                }
            }
            let snapshot = a.clone();
            // Save before auditing: the record is what makes the action happen once.
            intervention.version += 1;
            self.storage.update_intervention(intervention).await?;
            if snapshot.status != ActionStatus::Pending {
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

    async fn audit_action(
        &self,
        wf: &Workflow,
        account: &AccountRecord,
        intervention: &Intervention,
        a: &ActionRecord,
    ) -> Result<(), StoreError> {
        let status = match a.status {
            ActionStatus::Skipped => "skipped",
            _ => "done",
        };
        let mut detail = json!({
            "workflow": wf.name,
            "intervention": intervention.id,
            "key": a.key,
            "channel": a.channel,
            "status": status,
            "detail": a.detail,
        });
        let action = if a.action == "outreach" && a.status == ActionStatus::Done {
            if let Some(o) = &intervention.outreach {
                detail["outreach"] = json!({"route": o.route, "to": o.to, "from": o.from, "subject": o.subject, "template": o.template, "contact": o.contact_name});
                match o.route {
                    OutreachRoute::Sent => "outreach.sent".to_string(),
                    OutreachRoute::Review => "outreach.drafted".to_string(),
                }
            } else {
                "workflow.outreach".to_string()
            }
        } else {
            format!("workflow.{}", a.action)
        };
        self.audit(&format!("action:{}", a.key), account, &action, detail)
            .await
    }

    async fn audit(
        &self,
        id: &str,
        account: &AccountRecord,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<(), StoreError> {
        self.storage
            .append_audit(&AuditEntry {
                id: id.to_string(),
                at: self.clock.now(),
                account_id: Some(account.account_id.clone()),
                actor: "workflow".into(),
                action: action.into(),
                detail,
            })
            .await
    }

    fn base_notification(
        &self,
        wf: &Workflow,
        event: &ScoreEvent,
        account: &AccountRecord,
    ) -> Notification {
        let profile = &account.profile;
        Notification {
            key: String::new(),
            channel: String::new(),
            kind: NotificationKind::Alert,
            account_id: event.account_id.clone(),
            account_name: profile.name.clone(),
            title: format!(
                "{}: {}",
                account_title(profile, &event.account_id),
                event.summary
            ),
            summary: event.summary.clone(),
            severity: None,
            score: Some(event.score),
            previous_score: event.previous_score,
            band: Some(event.band),
            drivers: drivers_of(account),
            link: Some(format!(
                "{}/accounts/{}",
                self.config.app_url.trim_end_matches('/'),
                event.account_id
            )),
            recipients: Vec::new(),
            draft: None,
            workflow: wf.name.clone(),
            data: json!({"event": event}),
        }
    }

    fn template_context(
        &self,
        account: &AccountRecord,
        event: &ScoreEvent,
        outreach: Option<(&outreach::Personalisation, &str)>,
    ) -> serde_json::Value {
        let empty = outreach::Personalisation {
            contact: None,
            feature: outreach::most_recent_feature(&account.window),
            last_active: None,
            tip: String::new(),
        };
        let (p, sender) = match outreach {
            Some((p, s)) => (p, Some(s)),
            None => (&empty, account.profile.owner.as_deref()),
        };
        let mut ctx = outreach::context(
            &account.account_id,
            &account.profile,
            p,
            sender,
            Some(event.score),
            self.config.follow_up_days,
        );
        ctx["summary"] = json!(event.summary);
        ctx["band"] = json!(event.band.as_str());
        ctx
    }
}

/// Drivers for a notification: the biggest movers of the latest score, in words.
pub fn drivers_of(account: &AccountRecord) -> Vec<String> {
    let Some(score) = &account.score else {
        return Vec::new();
    };
    if let Some(change) = &score.score.change {
        let sentence = change.sentence();
        if let Some((_, movers)) = sentence.split_once(": ") {
            return movers.split(", ").map(str::to_string).collect();
        }
    }
    let mut signals: Vec<_> = score
        .health()
        .signals
        .iter()
        .filter(|s| s.value.is_some())
        .collect();
    signals.sort_by(|a, b| a.points.total_cmp(&b.points));
    signals
        .iter()
        .take(3)
        .map(|s| {
            format!(
                "{} {:.0}/100",
                s.name.replace('_', " "),
                s.value.unwrap_or_default()
            )
        })
        .collect()
}

fn severity_word(s: crate::model::Severity) -> &'static str {
    match s {
        crate::model::Severity::Critical => "Critical",
        crate::model::Severity::Warning => "Warning",
    }
}

fn account_title(profile: &AccountProfile, id: &crate::model::AccountId) -> String {
    profile.name.clone().unwrap_or_else(|| id.to_string())
}

fn recipients(profile: &AccountProfile, to: Recipient) -> Vec<String> {
    match to {
        Recipient::Owner => profile.owner.iter().cloned().collect(),
        Recipient::Manager => profile.owner_manager.iter().cloned().collect(),
        Recipient::None => Vec::new(),
    }
}
