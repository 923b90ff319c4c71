//! Helpers shared by the binary's integration tests.

#![allow(clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs the `vitals` binary on data directory `data`, unaffected by the caller's VITALS_*
/// configuration.
pub fn vitals(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vitals"))
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("VITALS_CONFIG")
        .env_remove("VITALS_BACKEND")
        .output()
        .expect("the vitals binary runs")
}
