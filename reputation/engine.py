"""Incremental engine: add events one at a time; feedback counts update at once."""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import replace
from datetime import datetime

import numpy as np

from .batch import ScoreTable, compute
from .config import EngineConfig
from .events import DAY, MONDAY_EPOCH, WEEK, EventArrays, RatingEvent, to_unix
from .scores import Feedback, Score, WindowCounts

_MONTHS = (1, 6, 12)


class _FeedbackBlock:
    """eBay feedback units of one ratee (overall, or in one role), kept up to date per event."""

    __slots__ = ("buckets", "units")

    def __init__(self) -> None:
        # (rater, week) -> [net sign, [(time, sign), ...]]
        self.buckets: dict[tuple[int, int], list] = {}
        self.units = [0, 0, 0]  # positive, neutral, negative units over all time

    def _move(self, net_before: int | None, net_after: int | None) -> None:
        if net_before is not None:
            self.units[1 - (net_before > 0) + (net_before < 0)] -= 1
        if net_after is not None:
            self.units[1 - (net_after > 0) + (net_after < 0)] += 1

    def add(self, rater: int, time: float, sign: int) -> None:
        key = (rater, math.floor((time - MONDAY_EPOCH) / WEEK))
        bucket = self.buckets.get(key)
        if bucket is None:
            self.buckets[key] = [sign, [(time, sign)]]
            self._move(None, sign)
        else:
            before = bucket[0]
            bucket[0] += sign
            bucket[1].append((time, sign))
            self._move(before, bucket[0])

    def remove(self, rater: int, time: float, sign: int) -> None:
        key = (rater, math.floor((time - MONDAY_EPOCH) / WEEK))
        bucket = self.buckets[key]
        before = bucket[0]
        bucket[1].remove((time, sign))
        bucket[0] -= sign
        if bucket[1]:
            self._move(before, bucket[0])
        else:
            del self.buckets[key]
            self._move(before, None)

    def feedback(self, now: float, windows_days: tuple[int, ...]) -> Feedback:
        counts = []
        for months, days in zip(_MONTHS, windows_days, strict=True):
            cut = now - days * DAY
            tally = [0, 0, 0]
            for _, entries in self.buckets.values():
                inside = [s for t, s in entries if cut < t <= now]
                if inside:
                    net = sum(inside)
                    tally[1 - (net > 0) + (net < 0)] += 1
            counts.append(WindowCounts(months, *tally))
        year = counts[-1]
        rated = year.positive + year.negative
        percent = 100.0 * year.positive / rated if rated else None
        pos, neu, neg = self.units
        return Feedback(pos - neg, percent, pos, neu, neg, tuple(counts))  # type: ignore[arg-type]


class ReputationEngine:
    """Reputation of every user from a growing stream of rating events.

    `add()` is O(1): the eBay feedback counts are kept up to date at once. Trust, confidence,
    flags and explanations depend on the whole rating graph (rater credibility), so they are
    recomputed in one batch on the first query after a change and cached; they are exactly
    what `compute()` returns for the same events.
    """

    def __init__(self, config: EngineConfig | None = None, events: Iterable[RatingEvent] = ()):
        self.config = config or EngineConfig()
        self._users: dict[Hashable, int] = {}
        self._user_list: list[Hashable] = []
        self._roles: dict[str, int] = {}
        self._role_list: list[str] = []
        self._txs: dict[tuple[int, int, str], int] = {}
        # transaction code -> (time, value, ratee, ratee_role, sign) of the rating that counts
        self._tx_best: dict[int, tuple] = {}
        self._cols: tuple[list, ...] = tuple([] for _ in range(8))
        self._blocks: dict[tuple[int, int], _FeedbackBlock] = {}
        self._cache: tuple[int, float | None, ScoreTable] | None = None
        self._latest = -math.inf
        for event in events:
            self.add(event)

    def __len__(self) -> int:
        return len(self._cols[0])

    def _user(self, user: Hashable) -> int:
        i = self._users.get(user)
        if i is None:
            i = self._users[user] = len(self._user_list)
            self._user_list.append(user)
        return i

    def _role(self, role: str | None) -> int:
        if role is None:
            return -1
        r = self._roles.get(role)
        if r is None:
            r = self._roles[role] = len(self._role_list)
            self._role_list.append(role)
        return r

    def _block(self, user: int, role: int) -> _FeedbackBlock:
        block = self._blocks.get((user, role))
        if block is None:
            block = self._blocks[(user, role)] = _FeedbackBlock()
        return block

    def add(self, event: RatingEvent) -> None:
        """Record one rating; feedback counts change at once, trust on the next query."""
        rater = self._user(event.rater)
        ratee = self._user(event.ratee)
        ratee_role = self._role(event.ratee_role)
        value, time = event.value, event.time
        sign = 1 if value > self.config.neutral_band else (
            -1 if value < -self.config.neutral_band else 0
        )  # fmt: skip
        tx = -1
        counts = True
        if event.transaction is not None:
            tx = self._txs.setdefault((rater, ratee, event.transaction), len(self._txs))
            best = self._tx_best.get(tx)
            # A revised rating of the same transaction replaces the earlier one (same order as
            # the batch: latest time, then highest value, wins).
            rank = (
                time,
                value,
                -1.0 if event.amount_cents is None else float(event.amount_cents),
                (0, "") if event.ratee_role is None else (1, event.ratee_role),
            )
            if best is not None:
                if rank >= best[5]:
                    self._retract(rater, best)
                else:
                    counts = False
            if counts:
                self._tx_best[tx] = (time, value, ratee, ratee_role, sign, rank)
        if counts:
            self._block(ratee, -1).add(rater, time, sign)
            if ratee_role >= 0:
                self._block(ratee, ratee_role).add(rater, time, sign)
        c = self._cols
        c[0].append(rater)
        c[1].append(ratee)
        c[2].append(value)
        c[3].append(time)
        c[4].append(math.nan if event.amount_cents is None else float(event.amount_cents))
        c[5].append(self._role(event.rater_role))
        c[6].append(ratee_role)
        c[7].append(tx)
        if time > self._latest:
            self._latest = time

    def _retract(self, rater: int, best: tuple) -> None:
        time, _, ratee, role, sign, _ = best
        self._blocks[(ratee, -1)].remove(rater, time, sign)
        if role >= 0:
            self._blocks[(ratee, role)].remove(rater, time, sign)

    def extend(self, events: Iterable[RatingEvent]) -> None:
        """Add many events."""
        for event in events:
            self.add(event)

    def arrays(self) -> EventArrays:
        """Return every event added so far in columnar form."""
        return EventArrays.from_columns(
            list(self._user_list), list(self._role_list), *(np.asarray(c) for c in self._cols)
        )

    def _now(self, now: datetime | float | None) -> float:
        if now is not None:
            return to_unix(now)
        return self._latest if self._latest > -math.inf else 0.0

    def feedback(
        self, user: Hashable, role: str | None = None, now: datetime | float | None = None
    ) -> Feedback:
        """Return the eBay-style feedback of `user` (in `role`) at once, without a recompute."""
        i = self._users.get(user)
        r = -1 if role is None else self._roles.get(role, -2)
        block = self._blocks.get((i, r)) if i is not None else None  # type: ignore[arg-type]
        if block is None:
            block = _FeedbackBlock()
        return block.feedback(self._now(now), self.config.windows_days)

    def scores(self, now: datetime | float | None = None) -> ScoreTable:
        """Return every score (recomputed in batch if events were added since the last call)."""
        key_now = None if now is None else to_unix(now)
        if self._cache is not None and self._cache[:2] == (len(self), key_now):
            return self._cache[2]
        table = compute(self.arrays(), self.config, key_now)
        self._cache = (len(self), key_now, table)
        return table

    def score(
        self, user: Hashable, role: str | None = None, now: datetime | float | None = None
    ) -> Score:
        """Return the `Score` of `user` overall (role=None) or in `role`."""
        score = self.scores(now).get(user, role)
        fb = self.feedback(user, role, now)
        # The live counters and the batch agree; the live ones are authoritative for display.
        return replace(
            score,
            feedback_score=fb.feedback_score,
            percent_positive=fb.percent_positive,
            positive=fb.positive,
            neutral=fb.neutral,
            negative=fb.negative,
            counts=fb.counts,
        )
