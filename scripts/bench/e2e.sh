#!/usr/bin/env bash
# End to end: a year of events, Vitals vs DuckDB (issue 22). Run as `bash scripts/bench.sh e2e`:
#
#   scripts/bench.sh e2e [--small] [--outcomes] [--skip-score]
#   VITALS_BIN=path/to/vitals scripts/bench.sh e2e ...   # time that binary, no build
#
# Generates (once, cached under $E2E_DIR, default /tmp/vitals-e2e) the seeded year of
# scripts/bench/e2e_year.py, then times on the same NDJSON file:
#   Vitals (fast build, embedded store): `vitals import events` then `vitals score --from --to`,
#     each under /usr/bin/time -v (peak memory) with the bytes it wrote (/proc io accounting);
#   DuckDB (PyPI, one thread): read_ndjson, the per-account-day rollup, 14/28/90-day windows.
# Both sides checksum the per-account-day rollup (usage events, distinct users, distinct event
# types); the bench fails if the checksums differ. Prints one table with the ratio row.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

small="" outcomes="" score=1
for arg in "$@"; do
    case "$arg" in
    --small) small=--small ;;
    --outcomes) outcomes=--outcomes ;;
    --skip-score) score=0 ;;
    *) echo "e2e: unknown argument: $arg (expected --small, --outcomes or --skip-score)" >&2; exit 2 ;;
    esac
done

work="${E2E_DIR:-/tmp/vitals-e2e}"
mkdir -p "$work"
last=$(date -u -d yesterday +%F)
first=$(date -u -d "$last - 364 days" +%F)
file="$work/year-${last}${small:+-small}${outcomes:+-outcomes}.ndjson"

python="$ROOT/.tools/venv/bin/python"
if [[ ! -x "$python" ]]; then
    python3 -m venv "$ROOT/.tools/venv"
fi
if ! "$python" -c "import duckdb" 2>/dev/null; then
    echo "installing duckdb into .tools/venv"
    "$python" -m pip install --quiet --disable-pip-version-check duckdb
fi

# VITALS_BIN: time another build (say, an older one for a before/after table) instead.
if [[ -n "${VITALS_BIN:-}" ]]; then
    vitals="$VITALS_BIN"
else
    cargo build --profile fast -p vitals
    vitals="${CARGO_TARGET_DIR:-$ROOT/target}/fast/vitals"
fi

if [[ ! -s "$file" ]]; then
    echo "generating $file"
    python3 scripts/bench/e2e_year.py "$file.part" $small $outcomes --end "$last"
    mv "$file.part" "$file"
fi

# measure NAME CMD...: wall seconds and peak RSS (/usr/bin/time -v) and bytes written (the
# shell's io counters include its reaped children's) into $work/NAME.time and $work/NAME.io.
measure() {
    local name=$1
    shift
    sh -c '/usr/bin/time -v -o "$0.time" "$@" > "$0.out" 2>&1; rc=$?; cat /proc/$$/io > "$0.io"; exit $rc' \
        "$work/$name" "$@" || {
        echo "e2e: $name failed; its output:" >&2
        tail -20 "$work/$name.out" >&2
        exit 1
    }
}

data="$work/data"
rm -rf "$data"
"$vitals" --data "$data" init > /dev/null
echo "vitals: import events"
measure import "$vitals" --data "$data" import events "$file"
"$vitals" --data "$data" import checksum --from "$first" --to "$last" > "$work/vitals-checksum.json"
if [[ "$score" == 1 ]]; then
    echo "vitals: score --from $first --to $last"
    measure score "$vitals" --data "$data" score --from "$first" --to "$last"
    python3 scripts/bench/history_size.py "$data" > "$work/history.json"
fi
echo "duckdb: load, rollup, windows (one thread)"
measure duckdb "$python" scripts/bench/e2e_duckdb.py "$file" "$first" "$last"

python3 scripts/bench/e2e_report.py "$work" "$score"
