#!/usr/bin/env bash
# Vitals' benchmarks against the budgets of BRIEF §5, each printing a table:
#
#   scripts/bench.sh            # scoring (kernel vs DuckDB, run I/O units, 100k-account run)
#   scripts/bench.sh --quick    # the same on smaller data (20k-account run)
#
# Installs DynamoDB Local and Python tools into .tools/ like the test command, starts the
# emulator on a free loopback port for the I/O figures, and stops it on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/scripts/lib/emulators.sh"

accounts=100000
if [[ "${1:-}" == --quick ]]; then
    accounts=20000
fi

install_dynamodb_local
install_python_tools
start_emulators
cargo bench -p vitals-tests --bench scoring -- --accounts "$accounts"
