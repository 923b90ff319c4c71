//! Work `vitals` does besides answering requests: the daily scoring schedule, provisional
//! "today so far" scores every `[freshness]` interval (`crate::fresh`), alert dispatch from the
//! queue, and scoring runs over a range of days with a progress bar. Every scoring
//! command first recomputes the days late events changed (`vitals_core::run::late`), and no
//! day is scored before it has ended in the configured time zone.

use std::time::Duration;

use anyhow::Context as _;
use chrono::{NaiveDate, Utc};
use vitals_core::clock::SystemClock;
use vitals_core::config::{parse_hh_mm, parse_utc_offset};
use vitals_core::freshness::RefreshInterval;
use vitals_core::ports::Storage;
use vitals_core::run::DailyRun;

use crate::context::Context;
use crate::demo::progress;

/// Most days a restarted `vitals serve` catches up on by itself.
const MAX_CATCH_UP_DAYS: i64 = 31;

fn daily_run(ctx: &Context) -> DailyRun<'_, dyn Storage> {
    DailyRun::new(
        ctx.backend.storage.as_ref(),
        ctx.backend.alert_queue.as_ref(),
        &ctx.config,
        &SystemClock,
    )
    .with_crm_sinks(crm_sinks(&ctx.config.crm))
}

/// The `[crm]` write-back targets, secrets from the environment. One that cannot be set up is
/// left out and the reason logged: scoring goes on without it.
pub fn crm_sinks(
    config: &vitals_core::config::CrmConfig,
) -> Vec<std::sync::Arc<dyn vitals_core::crm::CrmSink>> {
    vitals_integrations::crm::sinks(config, |name| std::env::var(name).ok()).unwrap_or_else(|e| {
        tracing::error!(error = %e, "CRM write-back is off");
        Vec::new()
    })
}

/// Scores every day from `from` to `to` in order (each day builds on the previous one's
/// window), after recomputing the days late events changed. Refuses a day that has not ended.
pub async fn backfill(ctx: &Context, from: NaiveDate, to: NaiveDate) -> anyhow::Result<()> {
    anyhow::ensure!(from <= to, "--from {from} is after --to {to}");
    let run = daily_run(ctx);
    run.check_scorable(to)?;
    recompute_late(&run).await?;
    score_days(&run, from, to).await
}

/// `vitals score --rescore`: recomputes days already scored with the current configuration.
pub async fn rescore(ctx: &Context, from: NaiveDate, to: NaiveDate) -> anyhow::Result<()> {
    anyhow::ensure!(from <= to, "--from {from} is after --to {to}");
    let run = daily_run(ctx);
    run.check_scorable(to)?;
    recompute_late(&run).await?;
    let started = std::time::Instant::now();
    let bar = progress(0, "rescoring");
    let report = run
        .rescore(from, to, &mut |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
        .await
        .with_context(|| {
            format!("rescoring {from} to {to} failed; run the same command again to finish it")
        })?;
    bar.finish_and_clear();
    println!(
        "Rescored {} day(s) from {from} to {to} in {:.1}s: {} account-days over {} accounts, {} summaries rewritten, no notifications sent",
        report.days,
        started.elapsed().as_secs_f64(),
        report.account_days,
        report.accounts,
        report.summaries
    );
    Ok(())
}

/// Recomputes the days late events changed, with a progress bar, and says what it did.
async fn recompute_late(run: &DailyRun<'_, dyn Storage>) -> anyhow::Result<()> {
    let bar = progress(0, "late events");
    let report = run
        .recompute_late(&mut |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
        .await
        .context("recomputing the days late events changed failed; run the command again")?;
    bar.finish_and_clear();
    if let (Some(from), Some(to)) = (report.from, report.to) {
        println!(
            "Recomputed {from} to {to} for {} account(s) with late events: {} account-days, no notifications sent",
            report.accounts_marked, report.rescored.account_days
        );
    }
    Ok(())
}

async fn score_days(
    run: &DailyRun<'_, dyn Storage>,
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<()> {
    let days = (to - from).num_days() as u64 + 1;
    let bar = progress(days, "scoring");
    bar.set_message(from.to_string());
    let mut on_day = |day: NaiveDate| {
        bar.set_message(day.to_string());
        bar.inc(1);
    };
    // One day streams its segments batch by batch (memory stays flat at any portfolio size);
    // a range holds the records in memory and walks the days (see `run::backfill`).
    let report = if from == to {
        let report = run.score_day(from, &mut |_| {}).await;
        on_day(from);
        report
    } else {
        run.backfill(from, to, &mut on_day).await
    }
    .with_context(|| {
        format!("scoring run of {from} to {to} failed; run the same command again to resume")
    })?;
    bar.finish_and_clear();
    println!(
        "Scored {days} day(s) from {from} to {to}: {} account-days, {} score events queued",
        report.accounts_scored, report.events_emitted
    );
    Ok(())
}

/// Starts the in-process scheduler and provisional refresh (when asked) and alert dispatcher.
pub fn spawn_background(ctx: Context, schedule: bool) -> tokio::task::JoinSet<()> {
    let mut tasks = tokio::task::JoinSet::new();
    if schedule {
        tasks.spawn(scheduler(ctx.clone()));
        if let Some(interval) = RefreshInterval::of(&ctx.config.freshness) {
            tasks.spawn(crate::fresh::keep_fresh(ctx.clone(), interval.period()));
        }
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

/// Recomputes the days late events changed, then scores the days after the last completed
/// run up to yesterday (in the configured time zone). A summary dated after yesterday (a run
/// "as of" a future day, before such runs were refused) is ignored, with a warning.
async fn catch_up(ctx: &Context) -> anyhow::Result<()> {
    let run = daily_run(ctx);
    let yesterday = run.last_scorable_day();
    recompute_late(&run).await?;
    let first = match run.last_scored_day().await? {
        Some(done) if done >= yesterday => return Ok(()),
        Some(done) => (done + chrono::Duration::days(1))
            .max(yesterday - chrono::Duration::days(MAX_CATCH_UP_DAYS)),
        None => yesterday,
    };
    tracing::info!(%first, %yesterday, "scheduled scoring run starting");
    score_days(&run, first, yesterday).await
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
