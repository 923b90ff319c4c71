//! Turns one account-day of stored events into the usage counters the scoring crate rolls into
//! the account's window. Events are deduplicated by message id here: this is where "a retried
//! event never counts twice" finally holds.

use std::collections::{BTreeSet, HashSet};

use vitals_scoring::DayActivity;

use crate::config::UsageMapping;
use crate::model::{EventChunk, EventKind, StoredEvent};

/// Aggregates the events of all chunks of one account-day, each message id once.
/// `first_value_event` is the configured event that marks an account's first value.
pub fn day_activity<'a>(
    chunks: impl IntoIterator<Item = &'a EventChunk>,
    mapping: &UsageMapping,
    first_value_event: Option<&str>,
) -> DayActivity {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut users: BTreeSet<&str> = BTreeSet::new();
    let mut features: BTreeSet<&str> = BTreeSet::new();
    let mut activity = DayActivity::default();
    for chunk in chunks {
        activity.day.get_or_insert(chunk.day);
        for event in &chunk.events {
            if !seen.insert(event.message_id.as_str()) {
                continue;
            }
            if !is_usage(event, mapping) {
                continue;
            }
            activity.events += 1;
            if let Some(user) = event.user_id.as_deref() {
                users.insert(user);
            }
            let Some(name) = event.name.as_deref() else {
                continue;
            };
            if first_value_event == Some(name) {
                activity.first_value_reached = true;
            }
            if mapping.session_events.iter().any(|s| s == name) {
                activity.sessions += 1;
                let seconds = event
                    .properties
                    .get(&mapping.session_duration_property)
                    .and_then(serde_json::Value::as_f64)
                    .filter(|s| s.is_finite() && *s > 0.0)
                    .unwrap_or(0.0);
                activity.session_seconds = activity
                    .session_seconds
                    .saturating_add(seconds.min(86_400.0) as u32);
            } else if mapping.api_call_events.iter().any(|s| s == name) {
                activity.api_calls += 1;
            } else if event.kind == EventKind::Track {
                features.insert(name);
            }
        }
    }
    activity.active_users = users.into_iter().map(str::to_string).collect();
    activity.features = features.into_iter().map(str::to_string).collect();
    activity
}

/// Product usage: track, page and screen events not configured as ignored.
fn is_usage(event: &StoredEvent, mapping: &UsageMapping) -> bool {
    matches!(
        event.kind,
        EventKind::Track | EventKind::Page | EventKind::Screen
    ) && !event
        .name
        .as_deref()
        .is_some_and(|n| mapping.ignored_events.iter().any(|i| i == n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AccountId;
    use chrono::{DateTime, NaiveDate, Utc};

    fn ev(id: &str, user: &str, name: &str) -> StoredEvent {
        StoredEvent {
            message_id: id.into(),
            kind: EventKind::Track,
            name: Some(name.into()),
            user_id: Some(user.into()),
            timestamp: "2026-03-01T10:00:00Z".parse::<DateTime<Utc>>().unwrap(),
            properties: serde_json::Map::new(),
        }
    }

    fn chunk(events: Vec<StoredEvent>) -> EventChunk {
        let day: NaiveDate = "2026-03-01".parse().unwrap();
        EventChunk::new(AccountId::new("acme").unwrap(), day, events)
    }

    #[test]
    fn a_retried_event_in_another_chunk_counts_once() {
        let first = chunk(vec![
            ev("m1", "u1", "Report Built"),
            ev("m2", "u2", "Report Built"),
        ]);
        let retry = chunk(vec![
            ev("m2", "u2", "Report Built"),
            ev("m3", "u1", "API Call"),
        ]);
        let a = day_activity([&first, &retry], &UsageMapping::default(), None);
        assert_eq!(a.events, 3);
        assert_eq!(a.api_calls, 1);
        assert_eq!(a.active_users, vec!["u1", "u2"]);
        assert_eq!(a.features, vec!["Report Built"]);
    }

    #[test]
    fn sessions_sum_their_duration() {
        let mut s = ev("m1", "u1", "Session Started");
        s.properties.insert("duration_seconds".into(), 600.into());
        let a = day_activity([&chunk(vec![s])], &UsageMapping::default(), None);
        assert_eq!((a.sessions, a.session_seconds), (1, 600));
    }
}
