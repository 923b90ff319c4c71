//! `vitals import events`: NDJSON of Segment messages through the ingest use case. One thread
//! reads and parses lines into batches while the other stores the previous batch, so the two
//! cores overlap; at most a few batches are held in memory whatever the size of the file.

use std::path::Path;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::mpsc;
use vitals_core::ingest::import::{event_line, ImportError, Lines, RowError};
use vitals_core::ingest::{Ingest, Message, ParsedBatch, Rejection};
use vitals_core::model::AccountId;

use super::{read_failure, ImportOptions, Input, Reader, Tally};
use crate::context::Context;

/// Most lines per batch. A batch is stored in one transaction with one chunk per account-day
/// it holds, so larger batches mean fewer, fuller chunks; this bounds memory (a parsed line
/// takes well under 1 KB).
const MAX_BATCH_LINES: usize = 100_000;
/// Most bytes of line text per batch (bounds memory on files of large events).
const MAX_BATCH_BYTES: usize = 64 * 1024 * 1024;
/// Lines after which a batch ends at the next change of day, so that in a file in time order
/// (as exports are) an account-day's events land in one chunk rather than two.
const DAY_CUT_LINES: usize = 20_000;
/// Parsed batches waiting to be stored: one in flight keeps both threads busy.
const QUEUED_BATCHES: usize = 1;

/// One batch of lines, parsed: the valid messages, the refused lines, what was read.
struct LinesBatch {
    batch: ParsedBatch,
    received_at: DateTime<Utc>,
    rejected: Vec<RowError>,
    /// First and last line numbers of the batch (0 when it has no line).
    first: usize,
    last: usize,
    /// The input failed after this batch's lines.
    failure: Option<ImportError>,
}

pub(super) async fn events(
    ctx: &Context,
    file: &Path,
    options: &ImportOptions,
) -> anyhow::Result<()> {
    let (input, reader) = Input::open(file, "events")?;
    let storage = ctx.backend.storage.as_ref();
    // Today's events get provisional scores like those sent to `vitals serve`.
    let touches = vitals_core::freshness::TouchRecorder::new(&ctx.config.freshness);
    let ingest = Ingest::new(storage)
        .with_signals(&ctx.config.signals)
        .with_touches(&touches);
    let retention_days = ctx.config.retention.days;
    let (sender, mut batches) = mpsc::channel(QUEUED_BATCHES);
    // Dropped with `batches` if storing fails: the reader then stops at its next batch.
    let reader = std::thread::Builder::new()
        .name("import-read".into())
        .spawn(move || read_batches(reader, retention_days, &sender))
        .context("cannot start the reading thread")?;
    let mut tally = Tally::default();
    let mut unattributed = 0u64;
    while let Some(lines) = batches.recv().await {
        for e in lines.rejected {
            tally.reject(e);
        }
        let valid = lines.batch.messages.len() as u64;
        if !options.dry_run && valid > 0 {
            let (first, last) = (lines.first, lines.last);
            let outcome = ingest
                .handle(lines.batch, lines.received_at)
                .await
                .with_context(|| {
                    format!(
                        "storing lines {first}-{last} failed; the lines before were imported, and running the import again is safe"
                    )
                })?;
            unattributed += outcome.unattributed as u64;
        }
        tally.accepted += valid;
        input.tick(tally.accepted + tally.rejected.total, "events");
        if let Some(e) = lines.failure {
            input.progress.finish_and_clear();
            tally.print("events", options);
            return Err(read_failure(&input, e, "events", &tally));
        }
    }
    if reader.join().is_err() {
        anyhow::bail!("the reading thread failed; running the import again is safe");
    }
    input.progress.finish_and_clear();
    tally.print("events", options);
    if unattributed > 0 {
        println!(
            "{unattributed} event(s) had no account (no context.groupId and no earlier group call for their user); kept as {}",
            AccountId::UNATTRIBUTED
        );
    }
    tally.outcome("events", options, "events dedupe by messageId")
}

/// Reads and parses the input into batches, cut by line order only (so a re-run writes the
/// same chunks), until its end, a read failure or the receiver going away.
fn read_batches(reader: Reader, retention_days: u32, sender: &mpsc::Sender<LinesBatch>) {
    let mut lines = Lines::new(reader);
    // A line read past the end of the previous batch (the first of a new day).
    let mut carried: Option<(usize, Message)> = None;
    loop {
        let received_at = Utc::now();
        let mut out = LinesBatch {
            batch: ParsedBatch::default(),
            received_at,
            rejected: Vec::new(),
            first: 0,
            last: 0,
            failure: None,
        };
        let mut bytes = 0;
        let mut day: Option<NaiveDate> = None;
        let mut at_end = false;
        if let Some((line, m)) = carried.take() {
            (out.first, out.last) = (line, line);
            bytes += m.size;
            day = Some(m.timestamp.date_naive());
            out.batch.messages.push(m);
        }
        while out.batch.messages.len() + out.rejected.len() < MAX_BATCH_LINES
            && bytes < MAX_BATCH_BYTES
        {
            let (line, text) = match lines.next() {
                None => {
                    at_end = true;
                    break;
                }
                Some(Err(e)) => {
                    out.failure = Some(e);
                    break;
                }
                Some(Ok(Ok((_, text)))) if text.trim().is_empty() => continue,
                Some(Ok(Ok(line))) => line,
                Some(Ok(Err(e))) => {
                    reject(&mut out, e);
                    continue;
                }
            };
            bytes += text.len();
            match event_line(&text, received_at, retention_days) {
                Ok(m) => {
                    let today = m.timestamp.date_naive();
                    let new_day = day.is_some_and(|d| d != today);
                    if new_day && out.batch.messages.len() >= DAY_CUT_LINES {
                        carried = Some((line, m));
                        break;
                    }
                    day = Some(today);
                    note_line(&mut out, line);
                    out.batch.messages.push(m);
                }
                Err(e) => reject(
                    &mut out,
                    RowError {
                        line,
                        reason: e.to_string(),
                    },
                ),
            }
        }
        let failed = out.failure.is_some();
        if sender.blocking_send(out).is_err() || failed || (at_end && carried.is_none()) {
            return;
        }
    }
}

fn note_line(out: &mut LinesBatch, line: usize) {
    if out.first == 0 {
        out.first = line;
    }
    out.last = line;
}

/// A refused line: listed in the batch (as the ingest use case reports refusals) and in the
/// rows the summary counts.
fn reject(out: &mut LinesBatch, e: RowError) {
    note_line(out, e.line);
    out.batch.rejected.push(Rejection {
        index: out.batch.messages.len() + out.batch.rejected.len(),
        message_id: None,
        error: e.reason.clone(),
    });
    out.rejected.push(e);
}
