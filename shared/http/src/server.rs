//! Serving a router on a port that browsers, SDKs and strangers can reach (`vitals serve`).
//!
//! `axum::serve` has no limits: a client that opens connections and sends nothing, or sends
//! half a body, holds a task and a file handle for as long as it likes. Here every connection
//! has to send its request headers within `header_read` (which also closes a kept-alive
//! connection that stays idle that long), keep a body moving (`body_read`), finish within
//! `request`, and there are at most `max_connections` at once; beyond that a new connection is
//! closed at once rather than left waiting in the backlog. (The Lambdas sit behind API Gateway,
//! which enforces its own.)

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceBuilder;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

/// How long a client may take, and how many may be connected at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// To send a request's headers, counted from when the connection opens or its previous
    /// response was sent: a stalled or idle connection is closed after this.
    pub header_read: Duration,
    /// The longest pause between two pieces of a request body.
    pub body_read: Duration,
    /// From a request's headers to its response (408 after that).
    pub request: Duration,
    /// Open connections at once; one more is closed as soon as it is accepted.
    pub max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(10),
            body_read: Duration::from_secs(10),
            request: Duration::from_secs(60),
            max_connections: 2048,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then lets the requests in flight
/// finish (for at most `limits.request`). Accept errors (out of file handles, say) are logged
/// and retried after a pause instead of ending the server.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) {
    let service = ServiceBuilder::new()
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request,
        ))
        .layer(RequestBodyTimeoutLayer::new(limits.body_read))
        .service(app);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .keep_alive(true);
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection; retrying shortly");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            tracing::warn!(%peer, limit = limits.max_connections, "too many open connections; closing a new one");
            drop(stream);
            continue;
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(%peer, error = %e, "cannot set TCP_NODELAY");
        }
        let connection = http.serve_connection(
            TokioIo::new(stream),
            TowerToHyperService::new(service.clone()),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                // Timeouts and clients hanging up land here: normal on a public port.
                tracing::debug!(%peer, error = %e, "connection ended");
            }
            drop(permit);
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.request) => {
            tracing::warn!("requests still running at shutdown were cut off");
        }
    }
}
