"""Real threads on PostgreSQL: simultaneous refunds never give back more than is held, and the
same webhook delivered twice at the same moment is processed once."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.orders import money as order_money
from app.orders import services as orders
from app.payments import ledger
from app.payments.models import Payment, ProviderEvent
from tests.factories import ListingFactory, UserFactory
from tests.integration.support import at_once, card_payment_confirmed

pytestmark = pytest.mark.postgres_only
pytest_plugins = ("tests.stripe_server",)


def test_two_refunds_at_once_cannot_give_back_more_than_is_held(payments_wired):
    listing = ListingFactory(price_cents=5000)
    order = orders.place_order(UserFactory().id, listing.id, 1)
    orders.transition(order.id, "mark_paid", order.seller_id)

    outcomes = at_once(
        payments_wired,
        [lambda: order_money.refund_order(order.id, order.seller_id, 3000).status] * 2,
    )

    assert sorted(outcomes) == ["ValidationFailed", "succeeded"]  # "At most ... is held"
    db.session.expire_all()
    assert ledger.balance(ledger.ESCROW, "USD") == 2000
    assert db.session.scalar(select(Payment.refunded_cents)) == 3000
    assert ledger.verify().ok


def test_the_same_webhook_twice_at_once_is_processed_once(stripe_app):
    from app.payments import webhooks

    _order, payment = card_payment_confirmed(1200)
    event = {
        "id": "evt_race",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "data": {"object": {"id": payment.provider_ref}},
    }

    outcomes = at_once(stripe_app, [lambda: webhooks.handle_event(event)] * 2)

    assert sorted(outcomes) == ["duplicate", "processed"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count(ProviderEvent.id))) == 1
    assert ledger.balance(ledger.ESCROW, "USD") == 1200
    assert ledger.verify().ok
