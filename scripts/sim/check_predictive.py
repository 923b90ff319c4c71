#!/usr/bin/env python3
"""Reads `vitals backtest --json` reports taken before and after calibration, prints every
ranking's figures side by side, and checks the orderings issue 16 asks of a health score:

- out of the box, the health score ranks churners clearly better than chance on the test days
  (ROC-AUC at least --min-out-of-box, default 0.58);
- after `vitals calibrate --apply` and a rescore, the health score beats the naive baseline
  (fewer events in the last 30 days is riskier) in ROC-AUC and in top-decile lift on the test
  days, and so does the churn model.

Orderings, not hard-coded figures: the data set is simulated, so only "better than" is fair.
Usage: check_predictive.py BEFORE.json [AFTER.json] [--min-out-of-box 0.58]
Exit status: 0 when every check holds, 1 when one fails, 2 when a report cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys

HEALTH, MODEL, BASELINE = "health_score", "churn_model", "baseline_30d_events"
RANKINGS = (HEALTH, MODEL, BASELINE)
PERIODS = ("all", "train", "test")
FIGURES = (("roc_auc", "ROC-AUC", 3), ("pr_auc", "PR-AUC", 3), ("top_decile_lift", "lift@10%", 2),
           ("median_lead_days", "lead d", 1))


def load(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
    except OSError as e:
        sys.exit(f"check_predictive: cannot read {path}: {e.strerror}")
    except json.JSONDecodeError as e:
        sys.exit(f"check_predictive: {path} is not JSON ({e}); was `backtest --json` refused?")
    rankings = report.get("rankings") if isinstance(report, dict) else None
    if not isinstance(rankings, list):
        sys.exit(f"check_predictive: {path} has no `rankings` list")
    return {(r.get("ranking"), r.get("period")): r for r in rankings}


def fmt(value, decimals: int) -> str:
    return "-" if value is None else f"{value:.{decimals}f}"


def table(reports: list[tuple[str, dict]]) -> str:
    head = f"{'ranking':<20} {'period':<6} {'when':<7} {'samples':>8} {'churn':>6}"
    head += "".join(f" {label:>9}" for _, label, _ in FIGURES)
    lines = [head, "-" * len(head)]
    for ranking in RANKINGS:
        for period in PERIODS:
            for when, report in reports:
                r = report.get((ranking, period))
                if r is None:
                    continue
                line = (f"{ranking:<20} {period:<6} {when:<7} {r.get('samples', 0):>8} "
                        f"{r.get('positives', 0):>6}")
                line += "".join(f" {fmt(r.get(key), d):>9}" for key, _, d in FIGURES)
                lines.append(line)
    return "\n".join(lines)


class Checks:
    def __init__(self):
        self.failed = 0

    def figure(self, report: dict, ranking: str, key: str, when: str):
        value = (report.get((ranking, "test")) or {}).get(key)
        if value is None:
            self.fail(f"{when}: {ranking} has no test-period {key} (no test days or no churns?)")
        return value

    def expect(self, ok: bool, what: str):
        print(f"{'PASS' if ok else 'FAIL'}  {what}")
        if not ok:
            self.failed += 1

    def fail(self, what: str):
        self.expect(False, what)

    def beats(self, report: dict, ranking: str, when: str):
        for key, label, d in FIGURES[:3:2]:  # ROC-AUC and top-decile lift
            mine = self.figure(report, ranking, key, when)
            base = self.figure(report, BASELINE, key, when)
            if mine is not None and base is not None:
                self.expect(mine > base, f"{when}: {ranking} test {label} {mine:.{d}f} > "
                            f"baseline's {base:.{d}f}")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("before", help="backtest --json of the out-of-the-box scores")
    p.add_argument("after", nargs="?", help="backtest --json after calibrate --apply and rescore")
    p.add_argument("--min-out-of-box", type=float, default=0.58,
                   help="least test ROC-AUC of the out-of-the-box health score (default 0.58)")
    args = p.parse_args(argv)
    before = load(args.before)
    after = load(args.after) if args.after else None
    reports = [("before", before)] + ([("after", after)] if after else [])
    print(table(reports))
    print()

    checks = Checks()
    auc = checks.figure(before, HEALTH, "roc_auc", "before")
    if auc is not None:
        checks.expect(auc >= args.min_out_of_box, f"before: health_score test ROC-AUC {auc:.3f} "
                      f">= {args.min_out_of_box} (out of the box, clearly better than chance)")
    if after is None:
        print("no report after calibration given: calibrated checks not run")
        checks.failed += 1
    else:
        checks.beats(after, HEALTH, "after")
        checks.beats(after, MODEL, "after")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
