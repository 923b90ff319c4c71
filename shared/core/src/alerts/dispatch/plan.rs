//! Planning an intervention: a workflow's actions rendered once into notifications (content
//! fixed at planning time, so every retry sends the same thing) and action records.

use chrono::Duration;
use serde_json::json;

use super::{Dispatch, DispatchError};
use crate::alerts::outreach;
use crate::alerts::rules::{Action, ChannelConfig, OutreachMode, Recipient, Workflow};
use crate::alerts::workflow::{self, TriggerEvent};
use crate::model::{
    AccountProfile, AccountRecord, ActionRecord, ActionStatus, Intervention, Outreach,
    OutreachRoute,
};
use crate::notify::{Draft, Notification, NotificationKind};
use crate::score_event::ScoreEvent;

impl Dispatch<'_> {
    /// Renders the workflow's actions into an intervention: notifications with their content
    /// fixed now, so every retry sends the same thing.
    pub(super) async fn plan(
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
                planned: Some(action.clone()),
            };
            let mut extra: Vec<ActionRecord> = Vec::new();
            // This action's notification on `channel`, from the workflow's common fields.
            let notification = |channel: &String, kind: NotificationKind| {
                let mut n = base.clone();
                n.key = key.clone();
                n.channel = channel.clone();
                n.kind = kind;
                n
            };
            match action {
                Action::Alert {
                    severity,
                    channel,
                    priority,
                    ..
                } => {
                    if let Some(channel) = channel {
                        let severity = self.severity_of(event, *severity);
                        let mut n = notification(channel, NotificationKind::Alert);
                        n.severity = Some(severity);
                        n.title = format!(
                            "{}: {}",
                            severity_word(severity),
                            account_title(profile, &account.account_id)
                        );
                        n.recipients = profile.owner.iter().cloned().collect();
                        n.data["priority"] =
                            json!(priority.clone().unwrap_or_else(|| "normal".into()));
                        intervention.notifications.push(n);
                    }
                }
                Action::Notify { channel, to } => {
                    let mut n = notification(channel, NotificationKind::Alert);
                    n.recipients = recipients(profile, *to);
                    intervention.notifications.push(n);
                }
                Action::Task { title, channel } | Action::Ticket { title, channel, .. } => {
                    let kind = match action {
                        Action::Ticket { .. } => NotificationKind::Ticket,
                        _ => NotificationKind::Task,
                    };
                    let mut n = notification(channel, kind);
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
                        let mut n = notification(channel, NotificationKind::Escalation);
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
                    let n = notification(channel, NotificationKind::Webhook);
                    intervention.notifications.push(n);
                }
                Action::Campaign {
                    campaign,
                    medium,
                    channel,
                } => {
                    let mut n = notification(channel, NotificationKind::Campaign);
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
                    let kind = match route {
                        OutreachRoute::Sent => NotificationKind::Outreach,
                        OutreachRoute::Review => NotificationKind::OutreachReview,
                    };
                    let mut n = notification(channel, kind);
                    n.draft = Some(draft);
                    match route {
                        OutreachRoute::Sent => {
                            n.title = subject.clone();
                            n.recipients = contact_email.iter().cloned().collect();
                        }
                        OutreachRoute::Review => {
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
        self.drop_undeliverable(&mut intervention);
        if let Some(why) = self.history_only(event) {
            quiet(&mut intervention, &why);
        }
        Ok(intervention)
    }

    /// An email with nobody to send it to (no owner, a channel without `to`) cannot be
    /// delivered however often it is tried: the action is skipped at planning, saying why (an
    /// alert action still opens its alert).
    fn drop_undeliverable(&self, intervention: &mut Intervention) {
        let undeliverable: Vec<(String, String)> = intervention
            .notifications
            .iter()
            .filter(|n| n.recipients.is_empty())
            .filter(|n| {
                matches!(self.config.channel(&n.channel), Some(ChannelConfig::Email { to }) if to.is_empty())
            })
            .map(|n| {
                (
                    n.key.clone(),
                    format!(
                        "no recipient: the account has no owner and channel {:?} lists no `to`",
                        n.channel
                    ),
                )
            })
            .collect();
        for (key, why) in undeliverable {
            intervention.notifications.retain(|n| n.key != key);
            if let Some(a) = intervention.actions.iter_mut().find(|a| a.key == key) {
                if a.action != "alert" {
                    a.status = ActionStatus::Skipped;
                }
                a.detail = Some(why);
            }
        }
    }

    pub(super) fn base_notification(
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
            link: Some(self.links.account(&event.account_id)),
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

/// Keeps what an intervention records (its alert opens, its actions are listed) but makes it
/// notify nobody: notifications, outreach and follow-ups are dropped, each action saying why.
fn quiet(intervention: &mut Intervention, why: &str) {
    intervention.notifications.clear();
    intervention.outreach = None;
    intervention.follow_up_due = None;
    for a in &mut intervention.actions {
        if a.status == ActionStatus::Pending && a.action != "alert" {
            a.status = ActionStatus::Skipped;
        }
        a.detail = Some(why.to_string());
    }
}

pub(super) fn account_title(profile: &AccountProfile, id: &crate::model::AccountId) -> String {
    profile.name.clone().unwrap_or_else(|| id.to_string())
}

fn recipients(profile: &AccountProfile, to: Recipient) -> Vec<String> {
    match to {
        Recipient::Owner => profile.owner.iter().cloned().collect(),
        Recipient::Manager => profile.owner_manager.iter().cloned().collect(),
        Recipient::None => Vec::new(),
    }
}
