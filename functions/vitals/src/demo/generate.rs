//! A realistic, reproducible demo portfolio: accounts of three tiers, owned by a handful of
//! CSMs, whose users use the product with weekly rhythm and noise. Some accounts are steady,
//! some decline (a latent drop in usage that precedes churn), some expand toward their seat
//! limit, some are new, and a few go dormant. Everything is drawn from one seeded RNG.
//!
//! Churn is not only the end of a decline. As in real B2B SaaS (and in the simulation of
//! *Fighting Churn With Data*), each account has its own level of use of each feature, drawn
//! once and stable over its life (correlated: a team that builds reports also shares them), and
//! it may cancel at any monthly billing anniversary with a probability that falls as the value
//! it gets from those levels rises. Such an account churns with no drop in its usage before, so
//! a score that only watches trends cannot see it coming; one that compares how much an account
//! uses each feature with how much its peers do can.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

pub const FEATURES: &[&str] = &[
    "Report Built",
    "Dashboard Viewed",
    "Export Created",
    "Integration Connected",
    "Alert Configured",
    "Comment Added",
    "Invite Sent",
    "Workflow Automated",
];

const CSMS: &[(&str, &str)] = &[
    ("dana.lee@vendor.example", "morgan.chu@vendor.example"),
    ("sam.patel@vendor.example", "morgan.chu@vendor.example"),
    ("alex.kim@vendor.example", "morgan.chu@vendor.example"),
    ("jo.garcia@vendor.example", "riley.ng@vendor.example"),
    ("chris.obi@vendor.example", "riley.ng@vendor.example"),
    ("pat.novak@vendor.example", "riley.ng@vendor.example"),
];
const REGIONS: &[&str] = &["NA", "EMEA", "APAC", "LATAM"];
const NAME_A: &[&str] = &[
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Wonka",
    "Aperture",
    "Pied Piper",
    "Dunder",
    "Massive",
    "Oscorp",
    "Nakatomi",
    "Gringotts",
    "Monarch",
];
const NAME_B: &[&str] = &[
    "Labs",
    "Systems",
    "Logistics",
    "Health",
    "Foods",
    "Capital",
    "Media",
    "Robotics",
    "Energy",
    "Retail",
    "Studios",
    "Analytics",
];
const FIRST: &[&str] = &[
    "Ana", "Ben", "Chen", "Dee", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea", "Max",
    "Nia", "Oli", "Pia", "Raj", "Sol", "Tia", "Uma",
];
const LAST: &[&str] = &[
    "Ito", "Berg", "Cruz", "Diaz", "Eze", "Falk", "Gold", "Hart", "Ibsen", "Jha", "Koch", "Lund",
];

/// How an account's usage evolves over the generated period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Archetype {
    Steady,
    /// Usage falls from `start` on, to `floor` of its level over three weeks; a deep drop
    /// (floor under 25 %) ends in churn some weeks later (see [`DemoAccount::churned`]).
    Declining {
        start: NaiveDate,
        floor_pct: u32,
    },
    /// Active users grow toward the seat limit.
    Expanding,
    /// Contract began within the last weeks.
    New {
        started: NaiveDate,
    },
    /// Barely used throughout.
    Dormant,
}

#[derive(Debug, Clone)]
pub struct DemoUser {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub champion: bool,
    /// Chance to be active on a weekday.
    pub activity: f64,
    pub favourite: usize,
}

#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub id: String,
    pub name: String,
    pub tier: &'static str,
    pub seats: u32,
    pub mrr: f64,
    pub renewal: NaiveDate,
    pub started: NaiveDate,
    pub owner: &'static str,
    pub manager: &'static str,
    pub region: &'static str,
    pub archetype: Archetype,
    pub users: Vec<DemoUser>,
    pub api_heavy: bool,
    /// How much this account uses each of [`FEATURES`] (1 is a typical account), for its
    /// whole life.
    pub feature_levels: Vec<f64>,
    /// The day the account churned (an `Account Churned` event; no usage afterwards), when
    /// that falls within the generated period, and why.
    pub churned: Option<NaiveDate>,
    pub churn_cause: Option<ChurnCause>,
}

/// Why a demo account churned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChurnCause {
    /// The end of a deep decline in usage.
    Decline,
    /// Cancelled at a monthly billing anniversary, drawn from its stable usage levels.
    LowValue,
}

impl ChurnCause {
    fn reason(self) -> &'static str {
        match self {
            ChurnCause::Decline => "low usage",
            ChurnCause::LowValue => "not enough value",
        }
    }
}

/// Floor below which a declining account churns.
const CHURN_FLOOR_PCT: u32 = 25;

/// What a typical month of each of [`FEATURES`] is worth to an account, in the order of
/// `FEATURES`: building and automating matter more than viewing or exporting.
const FEATURE_VALUE: [f64; 8] = [1.0, 0.6, 0.3, 0.8, 0.4, 0.7, 0.2, 0.8];
/// Spread of feature levels between accounts (lognormal sigma), and how much of it is the
/// account's overall engagement rather than the feature's own.
const LEVEL_SIGMA: f64 = 0.8;
const ENGAGEMENT_SHARE: f64 = 0.6;
/// Monthly cancellation: `BASE_CANCEL * exp(-VALUE_SLOPE * value)`, at most `MAX_CANCEL`,
/// where value is the account's value-weighted mean log feature level plus its hidden
/// satisfaction (normal, `SATISFACTION_SIGMA`).
const BASE_CANCEL: f64 = 0.012;
const VALUE_SLOPE: f64 = 2.5;
const MAX_CANCEL: f64 = 0.5;
const SATISFACTION_SIGMA: f64 = 0.35;

/// The generated portfolio and the period it covers.
pub struct Portfolio {
    pub accounts: Vec<DemoAccount>,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    rng: StdRng,
}

impl Portfolio {
    pub fn generate(accounts: u32, days: u32, last_day: NaiveDate, seed: u64) -> Portfolio {
        let mut rng = StdRng::seed_from_u64(seed);
        let first_day = last_day - Duration::days(i64::from(days.max(1)) - 1);
        let accounts = (0..accounts)
            .map(|i| make_account(&mut rng, i, first_day, last_day))
            .collect();
        Portfolio {
            accounts,
            first_day,
            last_day,
            rng,
        }
    }

    /// Segment messages of the setup: a `group` per account and an `identify` + `group` per
    /// user, timestamped on the account's start day.
    pub fn setup_messages(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for a in &self.accounts {
            let at = at_time(a.started.max(self.first_day), 8, 0);
            out.push(json!({
                "type": "group", "messageId": format!("demo-group-{}", a.id), "userId": a.users[0].id,
                "groupId": a.id, "timestamp": at,
                "traits": {"name": a.name, "plan": a.tier, "tier": a.tier, "seats": a.seats, "mrr": a.mrr,
                    "renewal_date": a.renewal.to_string(), "owner": a.owner, "owner_manager": a.manager,
                    "region": a.region, "product_line": "Analytics", "contract_start": a.started.to_string()}
            }));
            for u in &a.users {
                out.push(json!({"type": "identify", "messageId": format!("demo-identify-{}", u.id), "userId": u.id,
                    "timestamp": at, "traits": {"name": u.name, "email": u.email, "role": u.role, "champion": u.champion}}));
                out.push(json!({"type": "group", "messageId": format!("demo-link-{}", u.id), "userId": u.id,
                    "groupId": a.id, "timestamp": at}));
            }
        }
        out
    }

    /// The usage events of one day, for every account.
    pub fn day_messages(&mut self, day: NaiveDate) -> Vec<Value> {
        let mut out = Vec::new();
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        let total = (self.last_day - self.first_day).num_days().max(1) as f64;
        let progress = (day - self.first_day).num_days() as f64 / total;
        for a in &self.accounts {
            out.extend(outcome_messages(a, day));
            let level = usage_level(a, day, progress);
            if level <= 0.0 {
                continue;
            }
            for (ui, u) in a.users.iter().enumerate() {
                // Expanding accounts bring users in over time; the rest of the seats stay idle.
                if a.archetype == Archetype::Expanding
                    && (ui as f64) > (a.users.len() as f64) * (0.5 + 0.5 * progress)
                {
                    continue;
                }
                // Heavier-using accounts also have their users in more often.
                let daily = (u.activity * a.intensity().sqrt()).min(0.98);
                let p = daily * level * if weekend { 0.15 } else { 1.0 };
                if self.rng.random::<f64>() >= p {
                    continue;
                }
                let hour = self.rng.random_range(7..19);
                let minute = self.rng.random_range(0..60);
                let session_secs = self.rng.random_range(120..3600);
                let n = format!("{}-{}-{}", u.id, day, ui);
                out.push(json!({"type": "track", "messageId": format!("{n}-s"), "userId": u.id, "event": "Session Started",
                    "timestamp": at_time(day, hour, minute), "context": {"groupId": a.id},
                    "properties": {"duration_seconds": session_secs}}));
                let actions = session_actions(&mut self.rng, a.intensity());
                for k in 0..actions {
                    let feature = pick_feature(&mut self.rng, &a.feature_levels, u.favourite);
                    out.push(json!({"type": "track", "messageId": format!("{n}-{k}"), "userId": u.id, "event": FEATURES[feature],
                        "timestamp": at_time(day, hour, (minute + k + 1).min(59)), "context": {"groupId": a.id},
                        "properties": {"source": "web"}}));
                }
                if a.api_heavy && ui == 0 {
                    for k in 0..self.rng.random_range(1..4) {
                        out.push(json!({"type": "track", "messageId": format!("{n}-api{k}"), "userId": u.id, "event": "API Call",
                            "timestamp": at_time(day, hour, minute), "context": {"groupId": a.id}, "properties": {"endpoint": "/v2/reports"}}));
                    }
                }
            }
            if self.rng.random::<f64>() < 0.01 * (2.0 - level) {
                let severity = ["low", "normal", "high", "urgent"][self.rng.random_range(0..4)];
                out.push(json!({"type": "track", "messageId": format!("{}-{day}-ticket", a.id), "userId": a.users[0].id,
                    "event": "Ticket Opened", "timestamp": at_time(day, 10, 0), "context": {"groupId": a.id},
                    "properties": {"severity": severity}}));
            }
        }
        out
    }
}

/// Outcome events of one account on one day: its churn, or its yearly renewal (the one before
/// the upcoming renewal date) when that falls in the period and it has not churned.
fn outcome_messages(a: &DemoAccount, day: NaiveDate) -> Vec<Value> {
    let user = &a.users[0].id;
    let mut out = Vec::new();
    if a.churned == Some(day) {
        let reason = a.churn_cause.map_or("low usage", ChurnCause::reason);
        out.push(json!({"type": "track", "messageId": format!("{}-churned", a.id), "userId": user,
            "event": "Account Churned", "timestamp": at_time(day, 9, 0), "context": {"groupId": a.id},
            "properties": {"reason": reason}}));
    }
    if a.churned.is_none() && a.renewal - Duration::days(365) == day {
        out.push(json!({"type": "track", "messageId": format!("{}-renewed-{day}", a.id), "userId": user,
            "event": "Account Renewed", "timestamp": at_time(day, 9, 0), "context": {"groupId": a.id},
            "properties": {"mrr": a.mrr}}));
    }
    out
}

fn usage_level(a: &DemoAccount, day: NaiveDate, progress: f64) -> f64 {
    if a.churned.is_some_and(|c| day > c) {
        return 0.0;
    }
    match a.archetype {
        Archetype::Steady => 1.0,
        Archetype::Expanding => 0.9 + 0.3 * progress,
        Archetype::Dormant => 0.08,
        Archetype::New { started } => {
            if day < started {
                0.0
            } else {
                (0.4 + (day - started).num_days() as f64 / 30.0).min(1.0)
            }
        }
        Archetype::Declining { start, floor_pct } => {
            if day < start {
                1.0
            } else {
                let floor = f64::from(floor_pct) / 100.0;
                let t = ((day - start).num_days() as f64 / 21.0).min(1.0);
                1.0 - (1.0 - floor) * t
            }
        }
    }
}

fn make_account(
    rng: &mut StdRng,
    i: u32,
    first_day: NaiveDate,
    last_day: NaiveDate,
) -> DemoAccount {
    let (tier, seats, per_seat) = match rng.random_range(0..100) {
        0..=14 => ("Enterprise", rng.random_range(60..200), 95.0),
        15..=49 => ("Growth", rng.random_range(15..60), 55.0),
        _ => ("Starter", rng.random_range(3..15), 30.0),
    };
    let span = (last_day - first_day).num_days().max(30);
    let archetype = match rng.random_range(0..100) {
        0..=54 => Archetype::Steady,
        55..=71 => Archetype::Declining {
            // Anywhere in the period but its first weeks, so some have churned by its end.
            start: last_day - Duration::days(rng.random_range(10..(span - 20).max(11))),
            floor_pct: rng.random_range(5..45),
        },
        72..=83 => Archetype::Expanding,
        84..=93 => Archetype::New {
            started: last_day - Duration::days(rng.random_range(5..45)),
        },
        _ => Archetype::Dormant,
    };
    let started = match archetype {
        Archetype::New { started } => started,
        _ => first_day - Duration::days(rng.random_range(30..900)),
    };
    let (owner, manager) = CSMS[rng.random_range(0..CSMS.len())];
    let adoption = match archetype {
        Archetype::Expanding => 0.95,
        Archetype::Dormant => 0.3,
        _ => rng.random_range(0.45..0.9),
    };
    let user_count = ((f64::from(seats) * adoption).round() as usize).clamp(1, 60);
    let id = format!("acct-{:04}", i + 1);
    let users = (0..user_count)
        .map(|u| {
            let first = FIRST[rng.random_range(0..FIRST.len())];
            let last = LAST[rng.random_range(0..LAST.len())];
            DemoUser {
                id: format!("{id}-u{:03}", u + 1),
                name: format!("{first} {last}"),
                email: format!(
                    "{}.{}{}@{}.example",
                    first.to_lowercase(),
                    last.to_lowercase(),
                    u + 1,
                    id
                ),
                role: if u == 0 {
                    "Admin"
                } else if u < 3 {
                    "Manager"
                } else {
                    "Analyst"
                },
                champion: u == 0,
                activity: rng.random_range(0.35..0.95),
                favourite: rng.random_range(0..FEATURES.len()),
            }
        })
        .collect();
    let decline_churn = match archetype {
        Archetype::Declining { start, floor_pct } if floor_pct < CHURN_FLOOR_PCT => {
            Some(start + Duration::days(rng.random_range(21..56))).filter(|&c| c <= last_day)
        }
        _ => None,
    };
    let feature_levels = feature_levels(rng);
    let value = account_value(&feature_levels) + SATISFACTION_SIGMA * gaussian(rng);
    let value_churn = cancellation(rng, value, started, first_day, last_day);
    let (churned, churn_cause) = match (decline_churn, value_churn) {
        (Some(d), Some(v)) if v < d => (Some(v), Some(ChurnCause::LowValue)),
        (Some(d), _) => (Some(d), Some(ChurnCause::Decline)),
        (None, Some(v)) => (Some(v), Some(ChurnCause::LowValue)),
        (None, None) => (None, None),
    };
    DemoAccount {
        churned,
        churn_cause,
        feature_levels,
        name: format!(
            "{} {}",
            NAME_A[rng.random_range(0..NAME_A.len())],
            NAME_B[rng.random_range(0..NAME_B.len())]
        ),
        id,
        tier,
        seats,
        mrr: (f64::from(seats) * per_seat).round(),
        renewal: last_day + Duration::days(rng.random_range(5..365)),
        started,
        owner,
        manager,
        region: REGIONS[rng.random_range(0..REGIONS.len())],
        archetype,
        users,
        api_heavy: rng.random_bool(0.3),
    }
}

impl DemoAccount {
    /// Overall use compared with a typical account: the mean of its feature levels.
    pub fn intensity(&self) -> f64 {
        self.feature_levels.iter().sum::<f64>() / self.feature_levels.len().max(1) as f64
    }
}

/// A standard normal draw (Box-Muller).
fn gaussian(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// An account's level of use of each feature: lognormal with mean 1, correlated through the
/// account's overall engagement.
fn feature_levels(rng: &mut StdRng) -> Vec<f64> {
    let engagement = gaussian(rng);
    let own = (1.0 - ENGAGEMENT_SHARE * ENGAGEMENT_SHARE).sqrt();
    (0..FEATURES.len())
        .map(|_| {
            let z = ENGAGEMENT_SHARE * engagement + own * gaussian(rng);
            (LEVEL_SIGMA * z - LEVEL_SIGMA * LEVEL_SIGMA / 2.0).exp()
        })
        .collect()
}

/// What the account gets from the product: the value-weighted mean of its log feature levels
/// (0 for a typical account).
fn account_value(levels: &[f64]) -> f64 {
    let total: f64 = FEATURE_VALUE.iter().sum();
    levels
        .iter()
        .zip(FEATURE_VALUE)
        .map(|(level, value)| value * (level.ln() + LEVEL_SIGMA * LEVEL_SIGMA / 2.0))
        .sum::<f64>()
        / total
}

/// The first monthly billing anniversary within the period at which the account cancels, if
/// any: each is a draw with the account's monthly cancellation probability.
fn cancellation(
    rng: &mut StdRng,
    value: f64,
    started: NaiveDate,
    first_day: NaiveDate,
    last_day: NaiveDate,
) -> Option<NaiveDate> {
    let p = (BASE_CANCEL * (-VALUE_SLOPE * value).exp()).min(MAX_CANCEL);
    (1..)
        .map_while(|months| started.checked_add_months(chrono::Months::new(months)))
        .skip_while(|&day| day < first_day)
        .take_while(|&day| day <= last_day)
        .find(|_| rng.random::<f64>() < p)
}

/// Feature actions in one session: about 2.5 for a typical account, more for heavy users.
fn session_actions(rng: &mut StdRng, intensity: f64) -> u32 {
    let mean = 2.5 * intensity.clamp(0.2, 4.0);
    (mean * rng.random_range(0.4..1.6)).round().max(1.0) as u32
}

/// A feature for one action: weighted by the account's levels, the user's favourite three
/// times as likely.
fn pick_feature(rng: &mut StdRng, levels: &[f64], favourite: usize) -> usize {
    let weight = |f: usize| levels[f] * if f == favourite { 3.0 } else { 1.0 };
    let total: f64 = (0..levels.len()).map(weight).sum();
    let mut x = rng.random::<f64>() * total;
    for f in 0..levels.len() {
        x -= weight(f);
        if x < 0.0 {
            return f;
        }
    }
    levels.len() - 1
}

fn at_time(day: NaiveDate, hour: u32, minute: u32) -> String {
    let time = NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or(NaiveTime::MIN);
    Utc.from_utc_datetime(&day.and_time(time))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_portfolio() {
        let day: NaiveDate = "2026-06-30".parse().unwrap();
        let mut a = Portfolio::generate(20, 30, day, 7);
        let mut b = Portfolio::generate(20, 30, day, 7);
        assert_eq!(a.setup_messages(), b.setup_messages());
        assert_eq!(a.day_messages(day), b.day_messages(day));
    }

    #[test]
    fn portfolio_has_every_archetype() {
        let p = Portfolio::generate(300, 180, "2026-06-30".parse().unwrap(), 42);
        let has = |f: fn(&Archetype) -> bool| p.accounts.iter().any(|a| f(&a.archetype));
        assert!(has(|a| matches!(a, Archetype::Declining { .. })));
        assert!(has(|a| matches!(a, Archetype::Expanding)));
        assert!(has(|a| matches!(a, Archetype::New { .. })));
        assert!(has(|a| matches!(a, Archetype::Dormant)));
    }

    #[test]
    fn deep_declines_churn_weeks_after_the_drop_and_go_quiet() {
        let last: NaiveDate = "2026-06-30".parse().unwrap();
        let mut p = Portfolio::generate(300, 180, last, 42);
        let churned: Vec<DemoAccount> = p
            .accounts
            .iter()
            .filter(|a| a.churn_cause == Some(ChurnCause::Decline))
            .cloned()
            .collect();
        assert!(churned.len() >= 5, "{}", churned.len());
        for a in &churned {
            let Archetype::Declining { start, floor_pct } = a.archetype else {
                panic!("only declining accounts churn from a decline");
            };
            let c = a.churned.unwrap();
            assert!(floor_pct < CHURN_FLOOR_PCT && c >= start + Duration::days(21) && c <= last);
        }
        let a = &churned[0];
        let c = a.churned.unwrap();
        let on = |m: &Vec<Value>, event: &str| {
            m.iter()
                .any(|v| v["context"]["groupId"] == a.id.as_str() && v["event"] == event)
        };
        assert!(on(&p.day_messages(c), "Account Churned"));
        let after = p.day_messages(c + Duration::days(1));
        assert!(!after
            .iter()
            .any(|v| v["context"]["groupId"] == a.id.as_str()));
        let renewals = (0..180)
            .flat_map(|d| {
                let day = last - Duration::days(d);
                p.accounts
                    .iter()
                    .flat_map(move |a| outcome_messages(a, day))
            })
            .filter(|v| v["event"] == "Account Renewed")
            .count();
        assert!(renewals > 0);
    }

    /// Accounts that use the product little compared with their peers churn at a billing
    /// anniversary, with no decline before: a trend-only score cannot see them coming.
    #[test]
    fn low_usage_levels_churn_at_a_billing_anniversary_without_a_decline() {
        let last: NaiveDate = "2026-06-30".parse().unwrap();
        let days = 120;
        let mut p = Portfolio::generate(150, days, last, 42);
        let first = p.first_day;
        let mut events: std::collections::HashMap<(String, NaiveDate), u32> = Default::default();
        for d in 0..i64::from(days) {
            let day = first + Duration::days(d);
            for m in p.day_messages(day) {
                if let Some(account) = m["context"]["groupId"].as_str() {
                    *events.entry((account.to_string(), day)).or_default() += 1;
                }
            }
        }
        let usage = |a: &DemoAccount, from: NaiveDate, days: i64| -> u32 {
            (0..days)
                .map(|d| events.get(&(a.id.clone(), from + Duration::days(d))))
                .map(|n| n.copied().unwrap_or(0))
                .sum()
        };

        let (low_value, others): (Vec<&DemoAccount>, Vec<&DemoAccount>) = p
            .accounts
            .iter()
            .filter(|a| a.churn_cause != Some(ChurnCause::Decline))
            .partition(|a| a.churn_cause == Some(ChurnCause::LowValue));
        assert!(
            low_value.len() >= 10,
            "{} low-value churns",
            low_value.len()
        );
        for a in &low_value {
            let c = a.churned.unwrap();
            let anniversary = (1..)
                .map_while(|m| a.started.checked_add_months(chrono::Months::new(m)))
                .take_while(|&d| d <= c)
                .any(|d| d == c);
            assert!(anniversary, "{} churned on {c}, off its anniversary", a.id);
        }
        // They use the product less than the accounts that stay...
        let mean = |list: &[&DemoAccount]| {
            list.iter()
                .map(|a| account_value(&a.feature_levels))
                .sum::<f64>()
                / list.len() as f64
        };
        let stayed: Vec<&DemoAccount> = others
            .iter()
            .copied()
            .filter(|a| a.churned.is_none())
            .collect();
        eprintln!(
            "{} low-value churns, value {:.2} vs {:.2} for those who stayed",
            low_value.len(),
            mean(&low_value),
            mean(&stayed)
        );
        assert!(mean(&low_value) < mean(&stayed) - 0.2);
        // ...but no less than they used to: their last 28 days match the 28 before.
        let (mut recent, mut before) = (0u32, 0u32);
        for a in low_value.iter().filter(|a| {
            a.archetype == Archetype::Steady && a.churned.unwrap() >= first + Duration::days(56)
        }) {
            let c = a.churned.unwrap();
            recent += usage(a, c - Duration::days(28), 28);
            before += usage(a, c - Duration::days(56), 28);
        }
        let ratio = f64::from(recent) / f64::from(before.max(1));
        eprintln!("usage in the 28 days before a low-value churn / the 28 before: {ratio:.2}");
        assert!(
            (0.8..1.25).contains(&ratio),
            "recent/before usage {ratio:.2}"
        );
    }
}
