#!/usr/bin/env bash
# `sam build` of template.yaml from a clean clone, as a deploying engineer runs it, and the
# size of each function's deployment zip (what Lambda downloads on a cold start):
#
#   bash scripts/bench/sam-build.sh          # arm64 (the template's architecture), release
#
# Installs into .tools/: aws-sam-cli (its own venv, the version the test command pins),
# cargo-lambda and Zig from PyPI (cargo-lambda cross-links with Zig, so no aarch64 C
# toolchain is needed), and the Rust standard library for aarch64-unknown-linux-gnu (rustup).
# Then `sam build` runs `cargo lambda build --release --arm64` for each of the four functions
# (fat LTO: long on a small machine) and this script zips each `bootstrap` as SAM would upload
# it. Not part of the test command. The build goes to .aws-sam/ (or VITALS_SAM_BUILD_DIR).
set -euo pipefail

# shellcheck source=../lib/steps.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/steps.sh"
SAM_CLI="aws-sam-cli==1.170.0"
LAMBDA_TOOLS=("cargo-lambda==1.9.2" "ziglang==0.13.0")
BUILD_DIR="${VITALS_SAM_BUILD_DIR:-$ROOT/.aws-sam/build}"


log "aws-sam-cli into $TOOLS/sam-venv"
SAM_VENV="$TOOLS/sam-venv"
venv_install "$SAM_VENV" "$SAM_CLI"

log "cargo-lambda and Zig into $TOOLS/lambda-venv"
LAMBDA_VENV="$TOOLS/lambda-venv"
venv_install "$LAMBDA_VENV" "${LAMBDA_TOOLS[@]}"
# cargo-lambda finds Zig as `python -m ziglang` (the venv's python first on PATH) or `zig`.
export PATH="$LAMBDA_VENV/bin:$SAM_VENV/bin:$PATH"
cargo lambda --version

log "Rust standard library for aarch64-unknown-linux-gnu"
rustup target add aarch64-unknown-linux-gnu

log "sam build (cargo lambda build --release --arm64, four functions)"
started=$(date +%s)
SAM_CLI_TELEMETRY=0 AWS_REGION="${AWS_REGION:-us-east-1}" \
    sam build --config-file infra/samconfig.toml --template-file template.yaml \
    --build-dir "$BUILD_DIR" --beta-features
printf 'sam build took %d s\n' $(($(date +%s) - started))

log "deployment zips"
ZIPS="$(mktemp -d)"
trap 'rm -rf "$ZIPS"' EXIT
printf '%-16s %12s %12s  %s\n' function "bootstrap MB" "zip MB" architecture
for fn in IngestFunction ScoreFunction DispatchFunction QueryFunction; do
    bootstrap="$BUILD_DIR/$fn/bootstrap"
    [[ -f "$bootstrap" ]] || {
        echo "error: $bootstrap was not built" >&2
        exit 1
    }
    (cd "$BUILD_DIR/$fn" && python3 -m zipfile -c "$ZIPS/$fn.zip" bootstrap)
    printf '%-16s %12.1f %12.1f  %s\n' "$fn" \
        "$(echo "$(stat -c %s "$bootstrap") / 1048576" | bc -l)" \
        "$(echo "$(stat -c %s "$ZIPS/$fn.zip") / 1048576" | bc -l)" \
        "$(file -b "$bootstrap" | cut -d, -f2 | xargs)"
done
