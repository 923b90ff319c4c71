//! Opening alerts from score events. One problem is one open alert: an alert's dedupe key is
//! account + kind + cause, and while an alert with that key is open or acknowledged, the same
//! problem reported again (a re-run, a resumed run, a redelivered message) opens nothing new.

use crate::clock::Clock;
use crate::error::StoreError;
use crate::model::{Alert, AlertQuery, AlertStatus, AlertTransition, AuditEntry, Band, Severity};
use crate::ports::Storage;
use crate::score_event::{ScoreEvent, ScoreEventKind};

/// What handling one score event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertOutcome {
    Opened(String),
    /// An open alert for the same problem exists (its id).
    AlreadyOpen(String),
    /// The event is not an alerting one (e.g. an expansion signal).
    NotAlerting,
}

/// The alert an event calls for: (kind, cause, severity), or none.
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

pub struct OpenAlert<'a, S: Storage + ?Sized> {
    storage: &'a S,
    clock: &'a dyn Clock,
}

impl<'a, S: Storage + ?Sized> OpenAlert<'a, S> {
    pub fn new(storage: &'a S, clock: &'a dyn Clock) -> Self {
        OpenAlert { storage, clock }
    }

    pub async fn handle(&self, event: &ScoreEvent) -> Result<AlertOutcome, StoreError> {
        let Some((kind, cause, severity)) = alert_for(event) else {
            return Ok(AlertOutcome::NotAlerting);
        };
        let dedupe_key = format!("{}:{kind}:{cause}", event.account_id);
        if let Some(existing) = self.open_alert_with_key(event, &dedupe_key).await? {
            return Ok(AlertOutcome::AlreadyOpen(existing));
        }
        let now = self.clock.now();
        let owner = self
            .storage
            .get_account(&event.account_id)
            .await?
            .and_then(|a| a.profile.owner);
        let alert = Alert {
            id: format!("{dedupe_key}:{}", event.as_of),
            account_id: event.account_id.clone(),
            dedupe_key,
            kind: kind.to_string(),
            cause: cause.to_string(),
            severity,
            status: AlertStatus::Open,
            owner,
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
            details: serde_json::to_value(event).unwrap_or_default(),
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

    async fn open_alert_with_key(
        &self,
        event: &ScoreEvent,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        let query = AlertQuery {
            status: None,
            account_id: Some(event.account_id.clone()),
        };
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .storage
                .list_alerts(&query, cursor.as_deref(), 100)
                .await?;
            if let Some(found) = page
                .items
                .iter()
                .find(|a| a.dedupe_key == key && a.status != AlertStatus::Resolved)
            {
                return Ok(Some(found.id.clone()));
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(None),
            }
        }
    }
}
