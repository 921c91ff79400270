"""Fixtures shared by the integration tests: the two parties of an order and a stranger, a
listing of the seller's, an order between them, and the PostgreSQL-only marker."""

from __future__ import annotations

import pytest

from app.orders.services import place_order
from tests.factories import ListingFactory, UserFactory


@pytest.fixture(autouse=True)
def _postgres_only(request):
    """Tests marked postgres_only need real row locks: skip them on SQLite."""
    if request.node.get_closest_marker("postgres_only") is None:
        return
    if request.getfixturevalue("backend") != "postgresql":
        pytest.skip("concurrency needs PostgreSQL row locks (set TEST_DATABASE_URL)")


@pytest.fixture
def seller(app):
    return UserFactory(handle="sally")


@pytest.fixture
def buyer(app):
    return UserFactory(handle="bob")


@pytest.fixture
def stranger(app):
    return UserFactory(handle="eve")


@pytest.fixture
def parties(buyer, seller, stranger):
    """Who is asking, by name, for access matrices: None is anonymous."""
    return {"anonymous": None, "buyer": buyer, "seller": seller, "stranger": stranger}


@pytest.fixture
def listing(seller):
    return ListingFactory(seller=seller, title="Walnut desk lamp", price_cents=1250, quantity=3)


@pytest.fixture
def order(listing, buyer):
    """An order of one lamp, awaiting payment."""
    return place_order(buyer.id, listing.id, 1)


@pytest.fixture
def bookings():
    """A stand-in source of booked days (what lending registers for its loans) that the test
    fills: bookings.book(listing, start, end). Removed after the test."""
    from app.listings import calendar
    from tests.integration.loan_offer_support import FakeBookings

    fake = FakeBookings()
    calendar.register_busy_source(
        "test-bookings", ranges=fake.ranges_of, listing_ids=fake.listing_ids
    )
    try:
        yield fake
    finally:
        calendar.unregister_busy_source("test-bookings")
