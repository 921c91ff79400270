"""A user's statement: every ledger transaction that moved their money, in their words.

The words are registered per ledger transaction kind (and, where a kind's words differ by
subject, per subject type): payments registers its own (payouts), each kind of transaction
registers those of its steps (app/orders/money.py: an order's payment, refund and release).
A kind registered `for_parties` shows on the statements of a payment's payer and payee even
though its lines are on system accounts (the buyer's card payment held in escrow); the others
show to the owners of the accounts they move.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.pagination import page_number
from app.payments import ledger
from app.payments.models import LedgerAccount, LedgerLine, LedgerTransaction, Payment


@dataclass
class StatementEntry:
    at: datetime
    kind: str
    description: str
    amount_cents: int
    currency: str
    subject_type: str | None
    subject_id: int | None
    transaction_id: int

    def to_dict(self) -> dict:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data


@dataclass
class Statement:
    """A user's money: what they paid and got back, what they earned and were paid out."""

    user_id: int
    entries: list[StatementEntry]
    balances: dict[str, int]  # owed to the user, per currency
    page: int
    per_page: int
    total: int
    totals: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def to_dict(self) -> dict:
        return {
            "user_id": self.user_id,
            "balances": self.balances,
            "totals": self.totals,
            "page": self.page,
            "per_page": self.per_page,
            "total": self.total,
            "entries": [entry.to_dict() for entry in self.entries],
        }


@dataclass(frozen=True)
class Seen:
    """One ledger transaction as one statement owner sees it, for a label to word."""

    user_id: int
    txn: LedgerTransaction
    payment: Payment | None
    own_cents: int  # the sum of its lines on the owner's accounts
    moved_cents: int  # what it moved (the sum of its positive lines)


Label = Callable[[Seen], tuple[str, int]]

_LABELS: dict[tuple[str, str | None], Label] = {}
_PARTY_KINDS: set[str] = set()


def register_statement_label(
    kind: str, label: Label, *, subject_type: str | None = None, for_parties: bool = False
) -> None:
    """Word ledger transactions of `kind` (for one subject type, or any) on statements:
    `label(seen)` answers (description, signed amount for the owner)."""
    _LABELS[(kind, subject_type)] = label
    if for_parties:
        _PARTY_KINDS.add(kind)


def _payout_label(seen: Seen) -> tuple[str, int]:
    return "Paid out to your bank account", seen.own_cents


register_statement_label("payout_paid", _payout_label)


def _chargeback_label(seen: Seen) -> tuple[str, int]:
    """A charged-back payment's part given back to the payer: by the card issuer, not by us."""
    if seen.payment is not None and seen.payment.payer_id == seen.user_id:
        return "Returned to you by your card issuer (a chargeback)", seen.moved_cents
    return f"{seen.txn.description}", seen.own_cents


register_statement_label("chargeback_returned", _chargeback_label, for_parties=True)


def statement_for(user_id: int, page: int = 1, per_page: int = 50) -> Statement:
    """The user's statement, newest first, each entry dated when the money moved and signed from
    the user's side (+ came to them, - left them): the transactions of the payments they made
    or received (the kinds registered for parties) and those on their own accounts, except
    postings of payments settled in person (the money never passed through the platform)."""
    page = page_number(page)
    per_page = max(1, min(int(per_page), 200))
    own_accounts = select(LedgerAccount.id).where(LedgerAccount.user_id == user_id)
    as_party = select(Payment.id).where(
        or_(Payment.payer_id == user_id, Payment.payee_id == user_id)
    )
    in_person = select(Payment.id).where(Payment.provider == "manual")
    involving = select(LedgerTransaction.id).where(
        or_(
            LedgerTransaction.payment_id.in_(as_party)
            & LedgerTransaction.kind.in_(sorted(_PARTY_KINDS)),
            LedgerTransaction.id.in_(
                select(LedgerLine.transaction_id).where(LedgerLine.account_id.in_(own_accounts))
            )
            & or_(
                LedgerTransaction.payment_id.is_(None),
                LedgerTransaction.payment_id.not_in(in_person),
            ),
        )
    )
    total = db.session.scalar(select(func.count()).select_from(involving.subquery())) or 0
    txns = list(
        db.session.scalars(
            select(LedgerTransaction)
            .where(LedgerTransaction.id.in_(involving))
            .options(selectinload(LedgerTransaction.lines))
            .order_by(LedgerTransaction.created_at.desc(), LedgerTransaction.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    own_ids = set(db.session.scalars(own_accounts))
    paid_with = {
        payment.id: payment
        for payment in db.session.scalars(
            select(Payment).where(Payment.id.in_({t.payment_id for t in txns if t.payment_id}))
        )
    }
    entries = []
    for txn in txns:
        description, amount = _as_seen_by(user_id, txn, paid_with.get(txn.payment_id), own_ids)
        entries.append(
            StatementEntry(
                at=txn.created_at,
                kind=txn.kind,
                description=description,
                amount_cents=amount,
                currency=txn.currency,
                subject_type=txn.subject_type,
                subject_id=txn.subject_id,
                transaction_id=txn.id,
            )
        )
    balances = {
        account.currency: account.balance_cents
        for account in db.session.scalars(
            select(LedgerAccount).where(
                LedgerAccount.user_id == user_id, LedgerAccount.kind == ledger.PAYABLE
            )
        )
    }
    return Statement(
        user_id=user_id,
        entries=entries,
        balances=balances,
        page=page,
        per_page=per_page,
        total=total,
        totals=_totals(user_id),
    )


def _as_seen_by(
    user_id: int, txn: LedgerTransaction, payment: Payment | None, own_ids: set[int]
) -> tuple[str, int]:
    """One ledger transaction as the statement's owner reads it: the registered words and
    signed amount (unregistered kinds show the ledger's own text)."""
    seen = Seen(
        user_id=user_id,
        txn=txn,
        payment=payment,
        own_cents=sum(line.amount_cents for line in txn.lines if line.account_id in own_ids),
        moved_cents=sum(line.amount_cents for line in txn.lines if line.amount_cents > 0),
    )
    label = _LABELS.get((txn.kind, txn.subject_type)) or _LABELS.get((txn.kind, None))
    if label is None:
        return txn.description, seen.own_cents
    return label(seen)


def _totals(user_id: int) -> dict[str, dict[str, int]]:
    """Per currency: paid and refunded to the user (as a payer); received and given back in
    person (as a payee paid in person); earned after fees and paid out (paid by card)."""
    totals: dict[str, dict[str, int]] = {}

    def block(currency: str) -> dict[str, int]:
        return totals.setdefault(
            currency,
            {
                "paid": 0,
                "refunded": 0,
                "received_in_person": 0,
                "given_back_in_person": 0,
                "earned": 0,
                "paid_out": 0,
            },
        )

    as_payer = Payment.payer_id == user_id
    in_person_payee = (Payment.payee_id == user_id) & (Payment.provider == "manual")
    for currency, paid, refunded, received, given_back in db.session.execute(
        select(
            Payment.currency,
            func.sum(Payment.captured_cents).filter(as_payer),
            func.sum(Payment.refunded_cents).filter(as_payer),
            func.sum(Payment.captured_cents).filter(in_person_payee),
            func.sum(Payment.refunded_cents).filter(in_person_payee),
        )
        .where(or_(as_payer, in_person_payee), Payment.status == "succeeded")
        .group_by(Payment.currency)
    ):
        figures = block(currency)
        figures["paid"], figures["refunded"] = int(paid or 0), int(refunded or 0)
        figures["received_in_person"] = int(received or 0)
        figures["given_back_in_person"] = int(given_back or 0)
    for currency, amount, kind in db.session.execute(
        select(LedgerAccount.currency, func.sum(LedgerLine.amount_cents), LedgerTransaction.kind)
        .join(LedgerLine, LedgerLine.account_id == LedgerAccount.id)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerLine.transaction_id)
        .outerjoin(Payment, Payment.id == LedgerTransaction.payment_id)
        .where(
            LedgerAccount.user_id == user_id,
            LedgerAccount.kind == ledger.PAYABLE,
            or_(Payment.id.is_(None), Payment.provider != "manual"),
        )
        .group_by(LedgerAccount.currency, LedgerTransaction.kind)
    ):
        if kind == "payout_paid":
            block(currency)["paid_out"] += -int(amount or 0)
        else:
            block(currency)["earned"] += int(amount or 0)
    return totals
