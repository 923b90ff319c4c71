//! Checks a scoring configuration and names every problem by its key path, so an admin can
//! fix the file (or the API request) without guessing.

use super::{Normalise, ScoringConfig, SignalTargets};
use crate::window::WINDOW_DAYS;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One problem in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigIssue {
    /// Where, e.g. `scoring.scorecards[1].weights.breadth`.
    pub key: String,
    pub problem: String,
}

impl std::fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.problem)
    }
}

#[derive(Default)]
struct Issues(Vec<ConfigIssue>);

impl Issues {
    fn add(&mut self, key: impl Into<String>, problem: impl Into<String>) {
        self.0.push(ConfigIssue {
            key: format!("scoring.{}", key.into()),
            problem: problem.into(),
        });
    }

    fn positive(&mut self, key: &str, v: f64) {
        if !(v.is_finite() && v > 0.0) {
            self.add(key, format!("must be a number above 0 (is {v})"));
        }
    }

    fn non_negative(&mut self, key: &str, v: f64) {
        if !(v.is_finite() && v >= 0.0) {
            self.add(key, format!("must be a number of 0 or more (is {v})"));
        }
    }

    /// `low` (at `low_key`) must not be above `high` (at `high_key`).
    fn not_above(&mut self, (low_key, low): (&str, f64), (high_key, high): (&str, f64)) {
        if low > high {
            self.add(
                low_key,
                format!("must not be above {high_key} ({low} > {high})"),
            );
        }
    }

    fn within(&mut self, key: &str, v: f64, lo: f64, hi: f64) {
        if !(v.is_finite() && v >= lo && v <= hi) {
            self.add(key, format!("must be between {lo} and {hi} (is {v})"));
        }
    }

    fn days(&mut self, key: &str, v: u32, lo: u32, hi: u32) {
        if v < lo || v > hi {
            self.add(key, format!("must be between {lo} and {hi} days (is {v})"));
        }
    }
}

impl ScoringConfig {
    /// Every problem found, or `Ok` when the configuration can be used as is.
    pub fn validate(&self) -> Result<(), Vec<ConfigIssue>> {
        let mut issues = Issues::default();
        self.check_bands(&mut issues);
        self.check_scorecards(&mut issues);
        self.check_windows(&mut issues);
        check_targets(&self.targets, &mut issues);
        self.check_rules(&mut issues);
        let mut seen = BTreeSet::new();
        for (i, f) in self.key_features.iter().enumerate() {
            if f.trim().is_empty() {
                issues.add(format!("key_features[{i}]"), "must not be empty");
            } else if !seen.insert(f.as_str()) {
                issues.add(
                    format!("key_features[{i}]"),
                    format!("{f:?} is listed twice"),
                );
            }
        }
        if self
            .first_value_event
            .as_deref()
            .is_some_and(|e| e.trim().is_empty())
        {
            issues.add("first_value_event", "must not be empty when set");
        }
        let max_types = crate::window::MAX_EVENT_TYPES;
        if self.max_event_types == 0 || self.max_event_types > max_types {
            issues.add(
                "max_event_types",
                format!("must be between 1 and {max_types} (the event types a window tracks)"),
            );
        }
        if let Some(learned) = &self.learned {
            let finite = learned.intercept.is_finite()
                && learned.centre.is_finite()
                && learned.points_per_logit.is_finite()
                && learned.groups.iter().all(|g| {
                    g.weight.is_finite()
                        && g.means.len() == g.features.len()
                        && g.stds.len() == g.features.len()
                });
            if !finite {
                issues.add(
                    "learned",
                    "is damaged (non-finite numbers or mismatched lists): run `vitals calibrate --apply` again",
                );
            }
        }
        if issues.0.is_empty() {
            Ok(())
        } else {
            Err(issues.0)
        }
    }

    fn check_bands(&self, issues: &mut Issues) {
        let b = &self.bands;
        issues.within("bands.at_risk_below", b.at_risk_below, 0.0, 100.0);
        issues.within("bands.healthy_above", b.healthy_above, 0.0, 100.0);
        issues.not_above(
            ("bands.at_risk_below", b.at_risk_below),
            ("bands.healthy_above", b.healthy_above),
        );
    }

    fn check_scorecards(&self, issues: &mut Issues) {
        if self.scorecards.is_empty() {
            issues.add("scorecards", "at least one scorecard is needed");
            return;
        }
        let mut names = BTreeSet::new();
        for (i, card) in self.scorecards.iter().enumerate() {
            let at = format!("scorecards[{i}]");
            if card.name.trim().is_empty() {
                issues.add(format!("{at}.name"), "must not be empty");
            } else if !names.insert(card.name.as_str()) {
                issues.add(
                    format!("{at}.name"),
                    format!("{:?} is used by an earlier scorecard", card.name),
                );
            }
            let mut total = 0.0;
            for (signal, w) in &card.weights {
                issues.non_negative(&format!("{at}.weights.{}", signal.as_str()), *w);
                if w.is_finite() && *w > 0.0 {
                    total += w;
                }
            }
            if total <= 0.0 {
                issues.add(
                    format!("{at}.weights"),
                    "at least one signal needs a weight above 0",
                );
            }
            for (k, values) in &card.when.attributes {
                if values.is_empty() {
                    issues.add(
                        format!("{at}.when.attributes.{k}"),
                        "lists no accepted values, so it can never match",
                    );
                }
            }
        }
        let last = self.scorecards.len() - 1;
        if !self.scorecards[last].when.is_catch_all() {
            issues.add(
                format!("scorecards[{last}].when"),
                "the last scorecard must match every account (leave `when` empty) so no account \
                 goes unscored",
            );
        }
        let peers = self
            .scorecards
            .iter()
            .any(|c| c.normalise == Normalise::PeerPercentile);
        if peers && self.peers.min_peers < 2 {
            issues.add("peers.min_peers", "must be at least 2 to rank accounts");
        }
    }

    fn check_windows(&self, issues: &mut Issues) {
        let max = WINDOW_DAYS as u32;
        issues.days("lookback_days", self.lookback_days, 1, max);
        let d = &self.decline;
        issues.days("decline.short_days", d.short_days, 1, max - 1);
        issues.days("decline.long_days", d.long_days, 1, max - 1);
        if d.short_days.saturating_add(d.long_days) > max {
            issues.add(
                "decline.long_days",
                format!(
                    "short_days + long_days must fit in the {max}-day window (is {})",
                    d.short_days.saturating_add(d.long_days)
                ),
            );
        }
        issues.days(
            "decline.min_baseline_days",
            d.min_baseline_days,
            1,
            d.long_days.max(1),
        );
        issues.within("decline.fire_below", d.fire_below, 0.0, 1.0);
        issues.within("decline.severe_below", d.severe_below, 0.0, 1.0);
        issues.not_above(
            ("decline.severe_below", d.severe_below),
            ("decline.fire_below", d.fire_below),
        );
        let o = &self.onboarding;
        issues.days("onboarding.days", o.days, 1, 365);
        issues.days(
            "onboarding.min_days_judged",
            o.min_days_judged,
            1,
            o.days.max(1),
        );
        issues.positive("onboarding.active_seat_share", o.active_seat_share);
        issues.positive("onboarding.daily_active_users", o.daily_active_users);
        issues.days("engagement.days", self.engagement.days, 1, max);
        issues.days("sentiment_days", self.sentiment_days, 1, 365);
    }

    fn check_rules(&self, issues: &mut Issues) {
        let e = &self.engagement;
        for (k, v) in [
            ("low", e.severity_cost.low),
            ("normal", e.severity_cost.normal),
            ("high", e.severity_cost.high),
            ("urgent", e.severity_cost.urgent),
        ] {
            issues.non_negative(&format!("engagement.severity_cost.{k}"), v);
        }
        issues.within(
            "engagement.resolved_discount",
            e.resolved_discount,
            0.0,
            1.0,
        );
        issues.positive("engagement.trainings_target", e.trainings_target);
        issues.positive("engagement.checkins_target", e.checkins_target);
        let c = &self.contract;
        issues.non_negative(
            "contract.overdue_invoice_penalty",
            c.overdue_invoice_penalty,
        );
        issues.non_negative("contract.renewal_lapsed_penalty", c.renewal_lapsed_penalty);
        issues.non_negative("contract.renewal_soon_penalty", c.renewal_soon_penalty);
        for (tier, p) in &c.tier_points {
            issues.within(&format!("contract.tier_points.{tier}"), *p, -100.0, 100.0);
        }
        if self.champion.zero_after_days <= self.champion.full_within_days {
            issues.add(
                "champion.zero_after_days",
                "must be more than champion.full_within_days",
            );
        }
        let r = &self.renewal;
        if r.horizon_days <= r.near_days {
            issues.add(
                "renewal.horizon_days",
                "must be more than renewal.near_days",
            );
        }
        issues.within("renewal.far_factor", r.far_factor, 0.0, 1.0);
        issues.non_negative("renewal.points_per_score_drop", r.points_per_score_drop);
        issues.within(
            "renewal.moderate_decline_points",
            r.moderate_decline_points,
            0.0,
            100.0,
        );
        issues.within(
            "renewal.severe_decline_points",
            r.severe_decline_points,
            0.0,
            100.0,
        );
        issues.within("renewal.medium_from", r.medium_from, 0.0, 100.0);
        issues.within("renewal.high_from", r.high_from, 0.0, 100.0);
        if r.medium_from > r.high_from {
            issues.add("renewal.medium_from", "must not be above renewal.high_from");
        }
        let x = &self.expansion;
        issues.within("expansion.min_score", x.min_score, 0.0, 100.0);
        issues.positive("expansion.rising_usage_ratio", x.rising_usage_ratio);
        issues.within("expansion.seat_share", x.seat_share, 0.0, 10.0);
    }
}

fn check_targets(t: &SignalTargets, issues: &mut Issues) {
    for (k, v) in [
        ("active_day_share", t.active_day_share),
        ("sessions_per_seat_week", t.sessions_per_seat_week),
        (
            "session_minutes_per_seat_day",
            t.session_minutes_per_seat_day,
        ),
        ("api_calls_per_seat_day", t.api_calls_per_seat_day),
        ("events_per_seat_day", t.events_per_seat_day),
        ("feature_share", t.feature_share),
        ("distinct_features", t.distinct_features),
        ("seat_share", t.seat_share),
        ("trend_ratio", t.trend_ratio),
    ] {
        issues.positive(&format!("targets.{k}"), v);
    }
    let m = &t.usage_mix;
    let parts = [
        ("active_days", m.active_days),
        ("sessions", m.sessions),
        ("duration", m.duration),
        ("api_calls", m.api_calls),
        ("events", m.events),
    ];
    for (k, v) in parts {
        issues.non_negative(&format!("targets.usage_mix.{k}"), v);
    }
    if parts.iter().map(|(_, v)| v.max(0.0)).sum::<f64>() <= 0.0 {
        issues.add(
            "targets.usage_mix",
            "at least one part needs a weight above 0",
        );
    }
}
