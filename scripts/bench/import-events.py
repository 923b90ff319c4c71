#!/usr/bin/env python3
"""Writes N Segment track messages as NDJSON to stdout (pipe through gzip for a .gz file), for
measuring `vitals import events` on a large file:

    python3 scripts/bench/import-events.py 5000000 | gzip -1 > /tmp/events.ndjson.gz

Each line has a messageId, context.groupId (one of 500 accounts), a user, an event name from a
small catalogue and a timestamp within the last 90 days (inside the default retention).
"""
import datetime
import json
import random
import sys

count = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000
rng = random.Random(7)
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
events = ["Report Built", "Dashboard Viewed", "Export Created", "API Call", "Invite Sent"]
out = sys.stdout
for i in range(count):
    account = rng.randrange(500)
    ts = now - datetime.timedelta(seconds=rng.randrange(2, 90 * 86400))
    out.write(json.dumps({
        "type": "track",
        "messageId": f"bench-{i}",
        "userId": f"u{account}-{rng.randrange(40)}",
        "event": events[rng.randrange(len(events))],
        "properties": {"plan": "pro", "n": rng.randrange(100)},
        "context": {"groupId": f"acct-{account}"},
        "timestamp": ts.isoformat().replace("+00:00", "Z"),
    }, separators=(",", ":")))
    out.write("\n")
