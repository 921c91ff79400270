"""Recovery: run pending provider operations, and compare the provider with our records
(repair what can be repaired, report what needs a person)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from app.extensions import db
from app.payments import operations
from app.payments.models import Payment, ProviderOperation
from app.payments.money import apply_remote_payment
from app.payments.money import retrying as _retrying
from app.payments.providers import get_provider


def run_pending_operations(now: datetime | None = None) -> int:
    """Run every pending provider operation once (a due job; idempotent)."""
    return operations.run_pending(now)


@dataclass
class ReconcileReport:
    checked: int = 0
    repaired: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def reconcile() -> ReconcileReport:
    """Compare the provider's state with ours and repair what can be repaired: run pending
    operations (each first looks for what an earlier attempt did), apply payments that
    succeeded or failed without us hearing of it, and report what needs a person."""
    report = ReconcileReport()
    provider = get_provider()
    for op_id in list(
        db.session.scalars(
            select(ProviderOperation.id).where(ProviderOperation.status == "pending")
        )
    ):
        op = operations.run(op_id)
        if op.status == "succeeded":
            report.repaired.append(f"operation {op.operation_key} completed")
        else:
            report.problems.append(
                f"operation {op.operation_key} still pending: {op.last_error or 'no answer'}"
            )
    for op in db.session.scalars(
        select(ProviderOperation).where(ProviderOperation.status == "failed")
    ):
        report.problems.append(f"operation {op.operation_key} failed: {op.last_error}")
    if not provider.holds_funds:
        return report
    payments = list(
        db.session.scalars(
            select(Payment)
            .where(Payment.provider == provider.name, Payment.provider_ref.is_not(None))
            .order_by(Payment.id)
        )
    )
    for payment in payments:
        report.checked += 1
        before = payment.status
        remote = _retrying(lambda p=payment: provider.retrieve_payment(p.provider_ref), "retrieve")
        apply_remote_payment(payment, remote)
        db.session.commit()
        if payment.status != before:
            report.repaired.append(f"payment {payment.id}: {before} -> {payment.status}")
        if payment.status == "succeeded" and remote.status == "succeeded":
            done = db.session.scalar(
                select(func.coalesce(func.sum(ProviderOperation.amount_cents), 0)).where(
                    ProviderOperation.payment_id == payment.id,
                    ProviderOperation.kind == "refund",
                    ProviderOperation.status == "succeeded",
                )
            )
            if remote.refunded_cents != done:
                report.problems.append(
                    f"payment {payment.id}: the provider refunded {remote.refunded_cents}, "
                    f"our ledger refunded {done}"
                )
            if remote.captured_cents != payment.captured_cents:
                report.problems.append(
                    f"payment {payment.id}: the provider captured {remote.captured_cents}, "
                    f"we recorded {payment.captured_cents}"
                )
    return report
