#!/usr/bin/env bash
# Vitals' benchmarks against the budgets of BRIEF §5, each printing a table:
#
#   scripts/bench.sh                  # all of them: scoring, then ingest write units
#   scripts/bench.sh --quick          # the same on smaller data (20k-account run)
#   scripts/bench.sh scoring          # scoring only (kernel vs DuckDB, run I/O units, 100k-account run)
#   scripts/bench.sh ingest-writes    # DynamoDB write units per 1,000 ingested events (Zipf mixes)
#   scripts/bench.sh load             # 32 clients × 500 KB batches for 60 s against `vitals serve`
#                                     # (fast build): events/s, p50/p99, stored = unique sent
#   scripts/bench.sh e2e [--small] [--outcomes]
#                                     # a year of events: `vitals import events` + `score --from
#                                     # --to` vs DuckDB on one thread, checksums that agree
#   scripts/bench.sh lambda           # the four functions: release size, cold start, cost model
#                                     # (not in the default set: a release build with fat LTO)
#
# Installs DynamoDB Local and Python tools into .tools/ like the test command, starts the
# emulator on a free loopback port for the I/O figures, and stops it on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/scripts/lib/emulators.sh"

accounts=100000
only=""
if [[ "${1:-}" == e2e ]]; then
    shift
    exec bash "$ROOT/scripts/bench/e2e.sh" "$@"
fi
for arg in "$@"; do
    case "$arg" in
    --quick) accounts=20000 ;;
    scoring | ingest-writes | load | lambda) only="$arg" ;;
    *) die "unknown argument: $arg (expected --quick, scoring, ingest-writes, load, lambda or e2e)" ;;
    esac
done

if [[ "$only" == load ]]; then
    cargo build --profile fast -p vitals
    VITALS_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/fast/vitals" VITALS_LOAD_SECONDS=60 \
        bash scripts/steps/load-reconcile.sh
    exit 0
fi
install_dynamodb_local
install_python_tools
start_emulators
if [[ -z "$only" || "$only" == scoring ]]; then
    cargo bench -p vitals-tests --bench scoring -- --accounts "$accounts"
fi
if [[ -z "$only" || "$only" == ingest-writes ]]; then
    cargo bench -p vitals-tests --bench ingest_writes
fi
if [[ "$only" == lambda ]]; then
    bash scripts/bench/lambda.sh
fi
