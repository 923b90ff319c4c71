//! The messages on the alert queue and why handling one can fail. Every message has a
//! deterministic id, so a re-run enqueues the same message and handling it twice does nothing
//! more than handling it once.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::ports::OutgoingMessage;
use crate::score_event::ScoreEvent;

/// An outreach got no response: the `no_response` trigger, queued by
/// [`crate::alerts::effectiveness::record`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUpDue {
    /// The intervention whose outreach got no response.
    pub intervention_id: String,
    pub due: NaiveDate,
    /// The score event of that intervention (the account, score and context).
    pub event: ScoreEvent,
}

/// A snoozed alert's snooze ended: remind its owner, queued by
/// [`crate::alerts::lifecycle::AlertLifecycle::wake_snoozed`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnoozeEnded {
    pub alert_id: String,
    /// The end of the snooze that ended (part of the delivery key: a later snooze of the same
    /// alert gets its own reminder).
    pub until: DateTime<Utc>,
    pub reason: Option<String>,
}

/// A message on the alert queue.
#[derive(Debug, Clone, PartialEq)]
pub enum DispatchMessage {
    Score(ScoreEvent),
    FollowUp(FollowUpDue),
    SnoozeEnded(SnoozeEnded),
}

#[derive(Serialize, Deserialize)]
struct FollowUpEnvelope {
    follow_up: FollowUpDue,
}

#[derive(Serialize, Deserialize)]
struct SnoozeEndedEnvelope {
    snooze_ended: SnoozeEnded,
}

impl DispatchMessage {
    pub fn parse(body: &str) -> Result<Self, DispatchError> {
        let value: serde_json::Value = serde_json::from_str(body)
            .map_err(|e| DispatchError::Permanent(format!("message is not JSON: {e}")))?;
        if value.get("follow_up").is_some() {
            let envelope: FollowUpEnvelope = serde_json::from_value(value)
                .map_err(|e| DispatchError::Permanent(format!("not a follow-up: {e}")))?;
            Ok(DispatchMessage::FollowUp(envelope.follow_up))
        } else if value.get("snooze_ended").is_some() {
            let envelope: SnoozeEndedEnvelope = serde_json::from_value(value)
                .map_err(|e| DispatchError::Permanent(format!("not a snooze end: {e}")))?;
            Ok(DispatchMessage::SnoozeEnded(envelope.snooze_ended))
        } else {
            serde_json::from_value(value)
                .map(DispatchMessage::Score)
                .map_err(|e| DispatchError::Permanent(format!("not a score event: {e}")))
        }
    }

    /// The account a message is about (a snooze reminder names its alert only).
    pub fn account_id(&self) -> Option<&str> {
        match self {
            DispatchMessage::Score(e) => Some(e.account_id.as_str()),
            DispatchMessage::FollowUp(f) => Some(f.event.account_id.as_str()),
            DispatchMessage::SnoozeEnded(_) => None,
        }
    }

    /// The message to enqueue (deterministic id: a re-run enqueues the same message).
    pub fn to_outgoing(&self) -> Result<OutgoingMessage, DispatchError> {
        let (id, body) = match self {
            DispatchMessage::Score(e) => return score_message(e),
            DispatchMessage::FollowUp(f) => (
                format!("follow-up:{}", f.intervention_id),
                serde_json::to_string(&FollowUpEnvelope {
                    follow_up: f.clone(),
                }),
            ),
            DispatchMessage::SnoozeEnded(s) => (
                s.delivery_key(),
                serde_json::to_string(&SnoozeEndedEnvelope {
                    snooze_ended: s.clone(),
                }),
            ),
        };
        let body = body.map_err(|e| DispatchError::Permanent(format!("encode message: {e}")))?;
        Ok(OutgoingMessage { id, body })
    }
}

/// A score event as its alert-queue message, without copying the event (the daily run sends
/// thousands): the body [`DispatchMessage::Score`] would have.
pub fn score_message(event: &ScoreEvent) -> Result<OutgoingMessage, DispatchError> {
    let body = serde_json::to_string(event)
        .map_err(|e| DispatchError::Permanent(format!("encode message: {e}")))?;
    Ok(OutgoingMessage {
        id: event.id.clone(),
        body,
    })
}

/// A queue body read as a message (`serde_json::from_str::<DispatchMessage>`), the same as
/// [`DispatchMessage::parse`].
impl<'de> Deserialize<'de> for DispatchMessage {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        DispatchMessage::parse(&value.to_string()).map_err(serde::de::Error::custom)
    }
}

impl SnoozeEnded {
    /// The reminder's delivery key (and message id): one per alert and snooze end.
    pub fn delivery_key(&self) -> String {
        format!("snooze-ended:{}:{}", self.alert_id, self.until.timestamp())
    }
}

/// Why a message could not be fully handled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DispatchError {
    /// Some delivery or storage call may succeed later: retry the message with backoff.
    #[error("{0}")]
    Retryable(String),
    /// Retrying the same message cannot help (malformed message, refused destination, 4xx):
    /// the dispatch Lambda logs it and does not retry it (the intervention records why).
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
