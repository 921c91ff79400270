"""Payments data: the double-entry ledger, payment records, provider operations and events.

Ledger lines are append-only (see `_refuse_changes`): a mistake is corrected by a new
transaction. Every ledger transaction carries a UNIQUE operation key, so a retried operation
cannot post twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import utcnow
from app.extensions import db


class LedgerAccount(db.Model):
    """One account of the ledger: a system account (escrow, platform fees, ...) per currency,
    or a user's account (payable to that user) per currency. `balance_cents` is a cache of the
    sum of its lines; `flask ledger verify` proves they agree."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (UniqueConstraint("code", name="code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # e.g. "escrow:USD", "user:12:payable:USD", "platform_fees:USD"
    code: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(30))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    balance_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerTransaction(db.Model):
    """One money movement. Its lines sum to zero."""

    __tablename__ = "ledger_transactions"
    __table_args__ = (UniqueConstraint("operation_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(String(200))
    # What it is about: ("order", 12), later ("loan", 3), ("pledge", 7).
    subject_type: Mapped[str | None] = mapped_column(String(20))
    subject_id: Mapped[int | None]
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    lines: Mapped[list[LedgerLine]] = relationship(
        back_populates="transaction", order_by="LedgerLine.id"
    )


Index(
    "ix_ledger_transactions_subject", LedgerTransaction.subject_type, LedgerTransaction.subject_id
)


class LedgerLine(db.Model):
    """A signed amount on one account. Positive: the account holds more; the lines of one
    transaction sum to zero."""

    __tablename__ = "ledger_lines"
    __table_args__ = (CheckConstraint("amount_cents <> 0", name="amount_not_zero"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    transaction: Mapped[LedgerTransaction] = relationship(back_populates="lines")
    account: Mapped[LedgerAccount] = relationship()


@event.listens_for(LedgerLine, "before_update")
@event.listens_for(LedgerLine, "before_delete")
@event.listens_for(LedgerTransaction, "before_update")
@event.listens_for(LedgerTransaction, "before_delete")
def _refuse_changes(_mapper, _connection, target) -> None:
    raise RuntimeError(
        f"{type(target).__name__} rows are append-only; post a correcting transaction instead."
    )


class Payment(db.Model):
    """Money a payer pays for a subject (an order now; a loan deposit or a pledge later), through
    one provider. Amounts are what the provider confirmed, in minor units."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("captured_cents >= 0", name="captured_not_negative"),
        CheckConstraint("refunded_cents >= 0", name="refunded_not_negative"),
        CheckConstraint("refunded_cents <= captured_cents", name="refund_within_captured"),
        UniqueConstraint("operation_key"),
        Index("ix_payments_subject", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_key: Mapped[str] = mapped_column(String(120))
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int]
    # "charge" (money to the platform now), "hold" (authorization, captured later),
    # "saved_card" (a SetupIntent, charged off-session later).
    kind: Mapped[str] = mapped_column(String(20), default="charge")
    payer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    payee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    provider_ref: Mapped[str | None] = mapped_column(String(120), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # created, requires_action, processing, authorized (a hold), capturing (our capture is on
    # its way), succeeded, failed, canceled
    status: Mapped[str] = mapped_column(String(20), default="created")
    captured_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    fee_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    transferred_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    is_disputed: Mapped[bool] = mapped_column(default=False)
    failure_message: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def held_cents(self) -> int:
        """What the platform still holds for this payment (captured minus refunded)."""
        return self.captured_cents - self.refunded_cents


class ProviderOperation(db.Model):
    """One call we make to a provider that moves money (refund, transfer, capture, cancel),
    recorded in the same unit of work as the decision to make it (an outbox), then executed
    with the operation key as idempotency key until it succeeds or fails for good."""

    __tablename__ = "payment_operations"
    __table_args__ = (
        UniqueConstraint("operation_key"),
        CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_key: Mapped[str] = mapped_column(String(120))
    # refund, transfer, reversal (of a transfer: a refund after release), capture, cancel
    kind: Mapped[str] = mapped_column(String(20))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # who receives it
    amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    # pending (to run or retry), succeeded, failed (needs a person; see reconcile), canceled (a
    # payout all taken back for a refund before it was sent)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    provider_ref: Mapped[str | None] = mapped_column(String(120))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    payment: Mapped[Payment | None] = relationship()


class ProviderEvent(db.Model):
    """A webhook event, recorded by its provider id so each is processed exactly once."""

    __tablename__ = "payment_provider_events"
    __table_args__ = (UniqueConstraint("provider", "event_id", name="provider"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(60))
    object_ref: Mapped[str | None] = mapped_column(String(120), index=True)
    # processed, ignored (nothing to do / unknown object), failed
    status: Mapped[str] = mapped_column(String(20), default="processed")
    payload: Mapped[str] = mapped_column(Text)
    event_created_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class PaymentProfile(db.Model):
    """A user's identities at the payment provider: customer (saved cards) and Connect
    account (payouts), with the account's status as last reported."""

    __tablename__ = "payment_profiles"
    __table_args__ = (UniqueConstraint("user_id", "provider", name="user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    provider: Mapped[str] = mapped_column(String(20))
    customer_ref: Mapped[str | None] = mapped_column(String(120), index=True)
    # The card saved for off-session charges (a SetupIntent that succeeded).
    payment_method_ref: Mapped[str | None] = mapped_column(String(120))
    account_ref: Mapped[str | None] = mapped_column(String(120), index=True)
    charges_enabled: Mapped[bool] = mapped_column(default=False)
    payouts_enabled: Mapped[bool] = mapped_column(default=False)
    details_submitted: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
