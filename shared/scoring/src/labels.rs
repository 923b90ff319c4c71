//! Names in words for whatever a reader sees named: health signals, churn-model features and
//! feature groups ("Active seats", "Login events per user (28 days)", "Sentiment: no data").
//! The one label function the API's explanations, the dashboard and alert texts share.

use crate::churn::MISSING_SUFFIX;
use crate::signals::Signal;
use crate::usage_features::{EVENTS_28D, EVENTS_28D_PER_USER, EVENTS_7D, EVENTS_90D, SIGNAL};

/// The label of a signal or feature name; a name it does not know reads with spaces for
/// underscores, first letter capitalised.
pub fn label(name: &str) -> String {
    // A feature group: "{feature} and 3 related".
    if let Some((first, related)) = name.split_once(" and ") {
        if related.ends_with(" related") {
            return format!("{} and {related}", label(first));
        }
    }
    if let Some(base) = name.strip_suffix(MISSING_SUFFIX) {
        return format!("{}: no data", label(base));
    }
    let (kind, event) = name.split_once(':').unwrap_or((name, ""));
    let event = capitalised(event);
    match kind {
        EVENTS_7D => format!("{event} events (7 days)"),
        EVENTS_28D => format!("{event} events (28 days)"),
        EVENTS_90D => format!("{event} events (90 days)"),
        EVENTS_28D_PER_USER => format!("{event} events per user (28 days)"),
        SIGNAL => label(name.split_once(':').map_or("", |(_, s)| s)),
        "events_7d_total" => "All events (7 days)".into(),
        "events_28d_total" => "All events (28 days)".into(),
        "events_90d_total" => "All events (90 days)".into(),
        "events_28d_per_user_total" => "Events per user (28 days)".into(),
        "events_28d_per_seat_total" => "Events per seat (28 days)".into(),
        "active_users" => "Active users".into(),
        "active_day_share" => "Share of days with activity".into(),
        "seats" => "Licensed seats".into(),
        "active_user_share_of_seats" | "active_seat_ratio" => "Active seats".into(),
        "mrr" => "MRR".into(),
        "tenure" => "Time as a customer".into(),
        "days_since_active" => "Days since anyone was active".into(),
        "days_to_renewal" => "Days to renewal".into(),
        other => Signal::from_name(other)
            .map_or_else(|| capitalised(&other.replace('_', " ")), signal_label),
    }
}

/// A health signal's label: its words in [`Signal::label`], capitalised.
pub fn signal_label(signal: Signal) -> String {
    capitalised(signal.label())
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::label;

    #[test]
    fn signals_and_features_read_as_words() {
        assert_eq!(label("seat_adoption"), "Seat adoption");
        assert_eq!(label("signal:usage_depth"), "Usage depth");
        assert_eq!(label("active_user_share_of_seats"), "Active seats");
        assert_eq!(label("active_seat_ratio"), "Active seats");
        assert_eq!(
            label("events_28d_per_user:login"),
            "Login events per user (28 days)"
        );
        assert_eq!(
            label("events_7d:Report Built"),
            "Report Built events (7 days)"
        );
        assert_eq!(label("sentiment_missing"), "Sentiment: no data");
        assert_eq!(label("signal:sentiment_missing"), "Sentiment: no data");
        assert_eq!(
            label("days_since_active and 2 related"),
            "Days since anyone was active and 2 related"
        );
        assert_eq!(label("days_since_login"), "Days since login");
    }

    #[test]
    fn no_label_is_a_raw_name() {
        for name in [
            "active_users",
            "active_day_share",
            "events_28d_per_seat_total",
            "champion_activity",
            "tenure",
            "mrr",
        ] {
            let l = label(name);
            assert!(!l.contains('_') && !l.contains(':'), "{name} → {l}");
        }
    }
}
