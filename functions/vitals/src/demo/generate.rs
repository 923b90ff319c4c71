//! A realistic, reproducible demo portfolio: accounts of three tiers, owned by a handful of
//! CSMs, whose users use the product with weekly rhythm and noise. Some accounts are steady,
//! some decline (a latent drop in usage that precedes churn), some expand toward their seat
//! limit, some are new, and a few go dormant. Everything is drawn from one seeded RNG.

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
    /// The day the account churned (an `Account Churned` event; no usage afterwards), when
    /// that falls within the generated period.
    pub churned: Option<NaiveDate>,
}

/// Floor below which a declining account churns.
const CHURN_FLOOR_PCT: u32 = 25;

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
                let p = u.activity * level * if weekend { 0.15 } else { 1.0 };
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
                let actions = self.rng.random_range(1..5);
                for k in 0..actions {
                    let feature = if self.rng.random::<f64>() < 0.6 {
                        u.favourite
                    } else {
                        self.rng.random_range(0..FEATURES.len())
                    };
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
        out.push(json!({"type": "track", "messageId": format!("{}-churned", a.id), "userId": user,
            "event": "Account Churned", "timestamp": at_time(day, 9, 0), "context": {"groupId": a.id},
            "properties": {"reason": "low usage"}}));
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
    let churned = match archetype {
        Archetype::Declining { start, floor_pct } if floor_pct < CHURN_FLOOR_PCT => {
            Some(start + Duration::days(rng.random_range(21..56))).filter(|&c| c <= last_day)
        }
        _ => None,
    };
    DemoAccount {
        churned,
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
            .filter(|a| a.churned.is_some())
            .cloned()
            .collect();
        assert!(churned.len() >= 5, "{}", churned.len());
        for a in &churned {
            let Archetype::Declining { start, floor_pct } = a.archetype else {
                panic!("only declining accounts churn");
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
}
