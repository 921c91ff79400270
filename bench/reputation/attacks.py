"""Simulated marketplace under attack: engine vs plain percent positive.

Run from the repo root: python bench/reputation/attacks.py [--seed N]
For each attack: how far honest users move (mean |percentile change|), and where the
attack's beneficiary ranks among honest users (percentile, 1 = top) before and after.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from reputation import EngineConfig, EventArrays, compute

CONFIG = EngineConfig()  # bench/reputation/sensitivity.py swaps in other configurations

DAY = 86_400.0
T0 = 1.7e9
HORIZON = 365


@dataclass
class Log:
    """A growing list of ratings with integer user ids."""

    src: list[int] = field(default_factory=list)
    dst: list[int] = field(default_factory=list)
    val: list[float] = field(default_factory=list)
    day: list[float] = field(default_factory=list)
    amount: list[float] = field(default_factory=list)

    def rate(self, a: int, b: int, v: float, day: float, cents: float = 5_000) -> None:
        self.src.append(a)
        self.dst.append(b)
        self.val.append(v)
        self.day.append(day)
        self.amount.append(cents)

    def copy(self) -> Log:
        return Log(*(list(x) for x in (self.src, self.dst, self.val, self.day, self.amount)))

    def arrays(self, n_users: int) -> EventArrays:
        return EventArrays.from_columns(
            list(range(n_users)), [], self.src, self.dst, self.val,
            T0 + np.asarray(self.day) * DAY, self.amount,
        )  # fmt: skip


def honest_market(rng: np.random.Generator, n: int = 400, trades: int = 6000) -> tuple[Log, dict]:
    """Honest users trade for a year; sellers have a quality, both sides rate."""
    log = Log()
    quality = rng.beta(12, 1, n)
    quality[rng.choice(n, n // 20, replace=False)] = rng.uniform(0.3, 0.6, n // 20)
    joined = rng.uniform(0, 300, n)
    for _ in range(trades):
        buyer, seller = rng.choice(n, 2, replace=False)
        day = max(joined[buyer], joined[seller]) + rng.uniform(0, 60)
        if day > HORIZON:
            continue
        cents = float(np.round(rng.lognormal(8, 1)))
        good = rng.random() < quality[seller]
        log.rate(buyer, seller, 1.0 if good else -1.0, day, cents)
        if rng.random() < 0.7:  # sellers rate buyers back, mostly kindly
            log.rate(seller, buyer, 1.0 if good or rng.random() < 0.5 else -1.0, day + 1, cents)
    return log, {"n": n, "quality": quality}


def percent_positive(ev: EventArrays) -> np.ndarray:
    """The baseline: smoothed percent positive, (pos + 1) / (n + 2)."""
    n = len(ev.users)
    count = np.bincount(ev.ratee, minlength=n)
    return (np.bincount(ev.ratee, ev.value > 0, n) + 1.0) / (count + 2.0)


def percentiles(score: np.ndarray, population: np.ndarray, who: np.ndarray) -> np.ndarray:
    pop = np.sort(score[population])
    lo = np.searchsorted(pop, score[who], "left")
    hi = np.searchsorted(pop, score[who], "right")
    return (lo + hi) / 2 / len(pop)


def scenarios(rng: np.random.Generator, base: Log, n: int, quality: np.ndarray) -> dict:
    """Return name -> (attacked log, total users, beneficiary, want) for each attack."""
    out = {}
    scammer = int(np.argmin(quality))
    star = int(np.argmax(quality))
    nxt = n

    # Ballot-stuffing ring: 12 accounts made in spring trade tiny items and praise each other
    # and a poor seller all year.
    log = base.copy()
    ring = list(range(nxt, nxt + 12))
    for _ in range(400):
        a, b = rng.choice(ring, 2, replace=False)
        log.rate(int(a), int(b), 1.0, rng.uniform(60, HORIZON), 100)
    for a in ring:
        log.rate(a, scammer, 1.0, rng.uniform(200, HORIZON), 100)
    out["ballot-stuffing ring"] = (log, nxt + 12, scammer, "low")

    # Bad-mouthing: 25 fresh accounts rate the best seller -1 in the last week.
    log = base.copy()
    for a in range(nxt, nxt + 25):
        log.rate(a, star, -1.0, rng.uniform(HORIZON - 7, HORIZON), 500)
    out["bad-mouthing a competitor"] = (log, nxt + 25, star, "high")

    # Sybil farm: 60 accounts created a month ago praise each other and a scam seller.
    log = base.copy()
    farm = list(range(nxt, nxt + 60))
    for a in farm:
        for b in rng.choice(farm, 5, replace=False):
            if a != b:
                log.rate(a, int(b), 1.0, rng.uniform(HORIZON - 30, HORIZON), 200)
        log.rate(a, scammer, 1.0, rng.uniform(HORIZON - 30, HORIZON), 200)
    out["Sybil farm"] = (log, nxt + 60, scammer, "low")

    # On-off: an honest-looking seller earns praise for ten months, then scams 15 buyers.
    log = base.copy()
    onoff = nxt
    buyers = rng.choice(n, 55, replace=False)
    for k, b in enumerate(buyers[:40]):
        log.rate(int(b), onoff, 1.0, 10 + k * 7, 5_000)
    for b in buyers[40:]:
        log.rate(int(b), onoff, -1.0, rng.uniform(HORIZON - 45, HORIZON), 20_000)
    out["on-off seller"] = (log, nxt + 1, onoff, "low")

    # Whitewashing: the scammer comes back under a new name and gets two quick positives from
    # friends with new accounts; where does the fresh identity rank?
    log = base.copy()
    fresh = nxt
    log.rate(nxt + 1, fresh, 1.0, HORIZON - 1, 100)
    log.rate(nxt + 2, fresh, 1.0, HORIZON - 1, 100)
    out["whitewashing (new identity)"] = (log, nxt + 3, fresh, "low")

    # Retaliation: the scammer answers every negative it got with a negative.
    log = base.copy()
    for a, b, v, d in zip(base.src, base.dst, base.val, base.day, strict=True):
        if b == scammer and v < 0:
            log.rate(scammer, a, -1.0, d + 1, 5_000)
    out["retaliation"] = (log, n, scammer, "low")
    return out


def main() -> None:
    """Run each attack on the same honest market and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    base, info = honest_market(rng)
    n = info["n"]
    base_ev = base.arrays(n)
    received = np.bincount(base_ev.ratee, minlength=n)
    honest = np.nonzero(received >= 3)[0]
    scorers = {
        "engine": lambda ev: compute(ev, CONFIG).trust,
        "% positive": percent_positive,
    }
    before = {k: f(base_ev) for k, f in scorers.items()}
    print(f"honest market: {n} users, {len(base.src)} ratings; percentiles among "
          f"{len(honest)} honest users with >= 3 ratings")  # fmt: skip
    head = f"{'attack':30}{'scorer':>12}{'honest move':>13}{'attacker before':>17}"
    print(head + f"{'after':>8}   goal")
    for name, (log, n_all, who, want) in scenarios(rng, base, n, info["quality"]).items():
        ev = log.arrays(n_all)
        for label, scorer in scorers.items():
            after = scorer(ev)
            prev = np.r_[before[label], np.full(n_all - n, np.nan)]
            others = honest[honest != who]
            move = np.abs(
                percentiles(after, honest, others) - percentiles(before[label], honest, others)
            ).mean()
            pre = percentiles(prev, honest, np.array([who]))[0] if who < n else float("nan")
            post = percentiles(after, honest, np.array([who]))[0]
            goal = "stay low" if want == "low" else "stay high"
            print(f"{name:30}{label:>12}{move:>13.3f}{pre:>17.2f}{post:>8.2f}   {goal}")


if __name__ == "__main__":
    main()
