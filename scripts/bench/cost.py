#!/usr/bin/env python3
"""Monthly AWS bill of Vitals in AWS mode at 10k, 100k and 1M accounts, from the units the
benches measure (README "Cost model"):

    python3 scripts/bench/cost.py                       # the defaults below
    python3 scripts/bench/cost.py --ingest-ms-per-batch 6.1 --events-per-account-day 20

Prices: us-east-1, on-demand, no free tier, as published on the pages in PRICES. Every unit
below says where it comes from; change one with its flag when a bench measures it again.
"""

import argparse

DAYS_PER_MONTH = 30.4

# USD, us-east-1.
PRICES = {
    # https://aws.amazon.com/dynamodb/pricing/on-demand/ (since 2024-11-01)
    "dynamodb_per_million_wru": 0.625,
    "dynamodb_per_million_rru": 0.125,
    "dynamodb_storage_gb_month": 0.25,
    "dynamodb_pitr_gb_month": 0.20,
    # https://aws.amazon.com/lambda/pricing/ (arm64, first 6B GB-s tier)
    "lambda_arm64_per_gb_s": 0.0000133334,
    "lambda_per_million_requests": 0.20,
    # https://aws.amazon.com/api-gateway/pricing/ (HTTP API, first 300M requests)
    "http_api_per_million_requests": 1.00,
    # https://aws.amazon.com/sqs/pricing/ (standard queue)
    "sqs_per_million_requests": 0.40,
    # https://aws.amazon.com/cloudwatch/pricing/ (logs ingestion)
    "logs_per_gb": 0.50,
}

SIZES = [10_000, 100_000, 1_000_000]

# Stored bytes per event: the packs of 500 KB mixed batches, ~1 KB per write unit at 59.2 WRU
# per 1,000 events (smaller batches cost more write units by per-item rounding, not more bytes).
PACK_BYTES_PER_EVENT = 59.2


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events-per-account-day", type=float, default=20)
    p.add_argument("--events-per-request", type=float, default=20,
                   help="events per ingest request (a Segment/PostHog SDK batch); default 20")
    p.add_argument("--ingest-wru-per-1k", type=float, nargs="+", default=[59.2, 425.0],
                   help="DynamoDB write units per 1,000 events; one table each. Measured by "
                        "`scripts/bench.sh ingest-writes` (docs/architecture.md): 59.2 for 500 KB "
                        "batches mixing 100 accounts (a Segment/PostHog destination forwarding), "
                        "425 for per-client batches of one account")
    p.add_argument("--ingest-ms-per-batch", type=float, default=10.0,
                   help="billed ingest duration per request (scripts/bench/lambda.sh measures it; "
                        "default 10 ms)")
    p.add_argument("--ingest-memory-mb", type=float, default=512, help="template.yaml IngestFunction")
    p.add_argument("--run-rru-per-account", type=float, default=0.5,
                   help="daily run read units per account (BRIEF §5 ceiling; `scripts/bench.sh "
                        "scoring` measures it)")
    p.add_argument("--run-wru-per-account", type=float, default=4.0,
                   help="daily run write units per account (BRIEF §5 ceiling)")
    p.add_argument("--score-s-per-1k-accounts", type=float, default=1.0,
                   help="score function seconds per 1,000 accounts (estimate: the kernel scores "
                        "~2,500 account-days/s on one core; DynamoDB round trips assumed to "
                        "bring it to 1 s)")
    p.add_argument("--score-memory-mb", type=float, default=1769, help="template.yaml ScoreMemorySize")
    p.add_argument("--refreshes-per-account-day", type=float, default=8,
                   help="provisional refreshes that find an account touched (of 96 a day)")
    p.add_argument("--retention-days", type=float, default=730)
    p.add_argument("--history-kb-per-account-day", type=float, default=0.25,
                   help="stored score history per account-day (estimate)")
    p.add_argument("--record-kb-per-account", type=float, default=4.0,
                   help="account record size (BRIEF §5 ceiling)")
    p.add_argument("--log-kb-per-invocation", type=float, default=0.5)
    return p.parse_args()


def bill(a, accounts, wru_per_1k):
    """Monthly cost lines (name, USD) for `accounts`."""
    pr = PRICES
    events = accounts * a.events_per_account_day * DAYS_PER_MONTH
    requests = events / a.events_per_request
    account_days = accounts * DAYS_PER_MONTH
    # The run reads the day's packs: 0.5 RRU per 4 KB.
    pack_rru_per_1k = PACK_BYTES_PER_EVENT / 4 * 0.5
    lines = []
    lines.append(("ingest: DynamoDB writes", events / 1000 * wru_per_1k / 1e6 * pr["dynamodb_per_million_wru"]))
    lines.append(("ingest: HTTP API requests", requests / 1e6 * pr["http_api_per_million_requests"]))
    ingest_gb_s = requests * a.ingest_ms_per_batch / 1000 * a.ingest_memory_mb / 1024
    lines.append(("ingest: Lambda", ingest_gb_s * pr["lambda_arm64_per_gb_s"]
                  + requests / 1e6 * pr["lambda_per_million_requests"]))
    run_rru = account_days * a.run_rru_per_account + events / 1000 * pack_rru_per_1k
    run_wru = account_days * a.run_wru_per_account
    lines.append(("daily run: DynamoDB reads+writes", run_rru / 1e6 * pr["dynamodb_per_million_rru"]
                  + run_wru / 1e6 * pr["dynamodb_per_million_wru"]))
    score_gb_s = account_days / 1000 * a.score_s_per_1k_accounts * a.score_memory_mb / 1024
    lines.append(("daily run: Lambda + SQS fan-out", score_gb_s * pr["lambda_arm64_per_gb_s"]
                  + 64 * 3 * DAYS_PER_MONTH / 1e6 * pr["sqs_per_million_requests"]))
    # Each refresh that finds an account touched: GetItem (0.5), its packs of today, UpdateItem.
    refresh = account_days * a.refreshes_per_account_day
    lines.append(("provisional refresh: DynamoDB", refresh * 0.5 / 1e6 * pr["dynamodb_per_million_rru"]
                  + refresh * 1.5 / 1e6 * pr["dynamodb_per_million_wru"]
                  + events / 1000 * pack_rru_per_1k / 1e6 * pr["dynamodb_per_million_rru"]))
    event_gb = accounts * a.events_per_account_day * a.retention_days * PACK_BYTES_PER_EVENT / 1e9
    table_gb = (event_gb + accounts * a.retention_days * a.history_kb_per_account_day / 1e6
                + accounts * a.record_kb_per_account / 1e6)
    lines.append((f"storage ({table_gb:,.0f} GB at {a.retention_days:.0f} days) + PITR",
                  table_gb * (pr["dynamodb_storage_gb_month"] + pr["dynamodb_pitr_gb_month"])))
    invocations = requests + 64 * DAYS_PER_MONTH + 96 * DAYS_PER_MONTH
    lines.append(("CloudWatch Logs", invocations * a.log_kb_per_invocation / 1e6 * pr["logs_per_gb"]))
    return lines


def main():
    a = parse_args()
    for wru in a.ingest_wru_per_1k:
        print(f"\nMonthly AWS bill, USD (us-east-1 on-demand; {a.events_per_account_day:g} events per "
              f"account-day, {a.events_per_request:g} per request; ingest {wru:g} WRU per 1k events, "
              f"{a.ingest_ms_per_batch:g} ms per request)")
        header = f"{'':38}" + "".join(f"{n:>14,}" for n in SIZES)
        print(header + "\n" + "-" * len(header))
        bills = [bill(a, n, wru) for n in SIZES]
        for i, (name, _) in enumerate(bills[0]):
            label = name if "storage" not in name else "storage + PITR"
            print(f"{label:38}" + "".join(f"{b[i][1]:>14,.2f}" for b in bills))
        print("-" * len(header))
        print(f"{'total':38}" + "".join(f"{sum(v for _, v in b):>14,.2f}" for b in bills))
        print(f"{'per account':38}" + "".join(f"{sum(v for _, v in b) / n:>14,.4f}" for b, n in zip(bills, SIZES)))
    print("\nNot included: query/dashboard traffic (<= 2 reads per view), alert dispatch "
          "(a few messages per alert), data transfer, the free tiers.")


if __name__ == "__main__":
    main()
