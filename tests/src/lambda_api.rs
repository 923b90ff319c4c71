//! A Lambda Runtime API emulator, enough to run a function binary as Lambda runs it: the
//! binary polls `GET /2018-06-01/runtime/invocation/next` for events queued by
//! [`LambdaProcess::invoke`] and answers on `…/{id}/response` or `…/{id}/error`; a failed
//! start-up posts to `/runtime/init/error`. The time from exec to the first `/next` is the
//! function's cold start (BRIEF §5).

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The function's response (for API Gateway: `statusCode`, `headers`, `body`).
    Response(Value),
    /// `…/error`: the function's `errorType` and `errorMessage`.
    Error { error_type: String, message: String },
}

impl Outcome {
    /// The response, or a test failure naming the error.
    #[track_caller]
    pub fn response(self) -> Value {
        match self {
            Outcome::Response(v) => v,
            Outcome::Error {
                error_type,
                message,
            } => panic!("the invocation failed: {error_type}: {message}"),
        }
    }
}

struct Queued {
    id: String,
    payload: Value,
}

#[derive(Default)]
struct Inner {
    /// Invocations waiting for `/next`; a receiver shared by the (single) polling runtime.
    queued: Option<mpsc::UnboundedSender<Queued>>,
    answers: HashMap<String, oneshot::Sender<Outcome>>,
    first_next: Option<Instant>,
    init_error: Option<Value>,
}

#[derive(Clone)]
struct Api {
    inner: Arc<Mutex<Inner>>,
    next: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Queued>>>,
}

fn locked(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn next(State(api): State<Api>) -> Response {
    {
        let mut inner = locked(&api.inner);
        inner.first_next.get_or_insert_with(Instant::now);
    }
    let Some(queued) = api.next.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() + 60_000)
        .unwrap_or_default();
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set("lambda-runtime-aws-request-id", queued.id.clone());
    set("lambda-runtime-deadline-ms", deadline.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:vitals-test".into(),
    );
    set(
        "lambda-runtime-trace-id",
        format!(
            "Root=1-00000000-{:0>24};Sampled=0",
            queued.id.replace('-', "")
        ),
    );
    (StatusCode::OK, headers, queued.payload.to_string()).into_response()
}

fn answer(api: &Api, id: &str, outcome: Outcome) -> StatusCode {
    match locked(&api.inner).answers.remove(id) {
        Some(tx) => {
            // The invoker may have given up (timeout); nothing to tell it then.
            drop(tx.send(outcome));
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(State(api): State<Api>, UrlPath(id): UrlPath<String>, body: Bytes) -> StatusCode {
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    answer(&api, &id, Outcome::Response(value))
}

async fn error(State(api): State<Api>, UrlPath(id): UrlPath<String>, body: Bytes) -> StatusCode {
    let value: Value = serde_json::from_slice(&body).unwrap_or_default();
    let text = |k: &str| value[k].as_str().unwrap_or_default().to_string();
    let outcome = Outcome::Error {
        error_type: text("errorType"),
        message: text("errorMessage"),
    };
    answer(&api, &id, outcome)
}

async fn init_error(State(api): State<Api>, body: Bytes) -> StatusCode {
    let value: Value = serde_json::from_slice(&body).unwrap_or_default();
    locked(&api.inner).init_error = Some(value);
    StatusCode::ACCEPTED
}

/// A function binary running against its own Runtime API emulator; killed on drop.
pub struct LambdaProcess {
    name: String,
    api: Api,
    child: Child,
    started: Instant,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
    counter: u64,
}

impl LambdaProcess {
    /// Starts `binary` with exactly `env` (plus the variables Lambda itself sets), its stderr
    /// kept for [`Self::log`].
    pub async fn start(binary: &Path, name: &str, env: &[(String, String)]) -> LambdaProcess {
        let (tx, rx) = mpsc::unbounded_channel();
        let api = Api {
            inner: Arc::new(Mutex::new(Inner {
                queued: Some(tx),
                ..Inner::default()
            })),
            next: Arc::new(tokio::sync::Mutex::new(rx)),
        };
        let app = axum::Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(api.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind the Runtime API emulator: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("emulator address: {e}"));
        tokio::spawn(async move { axum::serve(listener, app).await });

        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let log = dir.path().join(format!("{name}.log"));
        let stderr = std::fs::File::create(&log).unwrap_or_else(|e| panic!("log file: {e}"));
        let lambda_env = [
            ("AWS_LAMBDA_RUNTIME_API", addr.to_string()),
            ("AWS_LAMBDA_FUNCTION_NAME", name.to_string()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".to_string()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_string()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "test".to_string()),
        ];
        let started = Instant::now();
        let child = Command::new(binary)
            .env_clear()
            .envs(lambda_env)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        LambdaProcess {
            name: name.to_string(),
            api,
            child,
            started,
            log,
            _dir: dir,
            counter: 0,
        }
    }

    /// What the function wrote to stderr so far (its JSON log lines).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Time from exec to the first `/next`: the function is ready. Fails the test if the
    /// process exits or posts an init error first.
    pub async fn ready(&mut self) -> Duration {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(at) = locked(&self.api.inner).first_next {
                return at - self.started;
            }
            if let Some(err) = locked(&self.api.inner).init_error.clone() {
                panic!("{} failed to start: {err}\n{}", self.name, self.log());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited ({status}) before it was ready\n{}",
                    self.name,
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} not ready after 30 s\n{}",
                self.name,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// The start-up error the function posted and how it exited, once it has exited.
    pub async fn init_failure(&mut self) -> (Option<Value>, std::process::ExitStatus) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return (locked(&self.api.inner).init_error.clone(), status);
            }
            assert!(Instant::now() < deadline, "{} did not exit", self.name);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Queues `payload`, waits for the function's answer (at most 2 minutes).
    pub async fn invoke(&mut self, payload: &Value) -> Outcome {
        self.counter += 1;
        let id = format!("{}-{:08}", self.name, self.counter);
        let (tx, rx) = oneshot::channel();
        {
            let mut inner = locked(&self.api.inner);
            inner.answers.insert(id.clone(), tx);
            let queued = Queued {
                id: id.clone(),
                payload: payload.clone(),
            };
            if let Some(q) = &inner.queued {
                drop(q.send(queued));
            }
        }
        let mut rx = rx;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            match tokio::time::timeout(Duration::from_millis(200), &mut rx).await {
                Ok(Ok(outcome)) => return outcome,
                Ok(Err(_)) => panic!("{}: the emulator dropped invocation {id}", self.name),
                Err(_) => {}
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited ({status}) during {id}\n{}",
                    self.name,
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{}: no answer to {id}\n{}",
                self.name,
                self.log()
            );
        }
    }
}

impl Drop for LambdaProcess {
    fn drop(&mut self) {
        // Best effort: the process may have exited already.
        drop(self.child.kill());
        drop(self.child.wait());
    }
}
