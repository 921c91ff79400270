"""Choose the engine's defaults without labels: prediction of later ratings on time splits.

Run from the repo root: python bench/reputation/tune.py [--data DIR] [--rounds N]

The objective is the mean prediction AUC over validation splits that end before the final
80/20 test split of bitcoin_alpha.py: scores from the first 50 / 60 / 70 % of the ratings
(by time) predict whether each of the next 10 % is positive. Coordinate ascent over a small
grid per tunable, starting from the stated priors. No label file is read.

`recent_share` is NOT tuned here: predicting the next few weeks' ratings always favours the
most recent evidence (it pushes the share to 0.9), but a score that is nine tenths last
month's conduct forgets an exposed fraud after a few quiet weeks (the on-off attack). It is
a stated prior: recent conduct and the lifetime record weigh equally (0.5).
Nor is `prior_strength`: it is how fast a newcomer's score may leave 50, a stated prior of two
pseudo-ratings (Laplace's rule, the same as the smoothed-percent baseline). Prediction pushes
it up (it rewards ranking everybody little known low), which is not what a newcomer's score
should do.
The defences against manipulation (maturity_days, standing_floor, cluster_penalty,
retaliation_discount) are not tuned on honest data either: prediction on a log without
attacks can only say they cost nothing there or switch them off. They are set by principle
and checked by the attack measures (bitcoin_alpha.py, attacks.py); sensitivity.py shows what
each costs or buys. `reciprocal_discount` is tuned: in a two-way feedback market praise
returned for praise is the normal course of a trade, and prediction says discounting it
loses information; rings of accounts praising each other are left to the cluster rule and
the Sybil rule, which the attack measures check.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bitcoin_alpha import DEFAULT_DATA

from reputation import EngineConfig, EventArrays, compute
from reputation.io import read_ratings
from reputation.metrics import roc_auc

CUTS = (0.5, 0.6, 0.7)
WINDOW = 0.1
# The tunables that move prediction, each with the values tried (the grid stays small: the
# machine is shared, and a coarse grid overfits less).
GRID: dict[str, tuple[float, ...]] = {
    "half_life_days": (7.0, 15.0, 30.0, 60.0, 90.0, 180.0),
    "recent_prior_strength": (0.5, 1.0, 3.0, 10.0),
    "value_power": (0.0, 0.25, 0.5, 1.0),
    "reciprocal_discount": (0.25, 0.5, 1.0),
}


def split_auc(ev: EventArrays, config: EngineConfig, cut: float, window: float) -> float:
    """Scores from the first `cut` of ratings predict the next `window`: ROC AUC of trust."""
    order = np.argsort(ev.time, kind="stable")
    a, b = int(cut * len(order)), int(min(cut + window, 1.0) * len(order))
    train, test = ev.take(order[:a]), ev.take(order[a:b])
    trust = compute(train, config).trust
    rated = np.bincount(train.ratee, minlength=len(ev.users)) > 0
    keep = rated[test.ratee]
    return roc_auc(trust[test.ratee[keep]], test.value[keep] > 0)


def objective(ev: EventArrays, config: EngineConfig) -> float:
    """Mean validation prediction AUC over CUTS."""
    return float(np.mean([split_auc(ev, config, cut, WINDOW) for cut in CUTS]))


def tune(ev: EventArrays, start: EngineConfig, rounds: int = 2) -> EngineConfig:
    """Coordinate ascent: each tunable in turn takes its best grid value, `rounds` times."""
    best, best_score = start, objective(ev, start)
    print(f"start {best_score:.4f}")
    for _ in range(rounds):
        changed = False
        for name, values in GRID.items():
            if name == "half_life_days":
                settled = settle_half_life(ev, best)
                if settled != best:
                    best, best_score, changed = settled, objective(ev, settled), True
                print(f"  {name:24} -> {getattr(best, name):g}   objective {best_score:.4f}")
                continue
            for value in values:
                candidate = replace(best, **{name: value})
                if candidate == best:
                    continue
                score = objective(ev, candidate)
                if score > best_score + 1e-4:
                    best, best_score, changed = candidate, score, True
            print(f"  {name:24} -> {getattr(best, name):g}   objective {best_score:.4f}")
        if not changed:
            break
    return best


# Where the objective is flat, a display score should not swing from week to week: among the
# half-lives within TOLERANCE of the best, the longest is taken.
TOLERANCE = 0.005


def settle_half_life(ev: EventArrays, config: EngineConfig) -> EngineConfig:
    """The longest grid half-life whose objective is within TOLERANCE of the best one."""
    scores = {h: objective(ev, replace(config, half_life_days=h)) for h in GRID["half_life_days"]}
    best = max(scores.values())
    chosen = max(h for h, score in scores.items() if score >= best - TOLERANCE)
    print("  half-life objective: " + ", ".join(f"{h:g} d {s:.4f}" for h, s in scores.items()))
    return replace(config, half_life_days=chosen)


def main() -> None:
    """Print the tuned values next to the shipped defaults."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with (args.data / "bitcoin_alpha_ratings.csv").open() as f:
        ev = read_ratings(f)
    shipped = EngineConfig()
    print(f"shipped defaults: objective {objective(ev, shipped):.4f}")
    tuned = tune(ev, shipped, args.rounds)
    for name in GRID:
        print(f"{name:24} shipped {getattr(shipped, name):>8g}   tuned {getattr(tuned, name):>8g}")


if __name__ == "__main__":
    main()
