//! `vitals serve`: the ingest and query APIs on one port, with the daily scoring schedule and
//! alert dispatch running in the same process.

use std::path::Path;

use anyhow::Context as _;
use rand::RngCore;
use vitals_core::ingest::KeyTrust;

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
        // A client key: it ends up in web pages, so it may not set owners or revenue.
        keys = keys.with_keys(KeyTrust::Client, [key]);
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
/// without configuration and the key survives restarts. The file is private (0600).
pub fn local_write_key(data: &Path) -> anyhow::Result<String> {
    let path = data.join("write-key");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let key = existing.trim().to_string();
        if !key.is_empty() {
            crate::secret_file::make_private(&path)
                .with_context(|| format!("cannot make {} private", path.display()))?;
            return Ok(key);
        }
        std::fs::remove_file(&path)
            .with_context(|| format!("cannot replace {}", path.display()))?;
    }
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let key = format!("wk_{}", hex::encode(bytes));
    std::fs::create_dir_all(data).with_context(|| format!("cannot create {}", data.display()))?;
    match crate::secret_file::create_private(&path, &format!("{key}\n")) {
        Ok(()) => Ok(key),
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => local_write_key(data),
        Err(e) => Err(e).with_context(|| format!("cannot write {}", path.display())),
    }
}

async fn shutdown_signal() {
    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::warn!(error = %e, "cannot listen for Ctrl-C; stop the process to shut down");
        std::future::pending::<()>().await;
    }
    println!("Shutting down");
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_local_write_key_file_is_private_and_reused() {
        let dir = std::env::temp_dir().join(format!(
            "vitals-write-key-test-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        let first = local_write_key(&dir).unwrap();
        assert_eq!(local_write_key(&dir).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            let path = dir.join("write-key");
            assert_eq!(mode(&path), 0o600);
            // A file an older version left world-readable is made private when read.
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert_eq!(local_write_key(&dir).unwrap(), first);
            assert_eq!(mode(&path), 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
