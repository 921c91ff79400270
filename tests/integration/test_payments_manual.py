"""Manual payments (the embedded default): every movement of an order's money is recorded in
the ledger even though it is settled in person."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.orders import money as order_money
from app.orders import services as orders
from app.payments import ledger, services
from app.payments.models import LedgerTransaction, Payment, ProviderOperation
from tests.factories import ListingFactory, UserFactory

pytest_plugins = ("tests.stripe_server",)


@pytest.fixture
def order(payments_wired):
    listing = ListingFactory(price_cents=2500, quantity=3)
    buyer = UserFactory()
    return orders.place_order(buyer.id, listing.id, 2)


def kinds(order_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(LedgerTransaction.kind)
            .where(
                LedgerTransaction.subject_type == "order", LedgerTransaction.subject_id == order_id
            )
            .order_by(LedgerTransaction.id)
        )
    )


def test_mark_paid_moves_customer_funding_into_escrow(order):
    orders.transition(order.id, "mark_paid", order.seller_id)

    assert ledger.balance(ledger.ESCROW, "USD") == 5000
    assert ledger.balance(ledger.CUSTOMER_FUNDING, "USD") == -5000
    payment = db.session.scalar(select(Payment).where(Payment.subject_id == order.id))
    assert (payment.provider, payment.status, payment.captured_cents) == (
        "manual",
        "succeeded",
        5000,
    )
    assert ledger.verify().ok


def test_completed_order_credits_seller_without_fee_and_settles_in_person(order):
    orders.transition(order.id, "mark_paid", order.seller_id)
    orders.transition(order.id, "ship", order.seller_id)
    orders.transition(order.id, "confirm_delivery", order.buyer_id)
    services.run_pending_operations()

    assert kinds(order.id) == ["order_funded", "order_released", "payout_paid"]
    assert ledger.balance(ledger.ESCROW, "USD") == 0
    assert ledger.balance(ledger.PLATFORM_FEES, "USD") == 0
    assert ledger.balance(ledger.PAYABLE, "USD", user_id=order.seller_id) == 0
    assert ledger.balance(ledger.PAYOUTS_PAID, "USD") == 5000
    assert ledger.verify().ok


def test_cancel_after_payment_refunds_everything_held(order):
    orders.transition(order.id, "mark_paid", order.seller_id)
    orders.transition(order.id, "cancel", order.buyer_id, "changed my mind")
    services.run_pending_operations()

    assert kinds(order.id) == ["order_funded", "refund_owed", "refund_paid"]
    assert ledger.balance(ledger.ESCROW, "USD") == 0
    assert ledger.balance(ledger.REFUNDS_PAID, "USD") == 5000
    op = db.session.scalar(select(ProviderOperation))
    assert (op.kind, op.status, op.amount_cents) == ("refund", "succeeded", 5000)
    assert ledger.verify().ok


def test_cancel_before_payment_moves_no_money(order):
    orders.transition(order.id, "cancel", order.seller_id)

    assert kinds(order.id) == []
    assert ledger.verify().ok


def test_partial_refund_by_seller_leaves_the_rest_in_escrow_until_completion(order):
    orders.transition(order.id, "mark_paid", order.seller_id)
    op = order_money.refund_order(order.id, order.seller_id, 1200, "one arrived scratched")
    assert op.status == "succeeded"
    assert ledger.balance(ledger.ESCROW, "USD") == 3800
    assert ledger.verify().ok

    orders.transition(order.id, "ship", order.seller_id)
    orders.transition(order.id, "confirm_delivery", order.buyer_id)
    services.run_pending_operations()
    assert ledger.balance(ledger.PAYOUTS_PAID, "USD") == 3800
    assert ledger.balance(ledger.REFUNDS_PAID, "USD") == 1200
    assert ledger.verify().ok


@pytest.mark.parametrize(
    ("amount", "error"),
    [(0, "ValidationFailed"), (-5, "ValidationFailed"), (5001, "ValidationFailed")],
)
def test_refund_refuses_amounts_outside_what_is_held(order, amount, error):
    orders.transition(order.id, "mark_paid", order.seller_id)
    with pytest.raises(Exception) as raised:
        order_money.refund_order(order.id, order.seller_id, amount)
    assert type(raised.value).__name__ == error
    db.session.rollback()
    assert ledger.balance(ledger.ESCROW, "USD") == 5000


@pytest.mark.parametrize(("who", "error"), [("buyer", "Forbidden"), ("stranger", "NotFound")])
def test_only_the_seller_can_refund(order, who, error):
    orders.transition(order.id, "mark_paid", order.seller_id)
    actor = order.buyer_id if who == "buyer" else UserFactory().id
    with pytest.raises(Exception) as raised:
        order_money.refund_order(order.id, actor, 100)
    assert type(raised.value).__name__ == error


def test_refund_is_refused_before_payment_and_after_completion(order):
    with pytest.raises(Exception, match="while the payment is held"):
        order_money.refund_order(order.id, order.seller_id, 100)
    orders.transition(order.id, "mark_paid", order.seller_id)
    orders.transition(order.id, "ship", order.seller_id)
    orders.transition(order.id, "confirm_delivery", order.buyer_id)
    with pytest.raises(Exception, match="while the payment is held"):
        order_money.refund_order(order.id, order.seller_id, 100)


def test_statement_shows_buyer_payment_and_refund_and_seller_proceeds(order):
    orders.transition(order.id, "mark_paid", order.seller_id)
    order_money.refund_order(order.id, order.seller_id, 500)
    orders.transition(order.id, "ship", order.seller_id)
    orders.transition(order.id, "confirm_delivery", order.buyer_id)
    services.run_pending_operations()

    buyer = services.statement_for(order.buyer_id)
    assert [(e.kind, e.amount_cents) for e in reversed(buyer.entries)] == [
        ("order_funded", -5000),
        ("refund_paid", 500),
    ]
    assert buyer.totals["USD"]["paid"] == 5000 and buyer.totals["USD"]["refunded"] == 500

    seller = services.statement_for(order.seller_id)
    # Paid in person: the seller received the money and gave some back; no payout.
    assert [(e.kind, e.amount_cents) for e in reversed(seller.entries)] == [
        ("order_funded", 5000),
        ("refund_paid", -500),
    ]
    assert seller.balances == {"USD": 0}
    assert seller.totals["USD"]["received_in_person"] == 5000
    assert seller.totals["USD"]["given_back_in_person"] == 500
    assert seller.totals["USD"]["earned"] == 0 and seller.totals["USD"]["paid_out"] == 0

    stranger = services.statement_for(UserFactory().id)
    assert stranger.entries == [] and stranger.total == 0
