"""Payments: the public face of the package, one import for pages, the API, jobs and tools.

The package by responsibility:
  money.py       money for any subject: payments, ledger postings, provider operations decided
                 with them, card payments and their state at the provider
  operations.py  the outbox of provider calls (refund, transfer, capture, cancel), run after commit
  statement.py   a user's statement, worded by the labels registered per ledger kind
  payouts.py     payout accounts (Connect onboarding and status)
  reconcile.py   recovery: pending operations and the provider compared with our records
  webhooks.py    provider events applied once
  subjects.py    the hooks through which payments reach a kind (orders: app/orders/money.py)
"""

from __future__ import annotations

from app.payments.models import Payment
from app.payments.money import (
    apply_remote_payment,
    fee_for,
    settles_in_person,
    sync_payment,
)
from app.payments.payouts import (
    PayoutStatus,
    apply_account,
    payout_status,
    refresh_payout_account,
    start_payout_onboarding,
)
from app.payments.reconcile import ReconcileReport, reconcile, run_pending_operations
from app.payments.statement import Statement, StatementEntry, statement_for

__all__ = [
    "Payment",
    "PayoutStatus",
    "ReconcileReport",
    "Statement",
    "StatementEntry",
    "apply_account",
    "apply_remote_payment",
    "fee_for",
    "payout_status",
    "reconcile",
    "refresh_payout_account",
    "run_pending_operations",
    "settles_in_person",
    "start_payout_onboarding",
    "statement_for",
    "sync_payment",
]
