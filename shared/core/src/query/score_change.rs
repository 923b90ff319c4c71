//! How an account's score moved over a week and a month, and why: the score now against the
//! day-scored record closest to N days earlier, with the signals that moved most
//! ("score fell 18: seat adoption 41% → 22%"). Compares stored history records, whose signals
//! carry their raw values, so the drivers are what actually changed.

use chrono::NaiveDate;
use vitals_scoring::ScoreChange;

use crate::history::HistoryDay;

/// The periods the account page compares over: a week and a month.
pub const CHANGE_PERIODS: [u32; 2] = [7, 30];

/// The change over `days` up to the newest record, and the day compared with.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeOver {
    pub days: u32,
    /// The earlier record's day (the newest at least `days` before the latest).
    pub since: NaiveDate,
    pub change: ScoreChange,
}

/// The change over `days`: `history` holds the account's records (any order); `None` when
/// none is at least `days` older than the newest.
pub fn change_over(history: &[HistoryDay], days: u32) -> Option<ChangeOver> {
    let latest = history.iter().max_by_key(|r| r.as_of)?;
    let cutoff = latest.as_of - chrono::Days::new(u64::from(days));
    let earlier = history
        .iter()
        .filter(|r| r.as_of <= cutoff)
        .max_by_key(|r| r.as_of)?;
    Some(ChangeOver {
        days,
        since: earlier.as_of,
        change: latest.change_since(earlier),
    })
}
