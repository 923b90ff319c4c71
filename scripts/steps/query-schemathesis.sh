#!/usr/bin/env bash
# Checks the query API against its OpenAPI document on a running server: builds `vitals`,
# generates a small demo portfolio, serves it, mints an admin token and runs schemathesis
# (installed into .tools/venv) over every documented operation. Fails on any 5xx or any response
# that does not match the schema. Report: test-artifacts/schemathesis/.
set -euo pipefail

# shellcheck source=../lib/steps.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/steps.sh"
STEP_NAME=query-schemathesis
step_artifacts schemathesis
VENV="$TOOLS/venv"
SCHEMATHESIS_VERSION="4.*"

temp_dir DATA

if ! "$VENV/bin/schemathesis" --version >/dev/null 2>&1; then
    echo "installing schemathesis into $VENV"
    [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" \
        >"$ARTIFACTS/install.log" 2>&1 || { echo "pip install schemathesis failed; see $ARTIFACTS/install.log" >&2; exit 1; }
fi

cargo build --quiet -p vitals
VITALS="${CARGO_TARGET_DIR:-$ROOT/target}/debug/vitals"
"$VITALS" --data "$DATA" demo --accounts 24 --days 40 --no-serve >"$ARTIFACTS/demo.log" 2>&1

PORT="$(free_port)"
start_server "http://127.0.0.1:$PORT" "$ARTIFACTS/serve.log" \
    "$VITALS" --data "$DATA" serve --addr "127.0.0.1:$PORT" --no-schedule
TOKEN="$("$VITALS" --data "$DATA" token --role admin --user admin@example.com --ttl 1h --quiet)"

# Checks: no 5xx, responses (status, content type, body) as documented.
"$VENV/bin/schemathesis" run "http://127.0.0.1:$PORT/openapi.json" \
    --header "Authorization: Bearer $TOKEN" \
    --checks not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance \
    --max-examples 40 \
    --seed 6 \
    --report junit --report-dir "$ARTIFACTS" \
    2>&1 | tee "$ARTIFACTS/schemathesis.log"
