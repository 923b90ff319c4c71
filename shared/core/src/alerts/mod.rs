//! Alerts, workflows and outreach: what Vitals does about the score events of the daily run.
//!
//! - [`workflow`]: which configured workflows a trigger starts (trigger + conditions).
//! - [`dispatch`]: the use case the dispatch Lambda and `vitals serve` run per queue message:
//!   plans an [`Intervention`](crate::model::Intervention) per matching workflow, performs its
//!   actions once each (the intervention records what was delivered), audits every action.
//! - [`outreach`]: personalised drafts from templates.
//! - [`lifecycle`]: acknowledge / resolve / snooze / reassign, with who and when:
//!   `AlertLifecycle::change_status` is the one path every status change takes (API, dashboard,
//!   and auto-resolve when a condition clears, see [`clearing`]); [`status`] bounds the input.
//! - [`effectiveness`]: the daily hook recording the score change after interventions and
//!   queueing follow-ups when outreach got no response.
//!
//! One problem is one open alert: an alert's dedupe key is account + kind + cause, and while an
//! alert with that key is open or acknowledged, the same problem reported again (a re-run, a
//! resumed run, a redelivered message) opens nothing new.

pub mod clearing;
pub mod dispatch;
pub mod effectiveness;
pub mod lifecycle;
pub mod outreach;
pub mod rules;
pub mod status;
pub mod workflow;

use chrono::{DateTime, Duration, Utc};

use crate::clock::Clock;
use crate::error::{QueueError, StoreError};
use crate::model::{Alert, AlertQuery, AlertStatus, AlertTransition, AuditEntry, Band, Severity};
use crate::ports::{AccountStore, AlertStore, AuditLog};
use crate::score_event::{ScoreEvent, ScoreEventKind};

/// Failures of the alerting use cases, retryable or not.
#[derive(Debug, thiserror::Error)]
pub enum AlertsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

impl AlertsError {
    pub fn is_retryable(&self) -> bool {
        match self {
            AlertsError::Store(e) => e.is_retryable() || matches!(e, StoreError::Conflict(_)),
            AlertsError::Queue(e) => e.is_retryable(),
        }
    }
}

/// What opening an alert did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertOutcome {
    Opened(String),
    /// An open alert for the same problem exists (its id).
    AlreadyOpen(String),
    /// The same problem's alert is snoozed until then: nothing new is opened.
    Snoozed {
        id: String,
        until: DateTime<Utc>,
    },
    /// The same problem's alert was resolved within the cooldown: nothing new is opened.
    CoolingDown(String),
    /// The event is not an alerting one (e.g. an expansion signal).
    NotAlerting,
}

/// The alert an event calls for by default: (kind, cause, severity), or none.
pub fn alert_for(event: &ScoreEvent) -> Option<(&'static str, &'static str, Severity)> {
    match event.kind {
        ScoreEventKind::DeclineSevere => Some(("usage_decline", "severe", Severity::Critical)),
        ScoreEventKind::DeclineModerate => Some(("usage_decline", "moderate", Severity::Warning)),
        ScoreEventKind::BandChanged if event.band == Band::AtRisk => {
            Some(("at_risk", "band", Severity::Critical))
        }
        _ => None,
    }
}

/// What to open: an alert of `kind` for `cause` on the event's account.
#[derive(Debug, Clone)]
pub struct AlertRequest<'e> {
    pub event: &'e ScoreEvent,
    pub kind: String,
    pub cause: String,
    pub severity: Severity,
    /// Suppress a new alert for this long after the same problem's alert was resolved.
    pub cooldown: Duration,
    /// Extra details kept on the alert (workflow, priority).
    pub extra: serde_json::Value,
}

impl AlertRequest<'_> {
    pub fn dedupe_key(&self) -> String {
        format!("{}:{}:{}", self.event.account_id, self.kind, self.cause)
    }
}

/// The cause part of an event's dedupe key: the decline severity, the band, the milestone...
pub fn cause_of(event: &ScoreEvent) -> String {
    match event.kind {
        ScoreEventKind::DeclineSevere => "severe".into(),
        ScoreEventKind::DeclineModerate => "moderate".into(),
        ScoreEventKind::BandChanged => event.band.as_str().into(),
        _ => event.kind.as_str().into(),
    }
}

/// Every alert matching `query`, read page by page, with what `keep` makes of each (`None`:
/// left out).
pub(crate) async fn collect_alerts<S, T>(
    store: &S,
    query: &AlertQuery,
    mut keep: impl FnMut(Alert) -> Option<T>,
) -> Result<Vec<T>, StoreError>
where
    S: AlertStore + ?Sized,
{
    let mut found = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store.list_alerts(query, cursor.as_deref(), 100).await?;
        found.extend(page.items.into_iter().filter_map(&mut keep));
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(found),
        }
    }
}

pub struct OpenAlert<'a, S: AccountStore + AlertStore + AuditLog + ?Sized> {
    storage: &'a S,
    clock: &'a dyn Clock,
}

impl<'a, S: AccountStore + AlertStore + AuditLog + ?Sized> OpenAlert<'a, S> {
    pub fn new(storage: &'a S, clock: &'a dyn Clock) -> Self {
        OpenAlert { storage, clock }
    }

    /// Opens the default alert an event calls for ([`alert_for`]).
    pub async fn handle(&self, event: &ScoreEvent) -> Result<AlertOutcome, StoreError> {
        let Some((kind, cause, severity)) = alert_for(event) else {
            return Ok(AlertOutcome::NotAlerting);
        };
        self.open(&AlertRequest {
            event,
            kind: kind.into(),
            cause: cause.into(),
            severity,
            cooldown: Duration::zero(),
            extra: serde_json::Value::Null,
        })
        .await
    }

    /// Opens an alert unless the same problem is open, snoozed or cooling down.
    pub async fn open(&self, request: &AlertRequest<'_>) -> Result<AlertOutcome, StoreError> {
        let event = request.event;
        let dedupe_key = request.dedupe_key();
        let now = self.clock.now();
        let same = self.alerts_with_key(event, &dedupe_key).await?;
        if let Some(open) = same.iter().find(|a| a.status != AlertStatus::Resolved) {
            return Ok(match open.snoozed_until {
                Some(until) if until > now => AlertOutcome::Snoozed {
                    id: open.id.clone(),
                    until,
                },
                _ => AlertOutcome::AlreadyOpen(open.id.clone()),
            });
        }
        let recently_resolved = same.iter().find(|a| {
            a.transitions
                .iter()
                .rev()
                .find(|t| t.to == AlertStatus::Resolved)
                .is_some_and(|t| now - t.at < request.cooldown)
        });
        if let Some(resolved) = recently_resolved {
            return Ok(AlertOutcome::CoolingDown(resolved.id.clone()));
        }
        let owner = self
            .storage
            .get_account(&event.account_id)
            .await?
            .and_then(|a| a.profile.owner);
        let mut details = serde_json::to_value(event).unwrap_or_default();
        if let (Some(map), serde_json::Value::Object(extra)) =
            (details.as_object_mut(), &request.extra)
        {
            map.extend(extra.clone());
        }
        let alert = Alert {
            id: format!("{dedupe_key}:{}", event.as_of),
            account_id: event.account_id.clone(),
            dedupe_key,
            kind: request.kind.clone(),
            cause: request.cause.clone(),
            severity: request.severity,
            status: AlertStatus::Open,
            owner,
            about_day: Some(event.as_of),
            opened_at: now,
            updated_at: now,
            snoozed_until: None,
            snooze_reason: None,
            transitions: vec![AlertTransition {
                at: now,
                by: "vitals".into(),
                to: AlertStatus::Open,
                note: Some(event.summary.clone()),
            }],
            details,
            version: 1,
        };
        match self.storage.insert_alert(&alert).await {
            Ok(()) => {}
            // A redelivered event raced us to the same id: that alert is this one.
            Err(StoreError::Conflict(_)) => return Ok(AlertOutcome::AlreadyOpen(alert.id)),
            Err(e) => return Err(e),
        }
        self.storage
            .append_audit(&AuditEntry {
                id: format!("alert-opened:{}", alert.id),
                at: now,
                account_id: Some(alert.account_id.clone()),
                actor: "vitals".into(),
                action: "alert.opened".into(),
                detail: serde_json::json!({"alert_id": alert.id, "severity": alert.severity, "summary": event.summary}),
            })
            .await?;
        Ok(AlertOutcome::Opened(alert.id))
    }

    /// The account's alerts with this dedupe key, newest first.
    async fn alerts_with_key(
        &self,
        event: &ScoreEvent,
        key: &str,
    ) -> Result<Vec<Alert>, StoreError> {
        let query = AlertQuery {
            status: None,
            account_id: Some(event.account_id.clone()),
        };
        collect_alerts(self.storage, &query, |a| (a.dedupe_key == key).then_some(a)).await
    }
}
