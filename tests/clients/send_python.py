"""Sends a fixed set of events to a local `vitals serve` with Segment's Python library.

Usage: send_python.py HOST WRITE_KEY DAY ACCOUNT
Message ids are fixed, so running it twice resends identical events.
"""
import datetime
import sys

import segment.analytics as analytics

host, key, day, account = sys.argv[1:5]
failures = []
analytics.write_key = key
analytics.host = host
analytics.on_error = lambda error, items: failures.append(error)
analytics.max_retries = 2

ts = datetime.datetime.fromisoformat(f"{day}T12:00:00+00:00")
analytics.group("py-user-1", account, {"name": "Python Co", "plan": "Pro", "seats": 12},
                timestamp=ts, message_id=f"{account}-group")
analytics.identify("py-user-1", {"email": "ann@python.example", "title": "Ops"},
                   timestamp=ts, message_id=f"{account}-identify")
for i in range(20):
    analytics.track(f"py-user-{i % 3}", "Report Built", {"n": i},
                    context={"groupId": account}, timestamp=ts,
                    message_id=f"{account}-track-{i}")
# Attributed through the group call's user link, without a groupId.
analytics.track("py-user-1", "Dashboard Viewed", timestamp=ts, message_id=f"{account}-linked")
analytics.flush()
analytics.shutdown()
if failures:
    print(f"python client errors: {failures}", file=sys.stderr)
    sys.exit(1)
print("python client: sent 24 messages")
