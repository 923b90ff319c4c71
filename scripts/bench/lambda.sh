#!/usr/bin/env bash
# Size and cold start of the four Lambda functions (BRIEF §5: small release binary, ready
# within 20 ms of exec), and ingest's billed duration per batch:
#
#   bash scripts/bench/lambda.sh                          # release profile (fat LTO: slow to build)
#   VITALS_LAMBDA_PROFILE=fast bash scripts/bench/lambda.sh   # the `fast` profile (no LTO)
#   VITALS_LAMBDA_PROFILE=dev bash scripts/bench/lambda.sh    # debug builds (not the budget figure)
#
# Builds the functions for the host (x86-64 here; Lambda runs the arm64 `cargo lambda` build),
# strips them, runs each 10 times under the Runtime API emulator of tests/src/lambda_api.rs on
# DynamoDB Local and moto (each start reads the configuration from the table, as on Lambda), and
# prints the median time from exec to the first `/next`. Then prints the cost model
# (scripts/bench/cost.py) with the ingest duration measured here.
set -euo pipefail

# shellcheck source=../lib/steps.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/steps.sh"
PROFILE="${VITALS_LAMBDA_PROFILE:-release}"

emulators_unless_running

printf '\n==> cargo build --profile %s (the four functions)\n' "$PROFILE"
cargo build --profile "$PROFILE" -p ingest -p score -p dispatch -p query
PROFILE_DIR="$PROFILE"
[[ "$PROFILE" == dev ]] && PROFILE_DIR=debug
BINS="$(mktemp -d)"
# One exit trap: the emulators' (when this script started them) stops them too.
cleanup() {
    rm -rf "$BINS"
    if declare -F stop_emulators >/dev/null; then stop_emulators; fi
}
trap cleanup EXIT
for f in ingest score dispatch query; do
    cp "${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE_DIR/$f" "$BINS/$f"
    strip "$BINS/$f"
done

printf '\n==> 10 cold starts of each function on the Runtime API emulator\n'
OUT="$BINS/cold-start.txt"
VITALS_LAMBDA_COLD_STARTS=1 VITALS_LAMBDA_BIN_DIR="$BINS" VITALS_BIN=/bin/false \
    cargo test --quiet -p vitals-tests --test lambda_e2e cold_start_of_each_function \
    -- --exact --nocapture | tee "$OUT"

printf '\n%-9s %14s %18s %22s\n' function "stripped MB" "cold start (ms)" "budget (BRIEF §5)"
awk -v profile="$PROFILE" '/^lambda-cold-start/ {
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "%-9s %14.1f %18s %22s\n", v["function"], v["bytes"] / 1048576, v["median_ms"], "<= 20 ms"
    }
    END { printf "(%s profile, stripped, x86-64; median of 10 execs to the first /next)\n", profile }' "$OUT"
INGEST_MS="$(awk '/^lambda-ingest-duration/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "median_ms") print kv[2] } }' "$OUT")"

printf '\n==> monthly AWS bill (ingest: %s ms per 20-event batch, measured above)\n' "$INGEST_MS"
python3 scripts/bench/cost.py --ingest-ms-per-batch "$INGEST_MS"
