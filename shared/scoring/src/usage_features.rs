//! An account's usage features on a day: which product events it used and how often (over 7
//! and 28 days and the long decayed total, per active user and per licensed seat), how many
//! people were active, how long it has been a customer, what it pays, how long since anyone
//! was active and how far its renewal is.
//!
//! The daily run keeps a [`UsageSnapshot`] with every history entry, so a churn model or a
//! learned scorecard fitted later sees exactly what was known that day (no later event, trait
//! or outcome). [`features`] turns a snapshot into named, log-scaled numbers for a model.

use crate::churn::Features;
use crate::facts::AccountFacts;
use crate::kernel::Measurement;
use crate::signals::Signal;
use crate::window::UsageWindow;
use crate::HealthScore;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Default number of event types (the most used) that become features.
pub const DEFAULT_MAX_EVENT_TYPES: usize = 40;

/// Prefixes of the per-event-type feature names.
pub const EVENTS_7D: &str = "events_7d";
pub const EVENTS_28D: &str = "events_28d";
pub const EVENTS_90D: &str = "events_90d";
pub const EVENTS_28D_PER_USER: &str = "events_28d_per_user";
/// Prefix of the features carrying a health signal's 0-100 value (scaled to 0-1).
pub const SIGNAL: &str = "signal";

/// What was known about an account's usage on one day, compactly, for models fitted later.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageSnapshot {
    /// Per event type: counts over the last 7 and 28 days and the decayed ~90-day total.
    #[serde(rename = "e", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub events: BTreeMap<String, [f32; 3]>,
    /// Distinct users active in the look-back.
    #[serde(rename = "u", default)]
    pub active_users: u32,
    /// Days with activity in the look-back, and the look-back's length.
    #[serde(rename = "d", default)]
    pub active_days: u32,
    #[serde(rename = "l", default)]
    pub lookback_days: u32,
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub seats: Option<u32>,
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    pub mrr: Option<f64>,
    /// Days since the account started (contract start, else first activity).
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub tenure_days: Option<i64>,
    /// Days since the last active day; none when it was never active.
    #[serde(rename = "q", default, skip_serializing_if = "Option::is_none")]
    pub days_since_active: Option<i64>,
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub days_to_renewal: Option<i64>,
    /// The health signals' 0-100 values that day (those with data), by signal name, as the
    /// configured scorecards measured them (a learned score keeps them too).
    #[serde(rename = "g", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub signals: BTreeMap<String, f32>,
}

impl UsageSnapshot {
    /// The snapshot of an account measured on `m.as_of`.
    pub fn of(facts: &AccountFacts, window: &UsageWindow, m: &Measurement, lookback: u32) -> Self {
        let as_of = m.as_of;
        let events = window
            .event_counts
            .as_of(as_of)
            .into_iter()
            .filter(|(_, c)| c.last_28_days > 0 || c.long >= 0.05)
            .map(|(name, c)| {
                (
                    name.to_string(),
                    [
                        c.last_7_days as f32,
                        c.last_28_days as f32,
                        round2(c.long) as f32,
                    ],
                )
            })
            .collect();
        let last_active = window.days.iter().map(|d| d.day).rfind(|d| *d <= as_of);
        UsageSnapshot {
            events,
            active_users: m.active_users,
            active_days: m.usage.active_days,
            lookback_days: lookback,
            seats: facts.seats(),
            mrr: facts.mrr.filter(|v| v.is_finite() && *v >= 0.0),
            tenure_days: m.start.map(|s| (as_of - s).num_days().max(0)),
            days_since_active: last_active.map(|d| (as_of - d).num_days()),
            days_to_renewal: m.days_to_renewal,
            signals: BTreeMap::new(),
        }
    }

    /// Keeps the signal values of `health` (a score made by the configured scorecards).
    pub fn keep_signals(&mut self, health: &HealthScore) {
        self.signals = health
            .signals
            .iter()
            .filter(|s| Signal::from_name(&s.name).is_some())
            .filter_map(|s| Some((s.name.clone(), round2(s.value?) as f32)))
            .collect();
    }

    /// Event types by their total use over the snapshot's long view, most used first.
    pub fn event_types_by_use(&self) -> impl Iterator<Item = (&str, f64)> {
        self.events
            .iter()
            .map(|(name, c)| (name.as_str(), f64::from(c[2]).max(f64::from(c[1]))))
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn log1p(v: f64) -> f64 {
    v.max(0.0).ln_1p()
}

/// The named features of a snapshot (usage and health signals), for a model whose event
/// types are `vocabulary` (a type the account did not use counts 0; types outside the
/// vocabulary are left out, so every sample has the same features). Counts are log-scaled
/// (`ln(1 + n)`); a feature that is unknown (no seats, no MRR, no renewal date) is absent.
pub fn features(snapshot: &UsageSnapshot, vocabulary: &[String]) -> Features {
    let mut out = Features::new();
    let users = f64::from(snapshot.active_users.max(1));
    let mut totals = [0.0f64; 3];
    for counts in snapshot.events.values() {
        for (t, c) in totals.iter_mut().zip(counts) {
            *t += f64::from(*c);
        }
    }
    for name in vocabulary {
        let [c7, c28, c90] = snapshot
            .events
            .get(name)
            .map_or([0.0; 3], |c| c.map(f64::from));
        out.insert(format!("{EVENTS_7D}:{name}"), log1p(c7));
        out.insert(format!("{EVENTS_28D}:{name}"), log1p(c28));
        out.insert(format!("{EVENTS_90D}:{name}"), log1p(c90));
        out.insert(format!("{EVENTS_28D_PER_USER}:{name}"), log1p(c28 / users));
    }
    out.insert(format!("{EVENTS_7D}_total"), log1p(totals[0]));
    out.insert(format!("{EVENTS_28D}_total"), log1p(totals[1]));
    out.insert(format!("{EVENTS_90D}_total"), log1p(totals[2]));
    out.insert(
        format!("{EVENTS_28D_PER_USER}_total"),
        log1p(totals[1] / users),
    );
    out.insert(
        "active_users".into(),
        log1p(f64::from(snapshot.active_users)),
    );
    if snapshot.lookback_days > 0 {
        out.insert(
            "active_day_share".into(),
            f64::from(snapshot.active_days) / f64::from(snapshot.lookback_days),
        );
    }
    if let Some(seats) = snapshot.seats.filter(|s| *s > 0) {
        let seats = f64::from(seats);
        out.insert("seats".into(), log1p(seats));
        out.insert(
            "active_user_share_of_seats".into(),
            f64::from(snapshot.active_users) / seats,
        );
        out.insert("events_28d_per_seat_total".into(), log1p(totals[1] / seats));
    }
    if let Some(mrr) = snapshot.mrr {
        out.insert("mrr".into(), log1p(mrr));
    }
    if let Some(t) = snapshot.tenure_days {
        out.insert("tenure".into(), log1p(t as f64));
    }
    if let Some(d) = snapshot.days_since_active {
        out.insert("days_since_active".into(), log1p(d as f64));
    }
    if let Some(d) = snapshot.days_to_renewal {
        out.insert(
            "days_to_renewal".into(),
            (d as f64).clamp(-30.0, 365.0) / 365.0,
        );
    }
    for (name, v) in &snapshot.signals {
        out.insert(format!("{SIGNAL}:{name}"), f64::from(*v) / 100.0);
    }
    out
}

/// The features of a scored day: [`features`] of its snapshot, or, for a day scored before
/// snapshots were kept, only its health signals.
pub fn of_score(
    snapshot: Option<&UsageSnapshot>,
    health: &HealthScore,
    vocabulary: &[String],
) -> Features {
    match snapshot {
        Some(s) => features(s, vocabulary),
        None => health
            .signals
            .iter()
            .filter_map(|s| {
                let signal = Signal::from_name(&s.name)?;
                Some((format!("{SIGNAL}:{}", signal.as_str()), s.value? / 100.0))
            })
            .collect(),
    }
}

/// The event types a model's features name (its vocabulary), from the feature names.
pub fn vocabulary_of<'a>(feature_names: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    let prefix = format!("{EVENTS_28D}:");
    feature_names
        .into_iter()
        .filter_map(|f| f.strip_prefix(&prefix))
        .map(str::to_string)
        .collect()
}

/// The `max` event types used most over many snapshots (by their summed long totals), for a
/// model's vocabulary. Ties break by name, so the same snapshots give the same vocabulary.
pub fn vocabulary<'a>(
    snapshots: impl IntoIterator<Item = &'a UsageSnapshot>,
    max: usize,
) -> Vec<String> {
    let mut use_by_type: BTreeMap<&str, f64> = BTreeMap::new();
    for s in snapshots {
        for (name, n) in s.event_types_by_use() {
            *use_by_type.entry(name).or_default() += n;
        }
    }
    let mut ranked: Vec<(&str, f64)> = use_by_type.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    ranked
        .into_iter()
        .take(max)
        .map(|(n, _)| n.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::DayActivity;
    use crate::{score_account, ScoringConfig};
    use chrono::NaiveDate;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn window_with(days: u64, per_day: &[(&str, u32)], users: usize) -> UsageWindow {
        let mut w = UsageWindow::default();
        let start = day("2026-01-01");
        for i in 0..days {
            let a = DayActivity {
                active_users: (0..users).map(|u| format!("u{u}")).collect(),
                events: per_day.iter().map(|(_, n)| n).sum(),
                features: per_day.iter().map(|(f, _)| f.to_string()).collect(),
                feature_counts: per_day.iter().map(|(_, n)| *n).collect(),
                ..Default::default()
            };
            w.roll(start + chrono::Days::new(i), &a);
        }
        w
    }

    #[test]
    fn a_snapshot_counts_each_event_type_per_period_and_user() {
        let config = ScoringConfig::default();
        let w = window_with(60, &[("Report Built", 2), ("Comment Added", 1)], 4);
        let facts = AccountFacts {
            seats_licensed: Some(10),
            mrr: Some(500.0),
            contract_start: Some(day("2025-12-01")),
            ..Default::default()
        };
        let as_of = day("2026-03-01");
        let m = crate::measure(&config, &facts, &w, as_of);
        let snap = UsageSnapshot::of(&facts, &w, &m, config.lookback_days);
        assert_eq!(snap.events["Report Built"][0], 14.0);
        assert_eq!(snap.events["Report Built"][1], 56.0);
        assert_eq!(snap.active_users, 4);
        assert_eq!(snap.tenure_days, Some(90));
        assert_eq!(snap.days_since_active, Some(0));

        let mut snap = snap;
        snap.keep_signals(&score_account(&config, &facts, &w, as_of, None).health);
        let vocab = vec!["Report Built".to_string(), "Never Used".to_string()];
        let f = features(&snap, &vocab);
        assert!((f["events_28d:Report Built"] - 57f64.ln()).abs() < 1e-9);
        assert!((f["events_28d_per_user:Report Built"] - 15f64.ln()).abs() < 1e-9);
        assert_eq!(
            f["events_28d:Never Used"], 0.0,
            "an unused type counts zero"
        );
        assert!(
            !f.contains_key("events_28d:Comment Added"),
            "outside the vocabulary"
        );
        assert!((f["active_user_share_of_seats"] - 0.4).abs() < 1e-9);
        assert!(f.contains_key("signal:usage_depth"));
    }

    #[test]
    fn no_future_day_reaches_a_past_snapshot() {
        let config = ScoringConfig::default();
        let w = window_with(60, &[("Report Built", 3)], 2);
        let facts = AccountFacts::default();
        // The window runs to 1 March; a snapshot of 25 February counts nothing after it.
        let past = day("2026-02-25");
        let m = crate::measure(&config, &facts, &w, past);
        let snap = UsageSnapshot::of(&facts, &w, &m, config.lookback_days);
        assert_eq!(snap.events["Report Built"][0], 21.0);
        // The window keeps 28 days of counts before its last day: 2-25 February here.
        assert_eq!(snap.events["Report Built"][1], 72.0);
    }

    #[test]
    fn the_vocabulary_keeps_the_most_used_types() {
        let mut a = UsageSnapshot::default();
        a.events.insert("rare".into(), [0.0, 1.0, 2.0]);
        a.events.insert("common".into(), [5.0, 20.0, 60.0]);
        let mut b = UsageSnapshot::default();
        b.events.insert("middle".into(), [1.0, 5.0, 15.0]);
        assert_eq!(vocabulary([&a, &b], 2), vec!["common", "middle"]);
    }

    #[test]
    fn snapshots_store_compactly() {
        let w = window_with(90, &[("Report Built", 2), ("Dashboard Viewed", 7)], 3);
        let config = ScoringConfig::default();
        let facts = AccountFacts::default();
        let m = crate::measure(&config, &facts, &w, day("2026-03-31"));
        let snap = UsageSnapshot::of(&facts, &w, &m, 30);
        let json = serde_json::to_string(&snap).unwrap();
        assert!(json.len() < 160, "{json}");
        assert_eq!(serde_json::from_str::<UsageSnapshot>(&json).unwrap(), snap);
    }
}
