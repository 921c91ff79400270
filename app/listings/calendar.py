"""Which days a lendable listing is taken: the seam between listings and whatever books them.

Listings know the days a lender blocks out (LoanBlockout). Other packages that take days (loans,
app/lending) register a *busy source* at app start; listings never import them:

    register_busy_source("loans", ranges=booked_ranges, listing_ids=booked_listing_ids)

    ranges(listing_id, start, end) -> list[Busy]     # one listing's taken days touching the window
    listing_ids(start, end) -> Select of listing ids  # every listing taken on a day of the window

`busy_ranges()` and `is_free()` answer for one listing (the listing page, the lender's calendar,
the quote); `busy_listing_ids()` gives the search one subquery for "available from .. to".
Dates are whole days, both ends included. The month grid for pages is built here too.
"""

from __future__ import annotations

import calendar as stdlib_calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, select, union, update

from app.db import utcnow
from app.extensions import db
from app.listings.models import Listing, LoanBlockout, LoanOffer

BLOCKED = "blocked"
BOOKED = "booked"
REASON_LABELS = {BLOCKED: "Blocked out", BOOKED: "Booked"}


@dataclass(frozen=True)
class Busy:
    """Days a listing cannot be borrowed: from `starts_on` to `ends_on`, both included."""

    starts_on: date
    ends_on: date
    reason: str  # "blocked" | "booked"

    def overlaps(self, start: date, end: date) -> bool:
        return self.starts_on <= end and self.ends_on >= start


RangesOf = Callable[[int, date, date], list[Busy]]
ListingIdsBusy = Callable[[date, date], Select]


@dataclass(frozen=True)
class BusySource:
    name: str
    ranges: RangesOf
    listing_ids: ListingIdsBusy


_sources: dict[str, BusySource] = {}


def register_busy_source(name: str, *, ranges: RangesOf, listing_ids: ListingIdsBusy) -> None:
    """Add (or replace, by name) a source of taken days; called once per app from init_app."""
    _sources[name] = BusySource(name=name, ranges=ranges, listing_ids=listing_ids)


def unregister_busy_source(name: str) -> None:
    """Forget a source (tests that register their own)."""
    _sources.pop(name, None)


def busy_sources() -> tuple[str, ...]:
    return tuple(_sources)


def today() -> date:
    """The calendar day now (UTC, as every date in the marketplace)."""
    return utcnow().date()


def blockout_ranges(listing_id: int, start: date, end: date) -> list[Busy]:
    """The lender's block-outs of one listing that touch [start, end]."""
    rows = db.session.execute(
        select(LoanBlockout.starts_on, LoanBlockout.ends_on).where(
            LoanBlockout.listing_id == listing_id,
            LoanBlockout.starts_on <= end,
            LoanBlockout.ends_on >= start,
        )
    )
    return [Busy(starts_on, ends_on, BLOCKED) for starts_on, ends_on in rows]


def busy_ranges(listing_id: int, start: date, end: date) -> list[Busy]:
    """Every taken range of one listing that touches [start, end]: block-outs and each
    registered source, in date order (unclipped: a range may begin before `start`)."""
    found = blockout_ranges(listing_id, start, end)
    for source in _sources.values():
        found.extend(b for b in source.ranges(listing_id, start, end) if b.overlaps(start, end))
    return sorted(found, key=lambda b: (b.starts_on, b.ends_on, b.reason))


def is_free(listing_id: int, start: date, end: date) -> bool:
    """No taken day of the listing between `start` and `end` (both included)."""
    return not busy_ranges(listing_id, start, end)


def busy_listing_ids(start: date, end: date):
    """One subquery of the ids of listings with a taken day in [start, end] (for NOT IN)."""
    blocked = select(LoanBlockout.listing_id).where(
        LoanBlockout.starts_on <= end, LoanBlockout.ends_on >= start
    )
    others = [source.listing_ids(start, end) for source in _sources.values()]
    return union(blocked, *others) if others else blocked


def lock_calendar(listing_id: int) -> LoanOffer | None:
    """Take a listing's calendar before deciding about its days (a block-out here; a loan's
    approval in lending takes it the same way): the listing's row, then its offer's row, FOR
    UPDATE on PostgreSQL, and a write to the offer (of the value it has) that takes SQLite's
    one write lock. Held until the unit of work ends, so what the decision then reads about the
    calendar stays true until it commits. Returns the offer (None: the listing has none)."""
    db.session.execute(select(Listing.id).where(Listing.id == listing_id).with_for_update())
    offer = db.session.scalar(
        select(LoanOffer)
        .where(LoanOffer.listing_id == listing_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if offer is not None:
        db.session.execute(
            update(LoanOffer)
            .where(LoanOffer.listing_id == listing_id)
            .values(updated_at=LoanOffer.updated_at)
            .execution_options(synchronize_session=False)
        )
    return offer


# -- month grids for pages -------------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    on: date
    status: str  # "free", "blocked", "booked" or "past"
    is_today: bool

    @property
    def label(self) -> str:
        """What the day is, in words (screen readers, and the visible mark under the number)."""
        return {"free": "free", "past": "past", BLOCKED: "blocked", BOOKED: "booked"}[self.status]

    @property
    def is_taken(self) -> bool:
        return self.status in (BLOCKED, BOOKED)


@dataclass(frozen=True)
class Month:
    first: date
    weeks: list[list[Day | None]]  # Monday first; None pads the days of other months

    @property
    def title(self) -> str:
        return f"{stdlib_calendar.month_name[self.first.month]} {self.first.year}"

    @property
    def key(self) -> str:
        return self.first.strftime("%Y-%m")


WEEKDAYS = (("Mon", "Monday"), ("Tue", "Tuesday"), ("Wed", "Wednesday"), ("Thu", "Thursday"),
            ("Fri", "Friday"), ("Sat", "Saturday"), ("Sun", "Sunday"))  # fmt: skip


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(first: date, count: int) -> date:
    """The first day of the month `count` months after the one `first` is in."""
    index = first.year * 12 + first.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def month_end(first: date) -> date:
    return add_months(first, 1) - timedelta(days=1)


def parse_month(text: str | None, default: date) -> date:
    """'2026-12' -> date(2026, 12, 1); anything else (or a month out of range) -> `default`."""
    try:
        year, month = (int(part) for part in str(text or "").split("-"))
        return date(year, month, 1) if 1 <= year <= 9999 else default
    except ValueError:
        return default


def months_window(first: date, count: int) -> tuple[date, date]:
    """The first and last day of `count` months from the month of `first`."""
    start = month_start(first)
    return start, month_end(add_months(start, count - 1))


def months(
    listing_id: int,
    first: date,
    count: int,
    *,
    on: date | None = None,
    busy: list[Busy] | None = None,
) -> list[Month]:
    """`count` month grids from the month of `first`, each day free, blocked, booked or past
    (days before `on`, by default today). One look-up of the taken days for all of them, or
    none when the caller has them already (`busy`, covering at least those months)."""
    on = on or today()
    start, end = months_window(first, count)
    if busy is None:
        busy = busy_ranges(listing_id, start, end)
    taken: dict[date, str] = {}
    for span in busy:
        day = max(span.starts_on, start)
        while day <= min(span.ends_on, end):
            if taken.get(day) != BOOKED:  # a booking says more than a block-out
                taken[day] = span.reason
            day += timedelta(days=1)
    grids = []
    for offset in range(count):
        month_first = add_months(start, offset)
        weeks = []
        for week in stdlib_calendar.Calendar(firstweekday=0).monthdatescalendar(
            month_first.year, month_first.month
        ):
            row: list[Day | None] = []
            for day in week:
                if day.month != month_first.month:
                    row.append(None)
                    continue
                status = taken.get(day) or ("past" if day < on else "free")
                row.append(Day(on=day, status=status, is_today=day == on))
            weeks.append(row)
        grids.append(Month(first=month_first, weeks=weeks))
    return grids
