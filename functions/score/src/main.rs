//! Score Lambda: the daily scoring run, started by EventBridge Scheduler; with a segment queue
//! configured it fans the day's segments out through SQS and scores them as they arrive. A
//! second schedule refreshes provisional "today so far" scores every 15 minutes.

mod handler;

use lambda_runtime::{service_fn, LambdaEvent};
use vitals_runtime::env::FunctionEnv;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    vitals_runtime::init_logging(true, "info");
    let env = FunctionEnv::from_env()?;
    let (queue_url, dlq_url) = env.alert_queue()?;
    let backend = vitals_runtime::backend::open_aws(
        &env.table,
        &queue_url,
        &dlq_url,
        env.endpoint_url.as_deref(),
        env.retention_days,
    )
    .await;
    let segments = match &env.score_segment_queue_url {
        Some(url) => Some(
            vitals_runtime::backend::open_sqs_queue(url, "", env.endpoint_url.as_deref()).await,
        ),
        None => None,
    };
    let wiring = handler::Wiring {
        backend,
        segments,
        peers: Default::default(),
    };
    let wiring = &wiring;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            handler::handle(wiring, event.payload).await
        },
    ))
    .await
}
