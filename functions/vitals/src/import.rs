//! `vitals import`: bulk import of accounts (CSV or NDJSON from a CRM export) and events (NDJSON
//! of Segment messages, sent through the ingest use case in batches). Both are safe to re-run:
//! profiles are only rewritten when a row changes them, and events dedupe by message id.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::json;
use vitals_core::ingest::import::{account_rows, event_line, import_account, ImportFormat};
use vitals_core::ingest::message::ParseContext;
use vitals_core::ingest::{Ingest, ParsedBatch, Rejection, MAX_BATCH_BYTES};
use vitals_core::model::AccountId;
use vitals_core::rollup::day_activity_with_signals;

use crate::context::Context;
use crate::demo::progress;

/// How many rejection reasons the summary lists one by one.
const LISTED_REASONS: usize = 10;
/// Events per ingest batch (Segment's batch shape: at most 500 KB).
const BATCH_EVENTS: usize = 500;

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub command: ImportCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ImportCommand {
    /// Accounts from a CRM export: CSV with a header row, or NDJSON. An `id`, `account_id` or
    /// `groupId` column is required; other columns map like `group` traits (name, plan, seats,
    /// mrr/arr, renewal date, owner...), unknown ones are kept as custom attributes.
    Accounts {
        file: PathBuf,
        /// Check every row and print the summary without writing anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Events: NDJSON, one Segment message (track, identify, group, page...) per line.
    Events {
        file: PathBuf,
        /// Check every line and print the summary without writing anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Prints what is stored for one account-day (deduplicated counts) as JSON.
    #[command(hide = true)]
    Verify {
        #[arg(long)]
        account: String,
        #[arg(long)]
        day: chrono::NaiveDate,
    },
}

pub async fn run(ctx: &Context, args: &ImportArgs) -> anyhow::Result<()> {
    match &args.command {
        ImportCommand::Accounts { file, dry_run } => accounts(ctx, file, *dry_run).await,
        ImportCommand::Events { file, dry_run } => events(ctx, file, *dry_run).await,
        ImportCommand::Verify { account, day } => verify(ctx, account, *day).await,
    }
}

/// Accepted and rejected rows, with reasons, for the summary.
#[derive(Default)]
struct Tally {
    accepted: u64,
    rejected: Vec<(usize, String)>,
    warnings: Vec<(usize, String)>,
}

impl Tally {
    fn print(&self, what: &str, dry_run: bool) {
        let verb = if dry_run {
            "would be imported"
        } else {
            "imported"
        };
        println!(
            "{} {what} {verb}, {} rejected{}",
            self.accepted,
            self.rejected.len(),
            if dry_run {
                " (dry run: nothing written)"
            } else {
                ""
            }
        );
        for (title, list) in [("rejected", &self.rejected), ("warnings", &self.warnings)] {
            if list.is_empty() {
                continue;
            }
            let mut by_reason: BTreeMap<String, usize> = BTreeMap::new();
            for (_, reason) in list.iter() {
                *by_reason.entry(generalise(reason)).or_default() += 1;
            }
            println!("{title} by reason:");
            let mut counted: Vec<(String, usize)> = by_reason.into_iter().collect();
            counted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            for (reason, n) in counted {
                println!("  {n:>7}  {reason}");
            }
            println!("first {title}:");
            for (line, reason) in list.iter().take(LISTED_REASONS) {
                println!("  line {line}: {reason}");
            }
            if list.len() > LISTED_REASONS {
                println!("  ... and {} more", list.len() - LISTED_REASONS);
            }
        }
    }
}

/// A reason with its numbers and quoted values blanked, so like problems count together.
fn generalise(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    let mut in_quote = false;
    let mut last_digit = false;
    for c in reason.chars() {
        if c == '"' {
            if !in_quote {
                out.push_str("\"…\"");
            }
            in_quote = !in_quote;
            continue;
        }
        if in_quote {
            continue;
        }
        if c.is_ascii_digit() {
            if !last_digit {
                out.push('N');
            }
            last_digit = true;
            continue;
        }
        last_digit = false;
        out.push(c);
    }
    out
}

fn read(file: &PathBuf) -> anyhow::Result<String> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{} is not UTF-8 text (invalid byte at offset {}); export it as UTF-8",
            file.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

async fn accounts(ctx: &Context, file: &PathBuf, dry_run: bool) -> anyhow::Result<()> {
    let text = read(file)?;
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let format = ImportFormat::detect(name, &text);
    let rows =
        account_rows(format, &text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let bar = progress(rows.len() as u64, "accounts");
    let now = chrono::Utc::now();
    let storage = ctx.backend.storage.as_ref();
    let mut tally = Tally::default();
    for row in rows {
        bar.inc(1);
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                tally.rejected.push((e.line, e.reason));
                continue;
            }
        };
        let unusable = import_account(storage, &row, now, dry_run)
            .await
            .with_context(|| {
                format!(
                    "storing account {} (line {}) failed; the import is safe to run again",
                    row.account, row.line
                )
            })?;
        for key in unusable {
            tally.warnings.push((
                row.line,
                format!("{key}: value not understood, kept the previous one"),
            ));
        }
        tally.accepted += 1;
    }
    bar.finish_and_clear();
    tally.print("accounts", dry_run);
    Ok(())
}

async fn events(ctx: &Context, file: &PathBuf, dry_run: bool) -> anyhow::Result<()> {
    let text = read(file)?;
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_start_matches('\u{feff}')))
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    let bar = progress(lines.len() as u64, "events");
    let storage = ctx.backend.storage.as_ref();
    let ingest = Ingest::new(storage).with_signals(&ctx.config.signals);
    let mut tally = Tally::default();
    let mut unattributed = 0u64;
    let mut start = 0;
    while start < lines.len() {
        // Batches cut by line order, so a re-run writes the same chunks.
        let mut end = start;
        let mut bytes = 0;
        while end < lines.len() && end - start < BATCH_EVENTS && bytes < MAX_BATCH_BYTES {
            bytes += lines[end].1.len();
            end += 1;
        }
        let cx = ParseContext::new(chrono::Utc::now(), ctx.config.retention.days);
        let mut batch = ParsedBatch::default();
        for (index, (line, text)) in lines[start..end].iter().enumerate() {
            match event_line(text, &cx) {
                Ok(m) => batch.messages.push(m),
                Err(e) => {
                    tally.rejected.push((*line, e.to_string()));
                    batch.rejected.push(Rejection {
                        index,
                        message_id: None,
                        error: e.to_string(),
                    });
                }
            }
        }
        let valid = batch.messages.len() as u64;
        if !dry_run && valid > 0 {
            let outcome = ingest
                .handle(batch, cx.received_at)
                .await
                .with_context(|| {
                    format!(
                        "storing lines {}-{} failed; the import is safe to run again",
                        lines[start].0,
                        lines[end - 1].0
                    )
                })?;
            unattributed += outcome.unattributed as u64;
        }
        tally.accepted += valid;
        bar.inc((end - start) as u64);
        start = end;
    }
    bar.finish_and_clear();
    tally.print("events", dry_run);
    if unattributed > 0 {
        println!(
            "{unattributed} event(s) had no account (no context.groupId and no earlier group call for their user); kept as {}",
            AccountId::UNATTRIBUTED
        );
    }
    Ok(())
}

/// Deduplicated counts of one account-day, as the daily run would roll them up.
async fn verify(ctx: &Context, account: &str, day: chrono::NaiveDate) -> anyhow::Result<()> {
    let account = AccountId::new(account).context("--account")?;
    let chunks = ctx
        .backend
        .storage
        .chunks_for_account_day(&account, day)
        .await?;
    let mut ids = std::collections::BTreeSet::new();
    for c in &chunks {
        for e in &c.events {
            ids.insert(e.message_id.as_str());
        }
    }
    let activity = day_activity_with_signals(
        &chunks,
        &ctx.config.usage,
        &ctx.config.signals,
        ctx.config.scoring.first_value_event.as_deref(),
    );
    let profile = ctx
        .backend
        .storage
        .get_account(&account)
        .await?
        .map(|r| r.profile);
    println!(
        "{}",
        json!({
            "account": account,
            "day": day,
            "chunks": chunks.len(),
            "stored_events": chunks.iter().map(|c| c.events.len()).sum::<usize>(),
            "distinct_events": ids.len(),
            "usage_events": activity.events,
            "active_users": activity.active_users,
            "features": activity.features,
            "tickets_opened": activity.tickets_opened.total(),
            "nps": activity.nps,
            "profile": profile,
        })
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_with_different_values_count_together() {
        assert_eq!(
            generalise("item: event is 40000 bytes; the limit is 32768"),
            generalise("item: event is 33000 bytes; the limit is 32768")
        );
        assert_eq!(
            generalise("type: unknown type \"x\"; expected"),
            "type: unknown type \"…\"; expected"
        );
    }
}
