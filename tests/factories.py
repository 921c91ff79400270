"""factory_boy factories that write through the real session and commit."""

from __future__ import annotations

import factory
from factory.alchemy import SQLAlchemyModelFactory
from sqlalchemy import select

from app.accounts.models import User
from app.accounts.passwords import hash_password
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
