"""Speed: batch recompute of 1,000,000 ratings among 100,000 users, and incremental adds.

Run from the repo root: python bench/reputation/speed.py [--ratings N] [--users N]
Each batch measurement runs in a fresh subprocess so that its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from reputation import EventArrays, RatingEvent, ReputationEngine, compute

DAY = 86_400.0


def synthetic(n_ratings: int, n_users: int, seed: int = 1) -> EventArrays:
    """A marketplace-like log: skewed activity, 40 % reciprocated, 94 % positive, 3 years."""
    rng = np.random.default_rng(seed)
    popularity = rng.pareto(1.5, n_users) + 1.0
    popularity /= popularity.sum()
    half = int(n_ratings * 0.6)
    raters = rng.integers(0, n_users, half)
    ratees = rng.choice(n_users, half, p=popularity)
    back = rng.random(half) < 0.4 / 0.6 * (n_ratings - half) / half * 1.5
    back_idx = np.nonzero(back)[0][: n_ratings - half]
    src = np.r_[raters, ratees[back_idx]]
    dst = np.r_[ratees, raters[back_idx]]
    extra = n_ratings - len(src)
    if extra > 0:
        src = np.r_[src, rng.integers(0, n_users, extra)]
        dst = np.r_[dst, rng.choice(n_users, extra, p=popularity)]
    clash = src == dst
    dst[clash] = (dst[clash] + 1) % n_users
    value = np.where(rng.random(n_ratings) < 0.94, 1.0, -1.0)
    t = 1.6e9 + rng.random(n_ratings) * 3 * 365 * DAY
    amount = np.round(rng.lognormal(8, 1.5, n_ratings))
    roles = rng.integers(0, 4, n_ratings)
    return EventArrays.from_columns(
        list(range(n_users)), ["buyer", "seller", "borrower", "lender"],
        src, dst, value, t, amount, roles ^ 1, roles,
    )  # fmt: skip


def plain_percent_positive(ev: EventArrays) -> np.ndarray:
    """The baseline: percent positive per user with two bincounts."""
    n = len(ev.users)
    total = np.bincount(ev.ratee, minlength=n)
    return np.bincount(ev.ratee, ev.value > 0, n) / np.maximum(total, 1)


def child(mode: str, n_ratings: int, n_users: int) -> None:
    """Measure one batch run in this (fresh) process and print JSON."""
    ev = synthetic(n_ratings, n_users)
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    if mode == "engine":
        table = compute(ev)
        _ = table.trust.sum()
    else:
        _ = plain_percent_positive(ev).sum()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_mb": peak / 1024, "data_mb": rss_data / 1024}))


def run_child(mode: str, n_ratings: int, n_users: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--ratings", str(n_ratings),
         "--users", str(n_users)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def incremental(n_events: int) -> tuple[float, float]:
    """Average microseconds per engine.add and per plain dict-counter update."""
    ev = synthetic(n_events, max(n_events // 10, 10), seed=2)
    events = [
        RatingEvent(int(a), int(b), float(v), float(t), amount_cents=int(m), ratee_role="seller")
        for a, b, v, t, m in zip(ev.rater, ev.ratee, ev.value, ev.time, ev.amount, strict=True)
    ]
    engine = ReputationEngine()
    started = time.perf_counter()
    for e in events:
        engine.add(e)
    engine_us = (time.perf_counter() - started) / n_events * 1e6
    counts: dict = {}
    started = time.perf_counter()
    for e in events:
        c = counts.setdefault(e.ratee, [0, 0])
        c[e.value > 0] += 1
    plain_us = (time.perf_counter() - started) / n_events * 1e6
    return engine_us, plain_us


def main() -> None:
    """Print batch time, peak memory and incremental add latency, next to plain baselines."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ratings", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--adds", type=int, default=200_000)
    parser.add_argument("--child", choices=["engine", "plain"])
    args = parser.parse_args()
    if args.child:
        child(args.child, args.ratings, args.users)
        return
    engine = run_child("engine", args.ratings, args.users)
    plain = run_child("plain", args.ratings, args.users)
    print(f"batch: {args.ratings:,} ratings among {args.users:,} users")
    print(
        f"  engine compute()          {engine['seconds']:8.2f} s   peak RSS "
        f"{engine['peak_mb']:7.0f} MB (input arrays alone {engine['data_mb']:.0f} MB)"
    )
    print(f"  plain bincount % positive {plain['seconds']:8.3f} s   peak RSS "
          f"{plain['peak_mb']:7.0f} MB")  # fmt: skip
    print(f"  ratio engine / plain      {engine['seconds'] / plain['seconds']:8.0f} x   "
          f"targets: <= 10 s, <= 1024 MB")  # fmt: skip
    engine_us, plain_us = incremental(args.adds)
    print(f"incremental: {args.adds:,} adds")
    print(f"  engine add()              {engine_us:8.2f} us per event (target <= 50)")
    print(f"  plain dict counter        {plain_us:8.2f} us per event")
    print(f"  ratio engine / plain      {engine_us / plain_us:8.1f} x")


if __name__ == "__main__":
    main()
