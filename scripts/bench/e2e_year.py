#!/usr/bin/env python3
"""Writes a year of Segment messages as NDJSON, for the end-to-end bench (`scripts/bench.sh e2e`):

    python3 scripts/bench/e2e_year.py OUT.ndjson [--small] [--outcomes] [--seed 22] [--end DAY]

Shaped like issue 22's year: 2,335 accounts (`--small`: a tenth), about 5.7M track events, account
sizes on a Zipf mix (about 300 events per account-month on average over their live months), 25 event
types on a Zipf mix, up to 37 users per account. A third of the accounts start during the year, so not
all live the whole of it. Each account sends one `group` call with its traits (plan, MRR) on its first
day. With `--outcomes`, about one account in eight churns: an `Account Churned` track event on its
churn day, and nothing after (without the flag the same accounts go quiet the same way, unrecorded).
The year ends yesterday (UTC, what `vitals` calls today), so every event is inside the default
`[retention] days`. Lines are in time order within each day, as an export is. Seeded: the same
arguments write the same file.
"""
import argparse
import datetime
import random

ACCOUNTS = 2335
TARGET_EVENTS = 5_700_000
DAYS = 365
EVENT_TYPES = [
    "Report Built", "Dashboard Viewed", "Export Created", "Invite Sent", "Comment Added",
    "Project Created", "File Uploaded", "Search Performed", "Filter Applied", "Chart Edited",
    "Alert Configured", "Integration Connected", "Task Completed", "Task Assigned", "Note Created",
    "Template Used", "Workflow Run", "Query Saved", "Share Link Created", "Tag Added",
    "Board Archived", "Member Removed", "Billing Viewed", "Settings Changed", "Data Imported",
]
PLANS = ["starter", "pro", "business", "enterprise"]


def zipf_weights(n, s):
    return [1.0 / (rank ** s) for rank in range(1, n + 1)]


def cumulative(weights):
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--small", action="store_true", help="a tenth of the accounts and events")
    ap.add_argument("--outcomes", action="store_true", help="record churns as Account Churned events")
    ap.add_argument("--seed", type=int, default=22)
    ap.add_argument("--end", help="last day (YYYY-MM-DD); default yesterday, UTC")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    accounts = ACCOUNTS // 10 if args.small else ACCOUNTS
    target = TARGET_EVENTS // 10 if args.small else TARGET_EVENTS
    end = (datetime.date.fromisoformat(args.end) if args.end
           else datetime.datetime.now(datetime.timezone.utc).date() - datetime.timedelta(days=1))
    first = end - datetime.timedelta(days=DAYS - 1)

    # Accounts: id, Zipf size, first and last live day (index into the year), users.
    sizes = zipf_weights(accounts, 0.9)
    rng.shuffle(sizes)
    plan = []
    for a in range(accounts):
        start = 0 if rng.random() < 2 / 3 else rng.randrange(1, DAYS - 30)
        stop = DAYS  # exclusive
        churn = None
        if rng.random() < 1 / 8 and start + 60 < DAYS - 1:
            churn = rng.randrange(start + 60, DAYS - 1)
            stop = churn + 1
        n_users = max(1, min(37, round(37 * (sizes[a] / max(sizes)) ** 0.35 * rng.uniform(0.6, 1.0))))
        users = [f"a{a:04d}-u{u:02d}" for u in range(n_users)]
        plan.append({
            "id": f"acct-{a:04d}", "size": sizes[a], "start": start, "stop": stop, "churn": churn,
            "users": users, "user_cw": cumulative(zipf_weights(n_users, 1.0)),
            "plan": PLANS[min(3, int(sizes[a] / max(sizes) * 8))],
            "mrr": round(200 + 20000 * sizes[a] / max(sizes) * rng.uniform(0.5, 1.5)),
        })
    live_weight = sum(p["size"] * (p["stop"] - p["start"]) for p in plan)
    per_weight_day = target / live_weight
    type_cw = cumulative(zipf_weights(len(EVENT_TYPES), 1.1))

    seq = 0
    written = 0
    with open(args.out, "w", encoding="utf-8") as out:
        for d in range(DAYS):
            day = first + datetime.timedelta(days=d)
            stamp = day.isoformat()
            weekday = 0.35 if day.weekday() >= 5 else 1.26
            lines = []
            for p in plan:
                if not p["start"] <= d < p["stop"]:
                    continue
                acct = p["id"]
                if d == p["start"]:
                    lines.append((0, "group", acct, p["users"][0], None))
                rate = p["size"] * per_weight_day * weekday
                n = int(rng.gammavariate(2.0, rate / 2.0) + rng.random()) if rate > 0 else 0
                if n:
                    users = rng.choices(p["users"], cum_weights=p["user_cw"], k=n)
                    names = rng.choices(EVENT_TYPES, cum_weights=type_cw, k=n)
                    for u, name in zip(users, names):
                        lines.append((rng.randrange(1, 86399), "track", acct, u, name))
                if d == p["churn"] and args.outcomes:
                    lines.append((86399, "track", acct, p["users"][0], "Account Churned"))
            lines.sort(key=lambda x: x[0])
            for sec, kind, acct, user, name in lines:
                seq += 1
                ts = f"{stamp}T{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}Z"
                if kind == "group":
                    p = plan[int(acct[5:])]
                    out.write(
                        f'{{"type":"group","messageId":"g{seq}","userId":"{user}","groupId":"{acct}",'
                        f'"traits":{{"name":"Account {acct[5:]}","plan":"{p["plan"]}","mrr":{p["mrr"]}}},'
                        f'"timestamp":"{ts}"}}\n')
                else:
                    out.write(
                        f'{{"type":"track","messageId":"e{seq}","userId":"{user}","event":"{name}",'
                        f'"properties":{{"n":{seq % 97}}},"context":{{"groupId":"{acct}"}},'
                        f'"timestamp":"{ts}"}}\n')
                    written += 1
    print(f"{accounts} accounts, {written} track events, {first} to {end}")


if __name__ == "__main__":
    main()
