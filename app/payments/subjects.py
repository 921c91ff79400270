"""What payments know about the subjects money is paid for: each kind (orders now; loans and
deals later) registers its hooks at app start, so payments never imports a kind.

    register_subject_hooks("order", lock=lock_order_money, on_payment_succeeded=order_paid,
                           holding="escrow")

`lock(subject_id)` serializes a decision about the subject's money with the kind's own steps
(row lock and guarded write); it answers False when the subject does not exist.
`on_payment_succeeded(payment)` runs in the unit of work that records a card payment's success.
`holding` names the ledger account that holds the kind's money (escrow for orders; deposits
and pledges later).

This is the payments' corner of the transaction-kind registry; it folds into
app/transactions/registry.py once every kind declares its money there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.payments.models import Payment


@dataclass(frozen=True)
class SubjectHooks:
    lock: Callable[[int], bool] | None = None
    on_payment_succeeded: Callable[[Payment], None] | None = None
    holding: str = "escrow"


_HOOKS: dict[str, SubjectHooks] = {}


def register_subject_hooks(
    kind: str,
    *,
    lock: Callable[[int], bool] | None = None,
    on_payment_succeeded: Callable[[Payment], None] | None = None,
    holding: str = "escrow",
) -> None:
    """Let payments reach subjects of `kind` (registering again replaces the hooks)."""
    _HOOKS[kind] = SubjectHooks(
        lock=lock, on_payment_succeeded=on_payment_succeeded, holding=holding
    )


def hooks_for(kind: str | None) -> SubjectHooks | None:
    """The hooks of a kind, None for a kind that registered none."""
    return _HOOKS.get(kind) if kind else None


def holding_account(kind: str | None) -> str:
    """The ledger account that holds the money of subjects of `kind` (escrow by default)."""
    hooks = hooks_for(kind)
    return hooks.holding if hooks is not None else "escrow"
