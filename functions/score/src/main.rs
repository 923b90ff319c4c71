//! Score Lambda: the daily scoring run, started by EventBridge Scheduler; with a segment queue
//! configured it fans the day's segments out through SQS and scores them as they arrive. A
//! second schedule refreshes provisional "today so far" scores every 15 minutes.

mod handler;

use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let started = vitals_runtime::lambda::start().await?;
    let segments = started
        .env
        .score_segments
        .as_ref()
        .map(|(queue, dlq)| vitals_runtime::backend::open_sqs_queue(&started.sdk, queue, dlq));
    let wiring = handler::Wiring {
        backend: started.backend,
        segments,
        peers: Default::default(),
        crm: Default::default(),
        upgrades: Some(vitals_runtime::backend::TableUpgrades::new(
            &started.sdk,
            &started.env.table,
        )),
    };
    let wiring = &wiring;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            handler::handle(wiring, event.payload).await
        },
    ))
    .await
}
