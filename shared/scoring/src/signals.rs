//! The health signals, each measured from the window and facts and normalised to 0-100: the
//! rules for what "good" looks like live here, one function per signal.

use crate::config::{ChampionRules, ContractRules, EngagementRules, ScoringConfig, SignalTargets};
use crate::facts::AccountFacts;
use crate::tally::{EngagementTally, UsageTally};
use crate::window::{day_number, SurveyKind, UsageWindow};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A health signal a scorecard can weigh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// How much the product is used: active days, sessions, session length, API calls and
    /// events per seat over the look-back.
    UsageDepth,
    /// Share of the key features used over the look-back.
    Breadth,
    /// Active users over the look-back per licensed seat.
    SeatAdoption,
    /// Recent usage against the account's own trailing average (or, while onboarding, the
    /// new-account benchmark): the same ratio the decline rule uses.
    Trend,
    /// Support tickets by severity, trainings and CSM check-ins.
    Engagement,
    /// NPS, CSAT and CES answers.
    Sentiment,
    /// Days to renewal, overdue invoices, tier.
    Contract,
    /// Days since a champion was last active.
    ChampionActivity,
}

/// How many signals there are; arrays indexed by [`Signal::index`] have this length.
pub const SIGNAL_COUNT: usize = 8;

impl Signal {
    pub const ALL: [Signal; SIGNAL_COUNT] = [
        Signal::UsageDepth,
        Signal::Breadth,
        Signal::SeatAdoption,
        Signal::Trend,
        Signal::Engagement,
        Signal::Sentiment,
        Signal::Contract,
        Signal::ChampionActivity,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    /// The name used in configuration and in [`crate::SignalScore::name`].
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::UsageDepth => "usage_depth",
            Signal::Breadth => "breadth",
            Signal::SeatAdoption => "seat_adoption",
            Signal::Trend => "trend",
            Signal::Engagement => "engagement",
            Signal::Sentiment => "sentiment",
            Signal::Contract => "contract",
            Signal::ChampionActivity => "champion_activity",
        }
    }

    /// The name in words, for explanations.
    pub fn label(self) -> &'static str {
        match self {
            Signal::UsageDepth => "usage depth",
            Signal::Breadth => "feature breadth",
            Signal::SeatAdoption => "seat adoption",
            Signal::Trend => "usage trend",
            Signal::Engagement => "engagement",
            Signal::Sentiment => "sentiment",
            Signal::Contract => "contract",
            Signal::ChampionActivity => "champion activity",
        }
    }

    pub fn from_name(name: &str) -> Option<Signal> {
        Signal::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// What the raw value of this signal is, in words, for explanations.
    pub fn raw_meaning(self) -> &'static str {
        match self {
            Signal::UsageDepth => "active days in the look-back",
            Signal::Breadth => "share of key features used",
            Signal::SeatAdoption => "active users per licensed seat",
            Signal::Trend => "recent usage index / trailing average",
            Signal::Engagement => "support tickets opened in the look-back",
            Signal::Sentiment => "mean survey answer on a 0-100 scale",
            Signal::Contract => "days to renewal",
            Signal::ChampionActivity => "days since a champion was last active",
        }
    }

    /// A raw value in this signal's unit, for sentences ("41%", "12 days").
    pub fn format_raw(self, raw: Option<f64>) -> String {
        let Some(v) = raw else {
            return "no data".to_string();
        };
        match self {
            Signal::Breadth | Signal::SeatAdoption | Signal::Trend => {
                format!("{:.0}%", v * 100.0)
            }
            Signal::UsageDepth => format!("{v:.0} active days"),
            Signal::Engagement => format!("{v:.0} tickets"),
            Signal::Sentiment => format!("{v:.0}/100"),
            Signal::Contract => format!("{v:.0} days to renewal"),
            Signal::ChampionActivity => format!("{v:.0} days"),
        }
    }
}

/// One signal's measurement before weighting. Present when `absolute` is set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    /// The headline measurement in its own unit (see [`Signal::raw_meaning`]).
    pub raw: Option<f64>,
    /// Normalised 0-100 against the configured targets.
    pub absolute: Option<f64>,
    /// An uncapped value ordered like `absolute`, used to rank peers without ties at 100.
    pub rank_key: Option<f64>,
}

impl Measured {
    pub const MISSING: Measured = Measured {
        raw: None,
        absolute: None,
        rank_key: None,
    };

    fn new(raw: Option<f64>, key: f64) -> Measured {
        Measured {
            raw,
            absolute: Some(clamp100(key)),
            rank_key: Some(key),
        }
    }

    pub fn is_present(&self) -> bool {
        self.absolute.is_some()
    }
}

fn clamp100(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(0.0, 100.0)
    }
}

/// `value / target` as 0-100 points, capped at 100 (target > 0 by validation).
fn attainment(value: f64, target: f64) -> f64 {
    if target > 0.0 {
        (value / target).min(1.0) * 100.0
    } else {
        0.0
    }
}

/// The seats usage is shared over: licensed seats, else the users active in the look-back.
pub fn seat_basis(facts: &AccountFacts, active_users: u32) -> f64 {
    f64::from(facts.seats().unwrap_or(active_users.max(1)))
}

/// Usage depth: a weighted mix of five attainments against their targets (share of days
/// active; sessions per seat per week; session minutes, API calls and events per seat per
/// day). Every part grows with usage, so more usage never lowers it. The raw value is the
/// number of active days in the look-back. `lookback` is the days the account could have
/// been active in it (fewer for an account that started within it). Missing when the account
/// never had activity.
pub fn usage_depth(
    t: &UsageTally,
    targets: &SignalTargets,
    seats: f64,
    lookback: u32,
    has_history: bool,
) -> Measured {
    if !has_history {
        return Measured::MISSING;
    }
    let days = f64::from(lookback.max(1));
    let per_seat = |n: u64| n as f64 / seats / days;
    let active_share = f64::from(t.active_days) / days;
    let sessions_week = per_seat(t.sessions) * 7.0;
    let minutes = per_seat(t.session_seconds) / 60.0;
    let parts = [
        (
            targets.usage_mix.active_days,
            active_share,
            targets.active_day_share,
        ),
        (
            targets.usage_mix.sessions,
            sessions_week,
            targets.sessions_per_seat_week,
        ),
        (
            targets.usage_mix.duration,
            minutes,
            targets.session_minutes_per_seat_day,
        ),
        (
            targets.usage_mix.api_calls,
            per_seat(t.api_calls),
            targets.api_calls_per_seat_day,
        ),
        (
            targets.usage_mix.events,
            per_seat(t.events),
            targets.events_per_seat_day,
        ),
    ];
    let (mut points, mut weight) = (0.0, 0.0);
    for (w, value, target) in parts {
        points += w * attainment(value, target);
        weight += w;
    }
    let value = if weight > 0.0 { points / weight } else { 0.0 };
    // Peers are ranked by how much each licensed seat uses the product (events, sessions and
    // API calls per seat a day, log-scaled and uncapped: beyond the targets every attainment
    // is 100), then by how regularly. Per seat, so a large account is not healthier for being
    // large, and more use (another user starting) never lowers it; per active user would rank
    // an account lower when a light user joins.
    let volume = (t.events + t.sessions + t.api_calls) as f64 / days / seats.max(1.0);
    Measured {
        raw: Some(f64::from(t.active_days)),
        absolute: Some(clamp100(value)),
        rank_key: Some(volume.ln_1p() + active_share),
    }
}

/// Breadth: share of the key features used in the look-back; with no key features configured,
/// distinct features used against `targets.distinct_features`.
pub fn breadth(
    config: &ScoringConfig,
    window: &UsageWindow,
    lookback: Period,
    has_history: bool,
) -> Measured {
    if !has_history {
        return Measured::MISSING;
    }
    let recent = |d: NaiveDate| lookback.contains(d);
    let share = if config.key_features.is_empty() {
        let used = window.features_last_used.count_in(&lookback);
        used as f64 / config.targets.distinct_features.max(1.0)
    } else {
        let used = config
            .key_features
            .iter()
            .filter(|f| {
                window
                    .features_last_used
                    .get(f.as_str())
                    .is_some_and(recent)
            })
            .count();
        used as f64 / config.key_features.len() as f64
    };
    let key = share / config.targets.feature_share.max(f64::MIN_POSITIVE) * 100.0;
    Measured::new(Some(share.min(1.0)), key)
}

/// Distinct users active in the look-back.
pub fn active_users(window: &UsageWindow, lookback: Period) -> u32 {
    let n = window.users_last_active.count_in(&lookback);
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Seat adoption: active users in the look-back per licensed seat. Missing without a seat
/// count or without any usage history.
pub fn seat_adoption(
    facts: &AccountFacts,
    active_users: u32,
    targets: &SignalTargets,
    has_history: bool,
) -> Measured {
    match facts.seats() {
        Some(seats) if has_history => {
            let share = f64::from(active_users) / f64::from(seats);
            Measured::new(Some(share), share / targets.seat_share * 100.0)
        }
        _ => Measured::MISSING,
    }
}

/// Usage trend: the decline ratio scaled so `targets.trend_ratio` (1.25 by default) earns
/// 100 and a steady account (ratio 1) earns 80. Missing when the ratio cannot be judged.
pub fn trend(ratio: Option<f64>, targets: &SignalTargets) -> Measured {
    match ratio {
        Some(r) => Measured::new(Some(r), r / targets.trend_ratio * 100.0),
        None => Measured::MISSING,
    }
}

/// Engagement: 50 points for a quiet account, up to 25 more for trainings and 25 for CSM
/// check-ins against their targets, less each ticket's severity cost (a resolved ticket costs
/// `resolved_discount` less). Missing until the account has any engagement record.
pub fn engagement(e: &EngagementTally, rules: &EngagementRules, seen: bool) -> Measured {
    if !seen {
        return Measured::MISSING;
    }
    let cost = &rules.severity_cost;
    let o = &e.tickets_opened;
    let r = &e.tickets_resolved;
    let per = |opened: u32, resolved: u32, c: f64| {
        let settled = f64::from(resolved.min(opened));
        c * (f64::from(opened) - rules.resolved_discount * settled)
    };
    let ticket_cost = per(o.low, r.low, cost.low)
        + per(o.normal, r.normal, cost.normal)
        + per(o.high, r.high, cost.high)
        + per(o.urgent, r.urgent, cost.urgent);
    let touch = 25.0 * (f64::from(e.trainings) / rules.trainings_target).min(1.0)
        + 25.0 * (f64::from(e.checkins) / rules.checkins_target).min(1.0);
    Measured::new(Some(f64::from(o.total())), 50.0 + touch - ticket_cost)
}

/// Sentiment: the mean of the survey answers within `days`, each on a 0-100 scale (NPS 0-10,
/// CSAT 1-5, CES 1-7). Missing without answers.
pub fn sentiment(window: &UsageWindow, as_of: NaiveDate, days: u32) -> Measured {
    if window.surveys.is_empty() {
        return Measured::MISSING;
    }
    let from = first_day(as_of, days);
    let (mut sum, mut n) = (0.0, 0u32);
    for s in window
        .surveys
        .iter()
        .filter(|s| s.day >= from && s.day <= as_of)
    {
        sum += s.kind.normalise(s.answer);
        n += 1;
    }
    if n == 0 {
        return Measured::MISSING;
    }
    let mean = sum / f64::from(n);
    Measured::new(Some(mean), mean)
}

/// Net Promoter Score (-100..100) of the NPS answers within `days`, for the account view.
pub fn net_promoter_score(window: &UsageWindow, as_of: NaiveDate, days: u32) -> Option<f64> {
    if window.surveys.is_empty() {
        return None;
    }
    let from = first_day(as_of, days);
    let (mut promoters, mut detractors, mut n) = (0u32, 0u32, 0u32);
    for s in window
        .surveys
        .iter()
        .filter(|s| s.kind == SurveyKind::Nps && s.day >= from && s.day <= as_of)
    {
        n += 1;
        if s.answer >= 9 {
            promoters += 1;
        } else if s.answer <= 6 {
            detractors += 1;
        }
    }
    (n > 0).then(|| (f64::from(promoters) - f64::from(detractors)) * 100.0 / f64::from(n))
}

/// Whether an invoice is overdue now: the billing flag when known, else more overdue than
/// paid invoice records in the window; `None` when nothing is known about invoices.
pub fn overdue_invoices(facts: &AccountFacts, e: &EngagementTally, known: bool) -> Option<u32> {
    match facts.invoice_overdue {
        Some(flag) => Some(u32::from(flag).max(e.invoices_overdue.saturating_sub(e.invoices_paid))),
        None if known => Some(e.invoices_overdue.saturating_sub(e.invoices_paid)),
        None => None,
    }
}

/// Contract: 100 less a penalty per overdue invoice, less a renewal penalty when the renewal
/// has lapsed or is near, plus the tier's configured points. Missing when neither renewal
/// date, invoices nor a configured tier is known.
pub fn contract(
    facts: &AccountFacts,
    rules: &ContractRules,
    days_to_renewal: Option<i64>,
    overdue: Option<u32>,
) -> Measured {
    let tier_points = facts.tier_or_plan().and_then(|t| {
        rules
            .tier_points
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(t))
            .map(|(_, p)| *p)
    });
    if days_to_renewal.is_none() && overdue.is_none() && tier_points.is_none() {
        return Measured::MISSING;
    }
    let mut value = 100.0 + tier_points.unwrap_or(0.0);
    value -= f64::from(overdue.unwrap_or(0)) * rules.overdue_invoice_penalty;
    match days_to_renewal {
        Some(d) if d < 0 => value -= rules.renewal_lapsed_penalty,
        Some(d) if d <= i64::from(rules.renewal_soon_days) => value -= rules.renewal_soon_penalty,
        _ => {}
    }
    Measured::new(days_to_renewal.map(|d| d as f64), value)
}

/// Days since any of the account's champions was last active on or before `as_of`; `None`
/// when none was active within the window.
pub fn days_since_champion(
    facts: &AccountFacts,
    window: &UsageWindow,
    as_of: NaiveDate,
) -> Option<i64> {
    facts
        .champions
        .iter()
        .filter_map(|c| window.users_last_active.get(c.as_str()))
        .filter(|d| *d <= as_of)
        .map(|d| (as_of - d).num_days())
        .min()
}

/// Champion activity: 100 when a champion was active within `full_within_days`, falling
/// linearly to 0 at `zero_after_days`; 0 when no champion was seen in the window. Missing when
/// the account names no champions.
pub fn champion_activity(
    facts: &AccountFacts,
    rules: &ChampionRules,
    days_since: Option<i64>,
) -> Measured {
    if facts.champions.is_empty() {
        return Measured::MISSING;
    }
    let Some(days) = days_since else {
        return Measured {
            raw: None,
            absolute: Some(0.0),
            rank_key: Some(-1.0),
        };
    };
    let full = f64::from(rules.full_within_days);
    let zero = f64::from(rules.zero_after_days);
    let d = days as f64;
    let value = if d <= full {
        100.0
    } else if d >= zero || zero <= full {
        0.0
    } else {
        100.0 * (zero - d) / (zero - full)
    };
    Measured {
        raw: Some(d),
        absolute: Some(value),
        // fewer days is better; keep ranks distinct beyond the flat ends
        rank_key: Some(value - d / 1000.0),
    }
}

/// Days from `from` to `to`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    from: NaiveDate,
    to: NaiveDate,
    /// `from` and `to` as [`day_number`]s, worked out once for the many accounts a period is
    /// used on.
    numbers: [u32; 2],
}

impl Period {
    /// Days from `from` to `to`, both included (none when `to` is before `from`).
    pub fn between(from: NaiveDate, to: NaiveDate) -> Period {
        Period {
            from,
            to,
            numbers: [from, to].map(day_number),
        }
    }

    /// The `n` days (at least one) ending on, and including, `as_of`.
    pub fn ending(as_of: NaiveDate, n: u32) -> Period {
        Period::between(first_day(as_of, n), as_of)
    }

    pub fn from(&self) -> NaiveDate {
        self.from
    }

    pub fn to(&self) -> NaiveDate {
        self.to
    }

    /// `from` and `to` as [`day_number`]s.
    pub fn numbers(&self) -> [u32; 2] {
        self.numbers
    }

    pub fn contains(&self, d: NaiveDate) -> bool {
        d >= self.from && d <= self.to
    }
}

/// The first day of an `n`-day look-back ending on (and including) `as_of`.
pub fn first_day(as_of: NaiveDate, n: u32) -> NaiveDate {
    as_of
        .checked_sub_days(chrono::Days::new(u64::from(n.max(1)) - 1))
        .unwrap_or(NaiveDate::MIN)
}

#[cfg(test)]
mod tests;
