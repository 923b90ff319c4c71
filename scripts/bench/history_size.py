#!/usr/bin/env python3
"""How many bytes the score history takes per account-day, against the budget of issue 22:
16 bytes plus 4 per signal of the row's scorecard.

    python3 scripts/bench/history_size.py DATA_DIR

Prints one JSON object: `rows`, `bytes` (every page of the history's tables and their indexes,
as SQLite's dbstat counts them: rows, the shared shapes, the account numbers), `budget` (the sum
of each row's 16 + 4 x signals) and `sample_bytes` (the churn model's usage snapshots, kept on
sampled days only, in their own table). Reads an older store's history too.
"""
import json
import sqlite3
import sys

import score_checksum


def main():
    db = sqlite3.connect(f"file:{sys.argv[1]}/vitals.db?mode=ro", uri=True)

    def pages(where):
        return db.execute(f"SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE {where}").fetchone()[0]

    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    history = pages("name LIKE 'score_history%' OR name LIKE 'sqlite_autoindex_score_history%'")
    samples = pages("name = 'usage_samples'") if "usage_samples" in tables else 0
    rows = budget = 0
    for _account, _day, health in score_checksum.entries(db):
        rows += 1
        budget += 16 + 4 * len(health["signals"])
    print(json.dumps({"rows": rows, "bytes": history, "budget": budget, "sample_bytes": samples}))


if __name__ == "__main__":
    main()
