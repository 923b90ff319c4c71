//! Provisional "today so far" scores on one machine: `vitals serve` refreshes them every
//! `[freshness] interval_minutes` beside its daily schedule, and `vitals refresh` runs one
//! refresh now (on any backend). Both call [`refresh_provisional`], the core use case
//! `run::ProvisionalRefresh`, so what a test drives is what the task runs.

use std::time::Duration;

use anyhow::Context as _;
use vitals_core::clock::SystemClock;
use vitals_core::run::{PeerCache, ProvisionalRefresh, ProvisionalReport};

use crate::context::Context;

/// One refresh: the accounts touched in the recent intervals whose events changed get a new
/// provisional score.
pub async fn refresh_provisional(
    ctx: &Context,
    peers: &PeerCache,
) -> anyhow::Result<ProvisionalReport> {
    ProvisionalRefresh::new(
        ctx.backend.storage.as_ref(),
        &ctx.config,
        &SystemClock,
        peers,
    )
    .refresh()
    .await
    .context("provisional refresh failed")
}

/// The `vitals serve` task: a refresh every `period`, the first at once. A failed refresh is
/// logged and the next interval tries again (the touched set still names its accounts).
pub async fn keep_fresh(ctx: Context, period: Duration) {
    let peers = PeerCache::default();
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match refresh_provisional(&ctx, &peers).await {
            Ok(report) if report.written > 0 => {
                tracing::info!(
                    touched = report.touched,
                    written = report.written,
                    "provisional scores refreshed"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(
                error = format!("{e:#}"),
                "provisional refresh failed; trying again next interval"
            ),
        }
    }
}

/// `vitals refresh`: one refresh now, and what it did.
pub async fn refresh_now(ctx: &Context) -> anyhow::Result<()> {
    if !ctx.config.freshness.is_on() {
        println!("Provisional scores are off ([freshness] interval_minutes = 0): nothing to do");
        return Ok(());
    }
    let report = refresh_provisional(ctx, &PeerCache::default()).await?;
    println!(
        "Provisional scores for {}: {} account(s) touched recently, {} written, {} unchanged, {} not active",
        report
            .day
            .map_or_else(|| "today".to_string(), |d| d.to_string()),
        report.touched,
        report.written,
        report.unchanged,
        report.inactive
    );
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use vitals_core::config::VitalsConfig;
    use vitals_core::model::AccountId;
    use vitals_embedded::{QueueSettings, SqliteQueue, SqliteStore};
    use vitals_http::tower::ServiceExt;
    use vitals_http::WriteKeys;
    use vitals_runtime::backend::Backend;

    fn context(data: &tempfile::TempDir) -> Context {
        Context {
            backend: Backend {
                storage: Arc::new(SqliteStore::open_in_memory().unwrap()),
                alert_queue: Arc::new(
                    SqliteQueue::open_in_memory("alerts", QueueSettings::default()).unwrap(),
                ),
            },
            config: VitalsConfig::default(),
            data: data.path().to_path_buf(),
        }
    }

    /// The serving instance's router and its refresh task (a short period instead of 15
    /// minutes): an event sent now is scored provisionally within one period.
    #[tokio::test]
    async fn an_event_sent_to_a_serving_instance_is_scored_within_one_interval() {
        let data = tempfile::tempdir().unwrap();
        let ctx = context(&data);
        let app =
            vitals_http::full_router(ctx.app_state(WriteKeys::new(["wk_test_key".to_string()])));
        let task = tokio::spawn(keep_fresh(ctx.clone(), Duration::from_millis(100)));
        let now = chrono::Utc::now().to_rfc3339();
        let body = serde_json::json!({"batch": [
            {"type": "track", "messageId": "m-1", "userId": "u1", "event": "Report Built",
             "timestamp": now, "context": {"groupId": "acme"}}
        ]});
        let request = vitals_http::axum::http::Request::post("/v1/batch")
            .header("content-type", "application/json")
            .header("authorization", "Bearer wk_test_key")
            .body(vitals_http::axum::body::Body::from(body.to_string()))
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200);

        let acme = AccountId::new("acme").unwrap();
        let mut provisional = None;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let record = ctx.backend.storage.get_account(&acme).await.unwrap();
            provisional = record.and_then(|r| r.provisional);
            if provisional.is_some() {
                break;
            }
        }
        task.abort();
        let p = provisional.expect("a provisional score within a few intervals");
        assert_eq!(p.day, chrono::Utc::now().date_naive());
        assert_eq!(p.score.active_users, 1);
    }
}
