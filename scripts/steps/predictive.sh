#!/usr/bin/env bash
# Does the health score predict churn on data nobody tuned it to? (issue 16) The held-out check
# of scripts/bench/predictive.sh, at a size where its orderings are stable: 1,000 simulated
# accounts over a year, held-out seed 7919.
#
# It needs an optimised build: a debug `vitals score` manages about 250 account-days per
# CPU-second, so a year of 1,000 accounts would take half an hour. `--profile fast` is
# release without its fat LTO: a few minutes to build on 2 cores, and the whole check then runs
# in about six.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

LOCKED=()
git ls-files --error-unmatch Cargo.lock >/dev/null 2>&1 && LOCKED=(--locked)
cargo build --quiet --profile fast -p vitals "${LOCKED[@]}"

VITALS_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/fast/vitals" \
    PREDICTIVE_ACCOUNTS="${PREDICTIVE_ACCOUNTS:-1000}" \
    PREDICTIVE_DAYS="${PREDICTIVE_DAYS:-365}" \
    exec bash "$ROOT/scripts/bench/predictive.sh"
