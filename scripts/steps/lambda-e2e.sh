#!/usr/bin/env bash
# AWS mode end to end: builds the four Lambda functions and `vitals` (debug), runs each function
# binary under the Runtime API emulator of tests/src/lambda_api.rs with the environment
# template.yaml gives it, on DynamoDB Local and moto's SQS (tests/tests/lambda_e2e.rs: every
# sample in infra/events/, the segment fan-out, dispatch retries into the DLQ, the query API
# with and without a token, the browser sign-in to the dashboard against a loopback identity
# provider, `vitals` on per-service endpoints, the same score as `vitals score`), then checks
# template.yaml with `sam validate --lint` and cfn-lint.
#
# Run by scripts/test.sh with the emulators up; alone, it starts them itself.
set -euo pipefail

# shellcheck source=../lib/steps.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/steps.sh"
SAM_CLI="aws-sam-cli==1.170.0"

emulators_unless_running

printf '\n==> building the functions and vitals (debug)\n'
cargo build --quiet -p ingest -p score -p dispatch -p query -p vitals
BIN_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/debug"

printf '\n==> the functions as Lambdas (tests/tests/lambda_e2e.rs)\n'
VITALS_LAMBDA_BIN_DIR="$BIN_DIR" VITALS_BIN="$BIN_DIR/vitals" \
    cargo test --quiet -p vitals-tests --test lambda_e2e -- --test-threads 2

printf '\n==> sam validate --lint and cfn-lint on template.yaml\n'
# aws-sam-cli in its own venv: it pins its own cfn-lint, which must not move the one the test
# command pins in .tools/venv.
SAM_VENV="$TOOLS/sam-venv"
venv_install "$SAM_VENV" "$SAM_CLI"
SAM_CLI_TELEMETRY=0 AWS_REGION="${AWS_REGION:-us-east-1}" \
    "$SAM_VENV/bin/sam" validate --lint --template-file template.yaml
"$TOOLS/venv/bin/cfn-lint" template.yaml
echo "lambda-e2e: the four functions work as Lambdas; template.yaml validates"
