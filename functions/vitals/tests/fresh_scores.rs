//! Scores within minutes, end to end on the binary: an event sent to a running `vitals serve`
//! gets its account a provisional "today so far" score after one refresh (`vitals refresh`
//! runs the refresh the serve task runs every interval; the task itself is tested in
//! `src/fresh.rs`), shown marked provisional by the account view, the account list and the
//! dashboard; a refresh with nothing new writes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

const WRITE_KEY: &str = "wk_fresh_scores_test";

mod common;
use common::vitals;

/// `vitals serve` on a free port; stopped (killed) when dropped.
struct Serving {
    child: Child,
    addr: String,
}

impl Drop for Serving {
    fn drop(&mut self) {
        // Already gone is fine; anything else is worth a line in the test output.
        if let Err(e) = self.child.kill().and_then(|()| self.child.wait().map(drop)) {
            eprintln!("stopping vitals serve: {e}");
        }
    }
}

fn serve(data: &Path) -> Serving {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vitals"))
        .arg("--data")
        .arg(data)
        // No scheduler: its catch-up run and its own refresh would race the refreshes this
        // test runs and counts (the serve task is tested in `src/fresh.rs`).
        .args(["serve", "--addr", "127.0.0.1:0", "--no-schedule"])
        .env("VITALS_WRITE_KEYS", WRITE_KEY)
        .env_remove("VITALS_CONFIG")
        .env_remove("VITALS_BACKEND")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("vitals serve stopped before serving")
            .unwrap();
        if let Some(rest) = line.strip_prefix("Vitals is serving on http://") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    // Keep reading its output so the process never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Serving { child, addr }
}

/// One HTTP/1.1 request; the status and the body.
fn http(addr: &str, method: &str, path: &str, auth: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, rest) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    (status, body)
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
}

fn refresh(data: &Path) -> String {
    let out = vitals(data, &["refresh"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn an_event_sent_to_vitals_serve_gets_a_provisional_score_after_one_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = serve(&data);
    let now = chrono::Utc::now();
    let event = serde_json::json!({"batch": [
        {"type": "track", "messageId": "fresh-1", "userId": "ann", "event": "Report Built",
         "timestamp": now.to_rfc3339(), "context": {"groupId": "acme"}},
        {"type": "track", "messageId": "fresh-2", "userId": "bob", "event": "Report Built",
         "timestamp": now.to_rfc3339(), "context": {"groupId": "acme"}}
    ]});
    let (status, body) = http(
        &server.addr,
        "POST",
        "/v1/batch",
        &format!("Bearer {WRITE_KEY}"),
        &event.to_string(),
    );
    assert_eq!(status, 200, "{body}");

    let first = refresh(&data);
    assert!(
        first.contains("1 account(s) touched recently") && first.contains("1 written"),
        "{first}"
    );

    let token = vitals(
        &data,
        &[
            "token",
            "--role",
            "admin",
            "--user",
            "ops@example.com",
            "--quiet",
        ],
    );
    let token = String::from_utf8_lossy(&token.stdout).trim().to_string();
    let bearer = format!("Bearer {token}");

    let (status, body) = http(&server.addr, "GET", "/v1/accounts/acme", &bearer, "");
    assert_eq!(status, 200, "{body}");
    let view: serde_json::Value = serde_json::from_str(&body).unwrap();
    let provisional = &view["provisional"];
    assert_eq!(provisional["day"], now.date_naive().to_string(), "{view}");
    assert!(provisional["computed_at"].is_string(), "{view}");
    assert!(provisional["score"].is_number(), "{view}");

    let (status, body) = http(&server.addr, "GET", "/v1/accounts", &bearer, "");
    assert_eq!(status, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    let row = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["account_id"] == "acme")
        .unwrap_or_else(|| panic!("acme listed: {list}"));
    assert_eq!(row["provisional"]["score"], provisional["score"], "{row}");

    let (status, page) = http(&server.addr, "GET", "/dashboard/accounts/acme", &bearer, "");
    assert_eq!(status, 200);
    assert!(page.contains("provisional: today so far, "), "{page}");

    let second = refresh(&data);
    assert!(second.contains("0 written"), "nothing new: {second}");
}
