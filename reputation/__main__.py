"""Command line: `python -m reputation score|evaluate ...` (see reputation/README.md)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .batch import compute
from .config import EngineConfig
from .io import RatingsFormatError, label_scores, read_labels, read_ratings, write_scores
from .metrics import average_precision, roc_auc


def _scale(text: str) -> tuple[float, float]:
    try:
        low, high = (float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("--scale takes MIN,MAX, e.g. 1,5") from None
    if not high > low:
        raise argparse.ArgumentTypeError("--scale needs MIN < MAX")
    return low, high


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the command line."""
    parser = argparse.ArgumentParser(prog="python -m reputation", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("ratings", type=Path, help="ratings CSV: rater,ratee,value,time[,...]")
    common.add_argument("--scale", type=_scale, help="numeric value scale MIN,MAX (e.g. 1,5)")
    common.add_argument("--now", help="score as of this time (default: latest rating)")
    common.add_argument("--half-life-days", type=float, help="override the rating half-life")
    score = sub.add_parser("score", parents=[common], help="write per-user scores as CSV")
    score.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    score.add_argument("--roles", action="store_true", help="add a row per user and role")
    evaluate = sub.add_parser(
        "evaluate", parents=[common], help="ROC AUC / average precision against labels"
    )
    evaluate.add_argument("labels", type=Path, help="labels CSV: user,label (1 = bad)")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    config = EngineConfig()
    if args.half_life_days is not None:
        config = EngineConfig(half_life_days=args.half_life_days)
    try:
        with args.ratings.open(newline="", encoding="utf-8") as f:
            events = read_ratings(f, args.scale)
        table = compute(events, config, args.now)
        if args.command == "score":
            if args.output:
                with args.output.open("w", newline="", encoding="utf-8") as out:
                    write_scores(table, out, roles=args.roles)
            else:
                write_scores(table, sys.stdout, roles=args.roles)
            return 0
        with args.labels.open(newline="", encoding="utf-8") as f:
            labels = read_labels(f)
    except (OSError, RatingsFormatError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    badness, y = label_scores(table, labels)
    result = {
        "roc_auc": roc_auc(badness, y),
        "average_precision": average_precision(badness, y),
        "n_bad": int(y.sum()),
        "n_good": int(len(y) - y.sum()),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"ROC AUC            {result['roc_auc']:.4f}")
        print(f"average precision  {result['average_precision']:.4f}")
        print(f"users              {result['n_bad']} bad, {result['n_good']} good")
    return 0


if __name__ == "__main__":
    sys.exit(main())
