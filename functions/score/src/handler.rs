//! Translates a schedule event into a daily run of the previous day (or the `as_of` day the
//! event names, for manual re-runs) and its report into the function's result.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use vitals_core::clock::SystemClock;
use vitals_core::config::VitalsConfig;
use vitals_core::run::{DailyRun, RunReport};
use vitals_runtime::backend::Backend;

/// The invocation payload: the schedule's input (`infra/events/score-schedule.json`), or
/// `{"as_of": "YYYY-MM-DD"}` for a manual run of one day.
#[derive(Debug, Default, Deserialize)]
struct Input {
    as_of: Option<NaiveDate>,
    /// When the schedule fired; a retried invocation carries the same time, so the same day.
    scheduled_time: Option<DateTime<Utc>>,
}

pub async fn handle(
    backend: &Backend,
    payload: serde_json::Value,
) -> Result<RunReport, lambda_runtime::Error> {
    let input: Input = serde_json::from_value(payload).unwrap_or_default();
    let fired = input.scheduled_time.unwrap_or_else(Utc::now);
    let day = input
        .as_of
        .unwrap_or_else(|| fired.date_naive() - chrono::Duration::days(1));
    let config = match backend.storage.latest_config().await? {
        Some(stored) => VitalsConfig::parse(&stored.body)?,
        None => VitalsConfig::default(),
    };
    let run = DailyRun::new(
        backend.storage.as_ref(),
        backend.alert_queue.as_ref(),
        &config,
        &SystemClock,
    );
    // A timeout or crash is retried by the scheduler; the run resumes from its checkpoints.
    Ok(run.run_day(day, &mut |_| {}).await?)
}
