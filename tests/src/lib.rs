//! Contract test suites shared by every backend of Vitals' storage and queue ports.
//!
//! Each behaviour a port documents is one public async function here, generic over the port.
//! The macros [`storage_contract_tests!`] and [`queue_contract_tests!`] expand to one
//! `#[tokio::test]` per behaviour inside a module named after the backend, so a failure reads
//! `dynamodb::alert_update_needs_the_next_version`. The test files under `tests/tests/` only say
//! how to open each backend.

pub mod crm_loopback;
pub mod fault_proxy;
pub mod lambda_api;
pub mod oidc;
pub mod queue_contract;
pub mod receiver;
pub mod storage_contract;
pub mod support;

pub use support::{emulator_endpoint, unique_name, Backend};

/// A behaviour added to a contract suite but left out of its macro would never run: these
/// tests read the suites' sources and fail naming what the macro misses. Every `pub async fn`
/// of a suite is a behaviour, unless it is one of the helpers named here.
#[cfg(test)]
mod every_contract_behaviour_runs {
    use std::path::Path;

    const HELPERS: &[&str] = &[
        "all_pages",
        "receive_n",
        "assert_nothing_delivered",
        "dead_letters_n",
    ];

    /// The `pub async fn` names of a suite's file and of its submodule folder, if any.
    fn behaviours(file: &str) -> Vec<String> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut texts =
            vec![std::fs::read_to_string(src.join(format!("{file}.rs"))).unwrap_or_default()];
        if let Ok(dir) = std::fs::read_dir(src.join(file)) {
            for entry in dir.flatten() {
                texts.push(std::fs::read_to_string(entry.path()).unwrap_or_default());
            }
        }
        texts
            .iter()
            .flat_map(|t| t.lines())
            .filter_map(|l| l.strip_prefix("pub async fn "))
            .filter_map(|l| l.split(['<', '(']).next())
            .map(str::to_string)
            .collect()
    }

    /// The names the suite's macro lists.
    fn listed(file: &str) -> Vec<String> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src")
            .join(format!("{file}.rs"));
        let text = std::fs::read_to_string(src).unwrap_or_default();
        let Some((_, after)) = text.split_once("(@each $backend, $open;") else {
            return Vec::new();
        };
        let body = after.split(')').next().unwrap_or_default();
        body.split(',')
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect()
    }

    fn check(file: &str) {
        let listed = listed(file);
        let missing: Vec<String> = behaviours(file)
            .into_iter()
            .filter(|b| !listed.contains(b) && !HELPERS.contains(&b.as_str()))
            .collect();
        assert!(listed.len() > 10, "{file}: the macro's list was not found");
        assert!(
            missing.is_empty(),
            "{file}: add these to the macro's list, or they never run: {missing:?}"
        );
    }

    #[test]
    fn every_storage_behaviour_is_in_the_storage_macro() {
        check("storage_contract");
    }

    #[test]
    fn every_queue_behaviour_is_in_the_queue_macro() {
        check("queue_contract");
    }
}
