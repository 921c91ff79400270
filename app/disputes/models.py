"""A dispute about one transaction of any kind (one per transaction), its evidence photos, and
how it ended."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.db import utcnow
from app.extensions import db

STATUSES = ("open", "answered", "decided")
SOURCES = ("member", "chargeback")


class Dispute(db.Model):
    """A party's complaint about a transaction (or a cardholder's chargeback), the other side's
    answer, and the moderator's decision: `awarded_cents` of the stake to the payee (seller,
    lender), `refunded_cents` back to the payer. Private to the parties and moderators; the
    decision also appears, without the evidence, in the public moderation log."""

    __tablename__ = "disputes"
    __table_args__ = (
        UniqueConstraint("subject_kind", "subject_id"),
        CheckConstraint("status IN ('open', 'answered', 'decided')", name="status_known"),
        CheckConstraint("source IN ('member', 'chargeback')", name="source_known"),
        CheckConstraint("stake_cents >= 0", name="stake_not_negative"),
        CheckConstraint(
            "(status = 'decided') = (awarded_cents IS NOT NULL)", name="award_when_decided"
        ),
        CheckConstraint(
            "awarded_cents IS NULL OR (awarded_cents >= 0 AND refunded_cents >= 0 "
            "AND awarded_cents + refunded_cents = stake_cents)",
            name="decision_divides_stake",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int]
    source: Mapped[str] = mapped_column(String(12), default="member")
    # Who opened it (None: the card network, for a chargeback) and who answers it.
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    respondent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    opener_role: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    # The stake when it was opened: what a decision divides (app/transactions/registry.Stake).
    stake_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(10), default="open")
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    awarded_cents: Mapped[int | None] = mapped_column(BigInteger)
    refunded_cents: Mapped[int | None] = mapped_column(BigInteger)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    # The card network's dispute (charge.dispute.created), once per provider dispute.
    provider_ref: Mapped[str | None] = mapped_column(String(100), unique=True)

    opened_by: Mapped[User | None] = relationship(foreign_keys=[opened_by_id])
    respondent: Mapped[User] = relationship(foreign_keys=[respondent_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    photos: Mapped[list[DisputePhoto]] = relationship(
        back_populates="dispute",
        order_by="(DisputePhoto.side, DisputePhoto.position)",
        cascade="all, delete-orphan",
    )

    @property
    def is_decided(self) -> bool:
        return self.status == "decided"

    def photos_of(self, side: str) -> list[DisputePhoto]:
        return [photo for photo in self.photos if photo.side == side]


class DisputePhoto(db.Model):
    """Evidence: a photo by the side that opened the dispute or by the side that answered
    (re-encoded like listing photos: app/media.py)."""

    __tablename__ = "dispute_photos"
    __table_args__ = (CheckConstraint("side IN ('opener', 'respondent')", name="side_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id"), index=True)
    side: Mapped[str] = mapped_column(String(10))
    position: Mapped[int] = mapped_column(default=0)
    image_path: Mapped[str] = mapped_column(String(255))
    thumb_path: Mapped[str] = mapped_column(String(255))
    width: Mapped[int]
    height: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    dispute: Mapped[Dispute] = relationship(back_populates="photos")


OFFER_STATUSES = ("open", "accepted", "declined", "replaced")


class RefundOffer(db.Model):
    """A refund one party proposes to the other (a counter-offer replaces the open one): how
    much of the stake goes back to the payer. Accepted, it is carried out like a moderator's
    decision (the kind's `DisputeRules.carry_out`)."""

    __tablename__ = "refund_offers"
    __table_args__ = (
        CheckConstraint(
            "status IN ('open', 'accepted', 'declined', 'replaced')", name="status_known"
        ),
        CheckConstraint("refund_cents >= 0 AND refund_cents <= stake_cents", name="within_stake"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int]
    proposer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    proposer_role: Mapped[str] = mapped_column(String(20))
    refund_cents: Mapped[int] = mapped_column(BigInteger)
    stake_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    proposer: Mapped[User] = relationship(foreign_keys=[proposer_id])
