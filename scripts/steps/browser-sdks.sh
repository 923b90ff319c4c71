#!/usr/bin/env bash
# Browser SDKs against a real server, from another origin: starts `vitals serve` on one loopback
# port (its generated write key, a client key), serves a page on another port that loads
# @segment/analytics-next and posthog-js from npm (local files: no CDN, no network), drives it in
# headless Chromium with playwright-core (group, identify, track, page; PostHog group and
# capture), then checks with `vitals import verify` that every event arrived exactly once and that
# the public key could not change the account's owner, MRR or tier (set by a CRM import).
# A screenshot of the page goes to $VITALS_ARTIFACTS/browser-sdks/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
TOOLS="${VITALS_TOOLS:-$ROOT/.tools}"
ARTIFACTS="${VITALS_ARTIFACTS:-$ROOT/test-artifacts}/browser-sdks"
NPM_PACKAGES=(@segment/analytics-next@1.84.3 posthog-js@1.449.2 playwright-core@1.65.2)
ACCOUNT="browser-acme"
mkdir -p "$ARTIFACTS"

log() { printf '\n==> %s\n' "$*"; }
die() {
    printf 'browser-sdks: %s\n' "$*" >&2
    exit 1
}

WORK="$(mktemp -d)"
SERVER_PID=""
PAGE_PID=""
cleanup() {
    local rc=$?
    for pid in "$SERVER_PID" "$PAGE_PID"; do
        if [[ -n "$pid" ]]; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    if ((rc != 0)) && [[ -f "$WORK/serve.log" ]]; then
        echo "---- last lines of the server log ----" >&2
        tail -n 30 "$WORK/serve.log" >&2 || true
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

log "chromium"
find_chromium() { command -v chromium || command -v chromium-browser || true; }
CHROMIUM="$(find_chromium)"
if [[ -z "$CHROMIUM" ]]; then
    SUDO=()
    [[ "$(id -u)" == 0 ]] || SUDO=(sudo -n)
    if command -v apt-get >/dev/null &&
        { "${SUDO[@]}" apt-get install -y chromium >"$ARTIFACTS/apt.log" 2>&1 ||
            { "${SUDO[@]}" apt-get update >>"$ARTIFACTS/apt.log" 2>&1 &&
                "${SUDO[@]}" apt-get install -y chromium >>"$ARTIFACTS/apt.log" 2>&1; }; }; then
        CHROMIUM="$(find_chromium)"
    fi
fi
if [[ -z "$CHROMIUM" ]]; then
    if [[ "${CI:-}" == true || "${CI:-}" == 1 ]]; then
        die "chromium is not installed and apt-get could not install it (see $ARTIFACTS/apt.log)"
    fi
    echo "SKIPPED browser-sdks: chromium missing and apt-get unavailable (install the Debian package chromium)"
    exit 0
fi

log "browser SDKs from npm"
SDKS="$TOOLS/browser-sdks"
mkdir -p "$SDKS"
if [[ "$(cat "$SDKS/.installed" 2>/dev/null)" != "${NPM_PACKAGES[*]}" ]]; then
    npm install --prefix "$SDKS" --no-audit --no-fund --no-package-lock --loglevel=error \
        "${NPM_PACKAGES[@]}" >/dev/null || die "npm install ${NPM_PACKAGES[*]} failed"
    echo "${NPM_PACKAGES[*]}" >"$SDKS/.installed"
fi

log "vitals serve"
VITALS="${VITALS_BIN:-}"
if [[ ! -x "$VITALS" ]]; then
    cargo build --quiet -p vitals
    VITALS="${CARGO_TARGET_DIR:-$ROOT/target}/debug/vitals"
fi
DATA="$WORK/data"
DAY="$(date -u +%F)"
"$VITALS" --data "$DATA" init >/dev/null
# The CRM says who owns the account and what it is worth.
printf 'id,name,owner,mrr,tier\n%s,Browser Co (CRM),dana@vendor.example,4000,Enterprise\n' "$ACCOUNT" >"$WORK/accounts.csv"
"$VITALS" --data "$DATA" import accounts "$WORK/accounts.csv" >/dev/null
PORT="$(free_port)"
HOST="127.0.0.1:$PORT"
env -u VITALS_WRITE_KEYS -u VITALS_SERVER_WRITE_KEYS \
    "$VITALS" --data "$DATA" serve --addr "$HOST" --no-schedule >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    if curl -fsS "http://$HOST/health" >/dev/null 2>&1; then break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || die "vitals serve exited before it was ready"
    sleep 0.2
done
curl -fsS "http://$HOST/health" >/dev/null || die "vitals serve not ready at $HOST"
# The key `vitals serve` generated: the one a web app would embed (a client key).
KEY="$(tr -d '[:space:]' <"$DATA/write-key")"
[[ -n "$KEY" ]] || die "no write key in $DATA/write-key"

log "the web app, on another origin"
SITE="$WORK/site"
mkdir -p "$SITE"
cp tests/clients/browser/index.html "$SITE/"
cp -r "$SDKS/node_modules/@segment/analytics-next/dist/umd" "$SITE/analytics-next"
mkdir -p "$SITE/posthog"
cp "$SDKS/node_modules/posthog-js/dist/array.js" "$SITE/posthog/"
PAGE_PORT="$(free_port)"
python3 -m http.server "$PAGE_PORT" --bind 127.0.0.1 --directory "$SITE" >"$WORK/site.log" 2>&1 &
PAGE_PID=$!
for _ in $(seq 1 50); do
    curl -fsS "http://localhost:$PAGE_PORT/index.html" >/dev/null 2>&1 && break
    sleep 0.2
done
# `localhost` for the page, `127.0.0.1` for Vitals: other host and port, so every call is
# cross-origin and needs the server's CORS answers.
URL="http://localhost:$PAGE_PORT/index.html?host=$HOST&key=$KEY&account=$ACCOUNT"

log "driving Chromium"
NODE_PATH="$SDKS/node_modules" node tests/clients/browser/drive.js "$CHROMIUM" "$URL" \
    "$ARTIFACTS/page.png" | tee "$ARTIFACTS/drive.log"

log "checking each event arrived exactly once"
"$VITALS" --data "$DATA" import verify --account "$ACCOUNT" --day "$DAY" >"$ARTIFACTS/verify.json"
python3 - "$ARTIFACTS/verify.json" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
problems = []
# analytics.js: group, track, page (the identify came before the user's link to the account);
# posthog-js: $groupidentify and one capture.
if v["distinct_events"] != 5:
    problems.append(f"expected 5 distinct events on the account, got {v['distinct_events']}")
if v["stored_events"] != v["distinct_events"]:
    problems.append(f"stored {v['stored_events']} events for {v['distinct_events']} distinct: duplicates")
p = v["profile"] or {}
if p.get("name") != "Browser Co":
    problems.append(f"the group's name was not taken: {p.get('name')!r}")
for field, want in [("owner", "dana@vendor.example"), ("mrr", 4000.0), ("tier", "Enterprise")]:
    if p.get(field) != want:
        problems.append(f"a client key changed {field}: {p.get(field)!r} (CRM said {want!r})")
if problems:
    print("FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
    print(json.dumps(v, indent=2), file=sys.stderr)
    sys.exit(1)
print(f"ok: {v['distinct_events']} events, each stored once; owner, MRR and tier kept from the CRM")
PY
echo "browser SDKs: every event counted exactly once, from another origin"
