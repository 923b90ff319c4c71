//! The daily hook after scoring: records the score change 14 and 30 days (configurable) after
//! each intervention, and queues a `no_response` follow-up for outreach that got no response
//! event within `alerts.follow_up_days`. Idempotent: re-running a day changes nothing more.

use chrono::{Duration, NaiveDate};

use super::dispatch::{DispatchMessage, FollowUpDue};
use super::AlertsError;
use crate::clock::Clock;
use crate::config::AlertsConfig;
use crate::model::{AuditEntry, EventKind, Intervention, ScoreAfter};
use crate::ports::{Queue, Storage};
use crate::score_event::{ScoreEvent, ScoreEventKind};
use crate::StoreError;

/// What one call did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EffectivenessReport {
    /// Score-after entries recorded.
    pub recorded: u32,
    /// Follow-ups queued.
    pub follow_ups: u32,
    /// Outreach found answered.
    pub responded: u32,
    /// Snoozed alerts whose snooze ended (a reminder queued for each).
    pub snoozes_ended: u32,
    /// Open alerts resolved because their condition cleared (or the account churned).
    pub alerts_resolved: u32,
}

/// Runs for scoring day `as_of` (call it after the day's scores are written).
pub async fn record<S: Storage + ?Sized>(
    storage: &S,
    queue: &dyn Queue,
    clock: &dyn Clock,
    config: &AlertsConfig,
    as_of: NaiveDate,
) -> Result<EffectivenessReport, AlertsError> {
    let longest = config
        .effectiveness_days
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
        .max(config.follow_up_days);
    // A week of grace for days the run missed.
    let horizon = as_of - Duration::days(i64::from(longest) + 7);
    let mut report = EffectivenessReport::default();
    let mut cursor: Option<String> = None;
    'pages: loop {
        let page = storage
            .list_interventions(None, cursor.as_deref(), 100)
            .await?;
        for intervention in page.items {
            if intervention.as_of < horizon {
                // Newest created first: older interventions are all out of reach. Creation
                // order follows scoring days except in backfills, so keep going a little.
                if intervention.created_at.date_naive() < horizon {
                    break 'pages;
                }
                continue;
            }
            let mut changed = intervention.clone();
            record_effect(storage, config, as_of, &mut changed, &mut report).await?;
            check_follow_up(storage, queue, config, as_of, &mut changed, &mut report).await?;
            if changed != intervention {
                changed.version += 1;
                match storage.update_intervention(&changed).await {
                    Ok(()) => {}
                    // The dispatcher is working on it: the next daily run picks it up again.
                    Err(StoreError::Conflict(_)) => continue,
                    Err(e) => return Err(e.into()),
                }
                audit_changes(storage, clock, &intervention, &changed).await?;
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    // In Lambda this daily hook is what ends snoozes (`vitals serve` also checks every minute).
    let lifecycle = super::lifecycle::AlertLifecycle::new(storage, clock);
    let woken = lifecycle.wake_snoozed(queue).await.map_err(alerts_error)?;
    report.snoozes_ended = u32::try_from(woken.len()).unwrap_or(u32::MAX);
    // Alerts whose condition cleared on a day no score event spoke of it (a decline that ended,
    // an account that churned) resolve here, once a day.
    let resolved = lifecycle
        .resolve_all_cleared(as_of)
        .await
        .map_err(alerts_error)?;
    report.alerts_resolved = u32::try_from(resolved.len()).unwrap_or(u32::MAX);
    Ok(report)
}

fn alerts_error(e: super::lifecycle::LifecycleError) -> AlertsError {
    match e {
        super::lifecycle::LifecycleError::Queue(q) => AlertsError::Queue(q),
        super::lifecycle::LifecycleError::Store(s) => AlertsError::Store(s),
        other => AlertsError::Store(StoreError::Rejected(other.to_string())),
    }
}

async fn record_effect<S: Storage + ?Sized>(
    storage: &S,
    config: &AlertsConfig,
    as_of: NaiveDate,
    i: &mut Intervention,
    report: &mut EffectivenessReport,
) -> Result<(), StoreError> {
    let Some(start) = i.score_at_start else {
        return Ok(());
    };
    for &days in &config.effectiveness_days {
        let day = i.as_of + Duration::days(i64::from(days));
        if day > as_of || i.effect.iter().any(|e| e.days == days) {
            continue;
        }
        if let Some(h) = storage
            .history(&i.account_id, day, day)
            .await?
            .into_iter()
            .next()
        {
            let score = h.health.score;
            i.effect.push(ScoreAfter {
                days,
                as_of: day,
                score,
                change: ((score - start) * 10.0).round() / 10.0,
            });
            report.recorded += 1;
        }
    }
    Ok(())
}

async fn check_follow_up<S: Storage + ?Sized>(
    storage: &S,
    queue: &dyn Queue,
    config: &AlertsConfig,
    as_of: NaiveDate,
    i: &mut Intervention,
    report: &mut EffectivenessReport,
) -> Result<(), AlertsError> {
    let Some(due) = i.follow_up_due else {
        return Ok(());
    };
    if i.follow_up_sent || i.responded_on.is_some() || due > as_of {
        return Ok(());
    }
    // A response is any configured response event from the account after the outreach.
    let mut day = i.as_of + Duration::days(1);
    while day <= as_of {
        let chunks = storage.chunks_for_account_day(&i.account_id, day).await?;
        let answered = chunks.iter().flat_map(|c| &c.events).any(|e| {
            e.kind == EventKind::Track
                && e.name
                    .as_ref()
                    .is_some_and(|n| config.response_events.iter().any(|r| r == n))
        });
        if answered {
            i.responded_on = Some(day);
            report.responded += 1;
            return Ok(());
        }
        day += Duration::days(1);
    }
    let account = storage.get_account(&i.account_id).await?;
    let (score, band) = account
        .as_ref()
        .and_then(|a| a.score.as_ref())
        .map(|s| (s.health().score, s.health().band))
        .unwrap_or((
            i.score_at_start.unwrap_or_default(),
            crate::model::Band::Monitor,
        ));
    let event = ScoreEvent {
        id: format!("{due}:no_response:{}", i.id),
        account_id: i.account_id.clone(),
        as_of: due,
        // The kind a no-response follows from is the one of the original trigger when it was a
        // score event; `DeclineModerate` is the usual case and only used for display.
        kind: ScoreEventKind::DeclineModerate,
        score,
        band,
        previous_score: i.score_at_start,
        previous_band: None,
        summary: format!(
            "no response {} days after outreach ({})",
            config.follow_up_days, i.workflow
        ),
        detail: serde_json::json!({"intervention": i.id, "workflow": i.workflow}),
        scored_at: None,
    };
    let message = DispatchMessage::FollowUp(FollowUpDue {
        intervention_id: i.id.clone(),
        due,
        event,
    })
    .to_outgoing()
    .map_err(|e| StoreError::Rejected(e.to_string()))?;
    queue.send(&[message]).await?;
    i.follow_up_sent = true;
    report.follow_ups += 1;
    Ok(())
}

async fn audit_changes<S: Storage + ?Sized>(
    storage: &S,
    clock: &dyn Clock,
    before: &Intervention,
    after: &Intervention,
) -> Result<(), StoreError> {
    let entry = |id: String, action: &str, detail: serde_json::Value| AuditEntry {
        id,
        at: clock.now(),
        account_id: Some(after.account_id.clone()),
        actor: "workflow".into(),
        action: action.into(),
        detail,
    };
    for e in after.effect.iter().filter(|e| !before.effect.contains(e)) {
        storage
            .append_audit(&entry(
                format!("effect:{}:{}", after.id, e.days),
                "intervention.effect",
                serde_json::json!({"intervention": after.id, "workflow": after.workflow, "days": e.days, "score": e.score, "change": e.change}),
            ))
            .await?;
    }
    if after.follow_up_sent && !before.follow_up_sent {
        storage
            .append_audit(&entry(
                format!("follow-up-due:{}", after.id),
                "outreach.follow_up_due",
                serde_json::json!({"intervention": after.id, "due": after.follow_up_due}),
            ))
            .await?;
    }
    if after.responded_on.is_some() && before.responded_on.is_none() {
        storage
            .append_audit(&entry(
                format!("responded:{}", after.id),
                "outreach.responded",
                serde_json::json!({"intervention": after.id, "on": after.responded_on}),
            ))
            .await?;
    }
    Ok(())
}
