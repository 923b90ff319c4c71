//! Work `vitals` does besides answering requests: the daily scoring schedule, alert dispatch
//! from the queue, and scoring runs over a range of days with a progress bar.

use std::time::Duration;

use anyhow::Context as _;
use chrono::{NaiveDate, Utc};
use vitals_core::clock::SystemClock;
use vitals_core::config::{parse_hh_mm, parse_utc_offset};
use vitals_core::run::DailyRun;
use vitals_core::segment::SEGMENT_COUNT;

use crate::context::Context;
use crate::demo::progress;

/// Most days a restarted `vitals serve` catches up on by itself.
const MAX_CATCH_UP_DAYS: i64 = 31;

/// Scores every day from `from` to `to` in order (each day builds on the previous one's window).
pub async fn backfill(ctx: &Context, from: NaiveDate, to: NaiveDate) -> anyhow::Result<()> {
    anyhow::ensure!(from <= to, "--from {from} is after --to {to}");
    let days = (to - from).num_days() as u64 + 1;
    let bar = progress(days * u64::from(SEGMENT_COUNT), "scoring");
    let run = DailyRun::new(
        ctx.backend.storage.as_ref(),
        ctx.backend.alert_queue.as_ref(),
        &ctx.config,
        &SystemClock,
    );
    let mut day = from;
    let mut scored = 0;
    let mut events = 0;
    while day <= to {
        bar.set_message(day.to_string());
        let report = run
            .run_day(day, &mut |_| bar.inc(1))
            .await
            .with_context(|| {
                format!("scoring run of {day} failed; run the same command again to resume")
            })?;
        scored += report.accounts_scored;
        events += report.events_emitted;
        day += chrono::Duration::days(1);
    }
    bar.finish_and_clear();
    println!("Scored {days} day(s) from {from} to {to}: {scored} account-days, {events} score events queued");
    Ok(())
}

/// Starts the in-process scheduler (when asked) and alert dispatcher.
pub fn spawn_background(ctx: Context, schedule: bool) -> tokio::task::JoinSet<()> {
    let mut tasks = tokio::task::JoinSet::new();
    if schedule {
        tasks.spawn(scheduler(ctx.clone()));
    }
    tasks.spawn(crate::dispatcher::run(ctx));
    tasks
}

/// Runs the daily scoring at the configured time, catching up on missed days first.
async fn scheduler(ctx: Context) {
    loop {
        if let Err(e) = catch_up(&ctx).await {
            tracing::error!(
                error = format!("{e:#}"),
                "scheduled scoring run failed; retrying in 5 minutes"
            );
            tokio::time::sleep(Duration::from_secs(300)).await;
            continue;
        }
        tokio::time::sleep(until_next_run(&ctx)).await;
    }
}

/// Scores the days after the last completed run up to yesterday, once the daily time has come.
async fn catch_up(ctx: &Context) -> anyhow::Result<()> {
    let yesterday = Utc::now().date_naive() - chrono::Duration::days(1);
    let last_done = ctx
        .backend
        .storage
        .latest_summary()
        .await?
        .and_then(|s| s.as_of);
    let first = match last_done {
        Some(done) if done >= yesterday => return Ok(()),
        Some(done) => (done + chrono::Duration::days(1))
            .max(yesterday - chrono::Duration::days(MAX_CATCH_UP_DAYS)),
        None => yesterday,
    };
    tracing::info!(%first, %yesterday, "scheduled scoring run starting");
    backfill(ctx, first, yesterday).await
}

fn until_next_run(ctx: &Context) -> Duration {
    let minutes = parse_hh_mm(&ctx.config.schedule.daily_at).unwrap_or(360);
    let offset = parse_utc_offset(&ctx.config.schedule.timezone).unwrap_or(0);
    let now = Utc::now();
    let local_minutes_now = (now.timestamp() / 60 + i64::from(offset)).rem_euclid(1440);
    let mut wait = i64::from(minutes) - local_minutes_now;
    if wait <= 0 {
        wait += 1440;
    }
    Duration::from_secs(u64::try_from(wait * 60).unwrap_or(3600))
}
