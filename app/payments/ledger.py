"""The double-entry ledger: accounts, posting a transaction, balances and the invariants.

Sign convention: a positive line means the account holds more. Every transaction's lines sum
to zero, so money is never created or lost, only moved. External accounts (customer funding,
refunds paid out, payouts paid out) go negative as money enters or positive as it leaves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.db import utcnow
from app.extensions import db
from app.payments.models import LedgerAccount, LedgerLine, LedgerTransaction

logger = logging.getLogger(__name__)

# System accounts, one per currency.
CUSTOMER_FUNDING = "customer_funding"  # money that came in from payers (card or in person)
ESCROW = "escrow"  # order payments held until the order completes
AUTHORIZED = "holds_authorized"  # card holds not captured yet, or money held in person
DEPOSITS_HELD = "deposits_held"  # loan deposits held (next issue)
PLEDGES_HELD = "pledges_held"  # group-deal pledges charged, not yet settled (next issue)
PLATFORM_FEES = "platform_fees"  # the platform's earnings
REFUNDS_PENDING = "refunds_pending"  # owed back to payers, refund not yet confirmed
REFUNDS_PAID = "refunds_paid"  # money returned to payers
PAYOUTS_PAID = "payouts_paid"  # money that left to users (transfers, or settled in person)
# Money a payer's card issuer took back by a chargeback: the part of a charged-back payment a
# decision gives back to the payer is booked here, never refunded by the provider as well.
CHARGEBACKS = "chargebacks_returned"
SYSTEM_ACCOUNTS = (
    CUSTOMER_FUNDING,
    ESCROW,
    AUTHORIZED,
    DEPOSITS_HELD,
    PLEDGES_HELD,
    PLATFORM_FEES,
    REFUNDS_PENDING,
    REFUNDS_PAID,
    PAYOUTS_PAID,
    CHARGEBACKS,
)
# A user's account: what the platform owes them (proceeds not yet paid out).
PAYABLE = "payable"

ACCOUNT_LABELS = {
    CUSTOMER_FUNDING: "Customer funding",
    ESCROW: "Escrow",
    AUTHORIZED: "Holds authorized",
    DEPOSITS_HELD: "Deposits held",
    PLEDGES_HELD: "Pledges held",
    PLATFORM_FEES: "Platform fees",
    REFUNDS_PENDING: "Refunds pending",
    REFUNDS_PAID: "Refunds paid",
    PAYOUTS_PAID: "Payouts paid",
    CHARGEBACKS: "Returned by card issuers",
    PAYABLE: "Payable",
}


class UnbalancedTransaction(ValueError):
    """A transaction whose lines do not sum to zero (a programming error, never user input)."""


def account_code(kind: str, currency: str, user_id: int | None = None) -> str:
    """The stable code of an account: 'escrow:USD', 'user:12:payable:USD'."""
    currency = currency.upper()
    if user_id is not None:
        return f"user:{user_id}:{kind}:{currency}"
    if kind not in SYSTEM_ACCOUNTS:
        raise ValueError(f"unknown system account {kind!r}")
    return f"{kind}:{currency}"


def get_account(kind: str, currency: str, user_id: int | None = None) -> LedgerAccount:
    """The account, created on first use (a concurrent creator wins; we then read theirs)."""
    code = account_code(kind, currency, user_id)
    account = db.session.scalar(select(LedgerAccount).where(LedgerAccount.code == code))
    if account is not None:
        return account
    try:
        with db.session.begin_nested():
            account = LedgerAccount(
                code=code, kind=kind, user_id=user_id, currency=currency.upper(), balance_cents=0
            )
            db.session.add(account)
    except IntegrityError:
        account = db.session.scalar(select(LedgerAccount).where(LedgerAccount.code == code))
    return account


@dataclass
class Leg:
    """One side of a posting: an account (kind + optional user) and a signed amount."""

    kind: str
    amount_cents: int
    user_id: int | None = None


def transaction_for(operation_key: str) -> LedgerTransaction | None:
    """The transaction already posted under this operation key, if any."""
    return db.session.scalar(
        select(LedgerTransaction).where(LedgerTransaction.operation_key == operation_key)
    )


def post(
    operation_key: str,
    kind: str,
    currency: str,
    legs: Iterable[Leg],
    *,
    description: str,
    subject: tuple[str, int] | None = None,
    payment_id: int | None = None,
    corrects_id: int | None = None,
    at: datetime | None = None,
) -> LedgerTransaction:
    """Post one balanced transaction, once: posting again under the same operation key returns
    the first transaction unchanged. `at`: when the money moved (the step's own time, which a
    due job or an import may set), now by default. Does not commit (the caller's unit of work
    does)."""
    existing = transaction_for(operation_key)
    if existing is not None:
        return existing
    legs = [leg for leg in legs if leg.amount_cents != 0]
    if any(
        isinstance(leg.amount_cents, bool) or not isinstance(leg.amount_cents, int) for leg in legs
    ):
        raise UnbalancedTransaction("ledger amounts must be integers of minor units")
    if not legs or sum(leg.amount_cents for leg in legs) != 0:
        raise UnbalancedTransaction(f"{operation_key}: lines must sum to zero: {legs}")
    txn = LedgerTransaction(
        operation_key=operation_key,
        kind=kind,
        currency=currency.upper(),
        description=description[:200],
        subject_type=subject[0] if subject else None,
        subject_id=subject[1] if subject else None,
        payment_id=payment_id,
        corrects_id=corrects_id,
        created_at=at or utcnow(),
    )
    db.session.add(txn)
    db.session.flush()
    for leg in legs:
        account = get_account(leg.kind, currency, leg.user_id)
        db.session.add(
            LedgerLine(
                transaction_id=txn.id,
                account_id=account.id,
                amount_cents=leg.amount_cents,
                created_at=txn.created_at,
            )
        )
        # An atomic increment: two postings at once cannot lose an update of the cached balance.
        db.session.execute(
            update(LedgerAccount)
            .where(LedgerAccount.id == account.id)
            .values(balance_cents=LedgerAccount.balance_cents + leg.amount_cents)
            .execution_options(synchronize_session=False)
        )
        db.session.expire(account, ["balance_cents"])
    db.session.flush()
    logger.info("ledger %s posted (%s, %s)", operation_key, kind, currency)
    return txn


def balance(kind: str, currency: str, user_id: int | None = None) -> int:
    """The balance of one account (0 if it was never used), summed from its lines."""
    code = account_code(kind, currency, user_id)
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerLine.amount_cents), 0))
            .join(LedgerAccount, LedgerAccount.id == LedgerLine.account_id)
            .where(LedgerAccount.code == code)
        )
        or 0
    )


def subject_balance(kind: str, subject: tuple[str, int], user_id: int | None = None) -> int:
    """What one account holds for one subject (e.g. escrow for order 12), over all currencies."""
    query = (
        select(func.coalesce(func.sum(LedgerLine.amount_cents), 0))
        .join(LedgerAccount, LedgerAccount.id == LedgerLine.account_id)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerLine.transaction_id)
        .where(
            LedgerAccount.kind == kind,
            LedgerTransaction.subject_type == subject[0],
            LedgerTransaction.subject_id == subject[1],
        )
    )
    if user_id is not None:
        query = query.where(LedgerAccount.user_id == user_id)
    return int(db.session.scalar(query) or 0)


@dataclass
class VerifyReport:
    """What `verify()` found: each failed invariant is one line in `problems`."""

    transactions: int = 0
    accounts: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify() -> VerifyReport:
    """Check every invariant of the ledger: each transaction sums to zero and has lines, each
    account's cached balance equals the sum of its lines, each line's account matches its
    transaction's currency, and every registered invariant of a holding account (escrow
    against the open orders' held money, registered by orders)."""
    report = VerifyReport()
    report.transactions = db.session.scalar(select(func.count(LedgerTransaction.id))) or 0
    report.accounts = db.session.scalar(select(func.count(LedgerAccount.id))) or 0

    sums = db.session.execute(
        select(
            LedgerTransaction.id,
            LedgerTransaction.operation_key,
            func.coalesce(func.sum(LedgerLine.amount_cents), 0),
            func.count(LedgerLine.id),
        )
        .outerjoin(LedgerLine, LedgerLine.transaction_id == LedgerTransaction.id)
        .group_by(LedgerTransaction.id, LedgerTransaction.operation_key)
    )
    for txn_id, key, total, count in sums:
        if count == 0:
            report.problems.append(f"transaction {txn_id} ({key}) has no lines")
        elif total != 0:
            report.problems.append(f"transaction {txn_id} ({key}) sums to {total}, not 0")

    mixed = db.session.execute(
        select(LedgerLine.id, LedgerTransaction.id)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerLine.transaction_id)
        .join(LedgerAccount, LedgerAccount.id == LedgerLine.account_id)
        .where(LedgerAccount.currency != LedgerTransaction.currency)
    )
    for line_id, txn_id in mixed:
        report.problems.append(f"line {line_id} of transaction {txn_id} mixes currencies")

    line_sums = dict(
        db.session.execute(
            select(LedgerLine.account_id, func.sum(LedgerLine.amount_cents)).group_by(
                LedgerLine.account_id
            )
        ).all()
    )
    for account in db.session.scalars(select(LedgerAccount).order_by(LedgerAccount.id)):
        summed = int(line_sums.get(account.id) or 0)
        if account.balance_cents != summed:
            report.problems.append(
                f"account {account.code} says {account.balance_cents} but its lines sum to {summed}"
            )

    report.problems.extend(_invariant_problems())
    return report


@dataclass(frozen=True)
class Invariant:
    """What one kind of subject says a holding account must hold for it: `expected()` answers
    {subject id: cents} (subjects left out must hold nothing)."""

    account: str
    subject_type: str
    expected: Callable[[], dict[int, int]]
    describe: str  # e.g. "open paid amount"


_INVARIANTS: dict[tuple[str, str], Invariant] = {}


def register_invariant(
    account: str, subject_type: str, expected: Callable[[], dict[int, int]], *, describe: str
) -> None:
    """Let `verify()` check that `account` holds, for each subject of `subject_type`, what
    `expected()` says (escrow against open orders; deposits and pledges later). Registering
    the same account and kind again replaces it."""
    if account not in SYSTEM_ACCOUNTS:
        raise ValueError(f"unknown system account {account!r}")
    _INVARIANTS[(account, subject_type)] = Invariant(account, subject_type, expected, describe)


def invariants() -> list[Invariant]:
    """The registered invariants, by account and kind."""
    return [_INVARIANTS[key] for key in sorted(_INVARIANTS)]


def held_by_subject(account: str, subject_type: str) -> dict[int, int]:
    """{subject id: what `account` holds for it} over the subjects of one kind."""
    return {
        subject_id: int(total)
        for subject_id, total in db.session.execute(
            select(LedgerTransaction.subject_id, func.sum(LedgerLine.amount_cents))
            .join(LedgerLine, LedgerLine.transaction_id == LedgerTransaction.id)
            .join(LedgerAccount, LedgerAccount.id == LedgerLine.account_id)
            .where(LedgerAccount.kind == account, LedgerTransaction.subject_type == subject_type)
            .group_by(LedgerTransaction.subject_id)
        )
    }


def _invariant_problems() -> list[str]:
    """Each registered invariant holds subject by subject, and each holding account with an
    invariant holds nothing beyond what its registered kinds account for."""
    problems = []
    accounted: dict[str, int] = {}
    for inv in invariants():
        held = held_by_subject(inv.account, inv.subject_type)
        expected = inv.expected()
        accounted[inv.account] = accounted.get(inv.account, 0) + sum(held.values())
        for subject_id in sorted(set(held) | set(expected)):
            if held.get(subject_id, 0) != expected.get(subject_id, 0):
                problems.append(
                    f"{inv.account} holds {held.get(subject_id, 0)} for {inv.subject_type} "
                    f"{subject_id}, but its {inv.describe} is {expected.get(subject_id, 0)}"
                )
    for account, by_kinds in sorted(accounted.items()):
        total = int(
            db.session.scalar(
                select(func.coalesce(func.sum(LedgerAccount.balance_cents), 0)).where(
                    LedgerAccount.kind == account
                )
            )
            or 0
        )
        if total != by_kinds:
            kinds = ", ".join(sorted(i.subject_type for i in invariants() if i.account == account))
            problems.append(f"{account} accounts hold {total} but {kinds} account for {by_kinds}")
    return problems
