#!/usr/bin/env bash
# Browser SDKs against a real server, from another origin: starts `vitals serve` on one loopback
# port (its generated write key, a client key), serves a page on another port that loads
# @segment/analytics-next and posthog-js from npm (local files: no CDN, no network), drives it in
# headless Chromium with playwright-core (group, identify, track, page; PostHog group and
# capture), then checks with `vitals import verify` that every event arrived exactly once and that
# the public key could not change the account's owner, MRR or tier (set by a CRM import).
# A screenshot of the page goes to $VITALS_ARTIFACTS/browser-sdks/.
set -euo pipefail

# shellcheck source=../lib/steps.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/steps.sh"
STEP_NAME=browser-sdks
step_artifacts browser-sdks
NPM_PACKAGES=(@segment/analytics-next@1.84.3 posthog-js@1.449.2 playwright-core@1.65.2)
ACCOUNT="browser-acme"

temp_dir WORK
SERVER_LOG="$WORK/serve.log"

log "chromium"
find_chromium_or_skip "$ARTIFACTS"

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
start_server "http://$HOST" "$SERVER_LOG" env -u VITALS_WRITE_KEYS -u VITALS_SERVER_WRITE_KEYS \
    "$VITALS" --data "$DATA" serve --addr "$HOST" --no-schedule
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
