#!/usr/bin/env python3
"""Prints the end-to-end bench's table from what scripts/bench/e2e.sh measured in DIR, and exits 1
if Vitals' and DuckDB's rollup checksums differ.

    e2e_report.py DIR SCORED(0|1)
"""
import json
import os
import sys


def gnu_time(path):
    """(wall seconds, peak RSS bytes) from a `/usr/bin/time -v` report."""
    wall, rss, _ = gnu_time_cpu(path)
    return wall, rss


def gnu_time_cpu(path):
    """(wall seconds, peak RSS bytes, user + system CPU seconds) from `/usr/bin/time -v`."""
    wall = rss = None
    cpu = 0.0
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, _, value = line.strip().rpartition(": ")
            if key.startswith("Elapsed (wall clock)"):
                parts = [float(p) for p in value.split(":")]
                wall = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
            elif key == "Maximum resident set size (kbytes)":
                rss = int(value) * 1024
            elif key in ("User time (seconds)", "System time (seconds)"):
                cpu += float(value)
    return wall, rss, cpu


def written(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    return None


def size(n):
    if n is None:
        return "—"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def rate(n, seconds):
    if not n or not seconds:
        return "—"
    r = n / seconds
    return f"{r / 1e6:.2f}M" if r >= 1e6 else f"{r / 1e3:.0f}k" if r >= 1e4 else f"{r:,.0f}"


def secs(s):
    return "—" if s is None else f"{s:.1f}"


def main():
    work, scored = sys.argv[1], sys.argv[2] == "1"
    p = lambda name: os.path.join(work, name)  # noqa: E731
    duck = json.loads(open(p("duckdb.out"), encoding="utf-8").read().strip().splitlines()[-1])
    mine = json.loads(open(p("vitals-checksum.json"), encoding="utf-8").read())
    imp_wall, imp_rss = gnu_time(p("import.time"))
    duck_wall, duck_rss = gnu_time(p("duckdb.time"))
    events = duck["loaded"]
    steps = duck["steps"]
    days = duck["account_days"]

    rows = [
        ("load / import", imp_wall, steps["load"], rate(events, imp_wall), "",
         size(imp_rss), size(written(p("import.io"))), ""),
        ("per-day rollup", None, steps["rollup"], "", rate(duck["rollup_rows"], steps["rollup"]),
         "", "", ""),
        ("14/28/90-day windows", None, steps["windows"], "", rate(days, steps["windows"]),
         "", "", ""),
    ]
    vitals_total = imp_wall
    if scored:
        score_wall, score_rss = gnu_time(p("score.time"))
        history = json.load(open(p("history.json"), encoding="utf-8"))
        history_rows = history["rows"]
        rows.append(("scoring the year", score_wall, None, "", rate(history_rows, score_wall),
                     size(score_rss), size(written(p("score.io"))),
                     f"{history['bytes'] / history_rows:.1f} B (budget "
                     f"{history['budget'] / history_rows:.1f} B)" if history_rows else "—"))
        vitals_total += score_wall
    duck_total = sum(steps.values())
    rows.append(("total", vitals_total, duck_total, rate(events, vitals_total),
                 rate(days, vitals_total) if scored else "", "", "", ""))

    head = ("step", "Vitals s", "DuckDB s", "events/s", "account-days/s", "peak memory",
            "bytes written", "history B/account-day")
    print()
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for name, v, d, ev, ad, mem, wrote, hist in rows:
        print(f"| {name} | {secs(v)} | {secs(d)} | {ev} | {ad} | {mem} | {wrote} | {hist} |")
    ratio = vitals_total / duck_total if duck_total else float("nan")
    what = "import + score" if scored else "import alone"
    print(f"| ratio Vitals/DuckDB ({what}) | {ratio:.1f}x | 1x | | | DuckDB process peak "
          f"{size(duck_rss)} | | |")
    print()
    print(f"{events} events; {days} account-days; DuckDB step seconds exclude its start-up "
          f"(process wall {duck_wall:.1f} s)")
    if scored and history["rows"]:
        print(f"history: {history['bytes']:,} bytes for {history['rows']:,} account-days; budget "
              f"16 B + 4 B per signal of each row's scorecard; the churn model's usage snapshots "
              f"(sampled days) take another {history['sample_bytes'] / history['rows']:.1f} B "
              f"per account-day")
    cpu = [f"{name} {gnu_time_cpu(p(name + '.time'))[2]:.1f}"
           for name in ("import", "score", "duckdb") if os.path.exists(p(name + ".time"))
           and (name != "score" or scored)]
    print("CPU seconds (user + system) of each process, for a loaded machine: " + ", ".join(cpu))
    print(f"rollup checksum: vitals {mine['checksum']} ({mine['rollup_rows']} account-days), "
          f"duckdb {duck['checksum']} ({duck['rollup_rows']} account-days)")
    if mine["checksum"] != duck["checksum"]:
        print("FAIL: the per-account-day rollups differ", file=sys.stderr)
        sys.exit(1)
    print("checksums agree")


if __name__ == "__main__":
    main()
