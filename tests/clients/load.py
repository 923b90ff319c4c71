#!/usr/bin/env python3
"""Load with reconciliation: CLIENTS threads post ~500 KB Segment batches to `vitals serve` for
SECONDS, resending 5 % of them (same message ids, as an SDK retrying after a timeout does).
Prints events/s and latency percentiles, and writes what was sent uniquely per account to
SENT_JSON, for the caller to compare with what the store counted.

usage: load.py HOST WRITE_KEY SECONDS CLIENTS SENT_JSON
"""

import base64
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timezone

TARGET_BYTES = 490 * 1024  # under the 500 KB batch limit with the wrapper
ACCOUNTS_PER_CLIENT = 4
RETRY_SHARE = 0.05


def main():
    host, key, seconds, clients, sent_path = sys.argv[1:6]
    seconds, clients = float(seconds), int(clients)
    url = urllib.parse.urlparse(host)
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    # One timestamp for every event: all land on the same account-day whatever the run's length.
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    deadline = time.monotonic() + seconds
    results = [None] * clients

    def client(n):
        rng = random.Random(n)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
        latencies, unique, retried, failures = [], {}, 0, []
        sent_batches, seq = [], 0
        while time.monotonic() < deadline:
            if sent_batches and rng.random() < RETRY_SHARE:
                body, events_by_account = rng.choice(sent_batches)
                retried += 1
                fresh = None
            else:
                body, events_by_account = batch(n, seq, rng, stamp)
                seq += 1
                fresh = events_by_account
            started = time.monotonic()
            try:
                conn.request("POST", "/v1/batch", body=body,
                             headers={"Authorization": auth, "Content-Type": "application/json"})
                response = conn.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException) as e:
                failures.append(f"client {n}: {e!r}")
                conn.close()
                conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
                continue
            latencies.append(time.monotonic() - started)
            if response.status != 200:
                failures.append(f"client {n}: {response.status} {answer[:200]!r}")
                continue
            if fresh is not None:
                sent_batches.append((body, fresh))
                if len(sent_batches) > 8:
                    sent_batches.pop(0)
                for account, count in fresh.items():
                    unique[account] = unique.get(account, 0) + count
        conn.close()
        results[n] = (latencies, unique, retried, failures)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - started

    latencies = sorted(l for r in results for l in r[0])
    unique = {}
    for r in results:
        for account, count in r[1].items():
            unique[account] = unique.get(account, 0) + count
    retried = sum(r[2] for r in results)
    failures = [f for r in results for f in r[3]]
    events = sum(unique.values())
    requests = len(latencies)

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0

    with open(sent_path, "w") as f:
        json.dump({"day": stamp[:10], "accounts": unique}, f)
    print(f"{'clients':<28}{clients}")
    print(f"{'seconds':<28}{took:.1f}")
    print(f"{'requests (2xx or not)':<28}{requests}")
    print(f"{'of which resent duplicates':<28}{retried}")
    print(f"{'unique events accepted':<28}{events}")
    print(f"{'events/s (unique)':<28}{events / took:,.0f}")
    print(f"{'latency p50 / p99 (ms)':<28}{pct(0.50):.0f} / {pct(0.99):.0f}")
    if failures:
        print(f"{len(failures)} failed requests, first: {failures[:3]}", file=sys.stderr)
        sys.exit(1)


def batch(client, seq, rng, stamp):
    """A batch of about TARGET_BYTES: tracks from a handful of users on the client's accounts."""
    messages, size, by_account = [], 0, {}
    i = 0
    while size < TARGET_BYTES:
        account = f"load-{client:02d}-{rng.randrange(ACCOUNTS_PER_CLIENT)}"
        m = {
            "type": "track",
            "messageId": f"load-{client}-{seq}-{i}",
            "userId": f"{account}-u{rng.randrange(12)}",
            "event": rng.choice(["Report Built", "Dashboard Viewed", "Export Run", "Comment Added"]),
            "timestamp": stamp,
            "properties": {"plan": "pro", "rows": rng.randrange(1000), "path": "/reports/" + "x" * rng.randrange(80)},
            "context": {"groupId": account, "library": {"name": "load.py", "version": "1"}},
        }
        text = json.dumps(m)
        size += len(text) + 1
        messages.append(m)
        by_account[account] = by_account.get(account, 0) + 1
        i += 1
    return json.dumps({"batch": messages}).encode(), by_account


if __name__ == "__main__":
    main()
