#!/usr/bin/env bash
# Load with reconciliation (issue 20): 32 clients post ~500 KB Segment batches to `vitals serve`
# for VITALS_LOAD_SECONDS (default 20; at most 60), 5 % of them resent with the same message
# ids. Prints events/s and p50/p99 latency, then checks through `vitals import verify` that the
# store counted exactly the unique events sent, account by account.
#
#   VITALS_BIN=target/fast/vitals VITALS_LOAD_SECONDS=60 bash scripts/steps/load-reconcile.sh
#
# (the test command runs it on the debug build: its events/s are the debug build's.)
set -euo pipefail

# shellcheck source=../lib/steps.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/steps.sh"
SECONDS_TO_RUN="${VITALS_LOAD_SECONDS:-20}"
CLIENTS="${VITALS_LOAD_CLIENTS:-32}"
KEY="load-test-write-key"
((SECONDS_TO_RUN >= 1 && SECONDS_TO_RUN <= 60)) || {
    echo "VITALS_LOAD_SECONDS must be 1..60" >&2
    exit 2
}

if [[ -z "${VITALS_BIN:-}" ]]; then
    cargo build --quiet -p vitals
    VITALS_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/vitals"
fi
temp_dir WORK
SERVER_LOG="$WORK/serve.log"

PORT="$(free_port)"
HOST="http://127.0.0.1:$PORT"
start_server "$HOST" "$SERVER_LOG" env VITALS_WRITE_KEYS="$KEY" \
    "$VITALS_BIN" --data "$WORK/data" serve --addr "127.0.0.1:$PORT" --no-schedule

echo "load: $CLIENTS clients, ${SECONDS_TO_RUN}s, ~500 KB batches, 5 % resent ($VITALS_BIN)"
python3 tests/clients/load.py "$HOST" "$KEY" "$SECONDS_TO_RUN" "$CLIENTS" "$WORK/sent.json"

echo "reconciling: stored distinct events per account-day against the unique events sent"
python3 - "$VITALS_BIN" "$WORK/data" "$WORK/sent.json" <<'PY'
import json, subprocess, sys
vitals, data, sent_path = sys.argv[1:4]
sent = json.load(open(sent_path))
day, accounts = sent["day"], sent["accounts"]
wrong, stored_total = [], 0
for account, want in sorted(accounts.items()):
    out = subprocess.run([vitals, "--data", data, "import", "verify", "--account", account, "--day", day],
                         check=True, capture_output=True, text=True).stdout
    got = json.loads(out)["distinct_events"]
    stored_total += got
    if got != want:
        wrong.append(f"{account}: sent {want} unique, stored {got}")
sent_total = sum(accounts.values())
print(f"{'unique events sent':<28}{sent_total}")
print(f"{'events stored':<28}{stored_total}  ({len(accounts)} accounts)")
if wrong:
    print("MISMATCH:\n  " + "\n  ".join(wrong), file=sys.stderr)
    sys.exit(1)
if sent_total == 0:
    print("nothing was sent", file=sys.stderr)
    sys.exit(1)
print("load-reconcile: every unique event stored exactly once, retries deduplicated")
PY
