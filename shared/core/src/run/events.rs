//! Which score events an account's new score calls for, compared with its previous one.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use vitals_scoring::{AccountScore, DeclineSeverity, HealthScore};

use crate::model::AccountId;
use crate::score_event::{ScoreEvent, ScoreEventKind};

/// Renewal reminders fire when the renewal is exactly this many days away.
pub const RENEWAL_NOTICE_DAYS: [i64; 3] = [90, 60, 30];
/// Active-user counts that are celebrated once when first reached.
pub const USER_MILESTONES: [u32; 4] = [5, 10, 25, 50];

/// The events of one account's new score. `scored_at` is the run's clock: dispatch compares the
/// day's age then with `alerts.notify_within_days`, so a backfill records but notifies nobody.
pub fn score_events(
    account: &AccountId,
    as_of: NaiveDate,
    scored: &AccountScore,
    previous: Option<&HealthScore>,
    previous_active_users: Option<u32>,
    scored_at: DateTime<Utc>,
) -> Vec<ScoreEvent> {
    let health = &scored.health;
    let event = |kind: ScoreEventKind,
                 qualifier: &str,
                 summary: String,
                 detail: serde_json::Value| ScoreEvent {
        id: ScoreEvent::id_for(account, as_of, kind, qualifier),
        account_id: account.clone(),
        as_of,
        kind,
        score: health.score,
        band: health.band,
        previous_score: previous.map(|p| p.score),
        previous_band: previous.map(|p| p.band),
        summary,
        detail,
        scored_at: Some(scored_at),
    };
    let change_sentence = scored.change.as_ref().map(|c| c.sentence());
    let mut out = Vec::new();
    if let Some(prev) = previous {
        if prev.band != health.band {
            out.push(event(
                ScoreEventKind::BandChanged,
                "",
                format!(
                    "moved from {} to {}{}",
                    prev.band.as_str(),
                    health.band.as_str(),
                    change_sentence
                        .as_ref()
                        .map(|s| format!("; {s}"))
                        .unwrap_or_default()
                ),
                json!({"from": prev.band, "to": health.band}),
            ));
        }
    }
    if let Some(severity) = scored.decline.severity() {
        let (kind, word) = match severity {
            DeclineSeverity::Moderate => (ScoreEventKind::DeclineModerate, "moderate"),
            DeclineSeverity::Severe => (ScoreEventKind::DeclineSevere, "severe"),
        };
        let pct = scored
            .decline
            .ratio
            .map(|r| ((1.0 - r) * 100.0).round())
            .unwrap_or_default();
        out.push(event(
            kind,
            "",
            format!("{word} usage decline: 14-day active usage is {pct}% below the 90-day average"),
            json!({"ratio": scored.decline.ratio, "recent_index": scored.decline.recent_index, "baseline_index": scored.decline.baseline_index}),
        ));
    }
    if let Some(renewal) = &scored.renewal {
        if RENEWAL_NOTICE_DAYS.contains(&renewal.days_to_renewal) {
            out.push(event(
                ScoreEventKind::RenewalApproaching,
                &renewal.days_to_renewal.to_string(),
                format!("renewal in {} days (renewal risk {:.0})", renewal.days_to_renewal, renewal.risk),
                json!({"days_to_renewal": renewal.days_to_renewal, "risk": renewal.risk, "level": renewal.level}),
            ));
        }
    }
    if scored.expansion.candidate {
        out.push(event(
            ScoreEventKind::ExpansionSignal,
            "",
            "expansion candidate: high and rising score".to_string(),
            json!({"reasons": scored.expansion.reasons}),
        ));
    }
    if let Some(before) = previous_active_users {
        for milestone in USER_MILESTONES {
            if before < milestone && scored.active_users >= milestone {
                out.push(event(
                    ScoreEventKind::UsageMilestone,
                    &format!("users{milestone}"),
                    format!("{milestone} active users reached"),
                    json!({"milestone": "active_users", "value": milestone}),
                ));
            }
        }
    }
    out
}
