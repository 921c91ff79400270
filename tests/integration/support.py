"""Plain helpers for the integration tests: fresh reads from the database and real threads."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import select

from app.extensions import db
from app.listings.models import Listing
from app.orders import money as order_money
from app.orders.models import Order


def stock(listing_id: int) -> int:
    """The listing's quantity as stored now (not as the session remembers it)."""
    db.session.expire_all()
    return db.session.scalar(select(Listing.quantity).where(Listing.id == listing_id))


def state_of(order_id: int) -> str:
    """The order's state as stored now."""
    db.session.expire_all()
    return db.session.get(Order, order_id).state


def at_once(app, calls: list[Callable[[], object]], on_error=lambda e: type(e).__name__):
    """Run every call at the same instant, each in its own thread and app context; returns each
    outcome: str(result), or on_error(exception)."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(call) -> None:
        with app.app_context():
            barrier.wait()
            try:
                result = str(call())
            except Exception as error:  # recorded so the test shows it
                result = on_error(error)
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def card_payment_confirmed(price_cents: int, *, provider=None, stock: int = 1):
    """An order of one item at `price_cents` whose buyer has just paid by (test) card at the
    provider; the site has not heard of it yet (no webhook, no sync). Returns (order, payment).
    `provider`: the fake to pay at, when the configured one wraps it (fault injection)."""
    from app.orders.services import place_order
    from app.payments.models import Payment
    from app.payments.providers import get_provider
    from tests.factories import ListingFactory, UserFactory

    listing = ListingFactory(price_cents=price_cents, quantity=stock)
    order = place_order(UserFactory().id, listing.id, 1)
    start = order_money.start_order_payment(order.id, order.buyer_id)
    payment = db.session.get(Payment, start.payment_id)
    (provider or get_provider()).pay_with_test_card(payment.provider_ref)
    return order, payment
