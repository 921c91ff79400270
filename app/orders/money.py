"""An order's money: the rules of paying for an order, holding the money in escrow, giving it
back and releasing it to the seller, built on the subject-neutral operations of
app/payments/money.py. Registered with payments at app start (`init_app`): the hooks through
which a card payment reaches its order, the escrow invariant `flask ledger verify` checks and
the statement's words for an order's money.

Order money, step by step (every step is one balanced ledger transaction):
  paid       customer funding -> escrow                 (card payment succeeded / cash received)
  cancelled  escrow -> refunds pending -> refunds paid  (refund operation at the provider)
  refund     escrow -> refunds pending -> refunds paid  (partial, by the seller, while held)
  completed  escrow -> payable to seller + platform fee -> payouts paid (transfer operation)
  refund after completion (agreed or decided, within REFUND_WINDOW_DAYS): the fee in
             proportion and the seller's share -> refunds pending (from the payout not sent
             yet, or by a transfer reversal) -> refunds paid (payments.take_back)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import click
from flask import Flask, current_app
from sqlalchemy import select

from app.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from app.extensions import db
from app.money import format_money
from app.orders.models import Order
from app.orders.services import claim_order, event_payload, get_order_for, lock_order
from app.payments import ledger, operations
from app.payments import money as payments
from app.payments.cli import payments_cli
from app.payments.models import Payment, ProviderOperation
from app.payments.providers import get_provider
from app.payments.statement import Seen, register_statement_label
from app.transactions.events import record_event
from app.transactions.registry import MoneyRules, Stake

KIND = "order"
OPEN_ORDER_STATES = ("paid", "shipped", "delivered")
# States in which escrow holds an order's money: open, or in dispute until a moderator decides.
HELD_STATES = (*OPEN_ORDER_STATES, "disputed")
REASON_MAX = 300


class PaymentRequired(Conflict):
    code, default_message = "payment_required", "This order has not been paid yet."


class PaidInPerson(Conflict):
    code, default_message = "payment_in_person", "Payment is settled in person here."


class NothingToPay(Conflict):
    code, default_message = "nothing_to_pay", "This order is free: there is nothing to pay."


class NotRefundable(Conflict):
    code, default_message = "not_refundable", "Nothing is held for this order now."


def _payments(order_id: int, status: str | None = "succeeded") -> list[Payment]:
    return payments.subject_payments((KIND, order_id), status)


# -- the order's steps ---------------------------------------------------------------------------


def on_order_transition(
    order: Order, action: str, from_state: str, *, now: datetime | None = None
) -> None:
    """Move the money that goes with an order's step, in the step's unit of work, dated `now`,
    the step's time. Provider calls run after its commit."""
    to_state = order.state
    if to_state == "paid":
        _fund_order(order, at=now)
    elif to_state == "cancelled":
        _cancel_order_money(order, at=now)
    elif to_state in ("completed", "resolved"):
        _release_order(order, at=now)  # resolved: what the decision did not give back


def _fund_order(order: Order, *, at: datetime | None = None) -> None:
    """customer funding -> escrow. With the manual provider the seller confirms that the buyer
    paid in person; with a card provider the buyer's payment must have succeeded first. A free
    order moves no money at all: no payment, no provider, no ledger entry."""
    if order.is_free:
        return
    paid = _payments(order.id)
    if not paid:
        if get_provider().holds_funds:
            raise PaymentRequired(
                "This order is paid by card: it is marked as paid when the buyer's payment "
                "succeeds."
            )
        payments.record_in_person(
            (KIND, order.id),
            payer_id=order.buyer_id,
            payee_id=order.seller_id,
            amount_cents=order.total_cents,
            currency=order.currency,
            at=at,
        )
        return
    for payment in paid:
        payments.post_funding(payment, at=at)


def _cancel_order_money(order: Order, *, at: datetime | None = None) -> None:
    """Refund everything still held; release any card payment not yet made."""
    for payment in _payments(order.id):
        if payment.held_cents > 0 and payments.is_funded(payment):
            payments.decide_refund(payment, payment.held_cents, reason="Order cancelled", at=at)
    payments.cancel_unpaid((KIND, order.id))


def _release_order(order: Order, *, at: datetime | None = None) -> None:
    """escrow -> payable to the seller (minus the platform fee), and a payout operation; a
    refund landing in between makes the step fail rather than pay out money given back."""
    for payment in _payments(order.id):
        if payments.is_released(payment):
            continue  # resolved after completion: it was released then
        payments.release_to(
            payment,
            order.seller_id,
            ledger_kind="order_released",
            description=f"Sale completed: order #{order.id}",
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
    payment, remote = payments.open_card_payment(
        (KIND, order.id),
        payer_id=order.buyer_id,
        payee_id=order.seller_id,
        amount_cents=order.total_cents,
        currency=order.currency,
    )
    return PaymentStart(
        payment_id=payment.id,
        provider=provider.name,
        status=payment.status,
        amount_cents=payment.amount_cents,
        currency=payment.currency,
        client_secret=remote.client_secret,
        publishable_key=current_app.config.get("STRIPE_PUBLISHABLE_KEY") or None,
    )


def sync_order_payment(order_id: int, user_id: int) -> Payment | None:
    """The party's view after returning from the card page: sync the latest payment."""
    order = get_order_for(order_id, user_id)
    made = _payments(order.id, status=None)
    if not made:
        return None
    return payments.sync_payment(made[-1].id)


def _lock_for_money(order_id: int) -> bool:
    """Payments' `lock` hook: hold the order while a card payment's news is applied."""
    if lock_order(order_id) is None:
        return False
    claim_order(order_id)
    return True


def _payment_succeeded(payment: Payment) -> None:
    """A card payment went through: the order becomes paid. If the order was cancelled
    meanwhile (the buyer paid in another tab), the money goes straight back."""
    from app.orders.services import transition

    order = lock_order(payment.subject_id)  # as it is now, after the lock hook's claim
    if order is None:
        return
    if order.state == "pending_payment":
        db.session.flush()
        transition(order.id, "payment_received", None)
    elif order.state == "cancelled":
        payments.post_funding(payment)
        payments.decide_refund(
            payment, payment.held_cents, reason="Paid after the order was cancelled"
        )


# -- refunds -------------------------------------------------------------------------------------


def refund_order(
    order_id: int, actor_id: int, amount_cents: int, reason: str = ""
) -> ProviderOperation:
    """The seller gives part or all of the held payment back to the buyer, while the order is
    open (paid, shipped or delivered). Runs the refund at once; returns the operation (status
    'succeeded', or 'pending' when the provider did not answer: it is retried)."""
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
    held_by = [p for p in _payments(order.id) if p.held_cents > 0]
    held = sum(p.held_cents for p in held_by)
    if amount_cents > held:
        message = f"At most {format_money(held, order.currency)} is held for this order."
        raise ValidationFailed(message, fields={"amount": [message]})
    if held_by[0].is_disputed:  # the provider refuses refunds of a charged-back payment
        raise NotRefundable(
            "The buyer's card issuer took this payment back (a chargeback): a moderator "
            "decides what the seller keeps."
        )
    op = payments.decide_refund(held_by[0], amount_cents, reason=reason or "Partial refund")
    record_event(
        "order.refunded",
        subject_kind=KIND,
        subject_id=order.id,
        actor_id=actor_id,
        payload=event_payload(order) | {"amount_cents": amount_cents},
    )
    db.session.commit()
    return operations.run(op.id)


# -- disputes (app/disputes, through the orders' registry entry) -------------------------------


def held_for(order: Order) -> int:
    """What escrow still holds for the order (0 for a free one or once it is released)."""
    return sum(p.held_cents for p in _payments(order.id))


def is_released(order: Order) -> bool:
    """Whether the order's money went to the seller (it completed, perhaps disputed since)."""
    return order.completed_at is not None


def refund_window_ends(order: Order) -> datetime | None:
    """Until when a completed order may still be disputed or refunded (REFUND_WINDOW_DAYS after
    it completed); None for an order in any other state."""
    if order.state != "completed" or order.completed_at is None:
        return None
    return order.completed_at + timedelta(days=current_app.config["REFUND_WINDOW_DAYS"])


def dispute_stake(order: Order) -> Stake:
    """What a dispute about an order divides: the payment escrow holds for it, or after
    completion what was released to the seller and not given back yet."""
    released = is_released(order)
    return Stake(
        amount_cents=held_for(order) if order.state in (*HELD_STATES, "completed") else 0,
        currency=order.currency,
        payer_role="buyer",
        payee_role="seller",
        what="the payment released to the seller" if released else "the payment held for the order",
    )


def decide_dispute(order_id: int, awarded_cents: int, note: str | None, now: datetime) -> None:
    """Carry out a moderator's decision (or a refund both sides agreed on) without committing:
    what is not awarded to the seller is refunded to the buyer (refund operations staged), then
    the settling step releases the rest to the seller (payout staged). After completion the
    refund is taken back from what was released to the seller (payments.take_back: reversal
    and refund operations staged). Raises NotFound, InvalidTransition, ValidationFailed."""
    from app.orders.states import COMPLETED, DISPUTED, MACHINE, PAID, SHIPPED
    from app.transactions.machine import MAX_NOTE_LENGTH, step
    from app.transactions.registry import get_kind

    order = lock_order(order_id)
    if order is None:
        raise NotFound("We could not find that order.")
    # A moderator's decision on a dispute, or a refund both sides agreed on while it is held.
    action = {DISPUTED: "resolve", PAID: "settle", SHIPPED: "settle", COMPLETED: "settle"}.get(
        order.state
    )
    if action is None:
        raise InvalidTransition(MACHINE.refusal_message(order.state, "resolve"))
    claim_order(order.id, in_state=order.state)
    held_by = [p for p in _payments(order.id) if p.held_cents > 0]
    held = sum(p.held_cents for p in held_by)
    if isinstance(awarded_cents, bool) or not isinstance(awarded_cents, int):
        raise ValidationFailed(fields={"awarded": ["Enter the amount for the seller."]})
    if not 0 <= awarded_cents <= held:
        message = f"From nothing up to the {format_money(held, order.currency)} held."
        raise ValidationFailed(message, fields={"awarded": [message]})
    payments.give_back(
        held_by,
        held - awarded_cents,
        reason="Refund agreed or decided",
        reason_released="Refund after completion",
        at=now,
    )
    note = (note or "").strip()[:MAX_NOTE_LENGTH] or None
    step(get_kind(KIND), order, action, None, note=note, now=now)


def follow_up(_order_id: int) -> None:
    """After a decision commits: run the refunds and payouts it decided (a provider outage
    leaves them to the due job)."""
    while operations.run_ready():
        pass


def order_money(order: Order) -> dict:
    """What the order page shows about money: held, refunded, fee, payout status."""
    made = _payments(order.id, status=None)
    succeeded = [p for p in made if p.status == "succeeded"]
    ops = list(
        db.session.scalars(
            select(ProviderOperation)
            .where(ProviderOperation.payment_id.in_([p.id for p in made] or [0]))
            .order_by(ProviderOperation.id)
        )
    )
    return {
        "payments": made,
        "paid_cents": sum(p.captured_cents for p in succeeded),
        "refunded_cents": sum(p.refunded_cents for p in succeeded),
        "held_cents": sum(p.held_cents for p in succeeded)
        if order.state in HELD_STATES and not is_released(order)
        else 0,
        "fee_cents": sum(p.fee_cents for p in succeeded),
        "operations": ops,
        "provider": get_provider().name,
        # Settled between the two people (the manual provider): the site holds nothing, sends
        # nothing and takes no fee. Judged by the order's own payments once there are any.
        "in_person": all(p.provider == "manual" for p in succeeded)
        if succeeded
        else payments.settles_in_person(),
    }


# -- what `flask ledger verify` checks for orders ---------------------------------------------


def open_orders_held() -> dict[int, int]:
    """{order id: captured minus refunded} over the open orders' succeeded payments: what
    escrow must hold for each (and nothing for any other order)."""
    expected: dict[int, int] = {}
    for order_id, captured, refunded in db.session.execute(
        select(Payment.subject_id, Payment.captured_cents, Payment.refunded_cents)
        .join(Order, Order.id == Payment.subject_id)
        .where(
            Payment.subject_type == KIND,
            Payment.status == "succeeded",
            Order.state.in_(HELD_STATES),
            Order.completed_at.is_(None),  # disputed after completion: released already
        )
    ):
        expected[order_id] = expected.get(order_id, 0) + captured - refunded
    return expected


# -- the statement's words for an order's money ------------------------------------------------


def _funded_words(seen: Seen) -> tuple[str, int]:
    payment, moved = seen.payment, seen.moved_cents
    if payment is None:
        return seen.txn.description, seen.own_cents
    in_person = payment.provider == "manual"
    if payment.payer_id == seen.user_id:
        return ("You paid in person" if in_person else "You paid by card"), -moved
    if in_person:
        return "Received in person from the buyer", moved
    return (
        f"The buyer paid {format_money(moved, seen.txn.currency)} by card, held by "
        f"{current_app.config['SITE_NAME']} until delivery",
        0,
    )


def _refund_words(seen: Seen) -> tuple[str, int]:
    payment, moved = seen.payment, seen.moved_cents
    if payment is None:
        return seen.txn.description, seen.own_cents
    in_person = payment.provider == "manual"
    if payment.payer_id == seen.user_id:
        return ("Given back to you in person" if in_person else "Refunded to your card"), moved
    if in_person:
        return "You gave back in person", -moved
    amount = format_money(moved, seen.txn.currency)
    return f"{amount} refunded to the buyer's card from the held payment", 0


def _released_words(seen: Seen) -> tuple[str, int]:
    fee = seen.payment.fee_cents if seen.payment is not None else 0
    if fee:
        return (
            f"Sale completed, after the {format_money(fee, seen.txn.currency)} platform fee",
            seen.own_cents,
        )
    return "Sale completed", seen.own_cents


@click.command("pay-test-card")
@click.argument("order_id", type=int)
@click.option("--card", default="4242424242424242", show_default=True)
def pay_test_card_command(order_id: int, card: str) -> None:
    """Pay an order's open card payment with a Stripe test card (test keys / localstripe)."""
    order = db.session.get(Order, order_id)
    if order is None:
        raise click.ClickException(f"no order {order_id}")
    start = start_order_payment(order_id, order.buyer_id)
    payment = db.session.get(Payment, start.payment_id)
    get_provider().pay_with_test_card(payment.provider_ref, card_number=card)
    payment = payments.sync_payment(payment.id)
    click.echo(f"payment {payment.id}: {payment.status}; order {order_id}: {order.state}")


# What payments need of orders: their entry's `money` in the kind registry (app/orders/kind.py).
MONEY = MoneyRules(lock=_lock_for_money, on_payment_succeeded=_payment_succeeded, holding="escrow")


def init_app(app: Flask) -> None:
    """Tell payments about orders: the escrow invariant, the statement's words, the order
    page's money panel and the test-card command (the hooks are in MONEY)."""
    ledger.register_invariant(ledger.ESCROW, KIND, open_orders_held, describe="open paid amount")
    register_statement_label("order_funded", _funded_words, for_parties=True)
    register_statement_label("refund_paid", _refund_words, subject_type=KIND, for_parties=True)
    register_statement_label("order_released", _released_words)
    payments_cli.add_command(pay_test_card_command)
    app.context_processor(lambda: {"order_money": order_money})
