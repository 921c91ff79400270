"""Helpers for the moderation tests: members with a reputation trust, reports and moderators."""

from __future__ import annotations

from app.db import utcnow
from app.extensions import db
from app.reviews.models import ReputationScore
from tests.factories import UserFactory


def trusted(trust: float = 0.95, **kwargs):
    """A member whose stored reputation trust is `trust` (overall)."""
    user = UserFactory(**kwargs)
    row = ReputationScore(
        user_id=user.id, role="overall", trust=trust, confidence=0.9, feedback_score=20,
        percent_positive=100.0, positive=20, neutral=0, negative=0, counts={}, flags=[],
        explanation=[], computed_at=utcnow(),
    )  # fmt: skip
    db.session.add(row)
    db.session.commit()
    return user


def moderator(**kwargs):
    return UserFactory(is_moderator=True, **kwargs)
