"""What borrowing costs: the fee for a number of days, the deposit, and the late fee. Pure
integer arithmetic on a listing's loan terms, so the listing page, the request form, the API's
quote and the loan itself all say the same numbers.

    quote(terms, date(2026, 12, 4), date(2026, 12, 6)).fee_cents   # three days
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol


class Terms(Protocol):
    """A LoanOffer (app/listings/models.py), or anything with its money columns."""

    fee_per_day_cents: int
    fee_per_week_cents: int | None
    deposit_cents: int
    late_fee_per_day_cents: int
    late_fee_cap_cents: int


@dataclass(frozen=True)
class Quote:
    starts_on: date
    ends_on: date  # included
    days: int
    fee_cents: int  # for all the days
    deposit_cents: int  # refundable
    late_fee_per_day_cents: int
    late_fee_cap_cents: int  # the most a late return can cost: never more than the deposit

    @property
    def due_cents(self) -> int:
        """What the borrower puts up on approval: the fee plus the deposit."""
        return self.fee_cents + self.deposit_cents

    @property
    def is_free(self) -> bool:
        return self.fee_cents == 0


def days_between(starts_on: date, ends_on: date) -> int:
    """Whole days of a loan, both ends included (a loan from Friday to Sunday is 3 days)."""
    return (ends_on - starts_on).days + 1


def fee_cents(terms: Terms, days: int) -> int:
    """The fee for `days` days: whole weeks at the weekly rate when there is one, the days
    left over at the daily fee but never more than a week costs."""
    daily = terms.fee_per_day_cents
    weekly = terms.fee_per_week_cents
    if weekly is None or weekly >= 7 * daily:
        return days * daily
    weeks, rest = divmod(days, 7)
    return weeks * weekly + min(rest * daily, weekly)


def late_fee_cap_cents(terms: Terms) -> int:
    """The most lateness can cost: the lender's cap, and at most the deposit (the late fee is
    taken from it)."""
    return min(terms.late_fee_cap_cents, terms.deposit_cents)


def late_fee_cents(terms: Terms, late_days: int) -> int:
    """The late fee for coming back `late_days` whole days after the due day."""
    if late_days <= 0:
        return 0
    return min(late_days * terms.late_fee_per_day_cents, late_fee_cap_cents(terms))


def late_days(ends_on: date, returned_on: date) -> int:
    """Whole days past the due day (0 when returned on or before it)."""
    return max(0, (returned_on - ends_on).days)


def quote(terms: Terms, starts_on: date, ends_on: date) -> Quote:
    days = days_between(starts_on, ends_on)
    return Quote(
        starts_on=starts_on,
        ends_on=ends_on,
        days=days,
        fee_cents=fee_cents(terms, days),
        deposit_cents=terms.deposit_cents,
        late_fee_per_day_cents=terms.late_fee_per_day_cents,
        late_fee_cap_cents=late_fee_cap_cents(terms),
    )
