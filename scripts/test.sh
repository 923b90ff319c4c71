#!/usr/bin/env bash
# Vitals' one test command, the same for a developer and for CI (`.ci/run` calls it):
#
#   scripts/test.sh
#
# It installs the emulators into .tools/ (once), starts DynamoDB Local and moto on free loopback
# ports, runs every check, stops the emulators, prints a summary, and exits non-zero if any
# check failed. Logs land in test-artifacts/. Needs: Rust, Python 3 + pip, Node/npm, Java 17.
#
# Knobs (environment): RUST_TEST_THREADS (default 4: the contract tests wait on emulators, not
# CPU), VITALS_EMULATOR_TIMEOUT (seconds to wait for an emulator, default 120),
# VITALS_TEST_SKIP_LINT=1 (skip fmt/clippy/cfn-lint for a quick local run; never in CI).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

source "$ROOT/scripts/lib/emulators.sh"

# ------------------------------------------------------------------------------------------------
# Checks. Each runs in a subshell with `set -e` in force, so one failing check is recorded and
# the others still run; the summary lists them all.

CARGO_LOCKED=()
if git ls-files --error-unmatch Cargo.lock >/dev/null 2>&1; then
    CARGO_LOCKED=(--locked)
fi
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-4}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

SUMMARY=()
FAILED=0

run_check() {
    local name=$1
    shift
    log "$name"
    local started=$SECONDS rc=0
    set +e
    (
        set -euo pipefail
        "$@"
    )
    rc=$?
    set -e
    local took=$((SECONDS - started))
    if ((rc == 0)); then
        SUMMARY+=("PASS  $name (${took}s)")
    else
        SUMMARY+=("FAIL  $name (exit $rc, ${took}s)")
        FAILED=1
    fi
}

check_rust_format() {
    cargo fmt --all -- --check
}

check_rust_lints() {
    cargo clippy --workspace --all-targets "${CARGO_LOCKED[@]}" -- -D warnings 2>&1 |
        tee "$ARTIFACTS/clippy.log"
}

check_rust_tests() {
    cargo test --workspace --no-fail-fast "${CARGO_LOCKED[@]}" 2>&1 | tee "$ARTIFACTS/cargo-test.log"
}

check_template() {
    [[ -f template.yaml ]] || {
        echo "template.yaml is missing: the SAM template must exist and pass cfn-lint" >&2
        return 1
    }
    "$TOOLS/venv/bin/cfn-lint" template.yaml
}

# Steps: every scripts/steps/*.sh, each a self-contained suite that needs more than `cargo test`
# (real client SDKs against `vitals serve`, schemathesis, a headless browser). They get the
# built `vitals` binary in VITALS_BIN, the emulator endpoints, and .tools/ to install into.
build_vitals_binary() {
    cargo build -p vitals "${CARGO_LOCKED[@]}"
}

run_steps() {
    local step
    export VITALS_BIN="$ROOT/target/debug/vitals" VITALS_TOOLS="$TOOLS" VITALS_ARTIFACTS="$ARTIFACTS"
    for step in "$ROOT"/scripts/steps/*.sh; do
        [[ -e "$step" ]] || continue
        run_check "step $(basename "$step" .sh)" bash "$step"
    done
}

# Totals of every `test result:` line cargo printed, for the summary.
cargo_test_totals() {
    [[ -f "$ARTIFACTS/cargo-test.log" ]] || return 0
    awk '/^test result:/ {
            for (i = 1; i <= NF; i++) {
                if ($(i) ~ /^passed;?$/) p += $(i - 1)
                if ($(i) ~ /^failed;?$/) f += $(i - 1)
                if ($(i) ~ /^ignored;?$/) s += $(i - 1)
            }
        }
        END { printf "rust: %d passed, %d failed, %d skipped\n", p, f, s }' \
        "$ARTIFACTS/cargo-test.log"
}

# ------------------------------------------------------------------------------------------------

main() {
    local started=$SECONDS
    rm -f "$ARTIFACTS/cargo-test.log" "$ARTIFACTS/clippy.log"

    log "tools"
    install_dynamodb_local
    install_python_tools
    start_emulators

    if [[ "${VITALS_TEST_SKIP_LINT:-}" == 1 && "${CI:-}" != true ]]; then
        SUMMARY+=("SKIP  fmt, clippy, cfn-lint (VITALS_TEST_SKIP_LINT=1)")
    else
        run_check "cargo fmt --check" check_rust_format
        run_check "cfn-lint template.yaml" check_template
    fi
    run_check "cargo test --workspace" check_rust_tests

    # Suites beyond `cargo test` live in scripts/steps/*.sh (see run_steps above); the
    # emulators are up and VITALS_TEST_*_ENDPOINT exported until the script exits.
    run_check "cargo build -p vitals" build_vitals_binary
    run_steps

    if [[ "${VITALS_TEST_SKIP_LINT:-}" != 1 || "${CI:-}" == true ]]; then
        run_check "cargo clippy -D warnings" check_rust_lints
    fi

    stop_emulators

    log "summary ($((SECONDS - started))s)"
    printf '%s\n' "${SUMMARY[@]}"
    cargo_test_totals
    if ((FAILED)); then
        echo "FAILED: see the output above and test-artifacts/"
        exit 1
    fi
    echo "all checks passed"
}

main "$@"
