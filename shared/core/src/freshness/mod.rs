//! Fresh within minutes: between daily runs, accounts that received events get a provisional
//! "today so far" score every `[freshness] interval_minutes` (the refresh is
//! `run::ProvisionalRefresh`). This module holds what ingest keeps for it: which accounts were
//! touched, by refresh interval.
//!
//! Why a touched set: the refresh must read only the accounts that changed, never scan the
//! portfolio. Ingest already knows them, so after storing a request's chunks it stores one
//! small [`TouchMark`] naming the accounts with events of the current UTC day (one write per
//! request, never one per account), keyed by a digest of its interval and accounts, so a
//! retried request rewrites the same mark. A [`TouchRecorder`] kept by the process remembers
//! whom it marked in the current interval and leaves them out of later marks: a process writes
//! at most one mark per account per interval (a chatty client costs nothing more), and a mark
//! it failed to store is not remembered, so the next request retries it.

mod recorder;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::FreshnessConfig;
use crate::model::AccountId;

pub use recorder::TouchRecorder;

/// How many intervals back a refresh reads touch marks: the current one and the two before it
/// (on the same UTC day), so a refresh that runs a little late still sees every mark once.
const INTERVALS_READ: usize = 3;

/// The refresh interval: also the unit in which touches are recorded. Intervals are counted
/// from UTC midnight, so none spans two days (the day's last may be shorter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshInterval {
    minutes: u32,
}

impl RefreshInterval {
    /// The configured interval; `None` when provisional scores are off.
    pub fn of(config: &FreshnessConfig) -> Option<Self> {
        config.is_on().then_some(RefreshInterval {
            minutes: config.interval_minutes,
        })
    }

    pub fn minutes(&self) -> u32 {
        self.minutes
    }

    /// The interval as a standard duration (for timers).
    pub fn period(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.minutes) * 60)
    }

    /// The start of the interval holding `t`.
    pub fn start_of(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let midnight = t.date_naive().and_time(NaiveTime::MIN).and_utc();
        let minutes = (t - midnight).num_minutes();
        midnight + Duration::minutes(minutes - minutes % i64::from(self.minutes))
    }

    /// The intervals whose touch marks a refresh at `now` reads, newest first: the current
    /// one and up to two before it, on `now`'s UTC day only (yesterday's touches are the daily
    /// run's).
    pub fn read_at(&self, now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let midnight = now.date_naive().and_time(NaiveTime::MIN).and_utc();
        let mut starts = vec![self.start_of(now)];
        while starts.len() < INTERVALS_READ {
            let Some(&last) = starts.last() else { break };
            if last <= midnight {
                break;
            }
            starts.push(self.start_of(last - Duration::minutes(1)));
        }
        starts
    }
}

/// Accounts that received events of the current UTC day during one interval, from one ingest
/// request (less those the process had already marked in that interval).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TouchMark {
    /// The start of the interval the request arrived in.
    pub interval: DateTime<Utc>,
    /// A digest of the interval and the accounts: the same accounts in the same interval make
    /// the same mark.
    pub id: String,
    /// In account id order, each once.
    pub accounts: Vec<AccountId>,
}

impl TouchMark {
    /// How long a stored mark is kept after its interval starts (a refresh reads only the
    /// current day's): both backends expire it then.
    pub const KEPT_DAYS: u32 = 2;

    pub fn new(interval: DateTime<Utc>, mut accounts: Vec<AccountId>) -> Self {
        use sha2::{Digest, Sha256};
        accounts.sort();
        accounts.dedup();
        let mut digest = Sha256::new();
        digest.update(interval.timestamp().to_be_bytes());
        for a in &accounts {
            digest.update([0u8]);
            digest.update(a.as_str().as_bytes());
        }
        TouchMark {
            interval,
            id: hex::encode(&digest.finalize()[..16]),
            accounts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 10, h, m, 0).unwrap()
    }

    /// Half a minute into the minute.
    fn during(h: u32, m: u32) -> DateTime<Utc> {
        at(h, m) + Duration::seconds(30)
    }

    fn every(minutes: u32) -> RefreshInterval {
        RefreshInterval::of(&FreshnessConfig {
            interval_minutes: minutes,
        })
        .unwrap()
    }

    #[test]
    fn intervals_start_on_multiples_of_their_length_from_utc_midnight() {
        assert_eq!(every(15).start_of(during(10, 14)), at(10, 0));
        assert_eq!(every(15).start_of(at(10, 15)), at(10, 15));
        // 7 does not divide a day: the last interval (23:55) is five minutes long.
        assert_eq!(every(7).start_of(during(23, 58)), at(23, 55));
        assert!(RefreshInterval::of(&FreshnessConfig {
            interval_minutes: 0
        })
        .is_none());
    }

    #[test]
    fn a_refresh_reads_the_current_interval_and_two_before_it_on_the_same_day() {
        assert_eq!(
            every(15).read_at(during(10, 20)),
            [at(10, 15), at(10, 0), at(9, 45)]
        );
        assert_eq!(every(15).read_at(during(0, 5)), [at(0, 0)]);
        assert_eq!(every(15).read_at(during(0, 20)), [at(0, 15), at(0, 0)]);
    }

    #[test]
    fn the_same_accounts_in_the_same_interval_make_the_same_mark() {
        let a = |s: &str| AccountId::new(s).unwrap();
        let one = TouchMark::new(at(10, 0), vec![a("b"), a("a"), a("b")]);
        let again = TouchMark::new(at(10, 0), vec![a("a"), a("b")]);
        assert_eq!(one, again);
        assert_eq!(one.accounts, [a("a"), a("b")]);
        assert_ne!(one.id, TouchMark::new(at(10, 15), vec![a("a"), a("b")]).id);
    }
}
