"""Real threads deciding about one order's money at the same instant: a refund against the
buyer's confirmation, two refunds, a cancel against the payment. Whatever order they land in,
nothing is paid out twice and `flask ledger verify` stays clean.

PostgreSQL serializes them on the order's row lock; SQLite has no row locks, so there the
guarded UPDATEs on the order and payment rows (checked by their row counts) do it. Both run."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.orders import money as order_money
from app.orders import services as orders
from app.payments import ledger, services
from app.payments.models import Payment, ProviderOperation
from tests.factories import ListingFactory, UserFactory
from tests.integration.support import at_once, card_payment_confirmed, state_of

pytest_plugins = ("tests.stripe_server",)

ROUNDS = 5


def _order(price_cents: int = 1000, *, until: str = "shipped"):
    listing = ListingFactory(price_cents=price_cents)
    order = orders.place_order(UserFactory().id, listing.id, 1)
    steps = {"pending_payment": [], "paid": ["mark_paid"], "shipped": ["mark_paid", "ship"]}
    for action in steps[until]:
        orders.transition(order.id, action, order.seller_id)
    return order


def _payments(order_id: int) -> list[Payment]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Payment).where(Payment.subject_type == "order", Payment.subject_id == order_id)
        )
    )


def _money_left_the_site(order_id: int) -> int:
    """What went back to the buyer plus what went to the seller (and the platform)."""
    return sum(p.refunded_cents + p.transferred_cents + p.fee_cents for p in _payments(order_id))


def _assert_clean() -> None:
    services.run_pending_operations()
    db.session.expire_all()
    report = ledger.verify()
    assert report.ok, report.problems


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_full_refund_racing_delivery_confirmation_pays_out_once(payments_wired, round_):
    order = _order(1000)

    outcomes = at_once(
        payments_wired,
        [
            lambda: order_money.refund_order(order.id, order.seller_id, 1000).status,
            lambda: orders.transition(order.id, "confirm_delivery", order.buyer_id).state,
        ],
    )

    assert _money_left_the_site(order.id) == 1000, outcomes
    (payment,) = _payments(order.id)
    assert payment.refunded_cents + payment.transferred_cents == 1000
    assert payment.refunded_cents in (0, 1000)
    assert state_of(order.id) == "completed"  # the refund never stops the confirmation
    _assert_clean()
    assert ledger.balance(ledger.ESCROW, "USD") == 0


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_refunds_racing_give_back_at_most_what_is_held(payments_wired, round_):
    order = _order(1000)

    outcomes = at_once(
        payments_wired,
        [lambda: order_money.refund_order(order.id, order.seller_id, 700).status] * 2,
    )

    # The second one sees what the first left: "At most $3.00 is held for this order."
    assert sorted(outcomes) == ["ValidationFailed", "succeeded"]
    (payment,) = _payments(order.id)
    assert payment.refunded_cents == 700
    _assert_clean()
    assert ledger.balance(ledger.ESCROW, "USD") == 300


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_refund_racing_cancel_gives_back_the_price_once(payments_wired, round_):
    order = _order(1000, until="paid")

    at_once(
        payments_wired,
        [
            lambda: order_money.refund_order(order.id, order.seller_id, 400).status,
            lambda: orders.transition(order.id, "cancel", order.buyer_id).state,
        ],
    )

    assert state_of(order.id) == "cancelled"
    (payment,) = _payments(order.id)
    assert payment.refunded_cents == 1000
    assert payment.transferred_cents == 0
    _assert_clean()
    assert ledger.balance(ledger.REFUNDS_PAID, "USD") == 1000


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_cancel_racing_mark_paid_leaves_no_money_behind(payments_wired, round_):
    order = _order(1000, until="pending_payment")

    outcomes = at_once(
        payments_wired,
        [
            lambda: orders.transition(order.id, "cancel", order.buyer_id).state,
            lambda: orders.transition(order.id, "mark_paid", order.seller_id).state,
        ],
    )

    _assert_clean()
    final = state_of(order.id)
    if final == "cancelled":
        # Either cancelled before the payment, or paid and then cancelled with a full refund.
        assert sum(p.held_cents for p in _payments(order.id)) == 0
    else:
        assert final == "paid", outcomes
        assert sum(p.held_cents for p in _payments(order.id)) == 1000
    assert ledger.balance(ledger.ESCROW, "USD") == sum(p.held_cents for p in _payments(order.id))


@pytest.mark.parametrize("round_", range(3))
def test_cancel_racing_a_card_payment_refunds_the_card_or_keeps_the_order(stripe_app, round_):
    order, payment = card_payment_confirmed(1000)

    outcomes = at_once(
        stripe_app,
        [
            lambda: orders.transition(order.id, "cancel", order.buyer_id).state,
            lambda: services.sync_payment(payment.id).status,
        ],
    )

    _assert_clean()
    (paid,) = _payments(order.id)
    assert paid.status == "succeeded", (outcomes, paid.status, paid.failure_message)
    final = state_of(order.id)
    if final == "cancelled":
        assert paid.refunded_cents == 1000
        refunds = list(
            db.session.scalars(
                select(ProviderOperation).where(
                    ProviderOperation.payment_id == paid.id, ProviderOperation.kind == "refund"
                )
            )
        )
        assert [(r.amount_cents, r.status) for r in refunds] == [(1000, "succeeded")]
    else:
        assert final == "paid", outcomes
        assert paid.held_cents == 1000
