"""Helpers for the club tests: standing in the reputation store, and clubs made through the
real services."""

from __future__ import annotations

from datetime import timedelta

from app.clubs import services as clubs
from app.db import utcnow
from app.extensions import db
from app.reviews.models import ReputationScore
from tests.factories import ListingFactory, OrderFactory, UserFactory


def rated(user, positive: int, negative: int = 0, *, role: str = "overall"):
    """Store the reputation a full pass would give `user` (`positive` and `negative` ratings
    received, all within 12 months) in `role`, on an account as old as ratings take (a month,
    with a completed sale) so the trust level follows from them."""
    total = positive + negative
    if total:
        user.created_at = min(user.created_at, utcnow() - timedelta(days=30))
        OrderFactory(listing=ListingFactory(seller=user))
    db.session.merge(
        ReputationScore(
            user_id=user.id,
            role=role,
            trust=0.8,
            confidence=0.5,
            feedback_score=positive - negative,
            percent_positive=100.0 * positive / total if total else None,
            positive=positive,
            neutral=0,
            negative=negative,
            counts={m: [positive, 0, negative] for m in ("1", "6", "12")},
            flags=[],
            explanation=[],
            computed_at=utcnow(),
        )
    )
    db.session.commit()
    return user


def organizer(handle: str | None = None):
    """A member who meets the rule for starting a club."""
    user = UserFactory(handle=handle) if handle else UserFactory()
    return rated(user, 5)


def club_of(owner=None, **fields):
    """A club started by `owner` (a privileged member by default)."""
    owner = owner or organizer()
    fields.setdefault("name", "Riverside bulk food")
    return clubs.create_club(owner.id, **fields)
