//! `vitals serve`: the ingest and query APIs on one port, with the daily scoring schedule and
//! alert dispatch running in the same process.

use std::path::Path;

use anyhow::Context as _;
use rand::RngCore;
use vitals_http::WriteKeys;

use crate::cli::{BackendKind, GlobalArgs, ServeArgs};
use crate::context::Context;
use crate::jobs;

pub async fn serve(global: &GlobalArgs, ctx: Context, args: &ServeArgs) -> anyhow::Result<()> {
    let mut keys = ctx.write_keys();
    if keys.is_empty() && global.backend == BackendKind::Embedded {
        let key = local_write_key(&global.data)?;
        println!(
            "No write keys configured; using the local key in {}: {key}",
            global.data.join("write-key").display()
        );
        keys = WriteKeys::new([key]);
    }
    let app = vitals_http::full_router(ctx.app_state(keys));
    let listener = tokio::net::TcpListener::bind(&args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let addr = listener.local_addr()?;
    println!("Vitals is serving on http://{addr}  (health: http://{addr}/health, dashboard: http://{addr}/dashboard)");
    let mut background = jobs::spawn_background(ctx, !args.no_schedule);
    vitals_http::serve(listener, app, args.limits(), shutdown_signal()).await;
    background.abort_all();
    Ok(())
}

/// A write key generated once per data directory, so a fresh `vitals serve` accepts events
/// without configuration and the key survives restarts.
pub fn local_write_key(data: &Path) -> anyhow::Result<String> {
    let path = data.join("write-key");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let key = existing.trim().to_string();
        if !key.is_empty() {
            return Ok(key);
        }
    }
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let key = format!("wk_{}", hex::encode(bytes));
    std::fs::create_dir_all(data).with_context(|| format!("cannot create {}", data.display()))?;
    std::fs::write(&path, format!("{key}\n"))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(key)
}

async fn shutdown_signal() {
    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::warn!(error = %e, "cannot listen for Ctrl-C; stop the process to shut down");
        std::future::pending::<()>().await;
    }
    println!("Shutting down");
}
