//! `vitals serve`'s listener under clients that connect and stall: they must not keep the server
//! from answering others, and they must be let go within the configured timeouts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use axum::routing::{get, post};
use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use vitals_http::{serve, ServerLimits};

fn app() -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/echo", post(|body: String| async move { body }))
}

struct Server {
    addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(limits: ServerLimits) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(serve(listener, app(), limits, async {
            stopped.await.ok();
        }));
        Self {
            addr,
            stop: Some(stop),
            task,
        }
    }

    async fn stop(mut self) {
        self.stop.take().unwrap().send(()).ok();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the server stops")
            .unwrap();
    }
}

/// Sends a whole request on a new connection and returns the response's status line.
async fn status_of(addr: std::net::SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("the server answers")
        .unwrap();
    let text = String::from_utf8_lossy(&response);
    text.lines().next().unwrap_or_default().to_string()
}

const HEALTH: &str = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// Waits until the server closes `stream` (EOF or reset), or `within` passes.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 512];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // A 408 or 400 before closing is fine: keep reading to the close.
            Ok(Ok(_)) => continue,
        }
    }
}

/// File handles this process may open: each idle connection costs two here (both ends).
fn open_file_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
            line.split_whitespace().nth(3)?.parse().ok()
        })
        .unwrap_or(1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_connections_neither_block_health_nor_outlive_the_header_timeout() {
    let idle = 1000.min(open_file_limit().saturating_sub(100) / 2);
    assert!(
        idle >= 400,
        "too few file handles for this test: {idle} connections"
    );
    let header_read = Duration::from_secs(2);
    let server = Server::start(ServerLimits {
        header_read,
        max_connections: idle + 50,
        ..ServerLimits::default()
    })
    .await;

    let opened = Instant::now();
    let mut stalled = Vec::with_capacity(idle);
    for i in 0..idle {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        // Half of them start a request and never finish its headers (slowloris).
        if i % 2 == 0 {
            stream
                .write_all(b"GET /health HTTP/1.1\r\nHost:")
                .await
                .unwrap();
        }
        stalled.push(stream);
    }
    assert_eq!(
        status_of(server.addr, HEALTH).await,
        "HTTP/1.1 200 OK",
        "health answers while {idle} connections stall"
    );

    let allowed = header_read + Duration::from_secs(3);
    for (i, stream) in stalled.iter_mut().enumerate() {
        let left = allowed.saturating_sub(opened.elapsed());
        assert!(
            closed_within(stream, left).await,
            "stalled connection {i} was still open {:?} after it opened (header timeout {header_read:?})",
            opened.elapsed()
        );
    }
    assert_eq!(status_of(server.addr, HEALTH).await, "HTTP/1.1 200 OK");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_connection_left_idle_is_closed() {
    let server = Server::start(ServerLimits {
        header_read: Duration::from_secs(1),
        ..ServerLimits::default()
    })
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    assert!(closed_within(&mut stream, Duration::from_secs(4)).await);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "not before the idle timeout"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stops_arriving_is_let_go_within_the_body_timeout() {
    let server = Server::start(ServerLimits {
        body_read: Duration::from_secs(1),
        ..ServerLimits::default()
    })
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b")
        .await
        .unwrap();
    let started = Instant::now();
    assert!(closed_within(&mut stream, Duration::from_secs(5)).await);
    assert!(started.elapsed() < Duration::from_secs(4));
    // A complete body is still echoed.
    let body = "hello";
    let request = format!(
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    assert_eq!(status_of(server.addr, &request).await, "HTTP/1.1 200 OK");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_connection_cap_new_connections_are_closed_and_served_again_once_freed() {
    let server = Server::start(ServerLimits {
        header_read: Duration::from_secs(1),
        max_connections: 3,
        ..ServerLimits::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(server.addr).await.unwrap());
    }
    // Give the accept loop time to take all three before the fourth arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = TcpStream::connect(server.addr).await.unwrap();
    assert!(
        closed_within(&mut extra, Duration::from_millis(500)).await,
        "a connection over the cap is closed at once"
    );
    for stream in &mut held {
        assert!(closed_within(stream, Duration::from_secs(4)).await);
    }
    assert_eq!(status_of(server.addr, HEALTH).await, "HTTP/1.1 200 OK");
    server.stop().await;
}
