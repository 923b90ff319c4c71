//! Turns one account-day of stored events into the usage counters the scoring crate rolls into
//! the account's window. Events are deduplicated by message id here: this is where "a retried
//! event never counts twice" finally holds. Non-product events mapped by `[signals]` (tickets,
//! surveys, training, check-ins, invoices) fill their own counters and are not usage unless
//! configured so.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::OnceLock;

use vitals_scoring::{DayActivity, SurveyKind};

use crate::config::{SignalMapping, UsageMapping};
use crate::model::{EventChunk, EventKind, OutcomeKind, StoredEvent};

/// What a mapped non-product event means (see `[signals]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappedSignal {
    TicketOpened,
    TicketResolved,
    /// A survey answer; `None` means the kind comes from `signals.survey_kind_property`.
    Survey(Option<SurveyKind>),
    Training,
    CheckIn,
    InvoiceOverdue,
    InvoicePaid,
    /// Recorded on the account profile at ingest; nothing to count here.
    Outcome(OutcomeKind),
}

/// Event names PostHog's libraries send for bookkeeping, never product usage.
const INTERNAL_EVENTS: &[&str] = &[
    "$groupidentify",
    "$identify",
    "$create_alias",
    "$set",
    "$feature_flag_called",
    "$opt_in",
];

fn default_signals() -> &'static SignalMapping {
    static DEFAULT: OnceLock<SignalMapping> = OnceLock::new();
    DEFAULT.get_or_init(SignalMapping::default)
}

/// [`day_activity_with_signals`] with the default `[signals]` mapping.
pub fn day_activity<'a>(
    chunks: impl IntoIterator<Item = &'a EventChunk>,
    mapping: &UsageMapping,
    first_value_event: Option<&str>,
) -> DayActivity {
    day_activity_with_signals(chunks, mapping, default_signals(), first_value_event)
}

/// Aggregates the events of all chunks of one account-day, each message id once.
/// `first_value_event` is the configured event that marks an account's first value.
pub fn day_activity_with_signals<'a>(
    chunks: impl IntoIterator<Item = &'a EventChunk>,
    mapping: &UsageMapping,
    signals: &SignalMapping,
    first_value_event: Option<&str>,
) -> DayActivity {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut users: BTreeSet<&str> = BTreeSet::new();
    let mut features: BTreeMap<&str, u32> = BTreeMap::new();
    let mut activity = DayActivity::default();
    for chunk in chunks {
        activity.day.get_or_insert(chunk.day);
        for event in &chunk.events {
            if !seen.insert(event.message_id.as_str()) {
                continue;
            }
            if first_value_event.is_some() && first_value_event == event.name.as_deref() {
                activity.first_value_reached = true;
            }
            let signal = match (event.kind, event.name.as_deref()) {
                (EventKind::Track, Some(name)) => signals.signal_of(name),
                _ => None,
            };
            if let Some(signal) = signal {
                add_signal(&mut activity, signal, event, signals);
                if !signals.count_as_usage {
                    continue;
                }
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
            if mapping.session_events.iter().any(|s| s == name) {
                activity.sessions += 1;
                let seconds = event
                    .properties
                    .get(&mapping.session_duration_property)
                    .as_ref()
                    .and_then(serde_json::Value::as_f64)
                    .filter(|s| s.is_finite() && *s > 0.0)
                    .unwrap_or(0.0);
                activity.session_seconds = activity
                    .session_seconds
                    .saturating_add(seconds.min(86_400.0) as u32);
            } else if mapping.api_call_events.iter().any(|s| s == name) {
                activity.api_calls += 1;
            } else if event.kind == EventKind::Track {
                *features.entry(name).or_default() += 1;
            }
        }
    }
    activity.active_users = users.into_iter().map(str::to_string).collect();
    activity.feature_counts = features.values().copied().collect();
    activity.features = features.into_keys().map(str::to_string).collect();
    activity
}

fn add_signal(
    activity: &mut DayActivity,
    signal: MappedSignal,
    event: &StoredEvent,
    signals: &SignalMapping,
) {
    let bump = |n: &mut u32| *n = n.saturating_add(1);
    // Properties are kept as JSON text; the few signals that read them parse them here.
    match signal {
        MappedSignal::TicketOpened => activity
            .tickets_opened
            .add(signals.ticket_severity(&event.properties.to_map())),
        MappedSignal::TicketResolved => activity
            .tickets_resolved
            .add(signals.ticket_severity(&event.properties.to_map())),
        MappedSignal::Survey(fixed) => {
            if let Some((kind, answer)) = signals.survey_answer(fixed, &event.properties.to_map()) {
                match kind {
                    SurveyKind::Nps => activity.nps.push(answer),
                    SurveyKind::Csat => activity.csat.push(answer),
                    SurveyKind::Ces => activity.ces.push(answer),
                }
            }
        }
        MappedSignal::Training => bump(&mut activity.trainings_completed),
        MappedSignal::CheckIn => bump(&mut activity.csm_checkins),
        MappedSignal::InvoiceOverdue => bump(&mut activity.invoices_overdue),
        MappedSignal::InvoicePaid => bump(&mut activity.invoices_paid),
        MappedSignal::Outcome(_) => {}
    }
}

/// Product usage: track, page and screen events not configured as ignored.
fn is_usage(event: &StoredEvent, mapping: &UsageMapping) -> bool {
    matches!(
        event.kind,
        EventKind::Track | EventKind::Page | EventKind::Screen
    ) && !event.name.as_deref().is_some_and(|n| {
        mapping.ignored_events.iter().any(|i| i == n) || INTERNAL_EVENTS.contains(&n)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
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
            properties: Default::default(),
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
    fn mapped_signals_fill_their_counters_and_are_not_usage() {
        let mut opened = ev("m1", "u1", "Ticket Opened");
        opened.properties.insert("priority".into(), "urgent".into());
        let mut nps = ev("m2", "u2", "NPS Survey Responded");
        nps.properties.insert("score".into(), 9.into());
        let mut csat = ev("m3", "u2", "Survey Responded");
        csat.properties.insert("survey_type".into(), "csat".into());
        csat.properties.insert("rating".into(), 2.into());
        let events = vec![
            opened,
            nps,
            csat,
            ev("m4", "csm", "CSM Check-in Logged"),
            ev("m5", "u1", "Training Completed"),
            ev("m6", "billing", "Invoice Overdue"),
            ev("m7", "billing", "Account Renewed"),
            ev("m8", "u1", "Report Built"),
        ];
        let a = day_activity(
            [&chunk(events.clone()), &chunk(events)],
            &UsageMapping::default(),
            None,
        );
        assert_eq!(a.tickets_opened.urgent, 1);
        assert_eq!((a.nps.clone(), a.csat.clone()), (vec![9], vec![2]));
        assert_eq!(
            (a.csm_checkins, a.trainings_completed, a.invoices_overdue),
            (1, 1, 1)
        );
        assert_eq!(a.events, 1, "only the product event is usage");
        assert_eq!(a.active_users, vec!["u1"]);

        let counted = SignalMapping {
            count_as_usage: true,
            ..SignalMapping::default()
        };
        let single = chunk(vec![ev("m9", "csm", "CSM Check-in Logged")]);
        let b = day_activity_with_signals([&single], &UsageMapping::default(), &counted, None);
        assert_eq!((b.events, b.csm_checkins), (1, 1));
    }

    #[test]
    fn sessions_sum_their_duration() {
        let mut s = ev("m1", "u1", "Session Started");
        s.properties.insert("duration_seconds".into(), 600.into());
        let a = day_activity([&chunk(vec![s])], &UsageMapping::default(), None);
        assert_eq!((a.sessions, a.session_seconds), (1, 600));
    }
}
