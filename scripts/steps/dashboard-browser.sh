#!/usr/bin/env bash
# Loads the web dashboard in headless Chromium (Debian package `chromium`) from `vitals demo`
# data: the portfolio page and an account page must render their SVG charts, the at-risk list
# and the account sections. Then drives the CSM's workspace with playwright-core (npm, installed
# into .tools/playwright): tests/browser/workspace.mjs signs a CSM in, snoozes and resolves
# alerts from the pages, checks the audit page as admin and that a second CSM sees none of it.
# Screenshots and DOM dumps go to test-artifacts/dashboard/.
# Installs chromium with apt-get when missing; skips (exit 0) only when apt is impossible and
# CI is not set.
set -euo pipefail

# shellcheck source=../lib/steps.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/steps.sh"
STEP_NAME=dashboard-browser
step_artifacts dashboard

temp_dir DATA
temp_dir PROFILE

find_chromium_or_skip "$ARTIFACTS"

cargo build --quiet -p vitals
VITALS="${CARGO_TARGET_DIR:-$ROOT/target}/debug/vitals"
"$VITALS" --data "$DATA" demo --accounts 40 --days 60 --no-serve >"$ARTIFACTS/demo.log" 2>&1

PORT="$(free_port)"
BASE="http://127.0.0.1:$PORT"
start_server "$BASE" "$ARTIFACTS/serve.log" \
    "$VITALS" --data "$DATA" serve --addr "127.0.0.1:$PORT" --no-schedule
TOKEN="$("$VITALS" --data "$DATA" token --role admin --user admin@example.com --ttl 1h --quiet)"

# The worst account: the first at-risk row of the API's default (worst first) order.
ACCOUNT="$(curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/v1/accounts?limit=1" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["items"][0]["account_id"])')"

# The dispatcher works through the backfill's queued score events as the server starts: wait
# until the alerts stop changing, so the page and the API below show the same settled state.
alerts_now() { curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/v1/alerts?limit=200" | md5sum; }
previous=""
for _ in $(seq 1 60); do
    current="$(alerts_now)"
    [[ "$current" == "$previous" ]] && break
    previous="$current"
    sleep 1
done
curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/v1/accounts?lifecycle=all&limit=200" >"$ARTIFACTS/accounts.json"
curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/v1/alerts?limit=200" >"$ARTIFACTS/alerts.json"

chrome() {
    timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --disable-background-networking --disable-component-update --disable-sync \
        --no-first-run --user-data-dir="$PROFILE" --window-size=1280,2400 "$@" 2>>"$ARTIFACTS/chromium.log"
}

# Each load signs in with `?token=` (the page sets its cookie and redirects to itself without
# the token), as a user following `vitals token`'s link does.
chrome --dump-dom "$BASE/dashboard?token=$TOKEN" >"$ARTIFACTS/portfolio.html"
chrome --screenshot="$ARTIFACTS/portfolio.png" "$BASE/dashboard?token=$TOKEN" >/dev/null
chrome --dump-dom "$BASE/dashboard/accounts/$ACCOUNT?token=$TOKEN" >"$ARTIFACTS/account.html"
chrome --screenshot="$ARTIFACTS/account.png" "$BASE/dashboard/accounts/$ACCOUNT?token=$TOKEN" >/dev/null

python3 - "$ARTIFACTS/portfolio.html" "$ARTIFACTS/account.html" "$ARTIFACTS/accounts.json" \
    "$ARTIFACTS/alerts.json" <<'PY'
import json, re, sys
from html.parser import HTMLParser

class Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.svgs, self.sections, self.rows = [], {}, set(), 0
        self.shapes = {}
        self.links = {}  # section or row class -> linked account ids
        self.row = None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr":
            self.row = a.get("class")
        if a.get("id"):
            self.sections.add(a["id"])
        self.stack.append(a.get("id"))
        section = next((s for s in reversed(self.stack) if s), None)
        if tag == "svg":
            self.svgs[section] = self.svgs.get(section, 0) + 1
        if tag in ("rect", "polyline", "circle"):
            self.shapes[section] = self.shapes.get(section, 0) + 1
        if tag == "tr" and "at-risk-row" in (a.get("class") or ""):
            self.rows += 1
        href = a.get("href") or ""
        if tag == "a" and href.startswith("/dashboard/accounts/"):
            where = "at-risk-row" if "at-risk-row" in (self.row or "") else section
            self.links.setdefault(where, set()).add(href.rsplit("/", 1)[-1])
    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()

def parse(path):
    dom = Dom()
    dom.feed(open(path, encoding="utf-8").read())
    return dom

problems = []
portfolio = parse(sys.argv[1])
for section in ("distribution", "trend"):
    if not portfolio.svgs.get(section) or not portfolio.shapes.get(section):
        problems.append(f"portfolio: no drawn chart in #{section}")
for section in ("at-risk", "expansion", "alerts", "revenue-at-risk", "kpi-table"):
    if section not in portfolio.sections:
        problems.append(f"portfolio: #{section} missing")
if portfolio.rows == 0:
    problems.append("portfolio: the at-risk list has no rows")
# Truth (issue 17): no churned or not-yet-started account is listed at risk, and no alert on
# the page is about a condition that has cleared.
rows = {r["account_id"]: r for r in json.load(open(sys.argv[3]))["items"]}
alerts = [a for a in json.load(open(sys.argv[4]))["items"] if a["status"] != "resolved"]
for acc in sorted(portfolio.links.get("at-risk-row", ())):
    row = rows.get(acc, {})
    if row.get("lifecycle", "active") != "active" or row.get("band") != "at_risk":
        problems.append(f"portfolio: {acc} listed at risk but is {row.get('lifecycle')}, "
                        f"band {row.get('band')}")
for acc in sorted(portfolio.links.get("alerts", ())):
    if rows.get(acc, {}).get("lifecycle", "active") != "active":
        problems.append(f"portfolio: an alert on {acc}, which is {rows[acc]['lifecycle']}")
for a in alerts:
    row = rows.get(a["account_id"], {})
    if a["kind"] == "at_risk" and row.get("band") != "at_risk" \
            or a["kind"] == "usage_decline" and not row.get("decline"):
        problems.append(f"alert {a['id']} is {a['status']} but its condition cleared: "
                        f"band {row.get('band')}, decline {row.get('decline')}")
account = parse(sys.argv[2])
for section in ("history", "signals", "users", "sessions"):
    if not account.svgs.get(section) or not account.shapes.get(section):
        problems.append(f"account: no drawn chart in #{section}")
for section in ("features", "timeline"):
    if section not in account.sections:
        problems.append(f"account: #{section} missing")
if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"portfolio: {sum(portfolio.svgs.values())} charts, {portfolio.rows} at-risk rows, all "
      f"active; {len(alerts)} unresolved alerts, none cleared; "
      f"account: {sum(account.svgs.values())} charts")
PY

for png in portfolio.png account.png; do
    [[ -s "$ARTIFACTS/$png" ]] || die "no screenshot $png"
done

# The workspace flow (issue 18): who acts on what, chosen from the settled demo data.
PLAYWRIGHT_DIR="$ROOT/.tools/playwright"
if [[ ! -f "$PLAYWRIGHT_DIR/node_modules/playwright-core/index.mjs" ]]; then
    command -v npm >/dev/null || die "npm is needed to install playwright-core"
    npm install --prefix "$PLAYWRIGHT_DIR" --no-audit --no-fund --no-package-lock --ignore-scripts \
        playwright-core@1.57 >"$ARTIFACTS/install-playwright.log" 2>&1 ||
        die "npm install playwright-core failed; see $ARTIFACTS/install-playwright.log"
fi
CHOICE="$(python3 - "$ARTIFACTS/accounts.json" "$ARTIFACTS/alerts.json" <<'PY'
import json, sys
from collections import defaultdict
rows = {r["account_id"]: r for r in json.load(open(sys.argv[1]))["items"]}
open_alerts = [a for a in json.load(open(sys.argv[2]))["items"]
               if a["status"] == "open" and not a.get("snoozed_until") and a.get("owner")]
by_owner = defaultdict(list)
for a in open_alerts:
    by_owner[a["owner"]].append(a)
for owner, alerts in sorted(by_owner.items(), key=lambda kv: -len(kv[1])):
    at_risk = [a for a in alerts if rows.get(a["account_id"], {}).get("band") == "at_risk"
               and rows[a["account_id"]].get("name")]
    if len(alerts) < 2 or not at_risk:
        continue
    snooze = at_risk[0]
    others = [a for a in alerts if a["id"] != snooze["id"]]
    resolve = next((a for a in others if a["account_id"] != snooze["account_id"]), others[0])
    second = next(o for o in sorted({r.get("owner") for r in rows.values() if r.get("owner")})
                  if o != owner)
    print(owner, second, snooze["account_id"], snooze["id"], resolve["id"],
          rows[snooze["account_id"]]["name"], sep="\t")
    break
PY
)"
[[ -n "$CHOICE" ]] || die "no CSM with two open alerts, one on an at-risk account, in the demo data"
IFS=$'\t' read -r CSM CSM2 ACCOUNT_ID SNOOZE_ALERT RESOLVE_ALERT ACCOUNT_NAME <<<"$CHOICE"
mint() { "$VITALS" --data "$DATA" token --role "$1" --user "$2" --ttl 1h --quiet; }
CSM_TOKEN="$(mint csm "$CSM")"
CSM2_TOKEN="$(mint csm "$CSM2")"
echo "dashboard-browser: $CSM snoozes $SNOOZE_ALERT on $ACCOUNT_NAME and resolves $RESOLVE_ALERT; $CSM2 must see neither"
BASE="$BASE" ARTIFACTS="$ARTIFACTS" CHROMIUM="$CHROMIUM" \
    PLAYWRIGHT_CORE="$PLAYWRIGHT_DIR/node_modules/playwright-core/index.mjs" \
    CSM="$CSM" CSM_TOKEN="$CSM_TOKEN" CSM2_TOKEN="$CSM2_TOKEN" ADMIN_TOKEN="$TOKEN" \
    ACCOUNT="$ACCOUNT_ID" ACCOUNT_NAME="$ACCOUNT_NAME" \
    SNOOZE_ALERT="$SNOOZE_ALERT" RESOLVE_ALERT="$RESOLVE_ALERT" \
    timeout 300 node "$ROOT/tests/browser/workspace.mjs" | tee "$ARTIFACTS/workspace.log" ||
    die "the workspace flow failed (see $ARTIFACTS/workspace.log)"

# A CSM's book, totals included: her portfolio counts the accounts her listing returns.
csm2_accounts="$(curl -fsS -H "Authorization: Bearer $CSM2_TOKEN" "$BASE/v1/accounts?limit=200" |
    python3 -c 'import json, sys; print(len(json.load(sys.stdin)["items"]))')"
csm2_total="$(curl -fsS -H "Authorization: Bearer $CSM2_TOKEN" "$BASE/v1/portfolio" |
    python3 -c 'import json, sys; print(json.load(sys.stdin).get("accounts"))')"
if [[ "$csm2_total" != "$csm2_accounts" ]]; then
    echo "dashboard-browser: WARNING $CSM2's portfolio counts $csm2_total accounts, her listing $csm2_accounts (per-owner portfolio scoping, issue 18 point 4)"
fi
for png in csm-portfolio csm-alerts csm-account csm-account-snoozed csm-alerts-after \
    csm-alerts-resolved admin-audit admin-alerts admin-settings admin-settings-validated \
    csm2-portfolio csm2-alerts csm2-account-404; do
    [[ -s "$ARTIFACTS/$png.png" ]] || die "no screenshot $png.png"
done
echo "dashboard-browser: OK (screenshots in $ARTIFACTS)"
