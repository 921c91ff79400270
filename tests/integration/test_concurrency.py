"""Real threads racing for the last units of a listing on PostgreSQL: stock never goes negative
and exactly as many orders succeed as there were units."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.listings.models import Listing
from app.orders.models import Order
from app.orders.services import OutOfStock, place_order
from tests.factories import ListingFactory, UserFactory
from tests.integration.support import at_once

pytestmark = pytest.mark.postgres_only


def race(app, listing_id: int, buyer_ids: list[int], quantity: int) -> list[str]:
    """Every buyer tries to buy `quantity` at the same instant; returns each outcome."""

    def buy(buyer_id: int):
        return lambda: place_order(buyer_id, listing_id, quantity) and "ok"

    def outcome(error: Exception) -> str:
        return "out_of_stock" if isinstance(error, OutOfStock) else f"error: {error!r}"

    return at_once(app, [buy(b) for b in buyer_ids], on_error=outcome)


def final_state(listing_id: int) -> tuple[int, int, int]:
    db.session.expire_all()
    quantity = db.session.scalar(select(Listing.quantity).where(Listing.id == listing_id))
    orders, units = db.session.execute(
        select(func.count(Order.id), func.coalesce(func.sum(Order.quantity), 0)).where(
            Order.listing_id == listing_id
        )
    ).one()
    return quantity, orders, units


def test_twenty_buyers_racing_for_five_units_make_exactly_five_orders(app):
    listing = ListingFactory(quantity=5)
    buyers = [UserFactory().id for _ in range(20)]
    outcomes = race(app, listing.id, buyers, 1)
    assert sorted(outcomes) == ["ok"] * 5 + ["out_of_stock"] * 15
    assert final_state(listing.id) == (0, 5, 5)


def test_ten_buyers_wanting_two_of_the_last_three_make_one_order(app):
    listing = ListingFactory(quantity=3)
    buyers = [UserFactory().id for _ in range(10)]
    outcomes = race(app, listing.id, buyers, 2)
    assert sorted(outcomes) == ["ok"] + ["out_of_stock"] * 9
    assert final_state(listing.id) == (1, 1, 2)
