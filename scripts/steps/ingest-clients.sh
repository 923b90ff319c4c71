#!/usr/bin/env bash
# Real clients against a real server: starts `target/debug/vitals serve` on a free loopback port
# with a temporary data directory, sends events with Segment's Python library and with
# @segment/analytics-node (host pointed at the server), twice each with the same message ids,
# and checks through `vitals import verify` that every event arrived exactly once.
set -euo pipefail

# shellcheck source=../lib/steps.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/steps.sh"
PY_PACKAGE="segment-analytics-python==2.4.0"
NODE_PACKAGE="@segment/analytics-node@3.1.0"
KEY="client-test-write-key"

temp_dir WORK
SERVER_LOG="$WORK/serve.log"

log "client libraries"
if [[ ! -x "$TOOLS/venv/bin/python" ]]; then
    python3 -m venv "$TOOLS/venv" || die "python3 -m venv failed"
fi
if [[ "$(cat "$TOOLS/venv/.segment-installed" 2>/dev/null)" != "$PY_PACKAGE" ]]; then
    "$TOOLS/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$PY_PACKAGE" ||
        die "pip install $PY_PACKAGE failed"
    echo "$PY_PACKAGE" >"$TOOLS/venv/.segment-installed"
fi
mkdir -p "$TOOLS/node"
if [[ "$(cat "$TOOLS/node/.installed" 2>/dev/null)" != "$NODE_PACKAGE" ]]; then
    npm install --prefix "$TOOLS/node" --no-audit --no-fund --no-package-lock --loglevel=error \
        "$NODE_PACKAGE" >/dev/null || die "npm install $NODE_PACKAGE failed"
    echo "$NODE_PACKAGE" >"$TOOLS/node/.installed"
fi

log "vitals serve"
cargo build --quiet -p vitals
VITALS="${CARGO_TARGET_DIR:-$ROOT/target}/debug/vitals"
PORT="$(free_port)"
HOST="http://127.0.0.1:$PORT"
# Back-end libraries hold a secret (server) key: their group traits set seats, plan and owner.
export VITALS_SERVER_WRITE_KEYS="$KEY"
start_server "$HOST" "$SERVER_LOG" "$VITALS" --data "$WORK/data" serve --addr "127.0.0.1:$PORT" --no-schedule

DAY="$(date -u +%F)"
for round in 1 2; do
    log "sending (round $round: identical message ids)"
    "$TOOLS/venv/bin/python" tests/clients/send_python.py "$HOST" "$KEY" "$DAY" py-acme
    NODE_PATH="$TOOLS/node/node_modules" node tests/clients/send_node.js "$HOST" "$KEY" "$DAY" node-acme
done

# expect ACCOUNT FIELD VALUE: a field of `vitals import verify` for today's account-day.
expect() {
    local account=$1 field=$2 want=$3 got
    got="$("$VITALS" --data "$WORK/data" import verify --account "$account" --day "$DAY" |
        python3 -c "import json, sys; print(json.load(sys.stdin)[sys.argv[1]])" "$field")"
    if [[ "$got" != "$want" ]]; then
        die "$account $field: expected $want, got $got"
    fi
    echo "ok: $account $field = $got"
}

log "checking each event arrived exactly once"
# Python: 1 group + 1 identify (attributed through the group's user link) + 20 tracks + 1 linked
# track = 23, of which 21 are usage.
expect py-acme distinct_events 23
expect py-acme usage_events 21
# Node: 1 group + 30 tracks + 1 page = 32, of which 31 are usage.
expect node-acme distinct_events 32
expect node-acme usage_events 31
"$VITALS" --data "$WORK/data" import verify --account node-acme --day "$DAY" |
    python3 -c "import json, sys; p = json.load(sys.stdin)['profile']; assert p['name'] == 'Node Co' and p['seats'] == 30, p; print('ok: node-acme profile from group traits')"
echo "real clients: every event counted exactly once"
