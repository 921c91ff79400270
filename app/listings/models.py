"""Things people offer: for sale, for loan (a LoanOffer and its calendar), or both."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.accounts.models import User


class Condition(enum.StrEnum):
    NEW = "new"
    LIKE_NEW = "like_new"
    GOOD = "good"
    FAIR = "fair"
    FOR_PARTS = "for_parts"

    @property
    def label(self) -> str:
        return CONDITION_LABELS[self]


CONDITION_LABELS = {
    Condition.NEW: "New",
    Condition.LIKE_NEW: "Like new",
    Condition.GOOD: "Good",
    Condition.FAIR: "Fair",
    Condition.FOR_PARTS: "For parts or repair",
}


class ListingStatus(enum.StrEnum):
    ACTIVE = "active"  # visible and buyable while quantity > 0
    PAUSED = "paused"  # hidden from search, not buyable, still editable
    DELETED = "deleted"  # gone for everybody; kept as a row because orders point at it


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(default=0)


class Listing(db.Model):
    __tablename__ = "listings"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        # Browse newest first: the page's ids come from this index alone (issue 14).
        Index("ix_listings_on_offer_newest", "status", "created_at", "id", "for_sale", "quantity"),
        # A seller's listings newest first: "more from this seller", profiles, "My listings".
        Index("ix_listings_seller_status_created", "seller_id", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    condition: Mapped[str] = mapped_column(String(20), default=Condition.GOOD.value)
    price_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    quantity: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(12), default=ListingStatus.ACTIVE.value)
    # Offered for sale (buyable at price_cents); it may also, or only, be lent (loan_offer).
    for_sale: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    seller: Mapped[User] = relationship(back_populates="listings")
    category: Mapped[Category] = relationship()
    photos: Mapped[list[ListingPhoto]] = relationship(
        back_populates="listing", order_by="ListingPhoto.position", cascade="all, delete-orphan"
    )
    loan_offer: Mapped[LoanOffer | None] = relationship(back_populates="listing", uselist=False)

    @property
    def is_buyable(self) -> bool:
        return self.for_sale and self.status == ListingStatus.ACTIVE and self.quantity > 0

    @property
    def is_lendable(self) -> bool:
        """Offered for loan now: active, with an offer the lender has not switched off."""
        offer = self.loan_offer
        return self.status == ListingStatus.ACTIVE and offer is not None and offer.active

    @property
    def condition_label(self) -> str:
        return CONDITION_LABELS.get(Condition(self.condition), self.condition)


# Browse by price (things for sale first, newest first among equal prices): a page from the
# index, not a sort of every listing (migration 0017).
Index(
    "ix_listings_price_low_first",
    Listing.status,
    Listing.for_sale.desc(),
    Listing.price_cents,
    Listing.created_at.desc(),
    Listing.id.desc(),
)
Index(
    "ix_listings_price_high_first",
    Listing.status,
    Listing.for_sale.desc(),
    Listing.price_cents.desc(),
    Listing.created_at.desc(),
    Listing.id.desc(),
)


class ListingPhoto(db.Model):
    __tablename__ = "listing_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    # Paths relative to UPLOAD_DIR; the original is re-encoded, never stored as uploaded.
    image_path: Mapped[str] = mapped_column(String(255))
    thumb_path: Mapped[str] = mapped_column(String(255))
    width: Mapped[int]
    height: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    listing: Mapped[Listing] = relationship(back_populates="photos")


class LoanOffer(db.Model):
    """The terms on which a listing is lent (one per listing; the listing's currency)."""

    __tablename__ = "loan_offers"
    __table_args__ = (
        CheckConstraint("fee_per_day_cents >= 0", name="fee_per_day_not_negative"),
        CheckConstraint(
            "fee_per_week_cents IS NULL OR fee_per_week_cents >= 0",
            name="fee_per_week_not_negative",
        ),
        CheckConstraint("deposit_cents >= 0", name="deposit_not_negative"),
        CheckConstraint("min_days >= 1 AND max_days >= min_days", name="days_in_order"),
        CheckConstraint("late_fee_per_day_cents >= 0", name="late_fee_not_negative"),
        CheckConstraint("late_fee_cap_cents >= 0", name="late_fee_cap_not_negative"),
    )

    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), primary_key=True)
    # False: the lender stopped lending it (loans already agreed go on).
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    fee_per_day_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # 0: free to borrow
    # Optional price of 7 days together, below 7 x the daily fee (app/lending/pricing.py).
    fee_per_week_cents: Mapped[int | None] = mapped_column(BigInteger)
    deposit_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # refundable
    min_days: Mapped[int] = mapped_column(default=1)
    max_days: Mapped[int] = mapped_column(default=14)
    pickup_area: Mapped[str] = mapped_column(String(120), default="")
    pickup_notes: Mapped[str] = mapped_column(Text, default="")
    # Per day returned late, taken from the deposit, at most the cap (and never more than the
    # deposit: pricing.late_fee_cents).
    late_fee_per_day_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    late_fee_cap_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    listing: Mapped[Listing] = relationship(back_populates="loan_offer")


class LoanBlockout(db.Model):
    """Days the lender keeps the thing for themselves: nobody can borrow it then."""

    __tablename__ = "loan_blockouts"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="dates_in_order"),
        Index("ix_loan_blockouts_listing_dates", "listing_id", "starts_on", "ends_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)  # included
    note: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
