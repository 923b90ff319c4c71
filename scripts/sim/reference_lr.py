#!/usr/bin/env python3
"""Reference figures for a churn data set, computed straight from its NDJSON of Segment messages.

Why it exists: to know what a score *could* reach on a data set, independently of Vitals, the way
a published reference (Carl Gold's *Fighting Churn With Data*) would measure it:

- observations: each account's monthly renewal days (anniversaries of its `createdAt`), observed
  `--lead` days before the renewal; the label is "churned on that renewal" (an `Account Churned`
  event on that day). Only observations whose whole 28-day look-back lies in the data and after
  the account's start, and whose renewal falls in the data, count;
- features: the 28-day count of each product event type up to the observation day (log-scaled,
  standardised) and MRR (log);
- naive ranking: fewer product events in the 28 days is riskier;
- a regularised (L2, C=1) logistic regression fitted on the earlier half of the observations
  (by observation day) and judged on the later half (time split).

It also reports the backtest's design (an evaluation day every 7 days, label "churns within
the next 30 days") for comparison with `vitals backtest --horizon 30d`.

Needs numpy and scikit-learn (`python3 -m venv .tools/venv && .tools/venv/bin/pip install numpy
scikit-learn`). Usage: reference_lr.py events.ndjson [--lead 7] [--json]
"""

from __future__ import annotations

import argparse
import calendar
import json
import sys
from collections import defaultdict
from datetime import date, timedelta

try:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score, roc_auc_score
except ImportError as e:  # pragma: no cover - a setup problem, said plainly
    sys.exit(f"reference_lr: {e.name} is missing; install numpy and scikit-learn "
             "(python3 -m venv .tools/venv && .tools/venv/bin/pip install numpy scikit-learn) "
             "and run this script with that Python")

LOOK_BACK = 28
CHURN_EVENTS = {"Account Churned", "Subscription Cancelled"}
NON_USAGE_EVENTS = CHURN_EVENTS | {"Account Renewed", "Subscription Renewed"}


def add_months(start: date, months: int) -> date:
    y, m = divmod(start.month - 1 + months, 12)
    year, month = start.year + y, m + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


class DataSet:
    """Per account: start, MRR, churn day, and product events per (day, event type)."""

    def __init__(self, path: str):
        self.start: dict[str, date] = {}
        self.mrr: dict[str, float] = {}
        self.churn: dict[str, date] = {}
        self.counts: dict[str, dict[date, dict[str, int]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(int)))
        self.event_types: set[str] = set()
        first, last = None, None
        try:
            f = open(path, encoding="utf-8")
        except OSError as e:
            sys.exit(f"reference_lr: cannot read {path}: {e.strerror}")
        with f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    m = json.loads(line)
                    day = date.fromisoformat(m["timestamp"][:10])
                except (ValueError, KeyError, TypeError) as e:
                    sys.exit(f"reference_lr: {path} line {n}: not a Segment message with a "
                             f"timestamp ({e})")
                first = day if first is None or day < first else first
                last = day if last is None or day > last else last
                kind = m.get("type")
                if kind == "group":
                    traits = m.get("traits") or {}
                    account = m["groupId"]
                    created = traits.get("createdAt") or traits.get("created_at")
                    if created:
                        self.start[account] = date.fromisoformat(str(created)[:10])
                    if traits.get("mrr") is not None:
                        self.mrr[account] = float(traits["mrr"])
                elif kind == "track":
                    account = (m.get("context") or {}).get("groupId")
                    if account is None:
                        continue
                    event = m.get("event")
                    if event in CHURN_EVENTS:
                        self.churn.setdefault(account, day)
                    elif event not in NON_USAGE_EVENTS:
                        self.counts[account][day][event] += 1
                        self.event_types.add(event)
        if first is None:
            sys.exit(f"reference_lr: {path} holds no messages")
        self.first, self.last = first, last
        self.types = sorted(self.event_types)
        missing = [a for a in self.counts if a not in self.start]
        if missing:
            sys.exit(f"reference_lr: {len(missing)} account(s) have events but no group message "
                     f"with createdAt (e.g. {missing[0]})")

    def window(self, account: str, day: date, days: int = LOOK_BACK) -> list[int]:
        """Counts of each event type over the `days` days up to `day`."""
        by_day = self.counts.get(account, {})
        totals = dict.fromkeys(self.types, 0)
        for k in range(days):
            for event, n in by_day.get(day - timedelta(days=k), {}).items():
                totals[event] += n
        return [totals[t] for t in self.types]


def monthly_observations(data: DataSet, lead: int):
    """(observation day, account, label) at each renewal, `lead` days before it."""
    out = []
    for account, start in data.start.items():
        churn = data.churn.get(account)
        k = 1
        while True:
            renewal = add_months(start, k)
            k += 1
            if renewal > data.last or (churn is not None and renewal > churn):
                break
            observed = renewal - timedelta(days=lead)
            window_start = observed - timedelta(days=LOOK_BACK - 1)
            if window_start < data.first or window_start < start:
                continue
            out.append((observed, account, churn == renewal))
    return out


def weekly_observations(data: DataSet, horizon: int = 30, step: int = 7):
    """The backtest's design: every `step` days, every live account, label "churns within
    `horizon` days"."""
    out = []
    day = data.first + timedelta(days=LOOK_BACK - 1)
    while day + timedelta(days=horizon) <= data.last:
        for account, start in data.start.items():
            churn = data.churn.get(account)
            if start > day or (churn is not None and churn <= day):
                continue
            out.append((day, account, churn is not None and churn <= day + timedelta(days=horizon)))
        day += timedelta(days=step)
    return out


def top_decile_lift(y: np.ndarray, risk: np.ndarray) -> float:
    n = max(1, len(y) // 10)
    top = np.argsort(-risk, kind="stable")[:n]
    return float(y[top].mean() / max(y.mean(), 1e-12))


def figures(y: np.ndarray, risk: np.ndarray) -> dict:
    if y.min() == y.max():
        return {"roc_auc": None, "pr_auc": None, "top_decile_lift": None}
    return {"roc_auc": round(float(roc_auc_score(y, risk)), 4),
            "pr_auc": round(float(average_precision_score(y, risk)), 4),
            "top_decile_lift": round(top_decile_lift(y, risk), 2)}


def evaluate(data: DataSet, observations) -> dict:
    observations.sort()
    days = sorted({o[0] for o in observations})
    split = days[len(days) // 2]
    X = np.array([data.window(a, d) for d, a, _ in observations], dtype=float)
    mrr = np.array([data.mrr.get(a, 0.0) for _, a, _ in observations])
    y = np.array([1 if label else 0 for _, _, label in observations])
    test = np.array([d >= split for d, _, _ in observations])
    train = ~test
    naive = -X.sum(axis=1)
    features = np.column_stack([np.log1p(X), np.log1p(mrr)])
    mean, std = features[train].mean(axis=0), features[train].std(axis=0)
    std[std == 0] = 1.0
    z = (features - mean) / std
    model = LogisticRegression(C=1.0, max_iter=2000).fit(z[train], y[train])
    lr = model.predict_proba(z[test])[:, 1]
    return {
        "observations": len(y), "churns": int(y.sum()), "test_from": split.isoformat(),
        "test_observations": int(test.sum()), "test_churns": int(y[test].sum()),
        "naive_28d_events": {"all": figures(y, naive), "test": figures(y[test], naive[test])},
        "logistic_regression": {"test": figures(y[test], lr)},
    }


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("events", help="NDJSON of Segment messages (e.g. from churn_sim.py)")
    p.add_argument("--lead", type=int, default=7,
                   help="days between a monthly observation and its renewal (default 7)")
    p.add_argument("--json", action="store_true", help="print JSON")
    args = p.parse_args(argv)
    data = DataSet(args.events)
    report = {
        "first_day": data.first.isoformat(), "last_day": data.last.isoformat(),
        "accounts": len(data.start), "event_types": len(data.types),
        "monthly": evaluate(data, monthly_observations(data, args.lead)),
        "weekly_30d": evaluate(data, weekly_observations(data)),
    }
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"{report['accounts']} accounts, {report['event_types']} event types, "
          f"{report['first_day']}..{report['last_day']}")
    for design in ("monthly", "weekly_30d"):
        r = report[design]
        print(f"\n{design}: {r['observations']} observations ({r['churns']} churns); "
              f"test from {r['test_from']}: {r['test_observations']} ({r['test_churns']} churns)")
        print(f"  {'ranking':<22} {'period':<6} {'ROC-AUC':>8} {'PR-AUC':>8} {'lift@10%':>9}")
        rows = [("naive_28d_events", "all"), ("naive_28d_events", "test"),
                ("logistic_regression", "test")]
        for ranking, period in rows:
            f = r[ranking][period]
            print(f"  {ranking:<22} {period:<6} {fmt(f['roc_auc'], 3):>8} "
                  f"{fmt(f['pr_auc'], 3):>8} {fmt(f['top_decile_lift'], 2):>9}")
    return 0


def fmt(v, decimals: int) -> str:
    return "-" if v is None else f"{v:.{decimals}f}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
