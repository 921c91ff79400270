"""CSV input and output of the command line (formats documented in reputation/README.md)."""

from __future__ import annotations

import csv
import math
from collections.abc import Hashable, Iterable
from typing import TextIO

import numpy as np

from .batch import ScoreTable
from .events import EventArrays, parse_value, to_unix

REQUIRED = ("rater", "ratee", "value", "time")
SCORE_COLUMNS = (
    "user", "trust", "confidence", "feedback_score", "percent_positive",
    "positive", "neutral", "negative", "flags",
)  # fmt: skip


class RatingsFormatError(ValueError):
    """A ratings or labels file does not follow the documented format."""


def _user_id(text: str) -> Hashable:
    # Integer-looking ids stay integers so that "7" in ratings and labels files match.
    stripped = text.strip()
    try:
        return int(stripped)
    except ValueError:
        return stripped


def read_ratings(stream: TextIO, scale: tuple[float, float] | None = None) -> EventArrays:
    """Read a ratings CSV: rater, ratee, value, time and optional columns (see README)."""
    reader = csv.DictReader(stream)
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise RatingsFormatError(f"ratings file lacks column(s): {', '.join(missing)}")
    users: dict[Hashable, int] = {}
    roles: dict[str, int] = {}
    txs: dict[tuple[int, int, str], int] = {}
    cols: list[list] = [[] for _ in range(8)]

    def role(text: str | None) -> int:
        text = (text or "").strip()
        return roles.setdefault(text, len(roles)) if text else -1

    for line, row in enumerate(reader, start=2):
        try:
            rater = users.setdefault(_user_id(row["rater"]), len(users))
            ratee = users.setdefault(_user_id(row["ratee"]), len(users))
            value = parse_value(row["value"], scale)
            time = to_unix(row["time"])
            amount_text = (row.get("amount") or "").strip()
            amount = float(amount_text) if amount_text else math.nan
        except (ValueError, TypeError, AttributeError) as exc:
            raise RatingsFormatError(f"line {line}: {exc}") from None
        if rater == ratee:
            continue  # a self-rating is not feedback
        tx_text = (row.get("transaction") or "").strip()
        cols[0].append(rater)
        cols[1].append(ratee)
        cols[2].append(value)
        cols[3].append(time)
        cols[4].append(amount)
        cols[5].append(role(row.get("rater_role")))
        cols[6].append(role(row.get("ratee_role")))
        cols[7].append(txs.setdefault((rater, ratee, tx_text), len(txs)) if tx_text else -1)
    return EventArrays.from_columns(list(users), list(roles), *cols)


def read_labels(stream: TextIO) -> dict[Hashable, int]:
    """Read a labels CSV (user, label with 1 = bad, 0 = good)."""
    reader = csv.DictReader(stream)
    reader.fieldnames = [h.strip() for h in reader.fieldnames or []]
    if "user" not in reader.fieldnames or "label" not in reader.fieldnames:
        raise RatingsFormatError("labels file needs the columns user, label")
    labels: dict[Hashable, int] = {}
    for line, row in enumerate(reader, start=2):
        label = row["label"].strip()
        if label not in ("0", "1"):
            raise RatingsFormatError(f"line {line}: label must be 0 or 1, not {label!r}")
        labels[_user_id(row["user"])] = int(label)
    return labels


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:.6f}"


def write_scores(table: ScoreTable, stream: TextIO, roles: bool = False) -> int:
    """Write one CSV row per user (and per user and role with `roles`); return the row count."""
    writer = csv.writer(stream, lineterminator="\n")
    columns = list(SCORE_COLUMNS)
    if roles:
        columns.insert(1, "role")
    writer.writerow(columns)
    rows: Iterable = table
    if roles:
        rows = sorted([*table, *table.role_scores()], key=lambda s: (str(s.user), s.role or ""))
    count = 0
    for s in rows:
        row = [
            s.user, _fmt(s.trust), _fmt(s.confidence), s.feedback_score,
            _fmt(s.percent_positive), s.positive, s.neutral, s.negative, "|".join(sorted(s.flags)),
        ]  # fmt: skip
        if roles:
            row.insert(1, s.role or "")
        writer.writerow(row)
        count += 1
    return count


def label_scores(table: ScoreTable, labels: dict[Hashable, int]) -> tuple[np.ndarray, np.ndarray]:
    """Return (badness = -trust, label) for every labelled user; unrated users are newcomers."""
    users = list(labels)
    trust = np.array(
        [
            table.trust[i] if (i := table.user_index.get(u)) is not None else table.prior_trust
            for u in users
        ]
    )
    return -trust, np.array([labels[u] for u in users])
