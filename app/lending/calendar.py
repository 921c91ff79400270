"""Which days of a listing are taken by loans, and the lock that keeps two bookings (or a
booking and a blocked-out day) from landing on the same day.

Loans in states.BOOKED (approved, on loan) hold their days. The listing's calendar (the listing
page, the search by dates) learns of them through the busy source registered here
(`register_with_listings`, called from the loan kind's init_app): listings never import lending.

No double booking: every decision that puts something on a listing's calendar (approving a loan
here; blocking out days in app/listings) first takes the listing's calendar with the one lock
app/listings/calendar.py gives (`lock_calendar`: the listing's and its offer's rows FOR UPDATE on
PostgreSQL, a write that takes SQLite's one write lock). Whatever it then reads about the
calendar stays true until it commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, select

from app.extensions import db
from app.lending import states
from app.lending.models import Loan
from app.listings.models import LoanBlockout

SOURCE = "loans"


def _overlapping(start: date, end: date):
    """Loans that hold any day of [start, end] (both included)."""
    return (Loan.state.in_(states.BOOKED), Loan.starts_on <= end, Loan.ends_on >= start)


def ranges(listing_id: int, start: date, end: date) -> list:
    """The listing's days within [start, end] held by loans: [Busy(starts_on, ends_on,
    "booked")] (app/listings/calendar.py), in date order."""
    from app.listings.calendar import Busy

    rows = db.session.execute(
        select(Loan.starts_on, Loan.ends_on)
        .where(Loan.listing_id == listing_id, *_overlapping(start, end))
        .order_by(Loan.starts_on, Loan.id)
    )
    return [Busy(starts_on=first, ends_on=last, reason="booked") for first, last in rows]


def listing_ids(start: date, end: date) -> Select:
    """The ids of listings with a day of [start, end] held by a loan (a subquery for search)."""
    return select(Loan.listing_id).where(*_overlapping(start, end))


def register_with_listings() -> bool:
    """Make loans a busy source of the listings' calendar, once app/listings/calendar.py
    exists (it arrives with the listings' side of lending). Returns whether it did."""
    try:
        from app.listings import calendar as listing_calendar
    except ImportError:
        return False
    listing_calendar.register_busy_source(SOURCE, ranges=ranges, listing_ids=listing_ids)
    return True


# -- booking without double booking ----------------------------------------------------------


@dataclass(frozen=True)
class Clash:
    """Why some days cannot be booked: a loan holds them ("booked") or the lender blocked
    them out ("blocked"), from `starts_on` to `ends_on`."""

    reason: str
    starts_on: date
    ends_on: date


def first_clash(
    listing_id: int, start: date, end: date, *, except_loan_id: int | None = None
) -> Clash | None:
    """The first booked loan or blocked-out stretch that shares a day with [start, end], or
    None when every day is free (what is stored now: take listings' lock_calendar to decide)."""
    booked = select(Loan.starts_on, Loan.ends_on).where(
        Loan.listing_id == listing_id, *_overlapping(start, end)
    )
    if except_loan_id is not None:
        booked = booked.where(Loan.id != except_loan_id)
    loan = db.session.execute(booked.order_by(Loan.starts_on).limit(1)).first()
    blocked = db.session.execute(
        select(LoanBlockout.starts_on, LoanBlockout.ends_on)
        .where(
            LoanBlockout.listing_id == listing_id,
            LoanBlockout.starts_on <= end,
            LoanBlockout.ends_on >= start,
        )
        .order_by(LoanBlockout.starts_on)
        .limit(1)
    ).first()
    clashes = [Clash("booked", *loan)] if loan else []
    clashes += [Clash("blocked", *blocked)] if blocked else []
    return min(clashes, key=lambda clash: clash.starts_on, default=None)
