"""Two-way, double-blind feedback after a transaction."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.accounts.models import User
    from app.orders.models import Order

RATINGS = ("positive", "neutral", "negative")


class Feedback(db.Model):
    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("order_id", "author_id", name="uq_feedback_order_author"),
        CheckConstraint("rating IN ('positive', 'neutral', 'negative')", name="rating_known"),
        CheckConstraint("author_id <> subject_id", name="not_self"),
        CheckConstraint(
            "(detail_described IS NULL OR detail_described BETWEEN 1 AND 5) AND "
            "(detail_communication IS NULL OR detail_communication BETWEEN 1 AND 5) AND "
            "(detail_speed IS NULL OR detail_speed BETWEEN 1 AND 5)",
            name="details_in_range",
        ),
        Index("ix_feedback_subject_revealed", "subject_id", "revealed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    author_role: Mapped[str] = mapped_column(String(20))  # buyer, seller, ...
    subject_role: Mapped[str] = mapped_column(String(20))
    rating: Mapped[str] = mapped_column(String(10))
    # Optional 1-5 detailed ratings: item as described / communication / shipping or payment speed.
    detail_described: Mapped[int | None]
    detail_communication: Mapped[int | None]
    detail_speed: Mapped[int | None]
    comment: Mapped[str] = mapped_column(Text, default="")
    amount_cents: Mapped[int] = mapped_column(default=0)  # the transaction's value, for reputation
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revealed_at: Mapped[datetime | None]  # None while double-blind
    reply: Mapped[str | None] = mapped_column(Text)
    reply_at: Mapped[datetime | None]

    order: Mapped[Order] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    subject: Mapped[User] = relationship(foreign_keys=[subject_id])

    @property
    def is_revealed(self) -> bool:
        return self.revealed_at is not None
