//! The process's memory of whom it marked as touched in the current interval, so ingest writes
//! at most one mark per account per interval however often an account's clients send.

use std::collections::HashSet;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::{RefreshInterval, TouchMark};
use crate::config::FreshnessConfig;
use crate::model::{AccountId, EventChunk};

/// Accounts remembered per interval at most: beyond it a process still marks every account,
/// only no longer skips repeats (more writes, never a missed touch).
const MAX_REMEMBERED: usize = 100_000;

/// Decides which touch mark a request needs; shared by every request of a process.
#[derive(Debug)]
pub struct TouchRecorder {
    interval: Option<RefreshInterval>,
    marked: Mutex<Marked>,
}

#[derive(Debug, Default)]
struct Marked {
    interval: Option<DateTime<Utc>>,
    accounts: HashSet<AccountId>,
}

/// Records nothing, as [`TouchRecorder::off`].
impl Default for TouchRecorder {
    fn default() -> Self {
        TouchRecorder::off()
    }
}

impl TouchRecorder {
    /// Records touches per the configured interval (nothing when provisional scores are off).
    pub fn new(config: &FreshnessConfig) -> Self {
        TouchRecorder {
            interval: RefreshInterval::of(config),
            marked: Mutex::new(Marked::default()),
        }
    }

    /// Records nothing (provisional scores off, or a process that never ingests).
    pub fn off() -> Self {
        TouchRecorder::new(&FreshnessConfig {
            interval_minutes: 0,
        })
    }

    /// The mark to store for a request received at `received_at` that stored `chunks`: the
    /// accounts with events of that UTC day (earlier days are the daily run's, through late
    /// marks) not yet marked by this process in the same interval. `None` when there is none.
    pub fn unmarked(&self, chunks: &[EventChunk], received_at: DateTime<Utc>) -> Option<TouchMark> {
        let interval = self.interval?.start_of(received_at);
        let today = received_at.date_naive();
        let marked = self.marked.lock().unwrap_or_else(|e| e.into_inner());
        let current = marked.interval == Some(interval);
        let accounts: Vec<AccountId> = chunks
            .iter()
            .filter(|c| c.day == today && c.account_id.as_str() != AccountId::UNATTRIBUTED)
            .map(|c| &c.account_id)
            .filter(|a| !(current && marked.accounts.contains(*a)))
            .cloned()
            .collect();
        (!accounts.is_empty()).then(|| TouchMark::new(interval, accounts))
    }

    /// Remembers a stored mark's accounts until its interval ends.
    pub fn stored(&self, mark: &TouchMark) {
        let mut marked = self.marked.lock().unwrap_or_else(|e| e.into_inner());
        if marked.interval.is_some_and(|i| i > mark.interval) {
            return;
        }
        if marked.interval != Some(mark.interval) {
            marked.interval = Some(mark.interval);
            marked.accounts.clear();
        }
        for account in &mark.accounts {
            if marked.accounts.len() >= MAX_REMEMBERED {
                break;
            }
            marked.accounts.insert(account.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, NaiveDate, TimeZone};

    fn chunk(account: &str, day: NaiveDate) -> EventChunk {
        EventChunk::new(AccountId::new(account).unwrap(), day, vec![])
    }

    fn recorder() -> TouchRecorder {
        TouchRecorder::new(&FreshnessConfig::default())
    }

    #[test]
    fn a_request_marks_the_accounts_with_events_of_today_only() {
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 10, 7, 0).unwrap();
        let today = now.date_naive();
        let chunks = [
            chunk("b", today),
            chunk("a", today),
            chunk("late", today - Duration::days(1)),
            chunk(AccountId::UNATTRIBUTED, today),
        ];
        let mark = recorder().unmarked(&chunks, now).unwrap();
        assert_eq!(
            mark.interval,
            Utc.with_ymd_and_hms(2026, 3, 10, 10, 0, 0).unwrap()
        );
        let names: Vec<&str> = mark.accounts.iter().map(AccountId::as_str).collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn an_account_is_marked_once_per_interval_once_its_mark_is_stored() {
        let r = recorder();
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 10, 7, 0).unwrap();
        let today = now.date_naive();
        let first = r.unmarked(&[chunk("a", today)], now).unwrap();
        // Not stored yet (the write failed): the next request marks it again.
        assert!(r.unmarked(&[chunk("a", today)], now).is_some());
        r.stored(&first);
        assert_eq!(r.unmarked(&[chunk("a", today)], now), None);
        let both = r
            .unmarked(&[chunk("a", today), chunk("b", today)], now)
            .unwrap();
        assert_eq!(both.accounts, [AccountId::new("b").unwrap()]);
        // The next interval marks it again.
        let later = now + Duration::minutes(15);
        assert!(r.unmarked(&[chunk("a", today)], later).is_some());
    }

    #[test]
    fn nothing_is_marked_when_provisional_scores_are_off() {
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 10, 7, 0).unwrap();
        assert_eq!(
            TouchRecorder::off().unmarked(&[chunk("a", now.date_naive())], now),
            None
        );
    }
}
