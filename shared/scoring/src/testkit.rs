//! Builders shared by the unit tests: dates and windows described by daily active users.

use crate::window::{DayUsage, UsageWindow};
use chrono::{Days, NaiveDate};

pub fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub fn ago(as_of: NaiveDate, age: u64) -> NaiveDate {
    as_of - Days::new(age)
}

/// A window through `as_of` whose day at each age (days before `as_of`, 0 = `as_of`) in
/// `ages` had `dau(age)` active users (days with 0 are left out, as rolling does), with two
/// sessions of ten minutes, 5 API calls and 20 events per active user.
pub fn window_with(
    as_of: NaiveDate,
    ages: std::ops::Range<u64>,
    dau: impl Fn(u64) -> u32,
) -> UsageWindow {
    let days: crate::window::UsageDays = ages
        .rev()
        .filter(|a| dau(*a) > 0)
        .map(|a| {
            let u = dau(a);
            DayUsage {
                day: ago(as_of, a),
                active_users: u,
                sessions: 2 * u,
                session_seconds: 1200 * u,
                api_calls: 5 * u,
                events: 20 * u,
            }
        })
        .collect();
    UsageWindow {
        through: Some(as_of),
        first_active: days.first_date(),
        days,
        ..Default::default()
    }
}

/// Marks `users` active on `on`.
pub fn with_users(mut w: UsageWindow, users: &[&str], on: NaiveDate) -> UsageWindow {
    for u in users {
        w.users_last_active.insert((*u).to_string(), on);
    }
    w
}
