#!/usr/bin/env python3
"""A checksum of every stored score: for each account-day of the score history (oldest first,
by account), its score, band, confidence, scorecard and each signal's name, raw value,
normalised value, weight and points. Two stores scored from the same events by two builds
must print the same checksum: a change to scoring or to the history's encoding that alters
any figure shows here.

The history keeps a signal's figures to f32 precision (see `shared/core/src/history/codec.rs`),
so they are hashed at that precision whether a row is JSON (older versions), a self-contained
compact entry or a shaped row (`shared/core/src/history/shape.rs`); the score and confidence
exactly. Points are hashed as the shaped history reads them, recomputed from the f32 value and
weight, whatever the form: they are value x weight, and a store that kept them hashes the same.

    python3 scripts/bench/score_checksum.py DATA_DIR [--dump FILE]

Prints `account-days N  checksum SHA256`, then a second checksum of what the scoring run
leaves besides the history (portfolio summaries, segment checkpoints and listings, owners'
books, account records, churn model fits, and the ids of the score events queued), without
the wall-clock stamps (`computed_at`, `updated_at`, `fitted_at`): equal too when a change to
the run keeps its results. `--dump` writes the canonical lines hashed, one per account-day, for
diffing two stores. Reads the store with Python's sqlite3 (read-only).
"""
import argparse
import datetime
import hashlib
import json
import sqlite3
import struct
import sys

# The compact history entry (shared/core/src/history/codec.rs), read independently here.
FORMAT = 0xB1
SHAPE_FORMAT = 0xC1
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
                    repr(f32(f32(s.get("value") or 0.0) * f32(s["weight"]))),
                ]
            )
        )
    return "\t".join(parts)


def join_shape(shape, row):
    """The health score of a shaped history row (`shared/core/src/history/shape.rs`)."""
    assert shape[0] == SHAPE_FORMAT, "unknown history shape format"
    at = {"shape": 1, "row": 0}
    data = {"shape": shape, "row": row}

    def take(part, fmt):
        (v,) = struct.unpack_from(fmt, data[part], at[part])
        at[part] += struct.calcsize(fmt)
        return v

    def name():
        n = take("shape", "<B")
        text = shape[at["shape"] : at["shape"] + n].decode()
        at["shape"] += n
        return text

    health = {"scorecard": name(), "confidence": take("shape", "<d")}
    count = take("shape", "<B")
    flags = take("row", "<B")
    health["band"] = BANDS[flags & 3]
    health["score"] = take("row", "<d") if flags & 4 else take("row", "<H") / 10.0
    signals = []
    for _ in range(count):
        tag = take("shape", "<B")
        s = {"name": name() if tag == 0xFF else SIGNALS[tag]}
        present = take("shape", "<B")
        s["weight"] = take("shape", "<f")
        s["raw"] = take("row", "<f") if present & 1 else None
        s["value"] = take("row", "<f") if present & 2 else None
        signals.append(s)
    assert at["shape"] == len(shape) and at["row"] == len(row), "trailing history bytes"
    health["signals"] = signals
    return health


def entries(db):
    """(account, day, health) of every history row, by account then day, whatever its form."""
    columns = {c[1] for c in db.execute("PRAGMA table_info(score_history)")}
    if "day" not in columns:
        cur = db.execute(
            "SELECT account_id, as_of, body FROM score_history ORDER BY account_id, as_of"
        )
        for account, as_of, body in cur:
            yield account, as_of, health_of(body)
        return
    epoch = datetime.date(1970, 1, 1)
    cur = db.execute(
        "SELECT a.account_id, h.day, s.body, h.body FROM score_history h "
        "JOIN score_history_accounts a ON a.account = h.account "
        "JOIN score_history_shapes s ON s.shape = h.shape ORDER BY a.account_id, h.day"
    )
    for account, day, shape, row in cur:
        yield account, (epoch + datetime.timedelta(days=day)).isoformat(), join_shape(shape, row)


def rows(db):
    for account, as_of, health in entries(db):
        yield canonical(account, as_of, health)


def msgpack(data):
    """The value of one MessagePack document, the form of the embedded store's account
    columns (`shared/embedded/src/codec.rs`); binary values come back as bytes."""
    at = 0

    def take(n):
        nonlocal at
        chunk = data[at : at + n]
        if len(chunk) != n:
            raise ValueError("truncated MessagePack")
        at += n
        return chunk

    def unpack(fmt):
        return struct.unpack(fmt, take(struct.calcsize(fmt)))[0]

    def value():
        b = take(1)[0]
        if b <= 0x7F:
            return b
        if b >= 0xE0:
            return b - 0x100
        if 0x80 <= b <= 0x8F:
            return mapping(b & 0x0F)
        if 0x90 <= b <= 0x9F:
            return [value() for _ in range(b & 0x0F)]
        if 0xA0 <= b <= 0xBF:
            return take(b & 0x1F).decode()
        fixed = {0xC0: None, 0xC2: False, 0xC3: True}
        if b in fixed:
            return fixed[b]
        sized = {0xC4: "B", 0xC5: ">H", 0xC6: ">I", 0xD9: "B", 0xDA: ">H", 0xDB: ">I"}
        if b in sized:
            raw = take(unpack(sized[b]))
            return raw if b <= 0xC6 else raw.decode()
        numbers = {0xCA: ">f", 0xCB: ">d", 0xCC: "B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q",
                   0xD0: "b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q"}
        if b in numbers:
            return unpack(numbers[b])
        if b in (0xDC, 0xDD):
            return [value() for _ in range(unpack(">H" if b == 0xDC else ">I"))]
        if b in (0xDE, 0xDF):
            return mapping(unpack(">H" if b == 0xDE else ">I"))
        raise ValueError(f"MessagePack type 0x{b:02x} is not used by vitals")

    def mapping(n):
        return {value(): value() for _ in range(n)}

    result = value()
    if at != len(data):
        raise ValueError("bytes after the MessagePack value")
    return result


def varints(data):
    at = 0
    while at < len(data):
        n, shift = 0, 0
        while True:
            b = data[at]
            at += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        yield n


def days_text(data):
    """Binary usage days (`shared/scoring/src/packed.rs`, `pack_bytes`) as their packed text."""
    assert data[0] == 2, "unknown binary form of usage days"
    numbers = list(varints(data[1:]))
    count, rows = numbers[0], numbers[1:]
    parts = []
    for i in range(count):
        gap, counts = rows[6 * i], rows[6 * i + 1 : 6 * i + 6]
        if i == 0:
            gap = (datetime.date.min + datetime.timedelta(days=gap - 1)).isoformat()
        used = max((k + 1 for k, n in enumerate(counts) if n), default=0)
        parts.append(",".join([str(gap)] + [str(n) if n else "" for n in counts[:used]]))
    return "1:" + ";".join(parts)


def recent_text(data):
    """Binary recent event counts (`shared/scoring/src/window/event_counts.rs`) as their text."""
    assert data[0] == 2, "unknown binary form of recent event counts"
    numbers = list(varints(data[1:]))
    count, rows = numbers[0], numbers[1:]
    out, day, previous = "", 0, None
    for i in range(count):
        zigzag, name, n = rows[3 * i : 3 * i + 3]
        day += (zigzag >> 1) ^ -(zigzag & 1)
        if day != previous:
            out += (f";{day - previous}" if previous is not None else str(day)) + ":"
            previous = day
        else:
            out += ","
        out += f"{name}.{n}"
    return out


BINARY_FIELDS = {"days": days_text, "r": recent_text}


def account_column(body):
    """An account column (JSON text or MessagePack bytes) as JSON reads it, floats at f32
    precision (the compact form keeps f32 fields as f32; JSON prints them shortest)."""
    if body is None:
        return None
    value = msgpack(body) if isinstance(body, bytes) else json.loads(body)

    def canonical(v):
        if isinstance(v, dict):
            return {
                k: BINARY_FIELDS[k](x) if isinstance(x, bytes) else canonical(x)
                for k, x in v.items()
            }
        if isinstance(v, list):
            return [canonical(x) for x in v]
        if isinstance(v, float):
            return f32(v)
        return v

    return canonical(value)


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
    ]
    for kind, sql in queries:
        for key, body in db.execute(sql):
            value = unstamped(json.loads(body)) if body is not None else None
            yield f"{kind}\t{key}\t{json.dumps(value, sort_keys=True)}"
    for key, *columns in db.execute(
        "SELECT account_id, usage_window, score, trail FROM accounts ORDER BY account_id"
    ):
        value = unstamped([account_column(c) for c in columns])
        yield f"account\t{key}\t{json.dumps(value, sort_keys=True)}"
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
