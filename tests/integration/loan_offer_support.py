"""Helpers for tests of loan offers: a listing lent on given terms, days relative to today, and
a stand-in busy source (what lending registers for its booked loans) that a test fills."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import false, select

from app.extensions import db
from app.listings import calendar, offers
from app.listings.models import Listing, LoanBlockout
from tests.factories import ListingFactory

TERMS = {
    "fee_per_day_cents": 300,
    "fee_per_week_cents": 1500,
    "deposit_cents": 5000,
    "min_days": 1,
    "max_days": 14,
    "pickup_area": "Northside",
    "pickup_notes": "Evenings.",
    "late_fee_per_day_cents": 500,
    "late_fee_cap_cents": 2000,
}


def day(offset: int) -> date:
    """Today plus `offset` days."""
    return calendar.today() + timedelta(days=offset)


def lend(listing: Listing, **terms) -> Listing:
    """Offer `listing` for loan on TERMS (changed by `terms`), checked as the services do."""
    values, errors = offers.check_terms({**TERMS, **terms}, listing.currency)
    assert not errors, errors
    offers.lend(listing, values)
    db.session.commit()
    return listing


def lendable(*, for_sale: bool = False, **fields) -> Listing:
    """A new listing offered for loan (only, unless for_sale), on TERMS."""
    terms = {k: fields.pop(k) for k in list(fields) if k in offers.TERMS}
    listing = ListingFactory(for_sale=for_sale, **fields)
    if not for_sale:
        listing.price_cents = 0
    return lend(listing, **terms)


def block(listing: Listing, start: date, end: date, note: str = "") -> LoanBlockout:
    """A block-out written directly (the service refuses past days; tests sometimes need them)."""
    row = LoanBlockout(listing_id=listing.id, starts_on=start, ends_on=end, note=note)
    db.session.add(row)
    db.session.commit()
    return row


class FakeBookings:
    """A busy source like the one lending registers: booked ranges per listing, in memory."""

    def __init__(self) -> None:
        self.ranges: dict[int, list[tuple[date, date]]] = {}

    def book(self, listing: Listing, start: date, end: date) -> None:
        self.ranges.setdefault(listing.id, []).append((start, end))

    def ranges_of(self, listing_id: int, start: date, end: date) -> list[calendar.Busy]:
        return [
            calendar.Busy(s, e, calendar.BOOKED)
            for s, e in self.ranges.get(listing_id, [])
            if s <= end and e >= start
        ]

    def listing_ids(self, start: date, end: date):
        ids = [
            i for i, spans in self.ranges.items() if any(s <= end and e >= start for s, e in spans)
        ]
        if not ids:
            return select(Listing.id).where(false())
        return select(Listing.id).where(Listing.id.in_(ids))
