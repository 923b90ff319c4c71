#!/usr/bin/env bash
# The backfill (`vitals score --from D1 --to D2`) of a simulated year, timed, with a checksum of
# every stored score (issue 22):
#
#   VITALS_BIN=target/fast/vitals bash scripts/bench/backfill.sh [ACCOUNTS] [DAYS]
#
# Generates ACCOUNTS (default 600) simulated accounts over DAYS (default 365) ending yesterday
# with scripts/sim/churn_sim.py (seed 11; churns recorded, so the last week's churn-model refit
# runs as it would in production), imports them into a new store, scores the whole period and
# prints wall and CPU seconds, account-days per second, peak memory (`/usr/bin/time`), bytes
# written, history bytes per account-day, and the checksums of scripts/bench/score_checksum.py.
# Two builds given the same arguments must print the same checksums.
#
# Knobs: BACKFILL_WORK (a directory kept between runs: the data set and the imported store are
# reused when present), BACKFILL_SEED.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ACCOUNTS="${1:-600}"
DAYS="${2:-365}"
SEED="${BACKFILL_SEED:-11}"
VITALS="${VITALS_BIN:?set VITALS_BIN to an optimised vitals binary (cargo build --profile fast -p vitals)}"
WORK="${BACKFILL_WORK:-$(mktemp -d)}"
mkdir -p "$WORK"
END="$(python3 -c 'import datetime as d; print(d.date.today() - d.timedelta(days=1))')"
FROM="$(python3 -c "import datetime as d; print(d.date.fromisoformat('$END') - d.timedelta(days=$DAYS - 1))")"
EVENTS="$WORK/events-$ACCOUNTS-$DAYS-$SEED-$END.ndjson"
IMPORTED="$WORK/imported-$ACCOUNTS-$DAYS-$SEED-$END"

if [[ ! -f "$EVENTS" ]]; then
    python3 "$ROOT/scripts/sim/churn_sim.py" --accounts "$ACCOUNTS" --days "$DAYS" --end "$END" \
        --seed "$SEED" --base-churn 0.2 --out "$EVENTS"
fi
if [[ ! -d "$IMPORTED" ]]; then
    rm -rf "$IMPORTED.tmp"
    "$VITALS" --data "$IMPORTED.tmp" init >/dev/null
    printf '[retention]\ndays = 36500\n' >"$WORK/retention.toml"
    "$VITALS" --data "$IMPORTED.tmp" config apply "$WORK/retention.toml" >/dev/null
    /usr/bin/time -f "import: %e s wall, %M KB peak" "$VITALS" --data "$IMPORTED.tmp" \
        import events "$EVENTS" >/dev/null
    mv "$IMPORTED.tmp" "$IMPORTED"
fi

DATA="$WORK/scored"
rm -rf "$DATA"
cp -r "$IMPORTED" "$DATA"
echo "backfill of $FROM..$END, $ACCOUNTS accounts ($VITALS)"
/usr/bin/time -o "$WORK/time.txt" -f "%e %U %S %M %O" "$VITALS" --data "$DATA" score \
    --from "$FROM" --to "$END" | tee "$WORK/score.txt"
read -r WALL USER SYS PEAK_KB OUT_BLOCKS <"$WORK/time.txt"
python3 - "$DATA" "$WALL" "$USER" "$SYS" "$PEAK_KB" "$OUT_BLOCKS" "$ROOT/scripts/bench" <<'PY'
import json, subprocess, sys
data, wall, user, sys_, peak_kb, blocks, bench = sys.argv[1:]
size = json.loads(subprocess.check_output([sys.executable, f"{bench}/history_size.py", data]))
n = size["rows"]
cpu = float(user) + float(sys_)
print(f"score: {float(wall):.1f} s wall, {cpu:.1f} s CPU, {n / float(wall):,.0f} scored account-days/s (wall), "
      f"{n / cpu:,.0f} per CPU-second")
print(f"peak memory {int(peak_kb) / 1024:.0f} MB, written {int(blocks) * 512 / 1e9:.2f} GB, "
      f"history {size['bytes'] / max(n, 1):.1f} bytes per account-day on disk (budget "
      f"{size['budget'] / max(n, 1):.1f}; {n} account-days), usage samples "
      f"{size['sample_bytes'] / max(n, 1):.1f} more")
PY
python3 "$ROOT/scripts/bench/score_checksum.py" "$DATA"
