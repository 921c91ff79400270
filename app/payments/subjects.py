"""What payments know about the subjects money is paid for, read from each kind's registry
entry (`TransactionKind.money`, app/transactions/registry.py), so payments never imports a kind.
See MoneyRules for what a kind declares (app/orders/money.py declares orders')."""

from __future__ import annotations

from app.transactions.registry import MoneyRules, find_kind


def hooks_for(kind: str | None) -> MoneyRules | None:
    """The money rules of a kind, None for a kind that declared none."""
    registered = find_kind(kind) if kind else None
    return registered.money if registered is not None else None


def holding_account(kind: str | None) -> str:
    """The ledger account that holds the money of subjects of `kind` (escrow by default)."""
    hooks = hooks_for(kind)
    return hooks.holding if hooks is not None else "escrow"
