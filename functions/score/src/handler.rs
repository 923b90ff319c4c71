//! Translates the function's kinds of invocation into the daily run or the provisional refresh:
//! - the provisional-refresh schedule's event (`infra/events/score-provisional-refresh.json`,
//!   `"kind": "provisional_refresh"`, every 15 minutes): provisional "today so far" scores for
//!   the accounts ingest marked as touched (`vitals_core::run::ProvisionalRefresh`); nothing is
//!   sent and no daily state changes;
//! - the daily schedule's event (`infra/events/score-schedule.json`, or `{"as_of": "YYYY-MM-DD"}` for
//!   a manual run; a day that has not ended in `[schedule] timezone` is refused): first
//!   recompute the days late events changed (`vitals_core::run::late`), then, with a segment queue, enqueue one message per segment and return; without
//!   one (or when scorecards rank against peers, which needs the whole portfolio in one pass),
//!   run every segment here, resuming from checkpoints after a timeout;
//! - an SQS batch of segment messages: score each segment, report only the failed ones, and
//!   publish the portfolio summary once the last segment is done.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use vitals_core::clock::SystemClock;
use vitals_core::config::VitalsConfig;
use vitals_core::ports::{OutgoingMessage, Queue};
use vitals_core::run::{DailyRun, PeerCache, ProvisionalRefresh, RunError};
use vitals_core::segment::Segment;
use vitals_runtime::backend::Backend;

pub struct Wiring {
    pub backend: Backend,
    /// The fan-out queue, when configured.
    pub segments: Option<Arc<dyn Queue>>,
    /// Peer distributions of the last scored day, kept by a warm instance between refreshes.
    pub peers: PeerCache,
}

/// What a scheduled invocation asks for.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ScheduleKind {
    /// The daily run (also a manual `{"as_of": ...}` without a kind).
    #[default]
    Daily,
    ProvisionalRefresh,
    #[serde(other)]
    Unknown,
}

/// The schedule's input; a retried invocation carries the same `scheduled_time`, so the same day.
#[derive(Debug, Default, Deserialize)]
struct ScheduleInput {
    #[serde(default)]
    kind: ScheduleKind,
    as_of: Option<NaiveDate>,
    scheduled_time: Option<DateTime<Utc>>,
}

/// One segment of one day, as it travels on the segment queue.
#[derive(Debug, Serialize, Deserialize)]
pub struct SegmentWork {
    pub day: NaiveDate,
    pub segment: Segment,
}

pub async fn handle(
    wiring: &Wiring,
    payload: serde_json::Value,
) -> Result<serde_json::Value, lambda_runtime::Error> {
    let config = load_config(&wiring.backend).await?;
    let crm = vitals_integrations::crm::sinks(&config.crm, |name| std::env::var(name).ok())
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "CRM write-back is off");
            Vec::new()
        });
    let run = DailyRun::new(
        wiring.backend.storage.as_ref(),
        wiring.backend.alert_queue.as_ref(),
        &config,
        &SystemClock,
    )
    .with_crm_sinks(crm);
    if payload.get("Records").is_some() {
        let event: SqsEvent = serde_json::from_value(payload)?;
        return Ok(serde_json::to_value(score_segments(&run, event).await)?);
    }
    let input: ScheduleInput = serde_json::from_value(payload).unwrap_or_default();
    match input.kind {
        ScheduleKind::Daily => {}
        ScheduleKind::ProvisionalRefresh => {
            let report = ProvisionalRefresh::new(
                wiring.backend.storage.as_ref(),
                &config,
                &SystemClock,
                &wiring.peers,
            )
            .refresh()
            .await?;
            tracing::info!(
                touched = report.touched,
                written = report.written,
                "provisional scores refreshed"
            );
            return Ok(serde_json::to_value(report)?);
        }
        ScheduleKind::Unknown => {
            return Err("unknown schedule kind: expected daily or provisional_refresh".into())
        }
    }
    let fired = input.scheduled_time.unwrap_or_else(Utc::now);
    let day = match input.as_of {
        Some(day) => day,
        None => vitals_core::run::last_scorable_day(fired, &config.schedule),
    };
    // A day is scored only once it has ended; late events for scored days are counted first.
    run.check_scorable(day)?;
    let late = run.recompute_late(&mut |_, _| {}).await?;
    if late.marks > 0 {
        tracing::info!(marks = late.marks, accounts = late.accounts_marked, from = ?late.from, to = ?late.to, "recomputed days late events changed");
    }
    match &wiring.segments {
        Some(queue) if !vitals_scoring::kernel::needs_peers(&config.scoring) => {
            let work: Vec<OutgoingMessage> = Segment::all()
                .map(|segment| {
                    let body =
                        serde_json::to_string(&SegmentWork { day, segment }).unwrap_or_default();
                    OutgoingMessage {
                        id: format!("score:{day}:{segment}"),
                        body,
                    }
                })
                .collect();
            run.claim_late_marks_of(day).await?;
            queue.send(&work).await?;
            tracing::info!(%day, segments = work.len(), "scoring run fanned out");
            Ok(serde_json::json!({"day": day, "fanned_out": work.len()}))
        }
        // A timeout or crash is retried by the scheduler; the run resumes from its checkpoints.
        _ => Ok(serde_json::to_value(
            run.score_day(day, &mut |_| {}).await?,
        )?),
    }
}

async fn score_segments<S: vitals_core::ports::Storage + ?Sized>(
    run: &DailyRun<'_, S>,
    event: SqsEvent,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let outcome = match record
            .body
            .as_deref()
            .map(serde_json::from_str::<SegmentWork>)
        {
            Some(Ok(work)) => match run.run_segment(work.day, work.segment).await {
                Ok(_) => match run.publish_summary(work.day).await {
                    // The last segment to finish publishes and runs the day's follow-up work
                    // (two finishing together both do: it is idempotent).
                    Ok(_) => run.after_day(work.day).await.map_err(|e| e.to_string()),
                    Err(RunError::Incomplete { .. }) => Ok(()),
                    Err(e) => Err(e.to_string()),
                },
                Err(e) => Err(e.to_string()),
            },
            Some(Err(e)) => Err(format!("not a segment message: {e}")),
            None => Err("empty message body".to_string()),
        };
        if let Err(problem) = outcome {
            tracing::warn!(message_id = %id, %problem, "segment failed; reported for retry");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

async fn load_config(backend: &Backend) -> Result<VitalsConfig, lambda_runtime::Error> {
    Ok(vitals_runtime::backend::current_config(backend.storage.as_ref()).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use vitals_core::model::AccountId;
    use vitals_embedded::{QueueSettings, SqliteQueue, SqliteStore};

    fn wiring(segments: Option<Arc<dyn Queue>>) -> Wiring {
        let store = SqliteStore::open_in_memory().unwrap();
        let alerts = SqliteQueue::open_in_memory("alerts", QueueSettings::default()).unwrap();
        Wiring {
            backend: Backend {
                storage: Arc::new(store),
                alert_queue: Arc::new(alerts),
            },
            segments,
            peers: PeerCache::default(),
        }
    }

    async fn seed_account(w: &Wiring) {
        let profile = vitals_core::model::AccountProfile {
            name: Some("Acme".into()),
            seats: Some(10),
            ..Default::default()
        };
        w.backend
            .storage
            .put_profile(&AccountId::new("acme").unwrap(), &profile)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn schedule_event_fans_out_and_segment_messages_finish_the_day() {
        let segments: Arc<dyn Queue> =
            Arc::new(SqliteQueue::open_in_memory("segments", QueueSettings::default()).unwrap());
        let w = wiring(Some(segments.clone()));
        seed_account(&w).await;
        // Segments fan out when no scorecard ranks against peers (a peer-ranked day needs the
        // whole portfolio at once, so the default scorecards score in one invocation).
        let absolute = "[[scoring.scorecards]]\nname = \"default\"\nnormalise = \"absolute\"\n\
                        [scoring.scorecards.weights]\nusage_depth = 0.5\nseat_adoption = 0.5\n";
        vitals_core::config::apply_config(
            w.backend.storage.as_ref(),
            &SystemClock,
            absolute,
            "ops",
        )
        .await
        .unwrap();
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../../../infra/events/score-schedule.json"))
                .unwrap();
        let reply = handle(&w, fixture).await.unwrap();
        assert_eq!(reply["fanned_out"], 64);
        assert_eq!(reply["day"], "2026-11-21");

        let mut records = Vec::new();
        loop {
            let got = segments
                .receive(10, Duration::from_secs(300))
                .await
                .unwrap();
            if got.is_empty() {
                break;
            }
            for m in got {
                records.push(serde_json::json!({"messageId": m.id, "body": m.body, "eventSource": "aws:sqs"}));
            }
        }
        assert_eq!(records.len(), 64);
        let reply = handle(&w, serde_json::json!({"Records": records}))
            .await
            .unwrap();
        assert_eq!(reply["batchItemFailures"], serde_json::json!([]));
        let summary = w.backend.storage.latest_summary().await.unwrap().unwrap();
        assert_eq!(
            (summary.as_of, summary.accounts),
            (Some("2026-11-21".parse().unwrap()), 1)
        );
    }

    #[tokio::test]
    async fn without_a_segment_queue_the_whole_day_runs_in_one_invocation() {
        let w = wiring(None);
        seed_account(&w).await;
        let reply = handle(&w, serde_json::json!({"as_of": "2026-03-01"}))
            .await
            .unwrap();
        assert_eq!(
            (
                reply["segments_run"].as_u64(),
                reply["accounts_scored"].as_u64()
            ),
            (Some(64), Some(1))
        );
        let summary = w.backend.storage.latest_summary().await.unwrap().unwrap();
        assert_eq!(summary.as_of, Some("2026-03-01".parse().unwrap()));
    }

    #[tokio::test]
    async fn the_provisional_refresh_schedule_scores_touched_accounts_and_sends_nothing() {
        use vitals_core::freshness::TouchRecorder;
        use vitals_core::ingest::{segment, Ingest, ParseContext};
        let w = wiring(None);
        let now = Utc::now();
        let body = serde_json::json!({"batch": [{"type": "track", "messageId": "m1",
            "userId": "u1", "event": "Report Built", "timestamp": now.to_rfc3339(),
            "context": {"groupId": "acme"}}]});
        let parsed = segment::parse_batch(&body.to_string(), &ParseContext::new(now, 730)).unwrap();
        let recorder = TouchRecorder::new(&Default::default());
        Ingest::new(w.backend.storage.as_ref())
            .with_touches(&recorder)
            .handle(parsed, now)
            .await
            .unwrap();
        let fixture: serde_json::Value = serde_json::from_str(include_str!(
            "../../../infra/events/score-provisional-refresh.json"
        ))
        .unwrap();
        let reply = handle(&w, fixture.clone()).await.unwrap();
        assert_eq!(
            (reply["touched"].as_u64(), reply["written"].as_u64()),
            (Some(1), Some(1))
        );
        let acme = w
            .backend
            .storage
            .get_account(&AccountId::new("acme").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(acme.provisional.map(|p| p.day), Some(now.date_naive()));
        assert!(acme.score.is_none(), "no daily run");
        let sent = w
            .backend
            .alert_queue
            .receive(10, Duration::from_secs(1))
            .await
            .unwrap();
        assert!(
            sent.is_empty(),
            "nothing is sent about a day that has not ended"
        );
        let again = handle(&w, fixture).await.unwrap();
        assert_eq!(again["written"].as_u64(), Some(0));
        assert!(handle(&w, serde_json::json!({"kind": "weekly"}))
            .await
            .is_err());
    }

    #[tokio::test]
    async fn a_bad_segment_message_is_reported_alone() {
        let w = wiring(None);
        let bad = serde_json::json!({"messageId": "bad", "body": "{}", "eventSource": "aws:sqs"});
        let good = serde_json::json!({"messageId": "good", "body": r#"{"day":"2026-03-01","segment":3}"#, "eventSource": "aws:sqs"});
        let reply = handle(&w, serde_json::json!({"Records": [bad, good]}))
            .await
            .unwrap();
        assert_eq!(
            reply["batchItemFailures"],
            serde_json::json!([{"itemIdentifier": "bad"}])
        );
    }
}
