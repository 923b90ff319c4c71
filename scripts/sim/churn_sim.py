#!/usr/bin/env python3
"""Seeded simulator of B2B SaaS customers, their product usage and their churn.

Why it exists: Vitals claims its health score predicts churn. That claim needs data whose churn
was drawn by a process nobody tuned the score against, in the spirit of the simulation in Carl
Gold's *Fighting Churn With Data* (`churnsim`):

- 25 product event types, each account with behaviour rates per event type and per user that
  are drawn once (lognormal, correlated in blocks of related features plus an overall engagement
  factor) and stay stable over the account's life, apart from month-to-month noise;
- users per account from a Zipf mix (1 to 37), about 300 events per account-month on average;
- monthly subscriptions that renew on the monthly anniversary of the start. At each renewal the
  account churns with a probability drawn from its *last month's* usage of each event type
  relative to accounts of its size (some event types add utility with diminishing returns, some
  nuisance events take it away), from its price (MRR against its plan's list price, and the plan
  itself), from its tenure, and from a hidden satisfaction no data shows; about 4 % of renewals
  churn by default. So the *level* of usage predicts churn, not its change: a score built only on
  trends cannot rank these accounts;
- accounts start throughout the period (some after the first day); churned accounts send
  nothing after the day they churn.

Output: NDJSON of Segment messages that `vitals import events` reads (`identify` per user,
`group` per account with name, plan, seats, mrr, createdAt; `track` product events with
`context.groupId`; `Account Churned` on the churn day, the outcome event Vitals maps by
default), in time order. `--answers FILE` also writes the hidden truth (rates, satisfaction,
churn probability at every renewal) as JSON, for whoever audits the simulator, never for
tuning a score.

Same arguments, same bytes: every draw comes from one `random.Random(seed)`.
Usage: churn_sim.py --accounts 500 --days 365 --end 2025-12-31 --seed 11 --out events.ndjson
"""

from __future__ import annotations

import argparse
import calendar
import itertools
import json
import math
import random
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta


@dataclass(frozen=True)
class EventType:
    name: str
    # Feature block: event types of one block are correlated (a team that builds reports also
    # shares and exports them).
    block: str
    # Mean count per user per month across the population.
    per_user_month: float
    # Utility at renewal of a typical month of this event (negative: a nuisance).
    utility: float


EVENT_TYPES: tuple[EventType, ...] = (
    EventType("Signed In", "core", 9.0, 1.0),
    EventType("Dashboard Viewed", "core", 11.0, 4.0),
    EventType("Report Viewed", "core", 7.0, 2.0),
    EventType("Search Performed", "core", 5.0, 0.5),
    EventType("Report Built", "analysis", 2.5, 6.0),
    EventType("Chart Created", "analysis", 2.0, 3.0),
    EventType("Filter Applied", "analysis", 4.0, 0.5),
    EventType("Export Created", "analysis", 1.2, 1.5),
    EventType("Query Edited", "analysis", 1.8, 0.0),
    EventType("Comment Added", "collaboration", 1.5, 4.0),
    EventType("Report Shared", "collaboration", 1.0, 4.0),
    EventType("Mention Sent", "collaboration", 0.8, 1.0),
    EventType("Invite Sent", "collaboration", 0.15, 2.0),
    EventType("Workspace Created", "collaboration", 0.2, 1.0),
    EventType("Data Source Connected", "integration", 0.15, 3.0),
    EventType("Integration Synced", "integration", 2.0, 2.0),
    EventType("API Call", "integration", 3.0, 1.0),
    EventType("Workflow Automated", "integration", 0.3, 3.0),
    EventType("Alert Configured", "admin", 0.3, 1.0),
    EventType("Settings Updated", "admin", 0.4, -0.5),
    EventType("Template Saved", "admin", 0.3, 1.0),
    EventType("Error Shown", "friction", 1.0, -4.0),
    EventType("Upgrade Prompt Viewed", "friction", 1.5, -3.0),
    EventType("Help Article Viewed", "friction", 0.8, -2.0),
    EventType("Support Chat Opened", "friction", 0.2, -3.0),
)
BLOCKS = sorted({e.block for e in EVENT_TYPES})
KINDS = range(len(EVENT_TYPES))

# Behaviour model: log rate = log(mean) - s²/2 + s * (latent mix); the latent mix of an event
# type loads the account's overall engagement, its block's factor and its own noise.
RATE_SIGMA = 0.75
GLOBAL_LOADING = 0.55
BLOCK_LOADING = 0.55
# Friction events rise with overall use (more use, more errors seen) but carry no value.
FRICTION_GLOBAL_LOADING = 0.3
# Month-to-month wobble of an account's overall activity (lognormal sigma).
MONTH_SIGMA = 0.12
# Weekday / weekend activity, averaging 1 over a week.
WEEKDAY, WEEKEND = 1.3, 0.25

MAX_USERS = 37
ZIPF_EXPONENT = 1.2

# Plans: (name, smallest user count it is sold to, list price per seat, base fee).
PLANS = (
    ("Starter", 1, 29.0, 0.0),
    ("Team", 4, 45.0, 99.0),
    ("Business", 10, 60.0, 299.0),
    ("Enterprise", 22, 75.0, 999.0),
)
# Plan-level utility (bigger plans come with onboarding and a contract owner).
PLAN_UTILITY = {"Starter": -0.5, "Team": 0.0, "Business": 0.5, "Enterprise": 0.5}

# Utility model, after Gold: each event type contributes utility * (1 - exp(-k * ratio)), the
# ratio being last month's count against what a typical account of the same size does.
SATURATION = 1.6
PRICE_UTILITY = -6.0  # per unit of log(price paid / list price)
TENURE_UTILITY = 2.0  # reached after a year as a customer, linear before
SATISFACTION_SIGMA = 5.5  # hidden per-account disposition, in utility units
CHURN_SCALE = 0.35  # logistic slope of churn probability against utility
ACAUSAL_CHURN = 0.004  # monthly churn for reasons no data shows (acquired, budget cut)

CHURN_REASONS = ("not enough value", "price", "switched vendor", "budget cut", "team left")
COMPANY_A = (
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent",
    "Tyrell", "Cyberdyne", "Wonka", "Aperture", "Dunder", "Massive", "Oscorp", "Nakatomi",
    "Monarch", "Bluth", "Prestige", "Sterling", "Wernham", "Kramerica", "Gekko", "Duff",
)
COMPANY_B = (
    "Labs", "Systems", "Logistics", "Health", "Foods", "Capital", "Media", "Robotics", "Energy",
    "Retail", "Studios", "Analytics", "Partners", "Works", "Group", "Cloud",
)
INDUSTRIES = ("Software", "Retail", "Finance", "Healthcare", "Manufacturing", "Media", "Education")
FIRST = ("Ana", "Ben", "Chen", "Dee", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea",
         "Max", "Nia", "Oli", "Pia", "Raj", "Sol", "Tia", "Uma", "Vic", "Wen", "Yara", "Zed")
LAST = ("Ito", "Berg", "Cruz", "Diaz", "Eze", "Falk", "Gold", "Hart", "Ibsen", "Jha", "Koch",
        "Lund", "Moss", "Nair", "Ortiz", "Park", "Quinn", "Rossi", "Sato", "Vega")


def add_months(start: date, months: int) -> date:
    """The monthly anniversary: the same day of the month, or the month's last day."""
    y, m = divmod(start.month - 1 + months, 12)
    year, month = start.year + y, m + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw: Knuth's product method for small means, Hörmann's PTRS above."""
    if lam <= 0:
        return 0
    if lam < 12:
        limit, k, p = math.exp(-lam), 0, rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
        return k
    slam, loglam = math.sqrt(lam), math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    v_r = 0.9277 - 3.6224 / (b - 2)
    while True:
        u = rng.random() - 0.5
        v = rng.random()
        us = 0.5 - abs(u)
        k = math.floor((2 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= v_r:
            return k
        if k < 0 or (us < 0.013 and v > us):
            continue
        if (math.log(v) + math.log(inv_alpha) - math.log(a / (us * us) + b)
                <= -lam + k * loglam - math.lgamma(k + 1)):
            return k


USER_COUNTS = range(1, MAX_USERS + 1)
USER_COUNT_WEIGHTS = [n ** -ZIPF_EXPONENT for n in USER_COUNTS]


def plan_for(users: int) -> tuple[str, float, float]:
    name, _, per_seat, base = [p for p in PLANS if p[1] <= users][-1]
    return name, per_seat, base


@dataclass
class Account:
    id: str
    name: str
    industry: str
    start: date
    plan: str
    seats: int
    users: list[str]
    user_cum_weights: list[float]
    list_mrr: float
    mrr: float
    # Per user per month, by event type; stable over the account's life.
    rates: list[float]
    # Running totals of `rates`, to draw which event type each event is.
    rate_cum_weights: list[float]
    satisfaction: float
    # The anniversary the simulation starts counting from (the start, or the last one before
    # the period for accounts that were already customers), and the next one.
    counting_from: date
    next_renewal: date
    months: int = 0
    month_counts: list[int] = field(default_factory=list)
    month_factor: float = 1.0
    churned_on: date | None = None
    renewals: list[dict] = field(default_factory=list)

    def utility(self, counts: list[int], on: date) -> float:
        """What the last month was worth to this account, as it decides to renew or churn."""
        size = len(self.users)
        u = 0.0
        for e, n in zip(EVENT_TYPES, counts):
            ratio = n / (e.per_user_month * size)
            u += e.utility * (1.0 - math.exp(-SATURATION * ratio))
        u += PRICE_UTILITY * math.log(self.mrr / self.list_mrr)
        u += PLAN_UTILITY[self.plan]
        tenure_months = (on - self.start).days / 30.44
        u += TENURE_UTILITY * min(tenure_months, 12.0) / 12.0
        return u + self.satisfaction


class Simulation:
    def __init__(self, accounts: int, days: int, end: date, seed: int, new_share: float,
                 base_churn: float):
        self.rng = random.Random(seed)
        self.end = end
        self.first = end - timedelta(days=days - 1)
        self.accounts = [self.make_account(i, new_share) for i in range(accounts)]
        self.offset = self.churn_offset(base_churn)

    # --- accounts -------------------------------------------------------------------------

    def behaviour_rates(self) -> list[float]:
        rng = self.rng
        engagement = rng.gauss(0, 1)
        block = {b: rng.gauss(0, 1) for b in BLOCKS}
        rates = []
        for e in EVENT_TYPES:
            g = FRICTION_GLOBAL_LOADING if e.block == "friction" else GLOBAL_LOADING
            own = math.sqrt(max(0.0, 1 - g * g - BLOCK_LOADING * BLOCK_LOADING))
            z = g * engagement + BLOCK_LOADING * block[e.block] + own * rng.gauss(0, 1)
            rates.append(e.per_user_month * math.exp(RATE_SIGMA * z - RATE_SIGMA ** 2 / 2))
        return rates

    def make_account(self, i: int, new_share: float) -> Account:
        rng = self.rng
        span = (self.end - self.first).days
        if rng.random() < new_share:
            start = self.first + timedelta(days=rng.randint(1, max(1, span - 1)))
        else:
            start = self.first - timedelta(days=rng.randint(20, 1100))
        n_users = rng.choices(USER_COUNTS, weights=USER_COUNT_WEIGHTS)[0]
        plan, per_seat, base = plan_for(n_users)
        seats = n_users + rng.choice((0, 0, 1, 2, 3, 5))
        list_mrr = base + per_seat * seats
        # Negotiated discounts: most pay list, some got up to 40 % off.
        discount = 0.0 if rng.random() < 0.5 else rng.uniform(0.0, 0.4)
        mrr = round(list_mrr * (1 - discount), 2)
        aid = f"acct-{i + 1:05d}"
        users = [f"{aid}-u{u + 1:02d}" for u in range(n_users)]
        # Some users do most of the work.
        user_weights = [math.exp(rng.gauss(0, 0.8)) for _ in users]
        rates = self.behaviour_rates()
        months = 0
        while add_months(start, months + 1) < self.first:
            months += 1
        return Account(
            id=aid,
            name=f"{rng.choice(COMPANY_A)} {rng.choice(COMPANY_B)}",
            industry=rng.choice(INDUSTRIES),
            start=start,
            plan=plan,
            seats=seats,
            users=users,
            user_cum_weights=list(itertools.accumulate(user_weights)),
            list_mrr=list_mrr,
            mrr=mrr,
            rates=rates,
            rate_cum_weights=list(itertools.accumulate(rates)),
            satisfaction=rng.gauss(0, SATISFACTION_SIGMA),
            counting_from=add_months(start, months),
            next_renewal=add_months(start, months + 1),
            months=months,
        )

    def churn_offset(self, base_churn: float) -> float:
        """The utility at which churn is a coin flip, set so that the accounts as drawn (before
        the likelier churners leave) would churn at `base_churn` per renewal on a typical
        month's usage. Survivors churn less, so about half that rate is seen per renewal."""
        probe = random.Random(0)
        utilities = []
        for a in self.accounts:
            counts = [poisson(probe, r * len(a.users)) for r in a.rates]
            middle = self.first + (self.end - self.first) / 2
            utilities.append(a.utility(counts, max(middle, a.start + timedelta(days=30))))
        target = max(1e-4, base_churn - ACAUSAL_CHURN)
        lo, hi = -100.0, 100.0
        for _ in range(60):
            mid = (lo + hi) / 2
            mean = sum(churn_probability(u, mid) for u in utilities) / len(utilities)
            if mean > target:
                hi = mid
            else:
                lo = mid
        return (lo + hi) / 2

    # --- messages --------------------------------------------------------------------------

    def setup_messages(self, a: Account, on: date) -> list[str]:
        """The account's `group` call with its traits, then each user linked to it (`group`)
        and described (`identify`), as a product's Segment calls would."""
        at = stamp(on, 0, 0, 0)
        out = [compact({
            "type": "group", "messageId": f"{a.id}-group", "userId": a.users[0], "groupId": a.id,
            "timestamp": at,
            "traits": {"name": a.name, "plan": a.plan, "seats": a.seats, "mrr": a.mrr,
                       "createdAt": a.start.isoformat(), "billing_period": "monthly",
                       "industry": a.industry},
        })]
        for n, u in enumerate(a.users):
            if n > 0:
                out.append(compact({"type": "group", "messageId": f"{u}-group", "userId": u,
                                    "groupId": a.id, "timestamp": at}))
            first, last = FIRST[hash_pick(u, len(FIRST))], LAST[hash_pick(u[::-1], len(LAST))]
            out.append(compact({
                "type": "identify", "messageId": f"{u}-identify", "userId": u, "timestamp": at,
                "traits": {"name": f"{first} {last}",
                           "email": f"{first.lower()}.{last.lower()}@{a.id}.example",
                           "role": "Admin" if n == 0 else "Member"},
            }))
        return out

    def run(self, out) -> dict:
        """Simulates day by day from a month before the period (so the first renewals have a
        last month to judge), writing the period's messages in time order."""
        rng = self.rng
        day = self.first - timedelta(days=31)
        written = 0
        serial = 0
        while day <= self.end:
            emit = day >= self.first
            weekday = day.weekday() < 5
            lines: list[str] = []
            for a in self.accounts:
                if a.churned_on is not None or a.counting_from > day:
                    continue
                if emit and (day == self.first and a.start <= day or a.start == day and
                             day > self.first):
                    lines.extend(self.setup_messages(a, day))
                if day == a.counting_from:
                    a.month_counts = [0] * len(EVENT_TYPES)
                    a.month_factor = math.exp(rng.gauss(0, MONTH_SIGMA) - MONTH_SIGMA ** 2 / 2)
                if day == a.next_renewal:
                    if self.renewal(a, day):
                        if emit:
                            reason = rng.choice(CHURN_REASONS)
                            lines.append(compact({
                                "type": "track", "event": "Account Churned",
                                "messageId": f"{a.id}-churned", "userId": a.users[0],
                                "timestamp": stamp(day, 9, 0, 0),
                                "context": {"groupId": a.id},
                                "properties": {"reason": reason, "mrr": a.mrr},
                            }))
                        continue
                lam = (sum(a.rates) * len(a.users) / 30.44 * a.month_factor
                       * (WEEKDAY if weekday else WEEKEND))
                n = poisson(rng, lam)
                if n == 0:
                    continue
                kinds = rng.choices(KINDS, cum_weights=a.rate_cum_weights, k=n)
                who = rng.choices(a.users, cum_weights=a.user_cum_weights, k=n)
                for k in kinds:
                    a.month_counts[k] += 1
                if not emit:
                    continue
                seconds = sorted(rng.randint(7 * 3600, 19 * 3600) for _ in range(n))
                for k, u, s in zip(kinds, who, seconds):
                    serial += 1
                    lines.append(
                        '{"type":"track","event":"%s","messageId":"m%d","userId":"%s",'
                        '"timestamp":"%s","context":{"groupId":"%s"}}'
                        % (EVENT_TYPES[k].name, serial, u,
                           stamp(day, s // 3600, s // 60 % 60, s % 60), a.id))
            if lines:
                out.write("\n".join(lines))
                out.write("\n")
                written += len(lines)
            day += timedelta(days=1)
        return {"messages": written}

    def renewal(self, a: Account, day: date) -> bool:
        """Draws churn at a monthly renewal from last month's usage; true when it churns."""
        u = a.utility(a.month_counts, day)
        p = ACAUSAL_CHURN + (1 - ACAUSAL_CHURN) * churn_probability(u, self.offset)
        churned = self.rng.random() < p
        if day >= self.first:
            a.renewals.append({"day": day.isoformat(), "utility": round(u, 3),
                               "churn_probability": round(p, 4), "churned": churned})
        a.months += 1
        a.next_renewal = add_months(a.start, a.months + 1)
        a.month_counts = [0] * len(EVENT_TYPES)
        a.month_factor = math.exp(self.rng.gauss(0, MONTH_SIGMA) - MONTH_SIGMA ** 2 / 2)
        if churned:
            a.churned_on = day
        return churned

    def answers(self) -> dict:
        return {
            "first_day": self.first.isoformat(),
            "last_day": self.end.isoformat(),
            "churn_offset": self.offset,
            "event_types": [e.__dict__ for e in EVENT_TYPES],
            "accounts": [{
                "id": a.id, "start": a.start.isoformat(), "plan": a.plan, "seats": a.seats,
                "users": len(a.users), "mrr": a.mrr, "list_mrr": a.list_mrr,
                "satisfaction": round(a.satisfaction, 3),
                "churned_on": a.churned_on.isoformat() if a.churned_on else None,
                "rates_per_user_month": {e.name: round(r, 3) for e, r in zip(EVENT_TYPES, a.rates)},
                "renewals": a.renewals,
            } for a in self.accounts],
        }


def churn_probability(utility: float, offset: float) -> float:
    x = CHURN_SCALE * (utility - offset)
    return 1.0 / (1.0 + math.exp(min(40.0, max(-40.0, x))))


def compact(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"))


def hash_pick(text: str, n: int) -> int:
    """A stable pick from a string (Python's hash() is salted per process)."""
    h = 2166136261
    for c in text.encode():
        h = ((h ^ c) * 16777619) & 0xFFFFFFFF
    return h % n


def stamp(day: date, hour: int, minute: int, second: int) -> str:
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}:{second:02d}Z"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--accounts", type=int, default=500, help="accounts (default 500)")
    p.add_argument("--days", type=int, default=365, help="days in the period (default 365)")
    p.add_argument("--end", required=True, help="last day of the period, YYYY-MM-DD")
    p.add_argument("--seed", type=int, required=True, help="random seed")
    p.add_argument("--out", required=True, help="NDJSON file to write ('-' for stdout)")
    p.add_argument("--answers", help="also write the hidden truth here as JSON")
    p.add_argument("--new-share", type=float, default=0.35,
                   help="share of accounts that start during the period (default 0.35)")
    p.add_argument("--base-churn", type=float, default=0.08,
                   help="churn per renewal of the accounts as drawn (default 0.08; survivors "
                        "churn less: about 4%% of all renewals churn)")
    args = p.parse_args(argv)
    try:
        args.end = datetime.strptime(args.end, "%Y-%m-%d").date()
    except ValueError:
        p.error(f"--end {args.end!r} is not a date like 2025-12-31")
    if args.accounts < 1:
        p.error("--accounts must be at least 1")
    if args.days < 60:
        p.error("--days must be at least 60 (two renewals)")
    if not 0 <= args.new_share <= 1:
        p.error("--new-share must be between 0 and 1")
    if not 0 < args.base_churn < 0.5:
        p.error("--base-churn must be between 0 and 0.5")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    sim = Simulation(args.accounts, args.days, args.end, args.seed, args.new_share,
                     args.base_churn)
    try:
        out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")
    except OSError as e:
        print(f"churn_sim: cannot write {args.out}: {e.strerror}", file=sys.stderr)
        return 2
    with out:
        stats = sim.run(out)
    churned = sum(1 for a in sim.accounts if a.churned_on and a.churned_on >= sim.first)
    renewals = sum(len(a.renewals) for a in sim.accounts)
    print(f"churn_sim: {len(sim.accounts)} accounts, {sim.first}..{sim.end}, "
          f"{stats['messages']} messages, {churned} churned at {renewals} renewals "
          f"({churned / max(1, renewals):.1%} per renewal)", file=sys.stderr)
    if args.answers:
        with open(args.answers, "w", encoding="utf-8") as f:
            json.dump(sim.answers(), f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
