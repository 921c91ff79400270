"""Rating events: the only input of the engine, and their conversion to numpy arrays."""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

DAY = 86_400.0
WEEK = 7 * DAY
# 1970-01-05 was a Monday: weeks run Monday 00:00 UTC to the next Monday, like ISO weeks.
MONDAY_EPOCH = 4 * DAY

ROLES = ("buyer", "seller", "borrower", "lender", "member", "organizer", "supplier")
LABELS = {"positive": 1.0, "neutral": 0.0, "negative": -1.0}


def to_unix(moment: datetime | float | int | str) -> float:
    """Return Unix seconds (UTC) for an aware datetime, a number or an ISO 8601 / numeric string."""
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError("naive datetime: pass an aware datetime (e.g. datetime.now(UTC))")
        return moment.timestamp()
    if isinstance(moment, str):
        text = moment.strip()
        try:
            return float(text)
        except ValueError:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            # A file without offsets is read as UTC: that is what exports from our app write.
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.timestamp()
    if isinstance(moment, bool) or not isinstance(moment, int | float):
        raise TypeError(f"time must be a datetime or Unix seconds, not {type(moment).__name__}")
    value = float(moment)
    if not math.isfinite(value):
        raise ValueError("time must be finite")
    return value


def parse_value(raw: str | float | int, scale: tuple[float, float] | None = None) -> float:
    """Map positive/neutral/negative, a number in [-1, 1] or a number on `scale` onto [-1, 1]."""
    if isinstance(raw, str):
        label = raw.strip().lower()
        if label in LABELS:
            return LABELS[label]
        try:
            number = float(label)
        except ValueError:
            raise ValueError(
                f"value {raw!r} is not positive/neutral/negative or a number"
            ) from None
    else:
        number = float(raw)
    if scale is not None:
        low, high = scale
        if not high > low:
            raise ValueError(f"scale {scale} must have MIN < MAX")
        if not low <= number <= high:
            raise ValueError(f"value {number} outside the scale {low}..{high}")
        number = 2.0 * (number - low) / (high - low) - 1.0
    if not (math.isfinite(number) and -1.0 <= number <= 1.0):
        raise ValueError(f"value {number} outside [-1, 1] (use a scale)")
    return number


@dataclass(frozen=True, slots=True)
class RatingEvent:
    """One rating left by `rater` about `ratee` after a transaction.

    `value` is in [-1, 1] (+1 positive, 0 neutral, -1 negative); `time` is stored as Unix
    seconds (UTC) and may be given as an aware datetime; `amount_cents` is the transaction value
    in minor units (None = unknown, weighed like a reference-size transaction).
    """

    rater: Hashable
    ratee: Hashable
    value: float
    time: float
    rater_role: str | None = None
    ratee_role: str | None = None
    amount_cents: int | None = None
    transaction: str | None = None

    def __post_init__(self) -> None:
        # Frozen, so normalise through object.__setattr__: callers may pass datetimes.
        object.__setattr__(self, "time", to_unix(self.time))
        object.__setattr__(self, "value", parse_value(self.value))
        if self.rater == self.ratee:
            raise ValueError(f"user {self.rater!r} cannot rate themselves")
        if self.amount_cents is not None and self.amount_cents < 0:
            raise ValueError("amount_cents must be >= 0")

    @classmethod
    def from_label(
        cls,
        label: str,
        rater: Hashable,
        ratee: Hashable,
        time: datetime | float,
        **extra: object,
    ) -> RatingEvent:
        """Build an event from 'positive', 'neutral' or 'negative'."""
        return cls(rater=rater, ratee=ratee, value=parse_value(label), time=time, **extra)  # type: ignore[arg-type]

    @property
    def sign(self) -> int:
        """Return +1, 0 or -1: the eBay class of this rating."""
        return 1 if self.value > 0 else (-1 if self.value < 0 else 0)


@dataclass(slots=True)
class EventArrays:
    """Columnar form of many events: integer user and role codes plus numpy columns."""

    users: list[Hashable]
    roles: list[str]
    rater: np.ndarray  # int64 index into users
    ratee: np.ndarray
    value: np.ndarray  # float64 in [-1, 1]
    time: np.ndarray  # float64 Unix seconds
    amount: np.ndarray  # float64 cents, NaN = unknown
    rater_role: np.ndarray  # int64 index into roles, -1 = none
    ratee_role: np.ndarray
    transaction: np.ndarray  # int64 code per (rater, ratee, transaction), -1 = none

    def __len__(self) -> int:
        return len(self.value)

    @classmethod
    def from_events(cls, events: Iterable[RatingEvent]) -> EventArrays:
        """Encode events as arrays (ids and roles get integer codes in order of appearance)."""
        users: dict[Hashable, int] = {}
        roles: dict[str, int] = {}
        txs: dict[tuple[int, int, str], int] = {}
        cols: list[list] = [[] for _ in range(8)]
        for ev in events:
            r = users.setdefault(ev.rater, len(users))
            e = users.setdefault(ev.ratee, len(users))
            cols[0].append(r)
            cols[1].append(e)
            cols[2].append(ev.value)
            cols[3].append(ev.time)
            cols[4].append(math.nan if ev.amount_cents is None else float(ev.amount_cents))
            cols[5].append(
                -1 if ev.rater_role is None else roles.setdefault(ev.rater_role, len(roles))
            )
            cols[6].append(
                -1 if ev.ratee_role is None else roles.setdefault(ev.ratee_role, len(roles))
            )
            cols[7].append(
                -1 if ev.transaction is None else txs.setdefault((r, e, ev.transaction), len(txs))
            )
        return cls.from_columns(list(users), list(roles), *cols)

    @classmethod
    def from_columns(
        cls,
        users: list[Hashable],
        roles: list[str],
        rater: Iterable[int],
        ratee: Iterable[int],
        value: Iterable[float],
        time: Iterable[float],
        amount: Iterable[float] | None = None,
        rater_role: Iterable[int] | None = None,
        ratee_role: Iterable[int] | None = None,
        transaction: Iterable[int] | None = None,
    ) -> EventArrays:
        """Build from coded columns; missing optional columns mean unknown / none."""
        value_a = np.asarray(value, dtype=np.float64)
        n = len(value_a)

        def ints(col: Iterable[int] | None) -> np.ndarray:
            return np.full(n, -1, np.int64) if col is None else np.asarray(col, dtype=np.int64)

        amount_a = np.full(n, np.nan) if amount is None else np.asarray(amount, dtype=np.float64)
        return cls(
            users=users,
            roles=roles,
            rater=np.asarray(rater, dtype=np.int64),
            ratee=np.asarray(ratee, dtype=np.int64),
            value=value_a,
            time=np.asarray(time, dtype=np.float64),
            amount=amount_a,
            rater_role=ints(rater_role),
            ratee_role=ints(ratee_role),
            transaction=ints(transaction),
        )

    def take(self, mask: np.ndarray) -> EventArrays:
        """Return the events selected by a boolean mask or index array (same user codes)."""
        return EventArrays(
            self.users,
            self.roles,
            self.rater[mask],
            self.ratee[mask],
            self.value[mask],
            self.time[mask],
            self.amount[mask],
            self.rater_role[mask],
            self.ratee_role[mask],
            self.transaction[mask],
        )
