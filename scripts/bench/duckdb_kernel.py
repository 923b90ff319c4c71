"""The scoring kernel's usage computation in DuckDB, for `cargo bench -p vitals-tests --bench scoring`.

Reads the benchmark's daily usage rows (CSV: account, day_index, active_users, sessions,
session_seconds, api_calls, events, seats) and computes per account what the Rust kernel
computes from the same rows: active days, sessions, session minutes per seat, API calls and
events per seat over the 30-day look-back, the 14-day active-usage index against the baseline
90-day average (seed 002's decline rule) and a weighted usage score. Prints one JSON line with
the query time. Single-threaded (SET threads = 1): the budget is per core.
"""
import json
import sys
import time

import duckdb

csv_path, as_of = sys.argv[1], int(sys.argv[2])
con = duckdb.connect()
con.execute("SET threads = 1")
con.execute(f"CREATE TABLE days AS SELECT * FROM read_csv_auto('{csv_path}')")
rows = con.execute("SELECT count(*) FROM days").fetchone()[0]
query = f"""
WITH a AS (
  SELECT account, any_value(seats) AS seats,
    count(*) FILTER (WHERE day_index > {as_of} - 30) AS active_days,
    sum(sessions) FILTER (WHERE day_index > {as_of} - 30) AS sessions,
    sum(session_seconds) FILTER (WHERE day_index > {as_of} - 30) AS seconds,
    sum(api_calls) FILTER (WHERE day_index > {as_of} - 30) AS api_calls,
    sum(events) FILTER (WHERE day_index > {as_of} - 30) AS events,
    coalesce(sum(active_users) FILTER (WHERE day_index > {as_of} - 14), 0) / 14.0 AS recent,
    coalesce(sum(active_users) FILTER (WHERE day_index <= {as_of} - 14 AND day_index > {as_of} - 104), 0) / 90.0 AS baseline
  FROM days GROUP BY account
)
SELECT account,
  least(100, 100 * active_days / 20.0) * 0.4
    + least(100, 100 * (seconds / 60.0 / greatest(seats, 1) / 30.0) / 10.0) * 0.3
    + least(100, 100 * (events / greatest(seats, 1) / 30.0) / 5.0) * 0.3 AS usage_score,
  CASE WHEN baseline = 0 THEN NULL ELSE recent / baseline END AS ratio,
  CASE WHEN baseline = 0 THEN 'not_judged'
       WHEN recent / baseline < 0.4 THEN 'severe'
       WHEN recent / baseline < 0.6 THEN 'moderate' ELSE 'steady' END AS decline
FROM a
"""
best = None
for _ in range(3):
    start = time.perf_counter()
    result = con.execute(query).fetchall()
    elapsed = time.perf_counter() - start
    best = elapsed if best is None else min(best, elapsed)
print(json.dumps({"seconds": best, "account_days": rows, "accounts": len(result)}))
