//! Start-up and event plumbing shared by the four Lambda functions: environment, SDK clients,
//! backend and configuration read once per cold start; a start-up failure is posted to the
//! Runtime API's `/init/error` (so Lambda shows why the instance never became ready, not only a
//! process exit); and SQS batches handled record by record with partial batch failures.

use std::future::Future;
use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use serde::de::DeserializeOwned;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::Instrument;
use vitals_core::config::VitalsConfig;

use crate::backend::{self, Backend, ConfigLoadError};
use crate::env::{EnvError, FunctionEnv};

/// What every function has after a successful start.
pub struct Started {
    pub env: FunctionEnv,
    /// The SDK settings the backend uses (for further clients: SES, Secrets Manager).
    pub sdk: aws_config::SdkConfig,
    pub backend: Backend,
    /// The configuration applied when this instance started (a new version reaches new
    /// instances), with `VITALS_PUBLIC_URL` as `[server] public_url` when set.
    pub config: VitalsConfig,
}

/// Why a function could not start; posted to `/runtime/init/error` with [`Self::error_type`].
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Environment(#[from] EnvError),
    #[error(transparent)]
    Configuration(#[from] ConfigLoadError),
    /// A function's own start-up step (secrets, notifier set-up), named in the message.
    #[error("{0}")]
    Setup(String),
}

impl InitError {
    /// The `errorType` Lambda records: what an operator greps for in the logs.
    pub fn error_type(&self) -> &'static str {
        match self {
            InitError::Environment(_) => "Vitals.Environment",
            InitError::Configuration(_) => "Vitals.Configuration",
            InitError::Setup(_) => "Vitals.Setup",
        }
    }
}

/// Logging, environment, SDK, backend and configuration; any failure is reported to the
/// Runtime API before it is returned (the caller then exits).
pub async fn start() -> Result<Started, InitError> {
    crate::init_logging(true, "info");
    reported(try_start().await).await
}

async fn try_start() -> Result<Started, InitError> {
    let env = FunctionEnv::from_env()?;
    let (queue_url, dlq_url) = env.alert_queue()?;
    // No endpoint from code: the SDK reads AWS_ENDPOINT_URL and the per-service
    // AWS_ENDPOINT_URL_DYNAMODB / _SQS itself, so each service may point elsewhere.
    let sdk = vitals_aws::lambda_sdk_config().await;
    let backend =
        backend::open_aws_with(&sdk, &env.table, &queue_url, &dlq_url, env.retention_days);
    let mut config = backend::current_config(backend.storage.as_ref()).await?;
    if let Some(url) = &env.public_url {
        config.server.public_url = url.clone();
    }
    Ok(Started {
        env,
        sdk,
        backend,
        config,
    })
}

/// Passes `result` through, first posting an error to `/runtime/init/error`.
pub async fn reported<T, E: Into<InitError>>(result: Result<T, E>) -> Result<T, InitError> {
    let error = match result {
        Ok(value) => return Ok(value),
        Err(e) => e.into(),
    };
    tracing::error!(error_type = error.error_type(), %error, "start-up failed");
    if let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") {
        let posted = tokio::time::timeout(
            Duration::from_secs(2),
            post_init_error(&api, error.error_type(), &error.to_string()),
        )
        .await;
        if !matches!(posted, Ok(Ok(()))) {
            tracing::warn!(
                ?posted,
                "could not post the start-up error to the Runtime API"
            );
        }
    }
    Err(error)
}

/// One HTTP/1.1 request on a fresh connection: the runtime client of `lambda_runtime` is not
/// running yet (and does not report errors of our own start-up).
async fn post_init_error(api: &str, error_type: &str, message: &str) -> std::io::Result<()> {
    let body = serde_json::json!({"errorMessage": message, "errorType": error_type}).to_string();
    let request = format!(
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {api}\r\n\
         Content-Type: application/json\r\nLambda-Runtime-Function-Error-Type: {error_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(api).await?;
    stream.write_all(request.as_bytes()).await?;
    // Wait for the answer: exiting first could cut the request short.
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).await?;
    Ok(())
}

/// How handling one SQS record ended, short of success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordFailure {
    /// Reported in `batchItemFailures`: SQS redelivers it, and after the queue's
    /// `maxReceiveCount` moves it to the dead-letter queue.
    Retry(String),
    /// Retrying the same message cannot help: logged as an error and not reported, so the
    /// event source mapping deletes it.
    Permanent(String),
}

/// Handles an SQS batch one record at a time, each body parsed as `T` and handled in a span
/// naming its message id (handlers record `account_id` on it); only the failed records that
/// may succeed later are reported (`ReportBatchItemFailures`). A body that is not a `T` is
/// reported: it lands in the dead-letter queue where it can be inspected.
pub async fn each_record<T, F, Fut>(event: SqsEvent, mut handle: F) -> SqsBatchResponse
where
    T: DeserializeOwned,
    F: FnMut(T, SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), RecordFailure>>,
{
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let span = tracing::info_span!(
            "sqs_record",
            message_id = %id,
            account_id = tracing::field::Empty
        );
        let parsed = match record.body.as_deref() {
            Some(body) => serde_json::from_str::<T>(body)
                .map_err(|e| RecordFailure::Retry(format!("not a valid message: {e}"))),
            None => Err(RecordFailure::Retry("empty message body".into())),
        };
        let outcome = match parsed {
            Ok(message) => handle(message, record).instrument(span.clone()).await,
            Err(e) => Err(e),
        };
        let _entered = span.enter();
        match outcome {
            Ok(()) => {}
            Err(RecordFailure::Permanent(problem)) => {
                tracing::error!(%problem, "message failed for good; not retried");
            }
            Err(RecordFailure::Retry(problem)) => {
                tracing::warn!(%problem, "message failed; reported for retry");
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
        }
    }
    response
}

/// Records the account a message is about on the current record's span.
pub fn record_account(account_id: &str) {
    tracing::Span::current().record("account_id", account_id);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn batch(bodies: &[(&str, &str)]) -> SqsEvent {
        let mut event = SqsEvent::default();
        for (id, body) in bodies {
            let mut m = SqsMessage::default();
            m.message_id = Some(id.to_string());
            m.body = Some(body.to_string());
            event.records.push(m);
        }
        event
    }

    #[tokio::test]
    async fn only_retryable_and_unreadable_records_are_reported() {
        let event = batch(&[("ok", "1"), ("retry", "2"), ("gone", "3"), ("bad", "x")]);
        let mut seen = Vec::new();
        let response = each_record(event, |n: u32, _| {
            seen.push(n);
            async move {
                match n {
                    2 => Err(RecordFailure::Retry("later".into())),
                    3 => Err(RecordFailure::Permanent("never".into())),
                    _ => Ok(()),
                }
            }
        })
        .await;
        let reported: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(reported, ["retry", "bad"]);
        assert_eq!(seen, [1, 2, 3]);
    }

    #[tokio::test]
    async fn a_start_up_error_is_posted_to_the_runtime_api() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut got = vec![0u8; 4096];
            let n = socket.read(&mut got).await.unwrap();
            socket
                .write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                .await
                .unwrap();
            String::from_utf8_lossy(&got[..n]).to_string()
        });
        post_init_error(&api, "Vitals.Environment", "VITALS_TABLE is required")
            .await
            .unwrap();
        let request = server.await.unwrap();
        assert!(request.starts_with("POST /2018-06-01/runtime/init/error "));
        assert!(request.contains(r#""errorType":"Vitals.Environment""#));
    }
}
