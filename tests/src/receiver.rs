//! A loopback HTTP receiver for delivery tests (webhooks, Slack, CRM tasks): records every POST
//! and answers from a script of statuses (200 once it runs out), or always one status.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    /// The path after the first `/`, e.g. `hook` or `services/T000/B000/x`.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Clone, Default)]
pub struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    /// Statuses for the next requests, last first.
    script: Arc<Mutex<Vec<u16>>>,
    always: Arc<Mutex<Option<u16>>>,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Receiver {
    /// Starts on a free loopback port, answering `script` in order and then 200. Returns the
    /// receiver and its base URL (`http://127.0.0.1:PORT`); any path under it is received.
    pub async fn start(script: &[u16]) -> (Receiver, String) {
        let r = Receiver {
            script: Arc::new(Mutex::new(script.iter().rev().copied().collect())),
            ..Receiver::default()
        };
        let app = axum::Router::new()
            .route("/{*path}", post(receive))
            .with_state(r.clone());
        (r, crate::support::serve_loopback(app).await)
    }

    /// Every request so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        locked(&self.got).clone()
    }

    /// Headers and body of every request so far.
    pub fn requests(&self) -> Vec<(HeaderMap, Bytes)> {
        locked(&self.got)
            .iter()
            .map(|r| (r.headers.clone(), r.body.clone()))
            .collect()
    }

    /// Every body so far, as JSON.
    pub fn jsons(&self) -> Vec<Value> {
        locked(&self.got)
            .iter()
            .map(|r| {
                serde_json::from_slice(&r.body)
                    .unwrap_or_else(|e| panic!("a received body is not JSON: {e}"))
            })
            .collect()
    }

    /// The `i`-th body, as JSON.
    pub fn json(&self, i: usize) -> Value {
        self.jsons()
            .get(i)
            .cloned()
            .unwrap_or_else(|| panic!("no request #{i} received"))
    }

    /// Answer every later request with `status` (`None`: back to the script).
    pub fn set_always(&self, status: Option<u16>) {
        *locked(&self.always) = status;
    }
}

async fn receive(
    State(r): State<Receiver>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    locked(&r.got).push(Received {
        path,
        headers,
        body,
    });
    let status = match *locked(&r.always) {
        Some(s) => s,
        None => locked(&r.script).pop().unwrap_or(200),
    };
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
