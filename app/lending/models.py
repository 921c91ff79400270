"""Lending: a member lends a listed thing to another for some days, against a deposit.

The offer itself (a listing's loan terms and the days the lender blocks out) belongs to the
listing: app/listings/models.py (LoanOffer, LoanBlockout). A Loan is one borrowing of it, for
whole days from `starts_on` to `ends_on` (both included: it is due back by the end of
`ends_on`). Its terms are copied from the offer when it is requested, so later changes to the
offer never change a loan already asked for.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.accounts.models import User
    from app.listings.models import Listing


class Loan(db.Model):
    """One borrowing: who lends what to whom, for which days, on which terms, and where it is
    (state: app/lending/states.py)."""

    __tablename__ = "loans"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="dates_in_order"),
        CheckConstraint("days >= 1", name="days_positive"),
        CheckConstraint("fee_cents >= 0 AND deposit_cents >= 0", name="money_not_negative"),
        CheckConstraint("lender_id <> borrower_id", name="not_to_oneself"),
        CheckConstraint("late_days >= 0 AND late_fee_cents >= 0", name="lateness_not_negative"),
        # Overlap checks read the loans of one listing that hold its calendar.
        Index("ix_loans_listing_state_dates", "listing_id", "state", "starts_on", "ends_on"),
        Index("ix_loans_state_expires", "state", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"))
    lender_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # A snapshot of the thing and the terms: the listing and its offer may change later.
    title: Mapped[str] = mapped_column(String(120))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)  # included: due back by the end of this day
    days: Mapped[int]
    fee_cents: Mapped[int] = mapped_column(BigInteger)  # for all the days (pricing.quote)
    deposit_cents: Mapped[int] = mapped_column(BigInteger)
    late_fee_per_day_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    late_fee_cap_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    pickup_area: Mapped[str] = mapped_column(String(120), default="")
    state: Mapped[str] = mapped_column(String(20), default="requested", index=True)
    request_message: Mapped[str] = mapped_column(Text, default="")
    decline_note: Mapped[str | None] = mapped_column(Text)
    cancel_note: Mapped[str | None] = mapped_column(Text)
    return_note: Mapped[str | None] = mapped_column(Text)
    # How the deposit is secured (app/lending/money.py): "hold" (a card hold), "saved_card"
    # (charged off-session only if a claim is upheld), "in_person", or "none" (no deposit).
    deposit_method: Mapped[str] = mapped_column(String(12), default="none")
    # The lender's code the borrower types to confirm the handover on their own.
    handover_code: Mapped[str] = mapped_column(String(8))
    lender_handover_at: Mapped[datetime | None]  # each party's confirmation of the handover
    borrower_handover_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]  # an unanswered request expires then
    # Lateness, for the timeline and reputation: whole days past `ends_on` when it came back.
    late_days: Mapped[int] = mapped_column(default=0)
    late_fee_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    reminded_at: Mapped[datetime | None]  # the last due-date reminder sent
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    approved_at: Mapped[datetime | None]
    handed_over_at: Mapped[datetime | None]
    returned_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    declined_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    expired_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    disputed_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]

    listing: Mapped[Listing] = relationship()
    lender: Mapped[User] = relationship(foreign_keys=[lender_id])
    borrower: Mapped[User] = relationship(foreign_keys=[borrower_id])
    events: Mapped[list[LoanEvent]] = relationship(
        back_populates="loan", order_by="LoanEvent.id", cascade="all, delete-orphan"
    )
    claim: Mapped[DamageClaim | None] = relationship(back_populates="loan", uselist=False)

    def role_of(self, user_id: int | None) -> str | None:
        """'lender', 'borrower' or None for someone who is not a party."""
        if user_id == self.lender_id:
            return "lender"
        if user_id == self.borrower_id:
            return "borrower"
        return None

    @property
    def is_late(self) -> bool:
        return self.late_days > 0


class LoanEvent(db.Model):
    """One recorded step of a loan: who moved it from which state to which, and when."""

    __tablename__ = "loan_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the system
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    loan: Mapped[Loan] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class DamageClaim(db.Model):
    """The lender's claim on the deposit for damage, and the borrower's answer."""

    __tablename__ = "damage_claims"
    __table_args__ = (CheckConstraint("amount_cents >= 1", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), unique=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)  # at most the deposit (less late fee)
    description: Mapped[str] = mapped_column(Text)
    # None until answered; "accepted" or "disputed" (a moderator then decides: moderation).
    answer: Mapped[str | None] = mapped_column(String(12))
    answer_note: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    # What the lender finally received of the claim (set when the loan's money is settled).
    awarded_cents: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    loan: Mapped[Loan] = relationship(back_populates="claim")
    photos: Mapped[list[DamageClaimPhoto]] = relationship(
        order_by="DamageClaimPhoto.position", cascade="all, delete-orphan"
    )


class DamageClaimPhoto(db.Model):
    """A photo of the damage (re-encoded like listing photos: app/media.py)."""

    __tablename__ = "damage_claim_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("damage_claims.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    image_path: Mapped[str] = mapped_column(String(255))
    thumb_path: Mapped[str] = mapped_column(String(255))
    width: Mapped[int]
    height: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
