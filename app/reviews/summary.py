"""Reputation arithmetic on plain values: no Flask, no database.

Kept pure and small so that the reputation engine (`reputation/`) can replace it later: it uses
the same units. A unit is one rater in one Monday-to-Monday UTC week; its class is the sign of
that week's positives minus negatives, so one rater moves a score by at most one point a week
(the eBay rule), however many orders they rate.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

RATING_SIGN = {"positive": 1, "neutral": 0, "negative": -1}
SUMMARY_ROLES = ("buyer", "seller")
PERCENT_WINDOW = timedelta(days=365)
_MONDAY = datetime(1970, 1, 5, tzinfo=UTC)

# (rater_id, rating, created_at, role the ratee acted in)
RatingTuple = tuple[int, str, datetime, str]


def week_of(moment: datetime) -> int:
    """The number of the Monday-to-Monday UTC week holding `moment`."""
    return (moment - _MONDAY) // timedelta(weeks=1)


def _units(ratings: list[RatingTuple]) -> list[int]:
    """The class (+1, 0, -1) of every (rater, week) unit."""
    net: dict[tuple[int, int], int] = {}
    for rater_id, rating, created_at, _role in ratings:
        key = (rater_id, week_of(created_at))
        net[key] = net.get(key, 0) + RATING_SIGN[rating]
    return [(value > 0) - (value < 0) for value in net.values()]


def summarize_block(ratings: Iterable[RatingTuple], now: datetime) -> dict:
    """Feedback score, percent positive over 12 months and counts for one set of ratings."""
    ratings = list(ratings)
    units = _units(ratings)
    positive, negative = units.count(1), units.count(-1)
    recent = _units([r for r in ratings if r[2] > now - PERCENT_WINDOW])
    recent_positive, recent_negative = recent.count(1), recent.count(-1)
    decided = recent_positive + recent_negative
    return {
        "feedback_score": positive - negative,
        "percent_positive": round(recent_positive / decided * 100, 1) if decided else None,
        "positive": positive,
        "neutral": units.count(0),
        "negative": negative,
    }


def summarize_ratings(ratings: Iterable[RatingTuple], now: datetime) -> dict:
    """{"overall": block, "roles": {"buyer": block, "seller": block}} from received ratings."""
    ratings = list(ratings)
    return {
        "overall": summarize_block(ratings, now),
        "roles": {
            role: summarize_block([r for r in ratings if r[3] == role], now)
            for role in SUMMARY_ROLES
        },
    }
