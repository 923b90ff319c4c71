//! Work `vitals` does besides answering requests: the daily scoring schedule, alert dispatch
//! from the queue, and scoring runs over a range of days with a progress bar.

use std::time::Duration;

use anyhow::Context as _;
use chrono::{NaiveDate, Utc};
use vitals_core::alerts::OpenAlert;
use vitals_core::clock::SystemClock;
use vitals_core::config::{parse_hh_mm, parse_utc_offset};
use vitals_core::run::DailyRun;
use vitals_core::score_event::ScoreEvent;
use vitals_core::segment::SEGMENT_COUNT;

use crate::context::Context;
use crate::demo::progress;

/// Most days a restarted `vitals serve` catches up on by itself.
const MAX_CATCH_UP_DAYS: i64 = 31;
/// How long a received alert message stays hidden while it is handled.
const VISIBILITY: Duration = Duration::from_secs(60);

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
    tasks.spawn(dispatcher(ctx));
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

/// Handles score events from the alert queue: opens alerts, at least once, deduplicated.
async fn dispatcher(ctx: Context) {
    let queue = ctx.backend.alert_queue.clone();
    loop {
        let messages = match queue.receive(10, VISIBILITY).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the alert queue; retrying");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        if messages.is_empty() {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        for message in messages {
            let handled = match serde_json::from_str::<ScoreEvent>(&message.body) {
                Ok(event) => OpenAlert::new(ctx.backend.storage.as_ref(), &SystemClock)
                    .handle(&event)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                Err(e) => Err(format!("not a score event: {e}")),
            };
            let settled = match handled {
                Ok(()) => queue.delete(&message.receipt).await,
                Err(problem) => {
                    // Backoff doubles per attempt; after the queue's receive limit the message
                    // moves to the dead-letter queue for `vitals dlq`.
                    let delay =
                        Duration::from_secs(2u64.saturating_pow(message.receive_count.min(10)));
                    tracing::warn!(id = %message.id, attempt = message.receive_count, %problem, "alert message failed; will retry");
                    queue.retry_later(&message.receipt, delay).await
                }
            };
            if let Err(e) = settled {
                tracing::warn!(id = %message.id, error = %e, "cannot settle alert message; it will be redelivered");
            }
        }
    }
}
