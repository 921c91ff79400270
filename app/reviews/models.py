"""Two-way, double-blind feedback after a transaction of any kind.

A feedback is one party's rating of another party of one transaction: unique per (transaction,
author, person rated), so a deal with many parties holds many pairs of ratings. The transaction
is (subject_kind, subject_id), e.g. ("order", 12); the person rated is subject_user_id.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.accounts.models import User

RATINGS = ("positive", "neutral", "negative")


class Feedback(db.Model):
    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint(
            "subject_kind",
            "subject_id",
            "author_id",
            "subject_user_id",
            name="uq_feedback_subject_author_rated",
        ),
        CheckConstraint("rating IN ('positive', 'neutral', 'negative')", name="rating_known"),
        CheckConstraint("author_id <> subject_user_id", name="not_self"),
        CheckConstraint(
            "(detail_described IS NULL OR detail_described BETWEEN 1 AND 5) AND "
            "(detail_communication IS NULL OR detail_communication BETWEEN 1 AND 5) AND "
            "(detail_speed IS NULL OR detail_speed BETWEEN 1 AND 5)",
            name="details_in_range",
        ),
        Index("ix_feedback_rated_revealed", "subject_user_id", "revealed_at"),
        # A profile's newest feedback, read in order (a busy member has 11,000 of them).
        Index("ix_feedback_received_newest", "subject_user_id", "created_at", "id"),
        # "Was anything revealed since the last reputation pass?"
        Index("ix_feedback_revealed_at", "revealed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The transaction rated: its kind ("order", ...) and its id in that kind's table.
    subject_kind: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[int]
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    subject_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))  # the person rated
    author_role: Mapped[str] = mapped_column(String(20))  # buyer, seller, ...
    subject_role: Mapped[str] = mapped_column(String(20))
    rating: Mapped[str] = mapped_column(String(10))
    # Optional 1-5 detailed ratings in three slots; each pair of roles of a kind declares which
    # slots it uses and what they are called (FeedbackRules in app/transactions/registry.py).
    detail_described: Mapped[int | None]
    detail_communication: Mapped[int | None]
    detail_speed: Mapped[int | None]
    comment: Mapped[str] = mapped_column(Text, default="")
    # A snapshot of the transaction: what it was and its value (for lists and reputation).
    title: Mapped[str] = mapped_column(String(120), default="")
    amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revealed_at: Mapped[datetime | None]  # None while double-blind
    # Hidden or removed by a moderator for breaking a feedback rule (app/moderation): shown
    # with the reason in its place, and no longer counted in reputation.
    is_withheld: Mapped[bool] = mapped_column(default=False, server_default=false())
    reply: Mapped[str | None] = mapped_column(Text)
    reply_at: Mapped[datetime | None]

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    subject: Mapped[User] = relationship(foreign_keys=[subject_user_id])  # the person rated

    @property
    def is_revealed(self) -> bool:
        return self.revealed_at is not None

    @property
    def order_id(self) -> int | None:
        """The order rated, for feedback on an order (the API has always said `order_id`)."""
        return self.subject_id if self.subject_kind == "order" else None


class ReputationScore(db.Model):
    """The engine's latest score of one user, overall (role "overall") or in one role.

    A cache of `reputation.compute` over every revealed feedback: a full pass builds a new
    table and swaps it in (reputation_io), so the table has no surrogate id (a sequence would
    lose a few hundred thousand numbers per pass) and no foreign key (keeping it would lock
    `users` during the swap; every user_id comes from feedback, whose keys are checked).
    """

    __tablename__ = "reputation_scores"

    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)  # "overall", "seller", ...
    trust: Mapped[float]
    confidence: Mapped[float]
    feedback_score: Mapped[int]
    percent_positive: Mapped[float | None]  # 12 months; None without a positive or negative
    positive: Mapped[int]
    neutral: Mapped[int]
    negative: Mapped[int]
    # {"1": [p, n, m], "6": [...], "12": [...]}: units over the last 1 / 6 / 12 months.
    counts: Mapped[dict] = mapped_column(JSON)
    flags: Mapped[list] = mapped_column(JSON)
    explanation: Mapped[list] = mapped_column(JSON)  # [{"name", "impact", "description"}]
    computed_at: Mapped[datetime]

    @property
    def ratings(self) -> int:
        """All-time feedback units received (one rater counts at most once a week)."""
        return self.positive + self.neutral + self.negative

    def window(self, months: int) -> tuple[int, int, int]:
        """(positive, neutral, negative) units over the last 1, 6 or 12 months."""
        positive, neutral, negative = (self.counts or {}).get(str(months), (0, 0, 0))
        return positive, neutral, negative


class ReputationSnapshot(db.Model):
    """A user's overall trust on one day, for the chart of the score over time (one row a
    day; role is always "overall" since the chart shows the overall score)."""

    __tablename__ = "reputation_snapshots"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "day", name="uq_reputation_snapshots_user_role_day"),
        # A pass rewrites one day's points: found through this index, not a scan of history.
        Index("ix_reputation_snapshots_day", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(20))
    day: Mapped[date]
    trust: Mapped[float]
    confidence: Mapped[float]
    feedback_score: Mapped[int]


class ReputationRun(db.Model):
    """One pass of the engine: when the due job last ran, and how big it was."""

    __tablename__ = "reputation_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    events: Mapped[int]
    users: Mapped[int]
    duration_ms: Mapped[int]
    computed_at: Mapped[datetime] = mapped_column(index=True)
