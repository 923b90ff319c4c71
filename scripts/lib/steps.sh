# Shared by scripts/steps/*.sh and scripts/bench/*.sh (sourced, not run): messages, a free
# port, a `vitals serve` (or any server) started and waited for, Chromium found or installed,
# a pinned Python tool in its own venv, and the emulators when the test command did not start
# them. Sets ROOT (the repository root, also the working directory) and TOOLS; STEP_NAME
# (default `error`) prefixes `die`.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
TOOLS="${VITALS_TOOLS:-$ROOT/.tools}"

log() { printf '\n==> %s\n' "$*"; }
die() {
    printf '%s: %s\n' "${STEP_NAME:-error}" "$*" >&2
    exit 1
}

# step_artifacts DIR: ARTIFACTS, the step's folder of logs and reports (created).
step_artifacts() {
    ARTIFACTS="${VITALS_ARTIFACTS:-$ROOT/test-artifacts}/$1"
    mkdir -p "$ARTIFACTS"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_server URL LOG COMMAND...: runs COMMAND in the background (its output to LOG) as
# SERVER_PID and waits until URL/health answers; dies, showing the end of LOG, if it exits or
# does not answer within 30 s.
start_server() {
    local url=$1 logfile=$2
    shift 2
    "$@" >"$logfile" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 150); do
        curl -fsS "$url/health" >/dev/null 2>&1 && return 0
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            tail -n 30 "$logfile" >&2 || true
            die "the server exited before it was ready"
        fi
        sleep 0.2
    done
    die "the server is not ready at $url"
}

# stop_pid PID: stops a process this script started (nothing when PID is empty).
stop_pid() {
    [[ -n "${1:-}" ]] || return 0
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# cleanup_step: the exit trap of a step (set here; a script may set its own). Stops SERVER_PID
# and PAGE_PID, shows the end of SERVER_LOG when the step failed, removes the folders of
# temp_dir and keeps the exit status.
SERVER_PID=""
PAGE_PID=""
SERVER_LOG=""
STEP_TEMP=()
cleanup_step() {
    local rc=$?
    stop_pid "$SERVER_PID"
    stop_pid "$PAGE_PID"
    if ((rc != 0)) && [[ -n "$SERVER_LOG" && -f "$SERVER_LOG" ]]; then
        echo "---- last lines of the server log ----" >&2
        tail -n 30 "$SERVER_LOG" >&2 || true
    fi
    rm -rf "${STEP_TEMP[@]}"
    exit "$rc"
}
trap cleanup_step EXIT

# temp_dir VAR: a new temporary folder in VAR, removed when the script exits.
temp_dir() {
    local dir
    dir="$(mktemp -d)"
    STEP_TEMP+=("$dir")
    printf -v "$1" '%s' "$dir"
}

# find_chromium_or_skip ARTIFACTS: sets CHROMIUM, installing the Debian package `chromium`
# with apt-get when missing (its log in ARTIFACTS/apt.log). Without it the step is skipped
# (exit 0), or fails when CI is set.
find_chromium() { command -v chromium || command -v chromium-browser || true; }
find_chromium_or_skip() {
    local artifacts=$1
    CHROMIUM="$(find_chromium)"
    if [[ -z "$CHROMIUM" ]]; then
        local sudo=()
        [[ "$(id -u)" == 0 ]] || sudo=(sudo -n)
        if command -v apt-get >/dev/null &&
            { "${sudo[@]}" apt-get install -y chromium >"$artifacts/apt.log" 2>&1 ||
                { "${sudo[@]}" apt-get update >>"$artifacts/apt.log" 2>&1 &&
                    "${sudo[@]}" apt-get install -y chromium >>"$artifacts/apt.log" 2>&1; }; }; then
            CHROMIUM="$(find_chromium)"
        fi
    fi
    if [[ -z "$CHROMIUM" ]]; then
        if [[ "${CI:-}" == true || "${CI:-}" == 1 ]]; then
            die "chromium is not installed and apt-get could not install it (see $artifacts/apt.log)"
        fi
        echo "SKIPPED ${STEP_NAME:-step}: chromium missing and apt-get unavailable (install the Debian package chromium)"
        exit 0
    fi
}

# venv_install VENV PACKAGE...: a venv holding exactly these pinned packages (installed once;
# a stamp file names them, so a changed pin reinstalls).
venv_install() {
    local venv=$1
    shift
    if [[ "$(cat "$venv/.installed" 2>/dev/null)" != "$*" ]]; then
        python3 -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
        echo "$*" >"$venv/.installed"
    fi
}

# emulators_unless_running: DynamoDB Local and moto (scripts/lib/emulators.sh), unless the
# test command already started them and exported their endpoints.
emulators_unless_running() {
    if [[ -n "${VITALS_TEST_DYNAMODB_ENDPOINT:-}" && -n "${VITALS_TEST_SQS_ENDPOINT:-}" ]]; then
        return 0
    fi
    # shellcheck source=emulators.sh
    source "$ROOT/scripts/lib/emulators.sh"
    install_dynamodb_local
    install_python_tools
    start_emulators
}
