//! A fault-injecting HTTP proxy on loopback, in front of DynamoDB Local or moto: the AWS SDK
//! talks to it as to the real endpoint, and a share of its requests are answered with a 500, a
//! 503, a throttling error, a delay, or a dropped connection, either before the request reaches
//! the emulator or after (the request took effect but its answer is lost: the case that tests
//! whether a retry is idempotent). Seeded, so a failure reproduces.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::support::Must;

/// What the proxy did, by kind: the figures a test reports.
#[derive(Debug, Default)]
pub struct FaultCounts {
    pub forwarded: AtomicU64,
    pub server_errors: AtomicU64,
    pub unavailable: AtomicU64,
    pub throttled: AtomicU64,
    pub delayed: AtomicU64,
    pub dropped_before: AtomicU64,
    pub dropped_after: AtomicU64,
}

impl FaultCounts {
    /// Faults injected in all (delays included).
    pub fn injected(&self) -> u64 {
        [
            &self.server_errors,
            &self.unavailable,
            &self.throttled,
            &self.delayed,
            &self.dropped_before,
            &self.dropped_after,
        ]
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum()
    }

    pub fn summary(&self) -> String {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "{} faults in {} requests: {} HTTP 500, {} HTTP 503, {} throttled, {} delayed, \
             {} dropped before and {} after reaching the emulator",
            self.injected(),
            n(&self.forwarded)
                + n(&self.server_errors)
                + n(&self.unavailable)
                + n(&self.throttled)
                + n(&self.dropped_before),
            n(&self.server_errors),
            n(&self.unavailable),
            n(&self.throttled),
            n(&self.delayed),
            n(&self.dropped_before),
            n(&self.dropped_after),
        )
    }
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    ServerError,
    Unavailable,
    Throttle,
    Delay,
    DropBefore,
    DropAfter,
}

const FAULTS: [Fault; 6] = [
    Fault::ServerError,
    Fault::Unavailable,
    Fault::Throttle,
    Fault::Delay,
    Fault::DropBefore,
    Fault::DropAfter,
];

struct Shared {
    upstream: String,
    client: reqwest::Client,
    /// Per-mille of requests that get a fault (0 while a test sets up).
    per_mille: AtomicU64,
    rng: Mutex<u64>,
    counts: FaultCounts,
}

impl Shared {
    /// xorshift64*: enough randomness for picking faults, reproducible from the seed.
    fn next(&self) -> u64 {
        let mut state = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        let mut x = *state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick(&self) -> Option<Fault> {
        let per_mille = self.per_mille.load(Ordering::Relaxed);
        let roll = self.next();
        if roll % 1000 >= per_mille {
            return None;
        }
        Some(FAULTS[((roll / 1000) % FAULTS.len() as u64) as usize])
    }
}

pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`: give it to the SDK as the endpoint.
    pub endpoint: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// A proxy to `upstream` that injects no fault until [`FaultProxy::set_fault_share`].
    pub async fn start(upstream: &str, seed: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .must("bind fault proxy");
        let endpoint = format!("http://{}", listener.local_addr().must("proxy address"));
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .must("proxy client"),
            per_mille: AtomicU64::new(0),
            rng: Mutex::new(seed | 1),
            counts: FaultCounts::default(),
        });
        let accepting = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = accepting.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let shared = shared.clone();
                        async move { handle(&shared, request).await }
                    });
                    // A dropped connection is one of the faults: its error is expected.
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                        .ok();
                });
            }
        });
        Self {
            endpoint,
            shared,
            task,
        }
    }

    /// From now on, `share` (0..=1) of the requests get a fault.
    pub fn set_fault_share(&self, share: f64) {
        let per_mille = (share.clamp(0.0, 1.0) * 1000.0).round() as u64;
        self.shared.per_mille.store(per_mille, Ordering::Relaxed);
    }

    pub fn counts(&self) -> &FaultCounts {
        &self.shared.counts
    }

    /// An emulator SDK configuration through this proxy, with two attempts per call (one
    /// retry): enough to ride out most faults, few enough that some reach the code under test.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        crate::support::emulator_sdk_config(&self.endpoint)
            .await
            .to_builder()
            .retry_config(
                aws_config::retry::RetryConfig::standard()
                    .with_max_attempts(2)
                    .with_initial_backoff(Duration::from_millis(5)),
            )
            .build()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Debug, thiserror::Error)]
#[error("connection dropped by the fault proxy")]
struct Dropped;

async fn handle(
    shared: &Shared,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let counts = &shared.counts;
    let fault = shared.pick();
    match fault {
        Some(Fault::ServerError) => {
            counts.server_errors.fetch_add(1, Ordering::Relaxed);
            return Ok(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
            ));
        }
        Some(Fault::Unavailable) => {
            counts.unavailable.fetch_add(1, Ordering::Relaxed);
            return Ok(error(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"));
        }
        Some(Fault::Throttle) => {
            counts.throttled.fetch_add(1, Ordering::Relaxed);
            return Ok(error(StatusCode::BAD_REQUEST, "ThrottlingException"));
        }
        Some(Fault::DropBefore) => {
            counts.dropped_before.fetch_add(1, Ordering::Relaxed);
            return Err(Dropped);
        }
        Some(Fault::Delay) => {
            counts.delayed.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Some(Fault::DropAfter) | None => {}
    }
    let response = forward(shared, request).await;
    counts.forwarded.fetch_add(1, Ordering::Relaxed);
    if matches!(fault, Some(Fault::DropAfter)) {
        counts.dropped_after.fetch_add(1, Ordering::Relaxed);
        return Err(Dropped);
    }
    Ok(response)
}

/// An AWS JSON-protocol error, which the SDK classifies by `__type` (throttling and 5xx are
/// retried).
fn error(status: StatusCode, kind: &str) -> Response<Full<Bytes>> {
    let body = format!(r#"{{"__type":"{kind}","message":"injected by the fault proxy"}}"#);
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    if let Ok(value) = hyper::header::HeaderValue::from_str(kind) {
        headers.insert("x-amzn-errortype", value);
    }
    response
}

async fn forward(shared: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return error(StatusCode::BAD_REQUEST, "IncompleteBody"),
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("{}{path}", shared.upstream);
    let method = match reqwest::Method::from_bytes(parts.method.as_str().as_bytes()) {
        Ok(m) => m,
        Err(_) => return error(StatusCode::BAD_REQUEST, "BadMethod"),
    };
    let mut outgoing = shared.client.request(method, url).body(body);
    for (name, value) in &parts.headers {
        if name != hyper::header::HOST && name != hyper::header::CONTENT_LENGTH {
            outgoing = outgoing.header(name.as_str(), value.as_bytes());
        }
    }
    let answer = match outgoing.send().await {
        Ok(answer) => answer,
        Err(_) => return error(StatusCode::BAD_GATEWAY, "UpstreamUnreachable"),
    };
    let status = answer.status().as_u16();
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap_or_default();
    let mut response = Response::new(Full::new(bytes));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    for (name, value) in &headers {
        let skip = ["content-length", "transfer-encoding", "connection"];
        if !skip.contains(&name.as_str()) {
            if let (Ok(n), Ok(v)) = (
                hyper::header::HeaderName::from_bytes(name.as_str().as_bytes()),
                hyper::header::HeaderValue::from_bytes(value.as_bytes()),
            ) {
                response.headers_mut().insert(n, v);
            }
        }
    }
    response
}
