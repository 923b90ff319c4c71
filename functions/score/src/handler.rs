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
//!
//! Anything else (a malformed `as_of`, an unknown `kind` or field) is an invocation error.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsMessage};
use chrono::{DateTime, NaiveDate, Utc};
use lambda_runtime::Diagnostic;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use vitals_core::clock::SystemClock;
use vitals_core::config::VitalsConfig;
use vitals_core::ports::{OutgoingMessage, Queue};
use vitals_core::run::{DailyRun, DayNotOver, PeerCache, ProvisionalRefresh, RunError};
use vitals_core::segment::Segment;
use vitals_runtime::backend::{Backend, ConfigLoadError};
use vitals_runtime::lambda::{each_record, RecordFailure};

pub struct Wiring {
    pub backend: Backend,
    /// The fan-out queue, when configured.
    pub segments: Option<Arc<dyn Queue>>,
    /// Peer distributions of the last scored day, kept by a warm instance between refreshes.
    pub peers: PeerCache,
    /// The CRM clients of the current `[crm]`, kept by a warm instance.
    pub crm: vitals_integrations::crm::SinkCache,
    /// Table upgrades the daily invocation completes (DynamoDB only).
    pub upgrades: Option<vitals_runtime::backend::TableUpgrades>,
}

/// What a scheduled invocation asks for.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ScheduleKind {
    /// The daily run (also a manual `{"as_of": ...}` without a kind).
    #[default]
    Daily,
    ProvisionalRefresh,
}

/// The schedule's input (the `Input` of the template's schedules, or a manual run); a retried
/// invocation carries the same `scheduled_time`, so the same day. Unknown fields are refused,
/// so a typo (`asof`) is an error rather than a run of another day.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleInput {
    #[serde(default)]
    kind: ScheduleKind,
    as_of: Option<NaiveDate>,
    scheduled_time: Option<DateTime<Utc>>,
    // Context the scheduler adds; read for the logs only.
    source: Option<String>,
    execution_id: Option<String>,
    attempt: Option<String>,
    schedule_arn: Option<String>,
}

/// An SQS batch of segment messages (`Records` required, unlike `SqsEvent`, so a schedule
/// input is never mistaken for an empty batch).
#[derive(Debug, Deserialize)]
struct SegmentBatch {
    #[serde(rename = "Records")]
    records: Vec<SqsMessage>,
}

/// The function's invocations: the scheduler's input or the segment queue's batches.
#[derive(Debug)]
enum Invocation {
    Schedule(ScheduleInput),
    Segments(SegmentBatch),
}

impl Invocation {
    fn parse(payload: serde_json::Value) -> Result<Self, ScoreError> {
        if payload.get("Records").is_some() {
            serde_json::from_value(payload)
                .map(Invocation::Segments)
                .map_err(|e| ScoreError::Input(format!("not an SQS batch: {e}")))
        } else {
            serde_json::from_value(payload)
                .map(Invocation::Schedule)
                .map_err(|e| ScoreError::Input(format!("not a schedule input: {e}")))
        }
    }
}

/// One segment of one day, as it travels on the segment queue.
#[derive(Debug, Serialize, Deserialize)]
pub struct SegmentWork {
    pub day: NaiveDate,
    pub segment: Segment,
}

/// Why an invocation failed; `errorType` names the kind (`Score.InvalidInput`, ...).
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    DayNotOver(#[from] DayNotOver),
    #[error(transparent)]
    Configuration(#[from] ConfigLoadError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Queue(#[from] vitals_core::QueueError),
    #[error(transparent)]
    Store(#[from] vitals_core::StoreError),
    #[error("cannot encode the reply: {0}")]
    Reply(#[from] serde_json::Error),
}

impl From<ScoreError> for Diagnostic {
    fn from(e: ScoreError) -> Self {
        let error_type = match &e {
            ScoreError::Input(_) => "Score.InvalidInput",
            ScoreError::DayNotOver(_) => "Score.DayNotOver",
            ScoreError::Configuration(_) => "Score.InvalidConfiguration",
            ScoreError::Run(_) | ScoreError::Store(_) => "Score.RunFailed",
            ScoreError::Queue(_) => "Score.QueueFailed",
            ScoreError::Reply(_) => "Score.Reply",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

pub async fn handle(
    wiring: &Wiring,
    payload: serde_json::Value,
) -> Result<serde_json::Value, ScoreError> {
    let invocation = Invocation::parse(payload)?;
    let config = vitals_runtime::backend::current_config(wiring.backend.storage.as_ref()).await?;
    let crm = wiring
        .crm
        .sinks(&config.crm, |name| std::env::var(name).ok())
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
    let input = match invocation {
        Invocation::Segments(batch) => {
            return Ok(serde_json::to_value(score_segments(&run, batch).await)?)
        }
        Invocation::Schedule(input) => input,
    };
    tracing::info!(kind = ?input.kind, source = ?input.source, execution_id = ?input.execution_id,
        attempt = ?input.attempt, schedule = ?input.schedule_arn, "scheduled invocation");
    match input.kind {
        ScheduleKind::Daily => daily(wiring, &run, &config, &input).await,
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
            Ok(serde_json::to_value(report)?)
        }
    }
}

async fn daily<S: vitals_core::ports::Storage + ?Sized>(
    wiring: &Wiring,
    run: &DailyRun<'_, S>,
    config: &VitalsConfig,
    input: &ScheduleInput,
) -> Result<serde_json::Value, ScoreError> {
    if let Some(upgrades) = &wiring.upgrades {
        upgrades.complete().await;
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
            let work = Segment::all()
                .map(|segment| {
                    Ok(OutgoingMessage {
                        id: format!("score:{day}:{segment}"),
                        body: serde_json::to_string(&SegmentWork { day, segment })?,
                    })
                })
                .collect::<Result<Vec<_>, serde_json::Error>>()?;
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

/// Scores each segment of the batch; the last segment of a day to finish publishes the
/// portfolio summary and runs the day's follow-up work (two finishing together both do: it is
/// idempotent). Every failure is retried: a segment resumes from its checkpoint.
async fn score_segments<S: vitals_core::ports::Storage + ?Sized>(
    run: &DailyRun<'_, S>,
    batch: SegmentBatch,
) -> SqsBatchResponse {
    let mut event = aws_lambda_events::event::sqs::SqsEvent::default();
    event.records = batch.records;
    each_record(event, |work: SegmentWork, _| async move {
        let retry = |e: RunError| RecordFailure::Retry(e.to_string());
        run.run_segment(work.day, work.segment)
            .await
            .map_err(retry)?;
        match run.publish_summary(work.day).await {
            Ok(_) => run.after_day(work.day).await.map_err(retry),
            Err(RunError::Incomplete { .. }) => Ok(()),
            Err(e) => Err(retry(e)),
        }
    })
    .await
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
            crm: Default::default(),
            upgrades: None,
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
    async fn a_malformed_schedule_input_is_an_error_not_another_day() {
        let w = wiring(None);
        seed_account(&w).await;
        for bad in [
            serde_json::json!({"as_of": "2026-13-01"}),
            serde_json::json!({"asof": "2026-03-01"}),
        ] {
            let err = handle(&w, bad.clone()).await.unwrap_err();
            assert_eq!(
                Diagnostic::from(err).error_type,
                "Score.InvalidInput",
                "{bad}"
            );
        }
        assert!(
            w.backend.storage.latest_summary().await.unwrap().is_none(),
            "nothing was scored"
        );
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
