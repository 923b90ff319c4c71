//! The account page's reads (BRIEF §5: ≤ 2 storage requests per view): the account's activity
//! and, instead of a range of history, only the history records its score-change card compares
//! with (the latest score is on the record). A range is read only when those days cannot tell
//! (the account was not scored on one of them, or not yet on the last day that has ended).

use chrono::{Days, NaiveDate};

use super::score_change::CHANGE_PERIODS;
use crate::history::HistoryDay;
use crate::model::{AccountId, AccountRecord};
use crate::ports::{AccountActivity, AccountActivityStore, StoreResult};

/// How far back the fallback range reaches: the longest period compared, plus slack for an
/// account not scored every day.
const RANGE_DAYS: u64 = 40;

/// The account's activity, with `history` holding what the score-change card compares: the
/// records of the days [`CHANGE_PERIODS`] before the latest score, and the latest score.
pub async fn account_page_reads<S: AccountActivityStore + ?Sized>(
    storage: &S,
    account: &AccountId,
    limit: usize,
    today: NaiveDate,
) -> StoreResult<AccountActivity> {
    let latest = today.pred_opt().unwrap_or(today);
    let days = compared_days(latest);
    let mut activity = storage.account_activity(account, limit, &days).await?;
    let Some(record) = &activity.record else {
        return Ok(activity);
    };
    match &record.score {
        // Never scored: nothing to compare.
        None => activity.history.clear(),
        Some(scored)
            if scored.as_of == latest && days.iter().all(|d| known(record, &activity, *d)) =>
        {
            activity.history.push(HistoryDay::of(scored));
        }
        Some(_) => {
            let from = today
                .checked_sub_days(Days::new(RANGE_DAYS))
                .unwrap_or(today);
            activity.history = storage.history(account, from, today).await?;
        }
    }
    Ok(activity)
}

/// The days each change period reaches back to from `latest`.
fn compared_days(latest: NaiveDate) -> Vec<NaiveDate> {
    CHANGE_PERIODS
        .iter()
        .filter_map(|days| latest.checked_sub_days(Days::new(u64::from(*days))))
        .collect()
}

/// Whether the records read settle the comparison with `day`: its record is there, or the
/// account's score trail starts after it (nothing older exists to compare with).
fn known(record: &AccountRecord, activity: &AccountActivity, day: NaiveDate) -> bool {
    activity.history.iter().any(|r| r.as_of == day)
        || record
            .trail
            .points()
            .first()
            .is_some_and(|first| first.day > day)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_card_compares_a_week_and_a_month_before_the_latest_day() {
        let latest = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
        assert_eq!(
            compared_days(latest),
            [
                NaiveDate::from_ymd_opt(2026, 3, 24).unwrap(),
                NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
            ]
        );
    }
}
