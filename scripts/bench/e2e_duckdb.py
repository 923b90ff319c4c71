#!/usr/bin/env python3
"""DuckDB's side of the end-to-end bench (`scripts/bench.sh e2e`): from the same NDJSON file that
`vitals import events` reads, on one thread, each step timed:

  1. load: `read_ndjson` into a table;
  2. rollup: per account-day, usage events, distinct users and distinct event types (track events,
     outcome events left out, as Vitals' rollup does);
  3. windows: 14/28/90-day sums (events, active days, user-days) for every account-day of the year.

Prints one JSON object: seconds per step, peak memory of this process, account-days, and the
checksum of the per-account-day rollup (the formula `vitals import checksum` uses, so both sides
can be compared).

    e2e_duckdb.py FILE FIRST_DAY LAST_DAY
"""
import datetime
import json
import resource
import sys
import time

import duckdb

MASK = (1 << 64) - 1
OUTCOME_EVENTS = ("Account Churned",)


def fnv1a64(text):
    h = 0xCBF29CE484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001B3) & MASK
    return h


def checksum(rows):
    """Order-independent: the wrapping sum of one mixed value per (account, day, events, users,
    event types) row; any changed count, day or account changes it."""
    epoch = datetime.date(1970, 1, 1)
    accounts = {}
    total = 0
    for account, day, events, users, types in rows:
        h = accounts.get(account)
        if h is None:
            h = accounts[account] = fnv1a64(account)
        v = (h * 31 + (day - epoch).days) & MASK
        for n in (events, users, types):
            v = (v * 1_000_003 + n) & MASK
        total = (total + v) & MASK
    return f"{total:016x}"


def main():
    path, first, last = sys.argv[1], sys.argv[2], sys.argv[3]
    con = duckdb.connect()
    con.execute("SET threads = 1")
    steps = {}

    t = time.perf_counter()
    con.execute(
        "CREATE TABLE events AS SELECT * FROM read_ndjson(?, columns = {"
        "type: 'VARCHAR', messageId: 'VARCHAR', userId: 'VARCHAR', event: 'VARCHAR', "
        "groupId: 'VARCHAR', context: 'STRUCT(groupId VARCHAR)', properties: 'JSON', "
        "traits: 'JSON', timestamp: 'TIMESTAMP'})",
        [path],
    )
    steps["load"] = time.perf_counter() - t
    loaded = con.execute("SELECT count(*) FROM events").fetchone()[0]

    t = time.perf_counter()
    con.execute(
        "CREATE TABLE daily AS SELECT context.groupId AS account, CAST(timestamp AS DATE) AS day, "
        "count(DISTINCT messageId) AS events, count(DISTINCT userId) AS users, "
        "count(DISTINCT event) AS types FROM events "
        "WHERE type = 'track' AND event NOT IN ? GROUP BY ALL",
        [list(OUTCOME_EVENTS)],
    )
    steps["rollup"] = time.perf_counter() - t

    t = time.perf_counter()
    con.execute(
        "CREATE TABLE windows AS "
        "WITH accounts AS (SELECT DISTINCT account FROM daily), "
        "days AS (SELECT CAST(d AS DATE) AS day FROM range(CAST(? AS DATE), CAST(? AS DATE) "
        "+ INTERVAL 1 DAY, INTERVAL 1 DAY) t(d)), "
        "dense AS (SELECT a.account, d.day, coalesce(x.events, 0) AS events, "
        "coalesce(x.users, 0) AS users, CAST(x.events IS NOT NULL AS INTEGER) AS active "
        "FROM accounts a CROSS JOIN days d LEFT JOIN daily x ON x.account = a.account "
        "AND x.day = d.day) "
        "SELECT account, day, "
        + ", ".join(
            f"sum({c}) OVER (PARTITION BY account ORDER BY day ROWS BETWEEN {n - 1} PRECEDING "
            f"AND CURRENT ROW) AS {c}_{n}"
            for n in (14, 28, 90)
            for c in ("events", "users", "active")
        )
        + " FROM dense",
        [first, last],
    )
    steps["windows"] = time.perf_counter() - t
    account_days = con.execute("SELECT count(*) FROM windows").fetchone()[0]

    rows = con.execute("SELECT account, day, events, users, types FROM daily").fetchall()
    print(json.dumps({
        "steps": steps,
        "loaded": loaded,
        "rollup_rows": len(rows),
        "account_days": account_days,
        "checksum": checksum(rows),
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }))


if __name__ == "__main__":
    main()
