"""Provider operations as an outbox: the decision to refund, pay out, reverse a payout,
capture or release is recorded (with its ledger entry) in the caller's unit of work; the
provider call runs after the commit, with the operation key as idempotency key, and is retried
until it succeeds or fails for good. Before each attempt we ask the provider whether an earlier
attempt already acted (its answer may have been lost, or we may have crashed before recording
it), so an operation can never act twice even where a provider forgets idempotency keys.
"""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app import metrics
from app.db import utcnow
from app.errors import DomainError
from app.extensions import db
from app.payments import ledger
from app.payments.models import PaymentProfile, ProviderOperation
from app.payments.providers import get_provider
from app.payments.providers.base import (
    NotSupported,
    PaymentDeclined,
    ProviderRejected,
    ProviderUnavailable,
    with_retries,
)

logger = logging.getLogger(__name__)

_STAGED = "payments.staged_operations"
_READY = "payments.ready_operations"


class NotReady(Exception):
    """The operation cannot run yet (e.g. the seller has no payout account); retry later."""


def stage(op: ProviderOperation) -> None:
    """Run this operation once the current unit of work commits (see run_ready)."""
    db.session.info.setdefault(_STAGED, []).append(op.operation_key)


@event.listens_for(Session, "after_commit")
def _promote_staged(session: Session) -> None:
    staged = session.info.pop(_STAGED, None)
    if staged:
        session.info.setdefault(_READY, []).extend(staged)


@event.listens_for(Session, "after_rollback")
def _forget_staged(session: Session) -> None:
    session.info.pop(_STAGED, None)


def run_ready() -> int:
    """Run the operations committed by this session's earlier units of work. Returns how many
    succeeded; failures stay pending for the due job."""
    keys = db.session.info.pop(_READY, None) or []
    done = 0
    for key in keys:
        op_id = db.session.scalar(
            select(ProviderOperation.id).where(ProviderOperation.operation_key == key)
        )
        if op_id is not None and run(op_id).status == "succeeded":
            done += 1
    return done


def run_pending(now=None) -> int:
    """Run every pending operation once (a due job; idempotent). Returns how many succeeded."""
    ids = list(
        db.session.scalars(
            select(ProviderOperation.id)
            .where(ProviderOperation.status == "pending")
            .order_by(ProviderOperation.id)
        )
    )
    return sum(1 for op_id in ids if run(op_id).status == "succeeded")


def run(op_id: int) -> ProviderOperation:
    """Execute one pending operation (one unit of work). Transient failures leave it pending;
    a permanent refusal marks it failed for a person to look at (reconcile reports it)."""
    op = db.session.get(ProviderOperation, op_id)
    if op is None or op.status != "pending":
        return op
    provider = get_provider()
    op.attempts += 1
    db.session.commit()  # the attempt is on record before the provider hears of it
    config = current_app.config
    try:
        ref = with_retries(
            lambda: _perform(provider, op),
            attempts=config.get("PAYMENT_RETRY_ATTEMPTS", 3),
            base_delay=config.get("PAYMENT_RETRY_BASE_DELAY", 0.5),
            what=f"operation {op.operation_key}",
        )
    except (ProviderUnavailable, NotReady) as error:
        db.session.rollback()
        op = db.session.get(ProviderOperation, op_id)
        op.last_error = _message(error)
        db.session.commit()
        metrics.observe_payment_operation(provider.name, op.kind, "pending")
        return op
    except (PaymentDeclined, ProviderRejected, NotSupported) as error:
        db.session.rollback()
        op = db.session.get(ProviderOperation, op_id)
        op.status = "failed"
        op.last_error = _message(error)
        db.session.commit()
        logger.error("operation %s failed for good: %s", op.operation_key, op.last_error)
        metrics.observe_payment_operation(provider.name, op.kind, "failed")
        return op
    settle(op, ref)
    db.session.commit()
    metrics.observe_payment_operation(provider.name, op.kind, "succeeded")
    return op


def retry(op_id: int) -> ProviderOperation:
    """Put a failed operation back in the queue (after a person fixed the cause) and run it."""
    op = db.session.get(ProviderOperation, op_id)
    if op is None:
        raise DomainError("No such operation.")
    if op.status == "failed":
        op.status = "pending"
        db.session.commit()
    return run(op.id)


def _message(error: Exception) -> str:
    text = error.message if isinstance(error, DomainError) else str(error)
    return (text or type(error).__name__)[:300]


def _perform(provider, op: ProviderOperation) -> str:
    """One attempt: find what an earlier attempt did, or act now. Returns the provider ref."""
    payment = op.payment
    if op.kind == "refund":
        _after_reversals(op)
        for refund in provider.list_refunds(payment.provider_ref) if provider.holds_funds else []:
            if refund.metadata.get("operation_key") == op.operation_key:
                return refund.ref
        refund = provider.refund(
            payment.provider_ref,
            amount_cents=op.amount_cents,
            idempotency_key=op.operation_key,
            metadata={"payment_id": str(payment.id)},
        )
        return refund.ref
    if op.kind == "transfer":
        transfer_group = f"{payment.subject_type}_{payment.subject_id}" if payment else None
        account_ref = _payout_account(provider, op.user_id)  # no account: nothing was sent
        if provider.holds_funds:
            found = provider.find_transfer(
                operation_key=op.operation_key, transfer_group=transfer_group
            )
            if found is not None:
                return found.ref
        transfer = provider.transfer(
            account_ref=account_ref,
            amount_cents=op.amount_cents,
            currency=op.currency,
            idempotency_key=op.operation_key,
            transfer_group=transfer_group,
            metadata={"user_id": str(op.user_id)},
        )
        return transfer.ref
    if op.kind == "reversal":
        transfer = _reversed_transfer(op)
        if provider.holds_funds:
            found = provider.find_reversal(transfer.provider_ref, operation_key=op.operation_key)
            if found is not None:
                return found.ref
        return provider.reverse_transfer(
            transfer.provider_ref,
            amount_cents=op.amount_cents,
            idempotency_key=op.operation_key,
            metadata={"payment_id": str(payment.id), "user_id": str(op.user_id)},
        ).ref
    if op.kind in ("cancel", "capture") and not provider.holds_funds:
        # In person there is nothing to look up: the hold is collected or given back by hand.
        call = provider.cancel_payment if op.kind == "cancel" else provider.capture_payment
        kwargs = {} if op.kind == "cancel" else {"amount_cents": op.amount_cents}
        return call(payment.provider_ref, idempotency_key=op.operation_key, **kwargs).ref
    if op.kind in ("cancel", "capture"):
        current = provider.retrieve_payment(payment.provider_ref)
        if op.kind == "cancel":
            if current.status in ("canceled", "succeeded"):
                return current.ref  # nothing left to release (a success is refunded apart)
            return provider.cancel_payment(
                payment.provider_ref, idempotency_key=op.operation_key
            ).ref
        if current.status == "succeeded":
            return current.ref
        return provider.capture_payment(
            payment.provider_ref, idempotency_key=op.operation_key, amount_cents=op.amount_cents
        ).ref
    raise NotSupported(f"unknown operation kind {op.kind!r}")


def _after_reversals(refund: ProviderOperation) -> None:
    """A refund after release pays the payer once the money taken back by transfer reversals
    decided with it (or before it) has come back."""
    waiting = db.session.scalar(
        select(ProviderOperation.id).where(
            ProviderOperation.payment_id == refund.payment_id,
            ProviderOperation.kind == "reversal",
            ProviderOperation.status != "succeeded",
            ProviderOperation.id < refund.id,
        )
    )
    if waiting is not None:
        raise NotReady("Waiting for the money to come back from the payout first.")


def _reversed_transfer(op: ProviderOperation) -> ProviderOperation:
    """The payout a reversal takes money back from (its key starts with the payout's)."""
    transfer = db.session.scalar(
        select(ProviderOperation).where(
            ProviderOperation.operation_key == op.operation_key.split(":reversal:")[0]
        )
    )
    if transfer is None:
        raise NotSupported(f"no payout for {op.operation_key}")
    if transfer.status != "succeeded":
        raise NotReady("Waiting for the payout to be made before taking part of it back.")
    return transfer


def _payout_account(provider, user_id: int | None) -> str:
    if not provider.holds_funds:
        return f"in-person:{user_id}"
    profile = db.session.scalar(
        select(PaymentProfile).where(
            PaymentProfile.user_id == user_id, PaymentProfile.provider == provider.name
        )
    )
    if profile is None or not profile.account_ref:
        raise NotReady("Waiting for the seller to set up payouts.")
    if not profile.payouts_enabled:
        raise NotReady("Waiting for the seller's payout account to be approved.")
    return profile.account_ref


def settle(op: ProviderOperation, ref: str) -> None:
    """Record that the provider did what the operation asked: the ledger moves the money out of
    the pending account. Idempotent through the ledger's operation keys."""
    payment = op.payment
    subject = (payment.subject_type, payment.subject_id) if payment else None
    # Settled in person, the money changed hands when the step was decided, not when we
    # recorded it; a provider's transfer or refund happens now.
    at = op.created_at if payment is not None and payment.provider == "manual" else utcnow()
    op.provider_ref = ref
    op.status = "succeeded"
    op.last_error = None
    op.updated_at = utcnow()
    if op.kind == "refund":
        ledger.post(
            f"{op.operation_key}:paid",
            "refund_paid",
            op.currency,
            [
                ledger.Leg(ledger.REFUNDS_PENDING, -op.amount_cents),
                ledger.Leg(ledger.REFUNDS_PAID, op.amount_cents),
            ],
            description=_describe(payment, "Refund returned to the payer"),
            subject=subject,
            payment_id=payment.id if payment else None,
            at=at,
        )
    elif op.kind == "transfer":
        ledger.post(
            f"{op.operation_key}:paid",
            "payout_paid",
            op.currency,
            [
                ledger.Leg(ledger.PAYABLE, -op.amount_cents, user_id=op.user_id),
                ledger.Leg(ledger.PAYOUTS_PAID, op.amount_cents),
            ],
            description=_describe(
                payment,
                "Settled in person" if payment and payment.provider == "manual" else "Paid out",
            ),
            subject=subject,
            payment_id=payment.id if payment else None,
            at=at,
        )
    elif op.kind == "reversal":
        # The money came back from the payee: it joins what is owed back to the payer, or,
        # for a chargeback (its key says so), what the card issuer already gave back.
        charged_back = ":chargeback:" in op.operation_key
        ledger.post(
            f"{op.operation_key}:paid",
            "reversal_paid",
            op.currency,
            [
                ledger.Leg(ledger.PAYOUTS_PAID, -op.amount_cents),
                ledger.Leg(
                    ledger.CHARGEBACKS if charged_back else ledger.REFUNDS_PENDING,
                    op.amount_cents,
                ),
            ],
            description=_describe(
                payment,
                "Handed back in person"
                if payment and payment.provider == "manual"
                else "Taken back from the payout",
            ),
            subject=subject,
            payment_id=payment.id if payment else None,
            at=at,
        )
    elif op.kind == "capture":
        from app.payments.money import post_capture
        from app.payments.subjects import hooks_for

        post_capture(payment, op.amount_cents, at=at)
        # A captured hold is a payment that succeeded: its kind hears of it in the same unit
        # of work (a loan pays the part of the deposit it kept to the lender).
        hooks = hooks_for(payment.subject_type)
        if hooks is not None and hooks.on_payment_succeeded is not None:
            hooks.on_payment_succeeded(payment)
    logger.info("operation %s succeeded (%s)", op.operation_key, ref)


def _describe(payment, what: str) -> str:
    if payment is None:
        return what
    return f"{what}: {payment.subject_type} #{payment.subject_id}"
