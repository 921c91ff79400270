"""Helpers for the API tests: tokens and orders made through the real services."""

from __future__ import annotations

from app.api import services as tokens
from app.orders import services as orders
from tests.factories import ListingFactory, UserFactory


def bearer(user, scopes=("read", "write")) -> dict[str, str]:
    """Authorization headers with a fresh token of `user`."""
    _token, raw = tokens.create_token(user.id, "test", list(scopes))
    return {"Authorization": f"Bearer {raw}"}


def order_between(buyer=None, seller=None, *, steps=(), quantity=1, stock=3, price_cents=2500):
    """An order placed by the buyer and moved through `steps` (actions by the right party)."""
    buyer = buyer or UserFactory()
    listing = ListingFactory(
        seller=seller or UserFactory(), quantity=stock, price_cents=price_cents
    )
    order = orders.place_order(buyer.id, listing.id, quantity)
    for action in steps:
        actor = buyer.id if action == "confirm_delivery" else listing.seller_id
        order = orders.transition(order.id, action, actor)
    return order


COMPLETE = ("mark_paid", "ship", "confirm_delivery")
