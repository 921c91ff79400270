"""The four measures of /work/shared/data/README.md on Bitcoin Alpha: engine vs plain baselines.

Run from the repo root: python bench/reputation/bitcoin_alpha.py [--data DIR] [--targets N]
The labels are read only to evaluate; they are never an input of any score.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from reputation import EngineConfig, EventArrays, compute
from reputation.io import read_labels, read_ratings
from reputation.metrics import roc_auc


def _find_data() -> Path:
    """The nearest ancestor's shared/data (../shared/data from a checkout or a worktree)."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "shared" / "data" / "bitcoin_alpha_ratings.csv").exists():
            return parent / "shared" / "data"
    return Path("shared/data")


DEFAULT_DATA = _find_data()
Scorer = Callable[[EventArrays], np.ndarray]  # trust-like score per user code


def engine_scorer(config: EngineConfig | None = None) -> Scorer:
    """Return a scorer running the engine with its shipped defaults."""
    return lambda ev: compute(ev, config).trust


def mean_rating(ev: EventArrays) -> np.ndarray:
    """Plain mean rating received (0 without ratings)."""
    n = len(ev.users)
    count = np.bincount(ev.ratee, minlength=n)
    return np.bincount(ev.ratee, ev.value, n) / np.maximum(count, 1)


def smoothed_positive(ev: EventArrays) -> np.ndarray:
    """(positives + 1) / (ratings + 2)."""
    n = len(ev.users)
    count = np.bincount(ev.ratee, minlength=n)
    return (np.bincount(ev.ratee, ev.value > 0, n) + 1.0) / (count + 2.0)


def with_users(ev: EventArrays, extra: int) -> list:
    return list(ev.users) + [f"attacker-{i}" for i in range(extra)]


LABELLERS = (7, 5, 3, 8, 11)  # the 5 accounts that rated the most labelled users


def leak_reduced(ev: EventArrays, labels: dict) -> EventArrays:
    """The network without the ratings LABELLERS gave to labelled users (data README)."""
    index = {u: i for i, u in enumerate(ev.users)}
    labelled = np.zeros(len(ev.users), dtype=bool)
    labelled[[index[u] for u in labels if u in index]] = True
    labellers = [index[u] for u in LABELLERS if u in index]
    return ev.take(~(np.isin(ev.rater, labellers) & labelled[ev.ratee]))


def fraud_auc(ev: EventArrays, labels: dict, scorer: Scorer) -> float:
    """ROC AUC of -score for label 1 vs 0, over labelled users who received a rating.

    Labelled users left without any rating received (on the leak-reduced network) are not
    scored, as in the data README's reference figures.
    """
    score = scorer(ev)
    index = {u: i for i, u in enumerate(ev.users)}
    received = np.bincount(ev.ratee, minlength=len(ev.users))
    users = [u for u in labels if u in index and received[index[u]] > 0]
    return roc_auc(-score[[index[u] for u in users]], np.array([labels[u] for u in users]))


def prediction_auc(ev: EventArrays, scorer: Scorer) -> float:
    """Score on the first 80 % of ratings by time; AUC of the ratee's score for later positives.

    As in the data README's reference figures, only later ratings whose ratee had received at
    least one rating in the first 80 % are scored (a score needs something to be about).
    """
    order = np.argsort(ev.time, kind="stable")
    cut = int(0.8 * len(order))
    train, test = ev.take(order[:cut]), ev.take(order[cut:])
    score = scorer(train)
    rated = np.bincount(train.ratee, minlength=len(ev.users)) > 0
    keep = rated[test.ratee]
    return roc_auc(score[test.ratee[keep]], test.value[keep] > 0)


def attack(ev: EventArrays, target: int, value: float, stuff_each_other: bool) -> EventArrays:
    """Add 30 fresh accounts rating `target` with `value` (and each other +1), at the last time."""
    n, k = len(ev.users), 30
    sybils = np.arange(n, n + k)
    src, dst = [sybils], [np.full(k, target)]
    vals = [np.full(k, value)]
    if stuff_each_other:
        a, b = np.meshgrid(sybils, sybils)
        off = a != b
        src.append(a[off])
        dst.append(b[off])
        vals.append(np.ones(off.sum()))
    src_a, dst_a, val_a = (np.concatenate(x) for x in (src, dst, vals))
    t = np.full(len(src_a), ev.time.max())
    return EventArrays.from_columns(
        with_users(ev, k), list(ev.roles),
        np.r_[ev.rater, src_a], np.r_[ev.ratee, dst_a], np.r_[ev.value, val_a], np.r_[ev.time, t],
    )  # fmt: skip


def percentile(score: np.ndarray, population: np.ndarray, user: int) -> float:
    """Share of the population scoring below `user` (ties count one half)."""
    pop = score[population]
    return float(((pop < score[user]).sum() + 0.5 * (pop == score[user]).sum()) / len(pop))


def attack_shift(
    ev: EventArrays, scorer: Scorer, targets: np.ndarray, value: float, stuff: bool
) -> tuple[float, float]:
    """Mean and worst percentile move of each target under the attack."""
    population = np.nonzero(np.bincount(ev.ratee, minlength=len(ev.users)) >= 3)[0]
    before = scorer(ev)
    moves = []
    for target in targets:
        after = scorer(attack(ev, int(target), value, stuff))
        moves.append(percentile(after, population, target) - percentile(before, population, target))
    moves_a = np.array(moves)
    return float(moves_a.mean()), float(moves_a[np.argmax(np.abs(moves_a))])


def attack_targets(ev: EventArrays, labels: dict, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Fraudulent and benign labelled users with >= 3 ratings received (first `limit`)."""
    index = {u: i for i, u in enumerate(ev.users)}
    received = np.bincount(ev.ratee, minlength=len(ev.users))
    bad = [index[u] for u, y in labels.items() if y == 1 and received[index[u]] >= 3]
    good = [index[u] for u, y in labels.items() if y == 0 and received[index[u]] >= 3]
    if limit:
        bad, good = bad[:limit], good[:limit]
    return np.array(bad, dtype=np.int64), np.array(good, dtype=np.int64)


MEASURES = (
    "fraud AUC", "prediction AUC", "ballot stuffing (mean)", "ballot stuffing (worst)",
    "bad-mouthing (mean)", "bad-mouthing (worst)",
)  # fmt: skip


def measures(ev: EventArrays, labels: dict, scorer: Scorer, targets: int) -> list[float]:
    """The four measures (attacks as mean and worst move) of one scorer on one network."""
    bad, good = attack_targets(ev, labels, targets)
    stuffing = attack_shift(ev, scorer, bad, 1.0, True)
    mouthing = attack_shift(ev, scorer, good, -1.0, False)
    return [
        fraud_auc(ev, labels, scorer), prediction_auc(ev, scorer),
        stuffing[0], stuffing[1], mouthing[0], mouthing[1],
    ]  # fmt: skip


def load(data: Path) -> tuple[EventArrays, dict]:
    """Read the Bitcoin Alpha ratings and labels."""
    with (data / "bitcoin_alpha_ratings.csv").open() as f:
        ev = read_ratings(f)
    with (data / "bitcoin_alpha_labels.csv").open() as f:
        labels = read_labels(f)
    return ev, labels


def main() -> None:
    """Print the four measures on the leaky and the leak-reduced network, engine vs baselines."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--targets", type=int, default=0, help="limit attack targets (0 = all)")
    args = parser.parse_args()
    ev, labels = load(args.data)
    scorers = {
        "engine": engine_scorer(),
        "mean rating": mean_rating,
        "smoothed % pos": smoothed_positive,
    }
    started = time.perf_counter()
    reduced = leak_reduced(ev, labels)
    # A check of generalisation without other data: the same measures on the first half of
    # the ratings (by time), a network the defaults never saw as a whole.
    first_half = reduced.take(reduced.time <= np.median(reduced.time))
    networks = {
        "leaky": ev,
        "leak-reduced": reduced,
        "leak-reduced, first half by time": first_half,
    }
    for label, network in networks.items():
        rows = {name: measures(network, labels, s, args.targets) for name, s in scorers.items()}
        bad, good = attack_targets(network, labels, args.targets)
        print(
            f"Bitcoin Alpha, {label}: {len(network)} ratings, {len(network.users)} users; "
            f"attack targets: {len(bad)} fraudulent, {len(good)} benign (>= 3 ratings)"
        )
        print(f"{'measure':26}" + "".join(f"{n:>16}" for n in scorers))
        for k, name in enumerate(MEASURES):
            print(f"{name:26}" + "".join(f"{rows[n][k]:>+16.3f}" for n in scorers))
        best_fraud = max(rows["mean rating"][0], rows["smoothed % pos"][0])
        best_pred = max(rows["mean rating"][1], rows["smoothed % pos"][1])
        e = rows["engine"]
        print(
            f"  engine - best baseline: fraud AUC {e[0] - best_fraud:+.4f} (target >= +0.02 "
            f"leak-reduced), prediction AUC {e[1] - best_pred:+.4f} (target >= +0.04); "
            f"worst attack move: stuffing {abs(e[3]):.3f}, bad-mouthing {abs(e[5]):.3f} "
            "(target <= 0.02)"
        )
        print()
    print(f"[{time.perf_counter() - started:.1f} s]")


if __name__ == "__main__":
    main()
