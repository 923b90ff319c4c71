//! `vitals import`: bulk import of accounts (CSV or NDJSON from a CRM export) and events (NDJSON
//! of Segment messages, sent through the ingest use case in batches). Both are safe to re-run:
//! profiles are only rewritten when a row changes them, and events dedupe by message id.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use vitals_core::ingest::import::{
    decompressed, import_account, AccountRows, ImportError, ImportFormat, RowError,
};
use vitals_core::model::AccountId;
use vitals_core::rollup::day_activity_with_signals;

use crate::context::Context;

mod events;

/// How many rejected rows the summary lists one by one.
const LISTED_ROWS: usize = 10;
/// How many distinct reasons the summary counts separately; the rest count as "other".
const COUNTED_REASONS: usize = 1_000;
/// Read buffer of an input file (compressed or not).
const READ_BUFFER: usize = 64 * 1024;

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
        /// The file, `-` for standard input; gzip (`.gz`) is decompressed as it is read.
        file: PathBuf,
        #[command(flatten)]
        options: ImportOptions,
    },
    /// Events: NDJSON, one Segment message (track, identify, group, page...) per line.
    Events {
        /// The file, `-` for standard input; gzip (`.gz`) is decompressed as it is read.
        file: PathBuf,
        #[command(flatten)]
        options: ImportOptions,
    },
    /// Prints what is stored for one account-day (deduplicated counts) as JSON.
    #[command(hide = true)]
    Verify {
        #[arg(long)]
        account: String,
        #[arg(long)]
        day: chrono::NaiveDate,
    },
    /// Prints a checksum of every account-day's rollup (usage events, active users, features)
    /// from `--from` to `--to`: the end-to-end bench compares it with DuckDB's.
    #[command(hide = true)]
    Checksum {
        #[arg(long)]
        from: chrono::NaiveDate,
        #[arg(long)]
        to: chrono::NaiveDate,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ImportOptions {
    /// Check every row and print the summary without writing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Exit with status 0 even if some rows are rejected (the valid rows are imported either
    /// way; without this flag any rejected row makes the exit status 1).
    #[arg(long)]
    pub allow_rejects: bool,
}

pub async fn run(ctx: &Context, args: &ImportArgs) -> anyhow::Result<()> {
    match &args.command {
        ImportCommand::Accounts { file, options } => accounts(ctx, file, options).await,
        ImportCommand::Events { file, options } => events::events(ctx, file, options).await,
        ImportCommand::Verify { account, day } => verify(ctx, account, *day).await,
        ImportCommand::Checksum { from, to } => checksum(ctx, *from, *to).await,
    }
}

/// Rejected (or warned about) rows: counted by reason, the first few kept with their line.
/// Bounded whatever the size of the input.
#[derive(Default)]
struct Reasons {
    total: u64,
    by_reason: BTreeMap<String, u64>,
    other: u64,
    first: Vec<(usize, String)>,
}

impl Reasons {
    fn add(&mut self, line: usize, reason: String) {
        self.total += 1;
        let general = generalise(&reason);
        if let Some(n) = self.by_reason.get_mut(&general) {
            *n += 1;
        } else if self.by_reason.len() < COUNTED_REASONS {
            self.by_reason.insert(general, 1);
        } else {
            self.other += 1;
        }
        if self.first.len() < LISTED_ROWS {
            self.first.push((line, reason));
        }
    }

    fn print(&self, title: &str) {
        if self.total == 0 {
            return;
        }
        println!("{title} by reason:");
        let mut counted: Vec<(&String, &u64)> = self.by_reason.iter().collect();
        counted.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        for (reason, n) in counted {
            println!("  {n:>9}  {reason}");
        }
        if self.other > 0 {
            println!("  {:>9}  (other reasons)", self.other);
        }
        println!("first {title}:");
        for (line, reason) in &self.first {
            println!("  line {line}: {reason}");
        }
        if self.total > self.first.len() as u64 {
            println!("  ... and {} more", self.total - self.first.len() as u64);
        }
    }
}

/// Accepted and rejected rows, with reasons, for the summary.
#[derive(Default)]
struct Tally {
    accepted: u64,
    rejected: Reasons,
    warnings: Reasons,
}

impl Tally {
    fn reject(&mut self, e: RowError) {
        self.rejected.add(e.line, e.reason);
    }

    fn print(&self, what: &str, options: &ImportOptions) {
        let verb = if options.dry_run {
            "would be imported"
        } else {
            "imported"
        };
        println!(
            "{} {what} {verb}, {} rejected{}",
            self.accepted,
            self.rejected.total,
            if options.dry_run {
                " (dry run: nothing written)"
            } else {
                ""
            }
        );
        self.rejected.print("rejected");
        self.warnings.print("warnings");
    }

    /// The outcome of the command: an error (exit status 1) when rows were rejected, unless
    /// the user accepts a partial import. `rerun` says why running it again is safe.
    fn outcome(&self, what: &str, options: &ImportOptions, rerun: &str) -> anyhow::Result<()> {
        let rejected = self.rejected.total;
        if rejected == 0 || options.allow_rejects {
            return Ok(());
        }
        let total = rejected + self.accepted;
        let rest = if options.dry_run {
            "nothing was written (dry run)".to_string()
        } else {
            format!("{} were imported", self.accepted)
        };
        anyhow::bail!(
            "{rejected} of {total} {what} were rejected (reasons above) and {rest}. Fix the \
             rejected lines and run the import again ({rerun}), or pass --allow-rejects to \
             accept a partial import"
        )
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

/// What is read from: a file or standard input, with its progress display.
struct Input {
    /// How the input is named in messages.
    name: String,
    progress: ProgressBar,
    /// Bytes read from the file so far (compressed bytes for gzip), for the progress bar.
    read: Arc<AtomicU64>,
}

/// The reader of an input: its text, decompressed as it is read if it is gzip.
type Reader = Box<dyn BufRead + Send>;

impl Input {
    fn open(file: &Path, what: &str) -> anyhow::Result<(Input, Reader)> {
        let read = Arc::new(AtomicU64::new(0));
        let (name, raw, progress): (String, Box<dyn Read + Send>, ProgressBar) = if file.as_os_str()
            == "-"
        {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                eprintln!("Reading {what} from standard input (end with Ctrl-D)...");
            }
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            ("standard input".into(), Box::new(stdin), bar)
        } else {
            let f = std::fs::File::open(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let size = f.metadata().map(|m| m.len()).unwrap_or(0);
            let bar = ProgressBar::new(size);
            bar.set_style(
                ProgressStyle::with_template("{msg:>20} [{bar:40}] {bytes}/{total_bytes} ({eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            (
                file.display().to_string(),
                Box::new(Counting {
                    inner: f,
                    read: read.clone(),
                }),
                bar,
            )
        };
        let reader = decompressed(BufReader::with_capacity(READ_BUFFER, raw))
            .with_context(|| format!("cannot read {name}"))?;
        Ok((
            Input {
                name,
                progress,
                read,
            },
            reader,
        ))
    }

    /// Moves the progress display on to `rows` rows.
    fn tick(&self, rows: u64, what: &str) {
        self.progress
            .set_position(self.read.load(Ordering::Relaxed));
        self.progress.set_message(format!("{rows} {what}"));
    }
}

/// Counts the bytes read from a file.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The error of an input that failed part-way, saying what was done before it.
fn read_failure(input: &Input, e: ImportError, what: &str, tally: &Tally) -> anyhow::Error {
    let done = match tally.accepted {
        0 => "nothing was imported".to_string(),
        n => {
            format!("the {n} {what} before it were imported, and running the import again is safe")
        }
    };
    match e {
        ImportError::Header(e) => anyhow::anyhow!("{}: {e}", input.name),
        e @ ImportError::Read { .. } => {
            anyhow::Error::new(e).context(format!("cannot read {} to the end ({done})", input.name))
        }
    }
}

async fn accounts(ctx: &Context, file: &Path, options: &ImportOptions) -> anyhow::Result<()> {
    let (input, mut reader) = Input::open(file, "accounts")?;
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let start = reader
        .fill_buf()
        .with_context(|| format!("cannot read {}", input.name))?;
    let format = ImportFormat::detect(name, &String::from_utf8_lossy(start));
    let rows = AccountRows::new(format, reader)
        .map_err(|e| read_failure(&input, e, "accounts", &Tally::default()))?;
    let now = chrono::Utc::now();
    let storage = ctx.backend.storage.as_ref();
    let mut tally = Tally::default();
    for row in rows {
        let row = match row {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                tally.reject(e);
                continue;
            }
            Err(e) => {
                input.progress.finish_and_clear();
                tally.print("accounts", options);
                return Err(read_failure(&input, e, "accounts", &tally));
            }
        };
        input.tick(tally.accepted + tally.rejected.total + 1, "accounts");
        let unusable = import_account(storage, &row, now, options.dry_run)
            .await
            .with_context(|| {
                format!(
                    "storing account {} (line {}) failed; the import is safe to run again",
                    row.account, row.line
                )
            })?;
        for key in unusable {
            tally.warnings.add(
                row.line,
                format!("{key}: value not understood, kept the previous one"),
            );
        }
        tally.accepted += 1;
    }
    input.progress.finish_and_clear();
    tally.print("accounts", options);
    tally.outcome("accounts", options, "unchanged accounts are not rewritten")
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

/// The rollup of every account-day with usage in `from..=to`, summed into one order-independent
/// checksum (the formula of `scripts/bench/e2e_duckdb.py`): a wrapping sum of one mixed value per
/// (account, day, usage events, active users, features).
async fn checksum(
    ctx: &Context,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> anyhow::Result<()> {
    let storage = ctx.backend.storage.as_ref();
    let (mut rows, mut events, mut sum) = (0u64, 0u64, 0u64);
    for day in from.iter_days().take_while(|d| *d <= to) {
        let epoch_day = day
            .signed_duration_since(chrono::NaiveDate::default())
            .num_days() as u64;
        for segment in vitals_core::segment::Segment::all() {
            let chunks = storage.chunks_for_segment_day(segment, day).await?;
            // Chunks come ordered by account: each run of one account is its day.
            for group in chunks.chunk_by(|a, b| a.account_id == b.account_id) {
                let activity = day_activity_with_signals(
                    group,
                    &ctx.config.usage,
                    &ctx.config.signals,
                    ctx.config.scoring.first_value_event.as_deref(),
                );
                if activity.events == 0 {
                    continue;
                }
                let account = group[0].account_id.as_str();
                let mut v = vitals_core::segment::fnv1a64(account.as_bytes())
                    .wrapping_mul(31)
                    .wrapping_add(epoch_day);
                for n in [
                    u64::from(activity.events),
                    activity.active_users.len() as u64,
                    activity.features.len() as u64,
                ] {
                    v = v.wrapping_mul(1_000_003).wrapping_add(n);
                }
                sum = sum.wrapping_add(v);
                rows += 1;
                events += u64::from(activity.events);
            }
        }
    }
    println!(
        "{}",
        json!({"rollup_rows": rows, "usage_events": events, "checksum": format!("{sum:016x}")})
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
