//! `vitals demo`: generates a realistic portfolio, sends it through the same HTTP ingest route
//! product apps use, scores every day of its history, then serves it.

mod generate;

use std::time::Instant;

use anyhow::{bail, Context as _};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64::Engine;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::cli::{DemoArgs, GlobalArgs};
use crate::context::Context;
use crate::{jobs, serve};
pub use generate::Portfolio;

/// Largest demo batch body: under Segment's 500 KB limit with room to spare.
const BATCH_BYTES: usize = 400 * 1024;

pub async fn demo(global: &GlobalArgs, ctx: Context, args: &DemoArgs) -> anyhow::Result<()> {
    let yesterday = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
    let mut portfolio = Portfolio::generate(args.accounts, args.days, yesterday, args.seed);
    println!(
        "Generating {} accounts with {} days of history ({} to {}) into {}",
        args.accounts,
        args.days,
        portfolio.first_day,
        portfolio.last_day,
        global.data.display()
    );
    let key = serve::local_write_key(&global.data)?;
    let router =
        vitals_http::ingest_router(ctx.app_state(vitals_http::WriteKeys::new([key.clone()])));
    let started = Instant::now();
    let mut sent = send(&router, &key, portfolio.setup_messages()).await?;
    let bar = progress(u64::from(args.days), "ingesting");
    let mut day = portfolio.first_day;
    while day <= portfolio.last_day {
        let messages = portfolio.day_messages(day);
        sent += send(&router, &key, messages).await?;
        bar.inc(1);
        day += chrono::Duration::days(1);
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "Ingested {sent} events in {secs:.1}s ({:.0} events/s)",
        sent as f64 / secs.max(0.001)
    );
    jobs::backfill(&ctx, portfolio.first_day, portfolio.last_day).await?;
    if args.no_serve {
        return Ok(());
    }
    serve::serve(global, ctx, &args.serve).await
}

/// Sends messages as Segment batches through the ingest router; fails on any refusal, since the
/// generator only makes valid events.
async fn send(router: &axum::Router, key: &str, messages: Vec<Value>) -> anyhow::Result<u64> {
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
    );
    let mut total = 0u64;
    let mut batch: Vec<Value> = Vec::new();
    let mut size = 0usize;
    let mut iter = messages.into_iter().peekable();
    while let Some(m) = iter.next() {
        size += m.to_string().len() + 1;
        batch.push(m);
        if size < BATCH_BYTES && batch.len() < 500 && iter.peek().is_some() {
            continue;
        }
        let body = json!({"batch": std::mem::take(&mut batch)}).to_string();
        size = 0;
        let request = Request::post("/v1/batch")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, &auth)
            .body(Body::from(body))
            .context("build demo request")?;
        let response = router
            .clone()
            .oneshot(request)
            .await
            .context("send demo batch")?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .context("read ingest reply")?;
        let reply: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status != StatusCode::OK || reply["rejected"].as_array().is_some_and(|r| !r.is_empty()) {
            bail!("ingest refused demo data ({status}): {reply}");
        }
        total += reply["accepted"].as_u64().unwrap_or(0);
    }
    Ok(total)
}

pub fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}
