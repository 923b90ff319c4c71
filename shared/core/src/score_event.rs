//! Score events: what the daily run tells the alerting side about an account. They travel on
//! the alert queue; each has a deterministic id (day + account + kind) so a re-run or resumed
//! run sends the same ids again and consumers act once.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{AccountId, Band};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreEventKind {
    BandChanged,
    ScoreDropped,
    DeclineModerate,
    DeclineSevere,
    RenewalApproaching,
    UsageMilestone,
    ExpansionSignal,
}

impl ScoreEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScoreEventKind::BandChanged => "band_changed",
            ScoreEventKind::ScoreDropped => "score_dropped",
            ScoreEventKind::DeclineModerate => "decline_moderate",
            ScoreEventKind::DeclineSevere => "decline_severe",
            ScoreEventKind::RenewalApproaching => "renewal_approaching",
            ScoreEventKind::UsageMilestone => "usage_milestone",
            ScoreEventKind::ExpansionSignal => "expansion_signal",
        }
    }
}

/// One thing the daily run noticed about one account on one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreEvent {
    pub id: String,
    pub account_id: AccountId,
    pub as_of: NaiveDate,
    pub kind: ScoreEventKind,
    pub score: f64,
    pub band: Band,
    pub previous_score: Option<f64>,
    pub previous_band: Option<Band>,
    /// Human explanation, e.g. "score fell 18: seat adoption 41% → 22%".
    pub summary: String,
    /// Kind-specific figures (decline ratio, days to renewal, milestone name...).
    #[serde(default)]
    pub detail: serde_json::Value,
    /// When the run that found it happened: how old `as_of` was then decides whether it
    /// notifies anyone (`alerts.notify_within_days`). Absent in events of older releases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scored_at: Option<DateTime<Utc>>,
}

impl ScoreEvent {
    /// The deterministic id: the same account, day and kind always give the same id.
    pub fn id_for(
        account: &AccountId,
        as_of: NaiveDate,
        kind: ScoreEventKind,
        qualifier: &str,
    ) -> String {
        if qualifier.is_empty() {
            format!("{as_of}:{}:{account}", kind.as_str())
        } else {
            format!("{as_of}:{}:{qualifier}:{account}", kind.as_str())
        }
    }
}
