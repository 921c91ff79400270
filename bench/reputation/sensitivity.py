"""How much does each of the four Bitcoin Alpha measures depend on each default that matters?

Every default is moved alone to a lower and a higher value; each row prints fraud AUC on the
leaky and the leak-reduced network, prediction AUC (80/20 time split), and the worst move of
a ballot-stuffing and a bad-mouthing target (on the leak-reduced network, the first
`--targets` labelled users each), next to the plain baselines of the same run. The targets
should hold across the neighbourhood, not only at one point. How each default was chosen is
in reputation/README.md; labels are read here only to measure.

    python bench/reputation/sensitivity.py [--targets 5]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bitcoin_alpha as alpha

from reputation import EngineConfig

# default -> (lower, higher) values tried; confidence_half and the flag thresholds change no
# ranking (only the confidence words and the notes), so they are not listed.
VARIATIONS: dict[str, tuple[float, float]] = {
    "half_life_days": (7.0, 60.0),
    "recent_share": (0.3, 0.7),
    "recent_prior_strength": (0.25, 2.0),
    "value_power": (0.5, 1.0),
    "prior_strength": (1.0, 4.0),
    "reciprocal_discount": (0.5, 0.25),
    "cluster_penalty": (0.0, 0.3),
    "maturity_days": (7.0, 90.0),
    "standing_floor": (0.25, 1.0),
    "fairness_prior_strength": (0.5, 3.0),
}


def row(label: str, values: list[float]) -> str:
    """One printed line: fraud leaky, fraud reduced, prediction, worst stuffing/mouthing."""
    return f"{label:34}" + "".join(f"{v:>10.3f}" for v in values)


def measure(ev, reduced, labels, scorer, targets: int) -> list[float]:
    """The five figures of one scorer."""
    bad, good = alpha.attack_targets(reduced, labels, targets)
    stuffing = alpha.attack_shift(reduced, scorer, bad, 1.0, True)[1]
    mouthing = alpha.attack_shift(reduced, scorer, good, -1.0, False)[1]
    return [
        alpha.fraud_auc(ev, labels, scorer),
        alpha.fraud_auc(reduced, labels, scorer),
        alpha.prediction_auc(ev, scorer),
        stuffing,
        mouthing,
    ]


def main() -> None:
    """Print the measures for the defaults, each variation, and the baselines."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=alpha.DEFAULT_DATA)
    parser.add_argument("--targets", type=int, default=5)
    args = parser.parse_args()
    ev, labels = alpha.load(args.data)
    reduced = alpha.leak_reduced(ev, labels)
    head = ["fraud", "fraud LR", "predict", "stuffing", "mouthing"]
    print(f"{'configuration':34}" + "".join(f"{h:>10}" for h in head))
    for name, scorer in (
        ("mean rating", alpha.mean_rating),
        ("smoothed % pos", alpha.smoothed_positive),
    ):
        print(row(f"baseline {name}", measure(ev, reduced, labels, scorer, args.targets)))
    default = EngineConfig()
    print(
        row(
            "engine defaults",
            measure(ev, reduced, labels, alpha.engine_scorer(default), args.targets),
        )
    )
    for name, values in VARIATIONS.items():
        for value in values:
            config = replace(default, **{name: value})
            label = f"  {name} {getattr(default, name):g} -> {value:g}"
            figures = measure(ev, reduced, labels, alpha.engine_scorer(config), args.targets)
            print(row(label, figures), flush=True)


if __name__ == "__main__":
    main()
