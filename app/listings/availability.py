"""When a lendable listing can be borrowed, and what borrowing it costs.

- The lender's block-outs: add, remove, list (owner only). A block-out may not start in the
  past, overlap another one, or cover days already booked.
- The quote for chosen days: pricing.quote() (the one place the fee, deposit and late fee are
  computed), whether the days are free (calendar.py), and how the deposit is secured for them
  (deposit_plan), as the listing page and the API show it before a request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.listings import calendar, pricing
from app.listings.models import Listing, LoanBlockout, LoanOffer
from app.listings.services import _lock_listing, _require_owner, ensure_not_hidden, get_listing
from app.money import format_money
from app.payments.services import settles_in_person

logger = logging.getLogger(__name__)

BLOCKOUT_HORIZON_DAYS = 730  # a block-out ends at most two years ahead
BOOKING_HORIZON_DAYS = 365  # a loan starts at most a year ahead
NOTE_MAX = 120
# The lending settings (config.py) these rules read, with their defaults.
HOLD_WINDOW_DAYS = ("LOAN_HOLD_WINDOW_DAYS", 6)
CLAIM_WINDOW_DAYS = ("LOAN_CLAIM_WINDOW_DAYS", 3)


class NotForLoan(Conflict):
    code, default_message = "not_for_loan", "This listing is not offered for loan."


class BlockoutOverlaps(Conflict):
    code, default_message = "blockout_overlaps", "Those days overlap another block-out."


class DatesBooked(Conflict):
    code, default_message = "dates_booked", "Some of those days are already booked."


def _setting(name_and_default: tuple[str, int]) -> int:
    name, default = name_and_default
    return int(current_app.config.get(name, default))


def say_range(start: date, end: date) -> str:
    """'Dec 4, 2026' or 'Dec 4 to Dec 9, 2026' (or across years, both years)."""
    if start == end:
        return f"{start:%b} {start.day}, {start.year}"
    if start.year == end.year:
        return f"{start:%b} {start.day} to {end:%b} {end.day}, {end.year}"
    return f"{start:%b} {start.day}, {start.year} to {end:%b} {end.day}, {end.year}"


# -- block-outs ----------------------------------------------------------------------------


def lendable_for_edit(listing_id: int, editor_id: int) -> Listing:
    """The owner's listing that has loan terms (lent now or paused). Raises NotFound,
    Forbidden, NotForLoan."""
    listing = get_listing(listing_id)
    _require_owner(listing, editor_id)
    if listing.loan_offer is None:
        raise NotForLoan("Offer this listing for loan first: edit it and choose “Lend it”.")
    return listing


def blockouts_of(listing_id: int, editor_id: int, *, on: date | None = None) -> list[LoanBlockout]:
    """The listing's block-outs that have not ended yet, in date order (owner only)."""
    lendable_for_edit(listing_id, editor_id)
    return upcoming_blockouts(listing_id, on=on)


def upcoming_blockouts(listing_id: int, *, on: date | None = None) -> list[LoanBlockout]:
    """blockouts_of() for a listing whose owner is already checked (the calendar page)."""
    on = on or calendar.today()
    return list(
        db.session.scalars(
            select(LoanBlockout)
            .where(LoanBlockout.listing_id == listing_id, LoanBlockout.ends_on >= on)
            .order_by(LoanBlockout.starts_on, LoanBlockout.id)
        )
    )


def add_blockout(
    listing_id: int,
    editor_id: int,
    starts_on: date | None,
    ends_on: date | None,
    note: str = "",
    *,
    on: date | None = None,
) -> LoanBlockout:
    """Keep days for yourself: nobody can borrow the thing from `starts_on` to `ends_on`.

    Raises NotFound, Forbidden, NotForLoan, ValidationFailed (dates), BlockoutOverlaps,
    DatesBooked."""
    on = on or calendar.today()
    note = " ".join(str(note or "").split())
    errors: dict[str, list[str]] = {}
    if not isinstance(starts_on, date):
        errors["starts_on"] = ["Pick the first day."]
    elif starts_on < on:
        errors["starts_on"] = ["Pick a day from today on: past days cannot be blocked out."]
    if not isinstance(ends_on, date):
        errors["ends_on"] = ["Pick the last day."]
    elif isinstance(starts_on, date) and ends_on < starts_on:
        errors["ends_on"] = ["Pick a last day on or after the first day."]
    elif ends_on > on + timedelta(days=BLOCKOUT_HORIZON_DAYS):
        errors["ends_on"] = ["Block out at most two years ahead."]
    if len(note) > NOTE_MAX:
        errors["note"] = [f"Use at most {NOTE_MAX} characters (this has {len(note)})."]
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(first if len(errors) == 1 else "Some fields are not valid.",
                               fields=errors)  # fmt: skip
    assert isinstance(starts_on, date) and isinstance(ends_on, date)

    # The listing's calendar lock: a loan being approved for these days (which takes the same
    # lock) either sees this block-out or is seen by the check below.
    offer = calendar.lock_calendar(listing_id)
    listing = _lock_listing(listing_id)
    _require_owner(listing, editor_id)
    if offer is None:
        raise NotForLoan("Offer this listing for loan first: edit it and choose “Lend it”.")
    for busy in calendar.busy_ranges(listing_id, starts_on, ends_on):
        taken = say_range(busy.starts_on, busy.ends_on)
        if busy.reason == calendar.BLOCKED:
            raise BlockoutOverlaps(
                f"Those days overlap your block-out of {taken}: remove it first, or pick other "
                "days.",
                fields={"starts_on": [f"Overlaps your block-out of {taken}."]},
            )
        raise DatesBooked(
            f"It is lent on some of those days ({taken}): booked days cannot be blocked out.",
            fields={"starts_on": [f"Booked {taken}."]},
        )
    blockout = LoanBlockout(listing_id=listing_id, starts_on=starts_on, ends_on=ends_on, note=note)
    db.session.add(blockout)
    db.session.commit()
    logger.info("blockout %s added to listing %s", blockout.id, listing_id)
    return blockout


def remove_blockout(listing_id: int, blockout_id: int, editor_id: int) -> None:
    """Open the days of a block-out again (owner only). Raises NotFound, Forbidden."""
    listing = _lock_listing(listing_id)
    _require_owner(listing, editor_id)
    blockout = db.session.get(LoanBlockout, blockout_id)
    if blockout is None or blockout.listing_id != listing_id:
        raise NotFound("That block-out does not exist.")
    db.session.delete(blockout)
    db.session.commit()
    logger.info("blockout %s removed from listing %s", blockout_id, listing_id)


# -- quotes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DepositPlan:
    """How the deposit is secured for a loan on given days, in words for the borrower."""

    method: str  # "none", "in_person", "hold" or "saved_card" (as Loan.deposit_method)
    summary: str  # what happens with these days
    rule: str  # the general rule, stated before any request


def deposit_plan(
    quote: pricing.Quote,
    currency: str,
    *,
    in_person: bool,
    on: date,
    hold_window_days: int,
    claim_window_days: int,
) -> DepositPlan:
    """The deposit rule for a loan quoted on `on` (approval on that day at the earliest): a
    card hold when the loan's end plus the claim window falls within the hold window of
    approval, else the saved card charged only if something is upheld; in person with the
    manual provider."""
    deposit, fee = (
        format_money(quote.deposit_cents, currency),
        format_money(quote.fee_cents, currency),
    )
    kept = "A late fee or an accepted damage claim is kept from it; the rest comes back."
    if quote.deposit_cents == 0:
        fee_words = "" if quote.is_free else (
            f" You pay the fee ({fee}) to the lender in person at the handover." if in_person
            else f" Your saved card is charged the fee ({fee}) when the lender approves: you "
            "need a saved card to ask."
        )  # fmt: skip
        return DepositPlan("none", "No deposit." + fee_words, "This lender asks for no deposit.")
    if in_person:
        fee_words = "" if quote.is_free else f" and the fee ({fee})"
        return DepositPlan(
            "in_person",
            f"You hand the deposit ({deposit}){fee_words} to the lender at the handover; the "
            "deposit is given back when you return the thing on time and in good condition.",
            f"Deposits are handed over in person and given back on return. {kept}",
        )
    rule = (
        f"Deposits: a loan that ends (with its {claim_window_days}-day claim window) within "
        f"{hold_window_days} days of approval is secured by a hold on your card; a longer one by "
        "your saved card, charged only if a late fee or a damage claim is upheld; if a held "
        "loan runs past the hold window (it comes back late), the hold is released and the "
        f"deposit kept on your saved card the same way. You need a saved card to ask. {kept}"
    )
    fee_words = "" if quote.is_free else f"your card is charged the fee ({fee}) and "
    if (quote.ends_on + timedelta(days=claim_window_days) - on).days <= hold_window_days:
        return DepositPlan(
            "hold",
            f"When the lender approves, {fee_words}{deposit} is held on your card (reserved, "
            "not taken) until the thing is back in good condition.",
            rule,
        )
    fee_words = (
        "" if quote.is_free else f"When the lender approves, your card is charged the fee ({fee}). "
    )
    return DepositPlan(
        "saved_card",
        f"{fee_words}The deposit ({deposit}) is not taken: your saved card is charged for it only "
        "if a late fee or a damage claim is upheld.",
        rule,
    )


@dataclass(frozen=True)
class LoanQuote:
    """What borrowing a listing on some days costs, and whether those days are free."""

    quote: pricing.Quote
    currency: str
    busy: list[calendar.Busy]  # the taken ranges that touch the days (none: available)
    deposit: DepositPlan

    @property
    def is_available(self) -> bool:
        return not self.busy


def check_loan_dates(
    offer: LoanOffer,
    starts_on: date | None,
    ends_on: date | None,
    *,
    on: date,
    fields: tuple[str, str] = ("start", "end"),
) -> None:
    """Refuse days a loan on these terms cannot have: the one check of a loan's days, for the
    listing's quote and the loan request alike (ValidationFailed, its errors under `fields`:
    the names of the first and the last day in the form or the API that asked)."""
    first, last = fields
    errors: dict[str, list[str]] = {}
    if not _is_day(starts_on):
        errors[first] = ["Pick the first day."]
    elif starts_on < on:
        errors[first] = ["Pick a first day from today on."]
    elif starts_on > on + timedelta(days=BOOKING_HORIZON_DAYS):
        errors[first] = ["Ask at most a year ahead."]
    if not _is_day(ends_on):
        errors[last] = ["Pick the last day."]
    elif _is_day(starts_on):
        days = pricing.days_between(starts_on, ends_on)
        if ends_on < starts_on:
            errors[last] = ["Pick a last day on or after the first day."]
        elif days < offer.min_days:
            errors[last] = [f"The shortest loan is {_days(offer.min_days)}."]
        elif days > offer.max_days:
            errors[last] = [f"The longest loan is {_days(offer.max_days)}."]
    if errors:
        message = next(iter(errors.values()))[0]
        raise ValidationFailed(message if len(errors) == 1 else "Pick other days.", fields=errors)


def _is_day(value) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _days(count: int) -> str:
    return f"{count} day{'s' if count != 1 else ''}"


def quote_loan(
    listing_id: int, starts_on: date | None, ends_on: date | None, *, on: date | None = None
) -> LoanQuote:
    """The quote for borrowing a listing from `starts_on` to `ends_on` (both included).

    Raises NotFound, ListingHidden, NotForLoan (not lendable now), ValidationFailed (days it
    cannot be lent)."""
    listing = get_listing(listing_id)
    ensure_not_hidden(listing.id)
    return quote_for(listing, starts_on, ends_on, on=on)


def quote_for(
    listing: Listing,
    starts_on: date | None,
    ends_on: date | None,
    *,
    on: date | None = None,
    busy: list[calendar.Busy] | None = None,
) -> LoanQuote:
    """quote_loan() for a listing already loaded (the listing page, which may pass the taken
    ranges it has read already, covering at least the chosen days)."""
    on = on or calendar.today()
    if not listing.is_lendable:
        raise NotForLoan()
    assert listing.loan_offer is not None
    check_loan_dates(listing.loan_offer, starts_on, ends_on, on=on)
    assert starts_on is not None and ends_on is not None
    quote = pricing.quote(listing.loan_offer, starts_on, ends_on)
    plan = deposit_plan(
        quote,
        listing.currency,
        in_person=settles_in_person(),
        on=on,
        hold_window_days=_setting(HOLD_WINDOW_DAYS),
        claim_window_days=_setting(CLAIM_WINDOW_DAYS),
    )
    if busy is None:
        busy = calendar.busy_ranges(listing.id, starts_on, ends_on)
    taken = [b for b in busy if b.overlaps(starts_on, ends_on)]
    return LoanQuote(quote=quote, currency=listing.currency, busy=taken, deposit=plan)


def deposit_rule(listing: Listing) -> str:
    """The deposit rule of a lendable listing in general (before any days are chosen)."""
    offer = listing.loan_offer
    assert offer is not None
    on = calendar.today()
    sample = pricing.quote(offer, on, on + timedelta(days=offer.min_days - 1))
    return deposit_plan(
        sample,
        listing.currency,
        in_person=settles_in_person(),
        on=on,
        hold_window_days=_setting(HOLD_WINDOW_DAYS),
        claim_window_days=_setting(CLAIM_WINDOW_DAYS),
    ).rule
