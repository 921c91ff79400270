"""How much do the Bitcoin Alpha figures depend on the time-decay defaults?

The labels may never tune the engine, so this prints the fraud and prediction AUC over a grid
of half-lives and decay floors around the defaults, next to the plain baselines of the same run:
the targets should hold across the neighbourhood, not only at one point.

    python bench/reputation/sensitivity.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bitcoin_alpha as alpha

from reputation import EngineConfig
from reputation.io import read_labels, read_ratings


def main() -> None:
    """Print fraud and prediction AUC for each (half-life, floor) pair."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=alpha.DEFAULT_DATA)
    args = parser.parse_args()
    with (args.data / "bitcoin_alpha_ratings.csv").open() as f:
        ev = read_ratings(f)
    with (args.data / "bitcoin_alpha_labels.csv").open() as f:
        labels = read_labels(f)
    baselines = {"mean rating": alpha.mean_rating, "smoothed % pos": alpha.smoothed_positive}
    for name, scorer in baselines.items():
        print(
            f"baseline {name:>15}: fraud AUC {alpha.fraud_auc(ev, labels, scorer):.3f}  "
            f"prediction AUC {alpha.prediction_auc(ev, scorer):.3f}"
        )
    default = EngineConfig()
    print(f"{'half-life days':>14} {'floor':>6} {'fraud AUC':>10} {'prediction AUC':>15}")
    for half_life in (60, 90, 180, 365):
        for floor in (0.1, 0.15, 0.25):
            config = EngineConfig(half_life_days=half_life, decay_floor=floor)
            scorer = alpha.engine_scorer(config)
            mark = "  <- default" if config == default else ""
            print(
                f"{half_life:>14} {floor:>6} {alpha.fraud_auc(ev, labels, scorer):>10.3f} "
                f"{alpha.prediction_auc(ev, scorer):>15.3f}{mark}"
            )


if __name__ == "__main__":
    main()
