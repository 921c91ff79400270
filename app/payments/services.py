"""Payments: the rules for money. Orders call `on_order_transition` from their one transition
function; the web UI and the API call the public functions below (each one unit of work).

Order money, step by step (every step is one balanced ledger transaction):
  paid       customer funding -> escrow                 (card payment succeeded / cash received)
  cancelled  escrow -> refunds pending -> refunds paid  (refund operation at the provider)
  refund     escrow -> refunds pending -> refunds paid  (partial, by the seller, while held)
  completed  escrow -> payable to seller + platform fee -> payouts paid (transfer operation)
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import selectinload

from app.db import utcnow
from app.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from app.extensions import db
from app.pagination import page_number
from app.payments import ledger, operations
from app.payments.fees import platform_fee_cents
from app.payments.models import (
    LedgerAccount,
    LedgerLine,
    LedgerTransaction,
    Payment,
    PaymentProfile,
    ProviderOperation,
)
from app.payments.providers import get_provider
from app.payments.providers.base import ProviderPayment, with_retries

logger = logging.getLogger(__name__)

OPEN_ORDER_STATES = ("paid", "shipped", "delivered")
REASON_MAX = 300


class PaymentRequired(Conflict):
    code, default_message = "payment_required", "This order has not been paid yet."


class PaidInPerson(Conflict):
    code, default_message = "payment_in_person", "Payment is settled in person here."


class NothingToPay(Conflict):
    code, default_message = "nothing_to_pay", "This order is free: there is nothing to pay."


class NotRefundable(Conflict):
    code, default_message = "not_refundable", "Nothing is held for this order now."


def settles_in_person() -> bool:
    """Whether the configured provider leaves payment to the two people (the seller confirms
    it) rather than holding the money itself."""
    return not get_provider().holds_funds


# -- helpers -----------------------------------------------------------------------------------


def _retrying(call, what: str):
    config = current_app.config
    return with_retries(
        call,
        attempts=config.get("PAYMENT_RETRY_ATTEMPTS", 3),
        base_delay=config.get("PAYMENT_RETRY_BASE_DELAY", 0.5),
        what=what,
    )


def _order_payments(order_id: int, status: str | None = "succeeded") -> list[Payment]:
    query = select(Payment).where(Payment.subject_type == "order", Payment.subject_id == order_id)
    if status:
        query = query.where(Payment.status == status)
    # Read afresh: a decision about money must see what is stored now, not what this session
    # remembers from before it took the order's lock.
    return list(
        db.session.scalars(query.order_by(Payment.id).execution_options(populate_existing=True))
    )


def fee_for(payment: Payment, amount_cents: int) -> int:
    """The platform fee on `amount_cents` of this payment. Payments settled in person carry no
    fee: the money never passes through the platform."""
    if payment.provider == "manual":
        return 0
    config = current_app.config
    return platform_fee_cents(
        amount_cents, config["PLATFORM_FEE_BPS"], config["PLATFORM_FEE_FIXED_CENTS"]
    )


def _new_operation(
    key: str,
    kind: str,
    payment: Payment | None,
    amount_cents: int,
    user_id: int | None = None,
    *,
    at: datetime | None = None,
) -> ProviderOperation:
    op = ProviderOperation(
        operation_key=key,
        kind=kind,
        payment_id=payment.id if payment else None,
        user_id=user_id,
        amount_cents=amount_cents,
        currency=payment.currency if payment else current_app.config["SITE_CURRENCY"],
        status="pending",
        created_at=at or utcnow(),
    )
    db.session.add(op)
    db.session.flush()
    operations.stage(op)
    return op


# -- the order hook ----------------------------------------------------------------------------


def on_order_transition(
    order, action: str, from_state: str, *, now: datetime | None = None
) -> None:
    """Move the money that goes with an order's step, in the transition's unit of work (called
    by app.orders.services.transition only), dated `now`, the step's time. Provider calls run
    after its commit."""
    to_state = order.state
    if to_state == "paid":
        _fund_order(order, at=now)
    elif to_state == "cancelled":
        _cancel_order_money(order, from_state, at=now)
    elif to_state == "completed":
        _release_order(order, at=now)


def _fund_order(order, *, at: datetime | None = None) -> None:
    """customer funding -> escrow. With the manual provider the seller confirms that the buyer
    paid in person; with a card provider the buyer's payment must have succeeded first. A free
    order moves no money at all: no payment, no provider, no ledger entry."""
    if order.is_free:
        return
    payments = _order_payments(order.id)
    if not payments:
        if get_provider().holds_funds:
            raise PaymentRequired(
                "This order is paid by card: it is marked as paid when the buyer's payment "
                "succeeds."
            )
        payment = Payment(
            operation_key=f"order:{order.id}:in-person",
            subject_type="order",
            subject_id=order.id,
            kind="charge",
            payer_id=order.buyer_id,
            payee_id=order.seller_id,
            provider="manual",
            provider_ref=f"manual:order:{order.id}",
            amount_cents=order.total_cents,
            currency=order.currency,
            status="succeeded",
            captured_cents=order.total_cents,
        )
        db.session.add(payment)
        db.session.flush()
        payments = [payment]
    for payment in payments:
        _post_funding(payment, at=at)


def _post_funding(payment: Payment, *, at: datetime | None = None) -> None:
    ledger.post(
        f"{payment.subject_type}:{payment.subject_id}:funded:{payment.id}",
        f"{payment.subject_type}_funded",
        payment.currency,
        [
            ledger.Leg(ledger.CUSTOMER_FUNDING, -payment.captured_cents),
            ledger.Leg(ledger.ESCROW, payment.captured_cents),
        ],
        description=(
            f"Payment received for {payment.subject_type} #{payment.subject_id}"
            + (" (in person)" if payment.provider == "manual" else "")
        ),
        subject=(payment.subject_type, payment.subject_id),
        payment_id=payment.id,
        at=at,
    )


def _cancel_order_money(order, from_state: str, *, at: datetime | None = None) -> None:
    """Refund everything still held; release any card payment not yet made."""
    for payment in _order_payments(order.id):
        if payment.held_cents > 0 and _is_funded(payment):
            _decide_refund(payment, payment.held_cents, reason="Order cancelled", at=at)
    for payment in _order_payments(order.id, status=None):
        if payment.status in ("created", "requires_action", "processing", "authorized"):
            if payment.provider_ref and payment.provider != "manual":
                _new_operation(f"payment:{payment.id}:cancel", "cancel", payment, 0)
            payment.status = "canceled"


def _is_funded(payment: Payment) -> bool:
    return (
        ledger.transaction_for(f"{payment.subject_type}:{payment.subject_id}:funded:{payment.id}")
        is not None
    )


def _decide_refund(
    payment: Payment, amount_cents: int, *, reason: str, at: datetime | None = None
) -> ProviderOperation:
    """escrow -> refunds pending, and a refund operation for the provider. The guarded UPDATE
    makes two refunds at once unable to give back more than is held."""
    changed = db.session.execute(
        update(Payment)
        .where(
            Payment.id == payment.id,
            Payment.captured_cents - Payment.refunded_cents >= amount_cents,
        )
        .values(refunded_cents=Payment.refunded_cents + amount_cents, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        raise Conflict("That is more than what is still held for this order.")
    db.session.expire(payment, ["refunded_cents", "updated_at"])
    count = db.session.scalar(
        select(func.count(ProviderOperation.id)).where(
            ProviderOperation.payment_id == payment.id, ProviderOperation.kind == "refund"
        )
    )
    key = f"payment:{payment.id}:refund:{count + 1}"
    ledger.post(
        f"{key}:owed",
        "refund_owed",
        payment.currency,
        [
            ledger.Leg(ledger.ESCROW, -amount_cents),
            ledger.Leg(ledger.REFUNDS_PENDING, amount_cents),
        ],
        description=f"{reason}: {payment.subject_type} #{payment.subject_id}"[:200],
        subject=(payment.subject_type, payment.subject_id),
        payment_id=payment.id,
        at=at,
    )
    return _new_operation(key, "refund", payment, amount_cents, user_id=payment.payer_id, at=at)


def _release_order(order, *, at: datetime | None = None) -> None:
    """escrow -> payable to the seller (minus the platform fee), and a payout operation. The
    release is guarded by the refunds it saw: a refund landing in between makes it fail rather
    than pay out money that went back to the buyer."""
    for payment in _order_payments(order.id):
        held = payment.held_cents
        if held <= 0 or not _is_funded(payment):
            continue
        fee = fee_for(payment, held)
        released = db.session.execute(
            update(Payment)
            .where(
                Payment.id == payment.id,
                Payment.refunded_cents == payment.refunded_cents,
                Payment.transferred_cents == 0,
                Payment.fee_cents == 0,
            )
            .values(fee_cents=fee, transferred_cents=held - fee, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if released.rowcount != 1:
            db.session.rollback()
            raise InvalidTransition(
                "The money of this order changed in the meantime. Reload the page and try again."
            )
        db.session.expire(payment, ["fee_cents", "transferred_cents", "updated_at"])
        ledger.post(
            f"order:{order.id}:released:{payment.id}",
            "order_released",
            payment.currency,
            [
                ledger.Leg(ledger.ESCROW, -held),
                ledger.Leg(ledger.PAYABLE, held - fee, user_id=order.seller_id),
                ledger.Leg(ledger.PLATFORM_FEES, fee),
            ],
            description=f"Sale completed: order #{order.id}",
            subject=("order", order.id),
            payment_id=payment.id,
            at=at,
        )
        if held - fee > 0:
            _new_operation(
                f"payment:{payment.id}:payout",
                "transfer",
                payment,
                held - fee,
                order.seller_id,
                at=at,
            )


# -- paying by card ------------------------------------------------------------------------------


@dataclass
class PaymentStart:
    """What a client needs to confirm a card payment (web page or API)."""

    payment_id: int
    provider: str
    status: str
    amount_cents: int
    currency: str
    client_secret: str | None
    publishable_key: str | None

    def to_dict(self) -> dict:
        return asdict(self)


def start_order_payment(order_id: int, buyer_id: int) -> PaymentStart:
    """Open (or reopen) the buyer's card payment for an order awaiting payment and answer what
    the client needs to confirm it. Raises NotFound, Forbidden, Conflict."""
    from app.orders.services import get_order_for

    order = get_order_for(order_id, buyer_id)
    if order.buyer_id != buyer_id:
        raise Forbidden("Only the buyer pays for an order.")
    if order.is_free:
        raise NothingToPay()
    provider = get_provider()
    if not provider.needs_client_confirmation:
        raise PaidInPerson(
            "This marketplace settles payment in person: arrange it with the seller in the "
            "messages; the seller marks the order as paid."
        )
    if order.state != "pending_payment":
        raise InvalidTransition("This order is not waiting for payment.")
    payment = db.session.scalar(
        select(Payment)
        .where(
            Payment.subject_type == "order",
            Payment.subject_id == order.id,
            Payment.status.in_(("created", "requires_action", "processing")),
        )
        .order_by(Payment.id.desc())
    )
    if payment is None or payment.amount_cents != order.total_cents:
        sequence = db.session.scalar(
            select(func.count(Payment.id)).where(
                Payment.subject_type == "order", Payment.subject_id == order.id
            )
        )
        payment = Payment(
            operation_key=f"order:{order.id}:charge:{sequence + 1}",
            subject_type="order",
            subject_id=order.id,
            kind="charge",
            payer_id=order.buyer_id,
            payee_id=order.seller_id,
            provider=provider.name,
            amount_cents=order.total_cents,
            currency=order.currency,
            status="created",
        )
        db.session.add(payment)
        db.session.commit()  # our record exists before the provider's
    if payment.provider_ref:
        remote = _retrying(lambda: provider.retrieve_payment(payment.provider_ref), "retrieve")
    else:
        # Same key on every try: the provider answers the same PaymentIntent.
        remote = _retrying(
            lambda: provider.create_payment(
                amount_cents=payment.amount_cents,
                currency=payment.currency,
                idempotency_key=payment.operation_key,
                capture="automatic",
                transfer_group=f"order_{order.id}",
                metadata={"payment_id": str(payment.id), "order_id": str(order.id)},
            ),
            "create payment",
        )
        payment.provider_ref = remote.ref
        db.session.commit()
    return PaymentStart(
        payment_id=payment.id,
        provider=provider.name,
        status=payment.status,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        client_secret=remote.client_secret,
        publishable_key=current_app.config.get("STRIPE_PUBLISHABLE_KEY") or None,
    )


def sync_payment(payment_id: int) -> Payment:
    """Ask the provider for the payment's current state and apply it (used after the buyer's
    browser confirms, by webhooks and by reconcile). Idempotent."""
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        raise NotFound("We could not find that payment.")
    if payment.provider == "manual" or not payment.provider_ref:
        return payment
    provider = get_provider()
    remote = _retrying(lambda: provider.retrieve_payment(payment.provider_ref), "retrieve")
    try:
        apply_remote_payment(payment, remote)
    except InvalidTransition:
        # The webhook and the buyer's return page applied the same success at once; the other
        # one committed it. Read what it wrote.
        db.session.rollback()
        payment = db.session.get(Payment, payment_id)
        db.session.refresh(payment)
        return payment
    db.session.commit()
    return payment


def sync_order_payment(order_id: int, user_id: int) -> Payment | None:
    """The party's view after returning from the card page: sync the latest payment."""
    from app.orders.services import get_order_for

    order = get_order_for(order_id, user_id)
    payments = _order_payments(order.id, status=None)
    if not payments:
        return None
    return sync_payment(payments[-1].id)


def apply_remote_payment(payment: Payment, remote: ProviderPayment) -> None:
    """Bring our payment record in line with the provider's state (never backwards). For an
    order's payment this is a decision about the order's money: it is taken holding the order
    (so a cancel at the same moment either comes first and the money goes back, or after)."""
    if payment.subject_type == "order":
        from app.orders.services import claim_order, lock_order

        if lock_order(payment.subject_id) is not None:
            claim_order(payment.subject_id)
            db.session.refresh(payment)
    status = {
        "succeeded": "succeeded",
        "requires_capture": "authorized",
        "canceled": "canceled",
        "processing": "processing",
        "requires_action": "requires_action",
    }.get(remote.status, "created")
    if remote.status == "requires_payment_method" and remote.failure_message:
        status = "failed"
    if payment.status == "succeeded":
        return  # a success is final here; refunds are tracked by our operations
    if status == "succeeded":
        payment.captured_cents = remote.captured_cents or remote.amount_cents
        payment.status = "succeeded"
        payment.failure_message = None
        db.session.flush()
        _on_payment_succeeded(payment)
        return
    if status == "created" and payment.status == "failed":
        return
    payment.status = status
    payment.failure_message = (remote.failure_message or "")[:300] or payment.failure_message


def _on_payment_succeeded(payment: Payment) -> None:
    """A card payment went through: the order becomes paid. If the order was cancelled
    meanwhile (the buyer paid in another tab), the money goes straight back."""
    if payment.subject_type != "order":
        return
    from app.orders.services import lock_order

    order = lock_order(payment.subject_id)  # as it is now, after apply_remote_payment's claim
    if order is None:
        return
    if order.state == "pending_payment":
        from app.orders import services as orders

        db.session.flush()
        orders.transition(order.id, "payment_received", None)
    elif order.state == "cancelled":
        _post_funding(payment)
        _decide_refund(payment, payment.held_cents, reason="Paid after the order was cancelled")


# -- refunds -------------------------------------------------------------------------------------


def refund_order(
    order_id: int, actor_id: int, amount_cents: int, reason: str = ""
) -> ProviderOperation:
    """The seller gives part or all of the held payment back to the buyer, while the order is
    open (paid, shipped or delivered). Runs the refund at once; returns the operation (status
    'succeeded', or 'pending' when the provider did not answer: it is retried)."""
    from app.orders.services import claim_order, lock_order

    order = lock_order(order_id)  # decided one at a time with the order's other steps
    if order is None or order.role_of(actor_id) is None:
        raise NotFound("We could not find that order.")
    if order.seller_id != actor_id:
        raise Forbidden(
            "Only the seller can give money back. Ask them in the messages, or cancel the "
            "order before it ships."
        )
    if order.is_free:
        raise NotRefundable("This order is free: there is no money to give back.")
    if order.state not in OPEN_ORDER_STATES:
        raise NotRefundable(
            "Refunds are possible while the payment is held: after payment and "
            "before the order completes."
        )
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents < 1:
        raise ValidationFailed(
            "Enter an amount to refund.", fields={"amount": ["Enter an amount."]}
        )
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise ValidationFailed(
            f"Keep the reason under {REASON_MAX} characters.",
            fields={"reason": [f"At most {REASON_MAX} characters."]},
        )
    # From here on the order cannot complete or cancel under us (and fails if it just did).
    claim_order(order.id, in_state=order.state)
    payments = [p for p in _order_payments(order.id) if p.held_cents > 0]
    held = sum(p.held_cents for p in payments)
    if amount_cents > held:
        from app.money import format_money

        message = f"At most {format_money(held, order.currency)} is held for this order."
        raise ValidationFailed(message, fields={"amount": [message]})
    payment = payments[0]
    op = _decide_refund(payment, amount_cents, reason=reason or "Partial refund")
    _record_refund(order, actor_id, amount_cents)
    db.session.commit()
    return operations.run(op.id)


def order_money(order) -> dict:
    """What the order page shows about money: held, refunded, fee, payout status."""
    payments = _order_payments(order.id, status=None)
    succeeded = [p for p in payments if p.status == "succeeded"]
    ops = list(
        db.session.scalars(
            select(ProviderOperation)
            .where(ProviderOperation.payment_id.in_([p.id for p in payments] or [0]))
            .order_by(ProviderOperation.id)
        )
    )
    return {
        "payments": payments,
        "paid_cents": sum(p.captured_cents for p in succeeded),
        "refunded_cents": sum(p.refunded_cents for p in succeeded),
        "held_cents": sum(p.held_cents for p in succeeded)
        if order.state in OPEN_ORDER_STATES
        else 0,
        "fee_cents": sum(p.fee_cents for p in succeeded),
        "operations": ops,
        "provider": get_provider().name,
        # Settled between the two people (the manual provider): the site holds nothing, sends
        # nothing and takes no fee. Judged by the order's own payments once there are any.
        "in_person": all(p.provider == "manual" for p in succeeded)
        if succeeded
        else settles_in_person(),
    }


# -- statements ----------------------------------------------------------------------------------


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


# The two moments of a payment both sides see: money paid, money given back. Paid in person
# these are the only ones (the seller counted the money when it reached them; there is no fee
# and no payout); paid by card the seller also sees their proceeds and payouts.
_PARTY_KINDS = ("order_funded", "refund_paid")


def statement_for(user_id: int, page: int = 1, per_page: int = 50) -> Statement:
    """The user's statement, newest first, each entry dated when the money moved and signed from
    the user's side (+ came to them, - left them): what they paid and got back as a buyer;
    as a seller, what they received in person and gave back, or by card the buyer's payment
    held by the site, the proceeds credited after the fee and the payouts."""
    page = page_number(page)
    per_page = max(1, min(int(per_page), 200))
    own_accounts = select(LedgerAccount.id).where(LedgerAccount.user_id == user_id)
    as_party = select(Payment.id).where(
        or_(Payment.payer_id == user_id, Payment.payee_id == user_id)
    )
    in_person = select(Payment.id).where(Payment.provider == "manual")
    involving = select(LedgerTransaction.id).where(
        or_(
            LedgerTransaction.payment_id.in_(as_party) & LedgerTransaction.kind.in_(_PARTY_KINDS),
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
        payment = paid_with.get(txn.payment_id)
        description, amount = _as_seen_by(user_id, txn, payment, own_ids)
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
    """One ledger transaction as the statement's owner reads it: their words and their signed
    amount (the ledger's own text is the system's)."""
    from app.money import format_money

    moved = sum(line.amount_cents for line in txn.lines if line.amount_cents > 0)
    if payment is not None and txn.kind in _PARTY_KINDS:
        is_payer = payment.payer_id == user_id
        in_person = payment.provider == "manual"
        amount = format_money(moved, txn.currency)
        if txn.kind == "order_funded":
            if is_payer:
                words = "You paid in person" if in_person else "You paid by card"
                return words, -moved
            if in_person:
                return "Received in person from the buyer", moved
            return (
                f"The buyer paid {amount} by card, held by {current_app.config['SITE_NAME']} "
                "until delivery",
                0,
            )
        if is_payer:
            return ("Given back to you in person" if in_person else "Refunded to your card"), moved
        if in_person:
            return "You gave back in person", -moved
        return f"{amount} refunded to the buyer's card from the held payment", 0
    amount = sum(line.amount_cents for line in txn.lines if line.account_id in own_ids)
    if txn.kind == "order_released":
        fee = payment.fee_cents if payment is not None else 0
        if fee:
            return (
                f"Sale completed, after the {format_money(fee, txn.currency)} platform fee",
                amount,
            )
        return "Sale completed", amount
    if txn.kind == "payout_paid":
        return "Paid out to your bank account", amount
    return txn.description, amount


def _totals(user_id: int) -> dict[str, dict[str, int]]:
    """Per currency: paid and refunded to the user (as a buyer); received and given back in
    person (as a seller paid in person); earned after fees and paid out (as a seller paid by
    card)."""
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


# -- payouts (Connect) ----------------------------------------------------------------------------


@dataclass
class PayoutStatus:
    provider: str
    is_supported: bool
    has_account: bool
    details_submitted: bool
    payouts_enabled: bool
    pending_payout_cents: dict[str, int]

    def to_dict(self) -> dict:
        return asdict(self)


def _profile(user_id: int, provider_name: str) -> PaymentProfile | None:
    return db.session.scalar(
        select(PaymentProfile).where(
            PaymentProfile.user_id == user_id, PaymentProfile.provider == provider_name
        )
    )


def payout_status(user_id: int) -> PayoutStatus:
    """The user's payout account as last reported, and what waits to be paid out."""
    provider = get_provider()
    profile = _profile(user_id, provider.name)
    pending: dict[str, int] = {}
    for currency, amount in db.session.execute(
        select(ProviderOperation.currency, func.sum(ProviderOperation.amount_cents))
        .where(
            ProviderOperation.user_id == user_id,
            ProviderOperation.kind == "transfer",
            ProviderOperation.status == "pending",
        )
        .group_by(ProviderOperation.currency)
    ):
        pending[currency] = int(amount or 0)
    return PayoutStatus(
        provider=provider.name,
        is_supported=provider.holds_funds,
        has_account=bool(profile and profile.account_ref),
        details_submitted=bool(profile and profile.details_submitted),
        payouts_enabled=bool(profile and profile.payouts_enabled),
        pending_payout_cents=pending,
    )


def start_payout_onboarding(user_id: int, *, refresh_url: str, return_url: str) -> str:
    """Create the user's payout account if needed and answer the provider's onboarding link."""
    from app.accounts.models import User

    provider = get_provider()
    if not provider.holds_funds:
        raise Conflict("Payouts are settled in person on this marketplace: nothing to set up.")
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    profile = _profile(user_id, provider.name)
    if profile is None:
        profile = PaymentProfile(user_id=user_id, provider=provider.name)
        db.session.add(profile)
        db.session.commit()
    if not profile.account_ref:
        profile.account_ref = _retrying(
            lambda: provider.create_account(
                email=user.email,
                idempotency_key=f"user:{user_id}:connect-account",
                metadata={"user_id": str(user_id)},
            ),
            "create account",
        )
        db.session.commit()
    return _retrying(
        lambda: provider.account_link(
            profile.account_ref, refresh_url=refresh_url, return_url=return_url
        ),
        "account link",
    )


def refresh_payout_account(user_id: int) -> PayoutStatus:
    """Ask the provider for the user's account status (after onboarding) and store it."""
    provider = get_provider()
    profile = _profile(user_id, provider.name)
    if profile is not None and profile.account_ref and provider.holds_funds:
        account = _retrying(lambda: provider.retrieve_account(profile.account_ref), "account")
        apply_account(profile, account)
        db.session.commit()
    return payout_status(user_id)


def apply_account(profile: PaymentProfile, account) -> None:
    profile.charges_enabled = account.charges_enabled
    profile.payouts_enabled = account.payouts_enabled
    profile.details_submitted = account.details_submitted
    profile.updated_at = utcnow()


# -- due jobs and recovery ------------------------------------------------------------------------


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


def _record_refund(order, actor_id: int, amount_cents: int) -> None:
    """Record `order.refunded` in the refund's unit of work, for those who follow orders."""
    from app.orders.services import event_payload
    from app.transactions.events import record_event

    record_event(
        "order.refunded",
        subject_kind="order",
        subject_id=order.id,
        actor_id=actor_id,
        payload=event_payload(order) | {"amount_cents": amount_cents},
    )
