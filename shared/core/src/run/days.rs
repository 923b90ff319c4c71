//! Which days can be scored: a day is a fact only once it has ended. Events are kept by UTC
//! day, and "yesterday" means yesterday in the configured time zone (`[schedule] timezone`), so
//! the last day that can be scored is the day before today in that zone, or before today in
//! UTC when that is earlier (east of UTC, the local day starts before the UTC day it names
//! ends).

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::config::{parse_utc_offset, ScheduleConfig};
use crate::ports::Storage;

use super::{DailyRun, RunError};

/// How far back a run looks for the last scored day when the newest summary is dated after
/// the last day that can be scored (a run "as of" a future day by an older release).
const SCORED_LOOK_BACK_DAYS: i64 = 366;

/// A day that has not ended yet was asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{day} has not ended yet in the configured time zone ({timezone}): the last day that can \
     be scored is {last}"
)]
pub struct DayNotOver {
    pub day: NaiveDate,
    pub last: NaiveDate,
    pub timezone: String,
}

/// The last day that has ended at `now`, in the configured zone and in UTC.
pub fn last_scorable_day(now: DateTime<Utc>, schedule: &ScheduleConfig) -> NaiveDate {
    let offset = parse_utc_offset(&schedule.timezone).unwrap_or(0);
    let local_today = (now + Duration::minutes(i64::from(offset))).date_naive();
    local_today.min(now.date_naive()) - Duration::days(1)
}

impl<S: Storage + ?Sized> DailyRun<'_, S> {
    /// The last day that has ended now (by the run's clock).
    pub fn last_scorable_day(&self) -> NaiveDate {
        last_scorable_day(self.clock.now(), &self.config.schedule)
    }

    /// Refuses `day` unless it has ended.
    pub fn check_scorable(&self, day: NaiveDate) -> Result<(), DayNotOver> {
        let last = self.last_scorable_day();
        if day > last {
            return Err(DayNotOver {
                day,
                last,
                timezone: self.config.schedule.timezone.clone(),
            });
        }
        Ok(())
    }

    /// The newest day with a portfolio summary that has ended: a summary dated later (left by
    /// a run "as of" a future day, before such runs were refused) is ignored, with a warning.
    pub async fn last_scored_day(&self) -> Result<Option<NaiveDate>, RunError> {
        let last = self.last_scorable_day();
        let newest = self.storage.latest_summary().await?.and_then(|s| s.as_of);
        match newest {
            Some(day) if day > last => {
                tracing::warn!(summary = %day, last_scorable = %last, "ignoring a portfolio summary dated after the last day that has ended");
                let earlier = self
                    .storage
                    .summaries(last - Duration::days(SCORED_LOOK_BACK_DAYS), last)
                    .await?;
                Ok(earlier.iter().filter_map(|s| s.as_of).max())
            }
            other => Ok(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn schedule(timezone: &str) -> ScheduleConfig {
        ScheduleConfig {
            timezone: timezone.into(),
            ..Default::default()
        }
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn yesterday_is_the_last_day_that_has_ended() {
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 6, 0, 0).unwrap();
        assert_eq!(last_scorable_day(now, &schedule("UTC")), day("2026-03-09"));
    }

    #[test]
    fn west_of_utc_yesterday_is_the_local_one() {
        // 02:00 UTC on the 10th is 21:00 on the 9th in New York: the 9th has not ended there.
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 2, 0, 0).unwrap();
        assert_eq!(
            last_scorable_day(now, &schedule("-05:00")),
            day("2026-03-08")
        );
    }

    #[test]
    fn east_of_utc_a_day_waits_for_its_utc_end() {
        // 23:00 UTC on the 9th is 01:00 on the 10th in Berlin; the UTC day 9 is still open.
        let now = Utc.with_ymd_and_hms(2026, 3, 9, 23, 0, 0).unwrap();
        assert_eq!(
            last_scorable_day(now, &schedule("+02:00")),
            day("2026-03-08")
        );
    }
}
