//! Safe defaults of the `vitals` command line: a mistyped `--data` is refused (named, nothing
//! created) and `vitals config default` only prints.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs the binary in `cwd` with nothing from the environment.
fn vitals(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vitals"))
        .args(args)
        .current_dir(cwd)
        .env_remove("VITALS_DATA")
        .env_remove("VITALS_CONFIG")
        .env_remove("VITALS_BACKEND")
        .output()
        .unwrap()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Commands that work on an existing store.
const COMMANDS: &[&[&str]] = &[
    &["score"],
    &["score", "--as-of", "2026-01-05"],
    &["refresh"],
    &["import", "events", "events.ndjson"],
    &["import", "accounts", "accounts.csv"],
    &["token", "--role", "admin", "--user", "admin@example.com"],
    &["config", "show"],
    &["config", "list"],
    &["config", "apply", "vitals.toml"],
    &["dlq", "list"],
];

#[test]
fn a_data_directory_that_does_not_exist_is_refused_and_not_created() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("events.ndjson"), "").unwrap();
    std::fs::write(tmp.path().join("accounts.csv"), "id\n").unwrap();
    std::fs::write(tmp.path().join("vitals.toml"), "").unwrap();
    let before = entries(tmp.path());
    for command in COMMANDS {
        let mut args = vec!["--data", "vitals-dta"];
        args.extend_from_slice(command);
        let out = vitals(tmp.path(), &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command:?}: {stderr}");
        assert!(
            stderr.contains("the data directory vitals-dta does not exist"),
            "{command:?}: {stderr}"
        );
        assert_eq!(entries(tmp.path()), before, "{command:?} created something");
    }
    // The default `./vitals-data` is no different.
    let out = vitals(tmp.path(), &["score"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("./vitals-data does not exist"));
    assert_eq!(entries(tmp.path()), before);
}

#[test]
fn a_directory_without_a_store_is_refused_and_left_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for command in COMMANDS {
        let mut args = vec!["--data", "empty"];
        args.extend_from_slice(command);
        let out = vitals(tmp.path(), &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command:?}: {stderr}");
        assert!(
            stderr.contains("the data directory empty holds no Vitals store"),
            "{command:?}: {stderr}"
        );
        assert!(entries(&empty).is_empty(), "{command:?} wrote into it");
    }
}

#[test]
fn config_default_prints_the_defaults_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = vitals(tmp.path(), &["config", "default"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("[retention]"));
    let out = vitals(tmp.path(), &["--data", "elsewhere", "config", "default"]);
    assert!(out.status.success());
    assert!(
        entries(tmp.path()).is_empty(),
        "created {:?}",
        entries(tmp.path())
    );
}

#[test]
fn config_validate_needs_no_store() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("vitals.toml"), "[retention]\ndays = 400\n").unwrap();
    let out = vitals(tmp.path(), &["config", "validate", "vitals.toml"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(entries(tmp.path()), ["vitals.toml"]);
}
