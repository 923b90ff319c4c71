//! `vitals import` as a user runs it: gzip files and standard input, the exit status when rows
//! are rejected, the retention message, and the stored configuration's retention.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use chrono::{Duration, NaiveDate, Utc};
use tempfile::TempDir;

/// Runs the binary on `data`, in `data`'s parent, with nothing from the environment.
fn vitals(data: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vitals"))
        .arg("--data")
        .arg(data)
        .args(args)
        .current_dir(data.parent().unwrap())
        .env_remove("VITALS_DATA")
        .env_remove("VITALS_CONFIG")
        .env_remove("VITALS_BACKEND")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A data directory holding an empty store, as `vitals serve` leaves it.
fn data_dir() -> (TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    vitals_embedded::SqliteStore::open(&data.join("vitals.db")).unwrap();
    (tmp, data)
}

fn day(days_ago: i64) -> NaiveDate {
    (Utc::now() - Duration::days(days_ago)).date_naive()
}

/// A Segment track message for `account` at noon `days_ago` days ago.
fn track(id: &str, account: &str, days_ago: i64) -> String {
    format!(
        r#"{{"type":"track","messageId":"{id}","userId":"u-{id}","event":"Report Built","context":{{"groupId":"{account}"}},"timestamp":"{}T12:00:00Z"}}"#,
        day(days_ago)
    ) + "\n"
}

fn gzip(text: &str) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap()
}

/// Distinct events stored for an account-day (`vitals import verify`).
fn stored(data: &Path, account: &str, days_ago: i64) -> u64 {
    let out = vitals(
        data,
        &[
            "import",
            "verify",
            "--account",
            account,
            "--day",
            &day(days_ago).to_string(),
        ],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["distinct_events"].as_u64().unwrap()
}

#[test]
fn a_gzip_events_file_is_decompressed_as_it_is_read() {
    let (tmp, data) = data_dir();
    let file = tmp.path().join("events.ndjson.gz");
    std::fs::write(
        &file,
        gzip(&(track("e1", "acme", 3) + &track("e2", "acme", 3) + &track("e3", "acme", 3))),
    )
    .unwrap();
    let out = vitals(&data, &["import", "events", file.to_str().unwrap()], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("3 events imported, 0 rejected"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(stored(&data, "acme", 3), 3);
}

#[test]
fn a_dash_reads_events_from_standard_input_plain_or_gzip() {
    let (_tmp, data) = data_dir();
    let plain = track("p1", "acme", 2) + &track("p2", "acme", 2);
    let out = vitals(&data, &["import", "events", "-"], plain.as_bytes());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let gz = gzip(&track("g1", "acme", 2));
    let out = vitals(&data, &["import", "events", "-"], &gz);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(stored(&data, "acme", 2), 3);
}

#[test]
fn any_rejected_line_fails_the_import_unless_rejects_are_allowed() {
    let (tmp, data) = data_dir();
    let file = tmp.path().join("events.ndjson");
    std::fs::write(&file, track("ok1", "acme", 1) + "not json\n").unwrap();
    let out = vitals(&data, &["import", "events", file.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("1 events imported, 1 rejected"), "{stdout}");
    assert!(stdout.contains("line 2: line: not valid JSON"), "{stdout}");
    assert!(
        text(&out.stderr).contains("--allow-rejects"),
        "{}",
        text(&out.stderr)
    );
    // The valid line was imported all the same.
    assert_eq!(stored(&data, "acme", 1), 1);

    let out = vitals(
        &data,
        &[
            "import",
            "events",
            file.to_str().unwrap(),
            "--allow-rejects",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = vitals(
        &data,
        &["import", "events", file.to_str().unwrap(), "--dry-run"],
        b"",
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a dry run reports rejects the same way"
    );
}

#[test]
fn rejected_account_rows_fail_the_import_too() {
    let (_tmp, data) = data_dir();
    let csv = "id,name,plan\nacme,Acme,Enterprise\n,Nameless,Pro\n";
    let out = vitals(&data, &["import", "accounts", "-"], &gzip(csv));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("1 accounts imported, 1 rejected"),
        "{}",
        text(&out.stdout)
    );
    let out = vitals(
        &data,
        &["import", "accounts", "-", "--allow-rejects"],
        csv.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn an_event_older_than_retention_is_refused_naming_the_setting() {
    let (_tmp, data) = data_dir();
    let out = vitals(
        &data,
        &["import", "events", "-", "--allow-rejects"],
        track("old", "acme", 800).as_bytes(),
    );
    let stdout = text(&out.stdout);
    assert!(stdout.contains("0 events imported, 1 rejected"), "{stdout}");
    assert!(stdout.contains("`[retention] days` = 730"), "{stdout}");
}

#[test]
fn the_applied_configuration_sets_retention_without_a_config_flag() {
    let (tmp, data) = data_dir();
    let config = tmp.path().join("vitals.toml");
    std::fs::write(&config, "[retention]\ndays = 150\n").unwrap();
    let out = vitals(&data, &["config", "apply", config.to_str().unwrap()], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));

    let events = track("recent", "acme", 10) + &track("too-old", "acme", 160);
    let out = vitals(
        &data,
        &["import", "events", "-", "--allow-rejects"],
        events.as_bytes(),
    );
    let stdout = text(&out.stdout);
    assert!(stdout.contains("1 events imported, 1 rejected"), "{stdout}");
    assert!(stdout.contains("`[retention] days` = 150"), "{stdout}");

    // What was stored expires 150 days after its day, not after the default 730.
    let store = vitals_embedded::SqliteStore::open(&data.join("vitals.db")).unwrap();
    let after_150_days = (day(10) + Duration::days(151))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let purged = runtime
        .block_on(store.purge_expired(after_150_days))
        .unwrap();
    assert!(purged >= 1, "nothing expired after 150 days");
}

/// `vitals import verify`'s answer for an account-day.
fn verified(data: &Path, account: &str, days_ago: i64) -> serde_json::Value {
    let day = day(days_ago).to_string();
    let out = vitals(
        data,
        &["import", "verify", "--account", account, "--day", &day],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn an_account_day_of_a_large_file_in_time_order_is_one_chunk_and_a_rerun_adds_nothing() {
    let (tmp, data) = data_dir();
    // More lines than a batch takes before it ends at a change of day, in time order, with the
    // accounts interleaved as an export has them.
    let mut file = String::new();
    for i in 0..24_000 {
        file += &track(&format!("a{i}"), &format!("acct-{}", i % 300), 5);
    }
    for i in 0..3_000 {
        file += &track(&format!("b{i}"), &format!("acct-{}", i % 300), 4);
    }
    let path = tmp.path().join("year.ndjson");
    std::fs::write(&path, &file).unwrap();
    for _ in 0..2 {
        let out = vitals(&data, &["import", "events", path.to_str().unwrap()], b"");
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("27000 events imported, 0 rejected"),
            "{}",
            text(&out.stdout)
        );
        for (days_ago, n) in [(5, 80), (4, 10)] {
            let v = verified(&data, "acct-7", days_ago);
            assert_eq!(
                (&v["chunks"], &v["stored_events"], &v["usage_events"]),
                (&1.into(), &n.into(), &n.into()),
                "{days_ago} days ago"
            );
        }
    }
}
