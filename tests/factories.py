"""factory_boy factories that write through the real session and commit."""

from __future__ import annotations

import factory
from factory.alchemy import SQLAlchemyModelFactory
from sqlalchemy import select

from app.accounts.models import User
from app.accounts.passwords import hash_password
from app.db import utcnow
from app.extensions import db
from app.listings.models import Category, Listing

PASSWORD = "correct horse battery"


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


class UserFactory(BaseFactory):
    class Meta:
        model = User

    handle = factory.Sequence(lambda n: f"user{n:03d}")
    email = factory.LazyAttribute(lambda u: f"{u.handle}@example.com")
    password_hash = factory.LazyFunction(lambda: hash_password(PASSWORD))
    # Like every account that existed before confirmation: pass None for a new, unconfirmed one.
    email_confirmed_at = factory.LazyFunction(utcnow)


def category(slug: str = "electronics") -> Category:
    """One of the fixed categories."""
    return db.session.scalar(select(Category).where(Category.slug == slug))


class ListingFactory(BaseFactory):
    class Meta:
        model = Listing

    seller = factory.SubFactory(UserFactory)
    category = factory.LazyFunction(category)
    title = factory.Sequence(lambda n: f"Item number {n}")
    description = "A fine thing in good condition."
    condition = "good"
    price_cents = 2500
    currency = "USD"
    quantity = 1


# -- orders, written directly as rows (owned by reviews; the orders services are not needed) --
from datetime import timedelta  # noqa: E402

from app.orders.models import Order  # noqa: E402


class OrderFactory(BaseFactory):
    """A completed order by default, finished a day ago; pass state/completed_at to change."""

    class Meta:
        model = Order

    buyer = factory.SubFactory(UserFactory)
    listing = factory.SubFactory(ListingFactory)
    seller = factory.LazyAttribute(lambda o: o.listing.seller)
    title = factory.LazyAttribute(lambda o: o.listing.title)
    quantity = 1
    unit_price_cents = factory.LazyAttribute(lambda o: o.listing.price_cents)
    total_cents = factory.LazyAttribute(lambda o: o.unit_price_cents * o.quantity)
    currency = factory.LazyAttribute(lambda o: o.listing.currency)
    state = "completed"
    created_at = factory.LazyFunction(lambda: utcnow() - timedelta(days=5))
    paid_at = factory.LazyFunction(lambda: utcnow() - timedelta(days=4))
    shipped_at = factory.LazyFunction(lambda: utcnow() - timedelta(days=3))
    delivered_at = factory.LazyFunction(lambda: utcnow() - timedelta(days=1))
    completed_at = factory.LazyAttribute(
        lambda o: o.delivered_at if o.state == "completed" else None
    )
