#!/usr/bin/env python3
"""A checksum of every stored score: for each account-day of the score history (oldest first,
by account), its score, band, confidence, scorecard and each signal's name, raw value,
normalised value, weight and points. Two stores scored from the same events by two builds
must print the same checksum: a change to scoring or to the history's encoding that alters
any figure shows here.

The history keeps a signal's figures to f32 precision (see `shared/core/src/history/codec.rs`),
so they are hashed at that precision whether a row is JSON (older versions) or compact bytes;
the score and confidence exactly.

    python3 scripts/bench/score_checksum.py DATA_DIR [--dump FILE]

Prints `account-days N  checksum SHA256`, then a second checksum of what the scoring run
leaves besides the history (portfolio summaries, segment checkpoints and listings, owners'
books, account records, churn model fits, and the ids of the score events queued), without
the wall-clock stamps (`computed_at`, `updated_at`, `fitted_at`): equal too when a change to
the run keeps its results. `--dump` writes the canonical lines hashed, one per account-day, for
diffing two stores. Reads the store with Python's sqlite3 (read-only).
"""
import argparse
import hashlib
import json
import sqlite3
import struct
import sys

# The compact history entry (shared/core/src/history/codec.rs), read independently here.
FORMAT = 0xB1
SIGNALS = [
    "usage_depth",
    "breadth",
    "seat_adoption",
    "trend",
    "engagement",
    "sentiment",
    "contract",
    "champion_activity",
]
BANDS = ["at_risk", "monitor", "healthy"]


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def decode_compact(body):
    """The health score of a compact history entry, as the JSON form's dict."""
    at = 1

    def take(fmt):
        nonlocal at
        (v,) = struct.unpack_from(fmt, body, at)
        at += struct.calcsize(fmt)
        return v

    def name():
        nonlocal at
        n = take("<B")
        text = body[at : at + n].decode()
        at += n
        return text

    flags = take("<B")
    score = take("<d") if flags & 1 else take("<H") / 10.0
    health = {"score": score, "band": BANDS[take("<B")], "confidence": take("<d")}
    health["scorecard"] = name()
    signals = []
    for _ in range(take("<B")):
        tag = take("<B")
        s = {"name": name() if tag == 0xFF else SIGNALS[tag]}
        present = take("<B")
        s["raw"] = take("<f") if present & 1 else None
        s["value"] = take("<f") if present & 2 else None
        s["weight"] = take("<f")
        s["points"] = take("<f")
        signals.append(s)
    health["signals"] = signals
    return health


def health_of(body):
    if isinstance(body, bytes) and body[:1] == bytes([FORMAT]):
        return decode_compact(body)
    return json.loads(body)["score"]["health"]


def canonical(account, as_of, health):
    parts = [
        account,
        as_of,
        repr(float(health["score"])),
        health["band"],
        repr(float(health["confidence"])),
        health["scorecard"],
    ]
    for s in health["signals"]:
        parts.append(
            "|".join(
                [
                    s["name"],
                    "-" if s.get("raw") is None else repr(f32(s["raw"])),
                    "-" if s.get("value") is None else repr(f32(s["value"])),
                    repr(f32(s["weight"])),
                    repr(f32(s["points"])),
                ]
            )
        )
    return "\t".join(parts)


def rows(db):
    cur = db.execute(
        "SELECT account_id, as_of, body FROM score_history ORDER BY account_id, as_of"
    )
    for account, as_of, body in cur:
        yield canonical(account, as_of, health_of(body))


STAMPS = {"computed_at", "updated_at", "fitted_at"}


def unstamped(value):
    if isinstance(value, dict):
        return {k: unstamped(v) for k, v in value.items() if k not in STAMPS}
    if isinstance(value, list):
        return [unstamped(v) for v in value]
    return value


def state_lines(db, queue):
    queries = [
        ("summary", "SELECT as_of, body FROM portfolio_summaries ORDER BY as_of"),
        ("checkpoint", "SELECT run_id || '/' || seg, body FROM checkpoints ORDER BY run_id, seg"),
        ("listing", "SELECT seg, body FROM segment_listings ORDER BY seg"),
        ("book", "SELECT owner || '/' || day, body FROM book_days ORDER BY owner, day"),
        ("churn_model", "SELECT as_of, body FROM churn_models ORDER BY as_of"),
        (
            "account",
            "SELECT account_id, json_array(json(usage_window), json(score), json(trail)) "
            "FROM accounts ORDER BY account_id",
        ),
    ]
    for kind, sql in queries:
        for key, body in db.execute(sql):
            value = unstamped(json.loads(body)) if body is not None else None
            yield f"{kind}\t{key}\t{json.dumps(value, sort_keys=True)}"
    if queue is not None:
        for (message_id,) in queue.execute(
            "SELECT message_id FROM queue_messages ORDER BY message_id"
        ):
            yield f"event\t{message_id}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir")
    ap.add_argument("--dump")
    args = ap.parse_args()
    db = sqlite3.connect(f"file:{args.data_dir}/vitals.db?mode=ro", uri=True)
    digest = hashlib.sha256()
    dump = open(args.dump, "w") if args.dump else None
    n = 0
    for line in rows(db):
        digest.update(line.encode())
        digest.update(b"\n")
        if dump:
            dump.write(line + "\n")
        n += 1
    print(f"account-days {n}  checksum {digest.hexdigest()}")
    try:
        queue = sqlite3.connect(f"file:{args.data_dir}/queue.db?mode=ro", uri=True)
        queue.execute("SELECT 1 FROM queue_messages LIMIT 1")
    except sqlite3.Error:
        queue = None
    state = hashlib.sha256()
    m = 0
    for line in state_lines(db, queue):
        state.update(line.encode())
        state.update(b"\n")
        m += 1
    print(f"run state rows {m}  checksum {state.hexdigest()}")


if __name__ == "__main__":
    sys.exit(main())
