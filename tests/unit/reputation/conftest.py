"""Helpers for the reputation tests: no database, no Flask."""

from __future__ import annotations

import pytest

from reputation import RatingEvent

DAY = 86_400.0
# A fixed Monday noon (2024-01-01 12:00 UTC) keeps week buckets predictable.
T0 = 1_704_110_400.0


def ev(rater, ratee, value=1.0, day=0.0, **extra) -> RatingEvent:
    """Return a rating `day` days after T0."""
    return RatingEvent(rater=rater, ratee=ratee, value=value, time=T0 + day * DAY, **extra)


def established(n_raters: int = 6, day: float = 0.0) -> list[RatingEvent]:
    """Return a small honest community: old accounts that praised each other a year ago."""
    users = [f"u{i}" for i in range(n_raters)]
    return [ev(a, b, 1.0, day - 400 + i) for i, a in enumerate(users) for b in users if a != b]


@pytest.fixture
def community() -> list[RatingEvent]:
    return established()
