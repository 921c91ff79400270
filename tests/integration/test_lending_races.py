"""No double booking, proven with real threads: several borrowers' requests for overlapping days
approved at the same instant, and an approval racing a block-out of the same days. Exactly one
wins each time; the others are refused with words a person understands.

PostgreSQL serializes them on the listing's rows (FOR UPDATE); on SQLite the write each decision
starts with takes the database's one write lock. All run on both."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.lending import services as lending
from app.lending.models import Loan
from app.listings import availability
from app.listings.models import LoanBlockout
from tests.factories import UserFactory
from tests.integration.lending_support import ask, day, lendable
from tests.integration.support import at_once

ROUNDS = 5


def _states(ids: list[int]) -> list[str]:
    db.session.expire_all()
    return [db.session.get(Loan, loan_id).state for loan_id in ids]


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_overlapping_requests_approved_at_the_same_moment_book_the_days_once(app, round_):
    lender = UserFactory()
    tent = lendable(lender)
    loans = [
        ask(tent, UserFactory(), first=10, days=3),
        ask(tent, UserFactory(), first=11, days=3),
        ask(tent, UserFactory(), first=12, days=1),
    ]

    outcomes = at_once(
        app, [lambda loan=loan: lending.act(loan.id, "approve", lender.id).state for loan in loans]
    )

    assert outcomes.count("approved") == 1, outcomes
    # The others found the days taken, or already declined by the approval that won.
    assert set(outcomes) - {"approved"} <= {"DatesTaken", "InvalidTransition"}, outcomes
    states = _states([loan.id for loan in loans])
    assert sorted(states) == ["approved", "declined", "declined"]
    booked = db.session.scalar(
        select(func.count(Loan.id)).where(Loan.listing_id == tent, Loan.state == "approved")
    )
    assert booked == 1


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_lenders_approving_on_different_things_do_not_wait_for_each_other(app, round_):
    first, second = UserFactory(), UserFactory()
    loans = [ask(lendable(first), UserFactory()), ask(lendable(second), UserFactory())]
    outcomes = at_once(
        app,
        [lambda loan=loan: lending.act(loan.id, "approve", loan.lender_id).state for loan in loans],
    )
    assert outcomes == ["approved", "approved"]


def _block_out(listing_id: int, lender_id: int, first, last) -> str:
    """The lender blocks out days through the listings' own service, which takes the listing's
    calendar the way an approval does (app/listings/calendar.py lock_calendar)."""
    availability.add_blockout(listing_id, lender_id, first, last)
    return "blocked"


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_an_approval_racing_a_block_out_of_the_same_days_lets_one_of_them_win(app, round_):
    lender = UserFactory()
    tent = lendable(lender)
    loan = ask(tent, UserFactory(), first=10, days=3)

    outcomes = at_once(
        app,
        [
            lambda: lending.act(loan.id, "approve", lender.id).state,
            lambda: _block_out(tent, lender.id, day(12), day(14)),
        ],
    )

    db.session.expire_all()
    blocked = db.session.scalar(select(func.count(LoanBlockout.id)))
    if "approved" in outcomes:
        assert sorted(outcomes) == ["DatesBooked", "approved"] and blocked == 0
    else:
        assert sorted(outcomes) == ["DatesTaken", "blocked"] and blocked == 1
        assert _states([loan.id]) == ["requested"]


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_both_sides_confirming_the_handover_at_once_start_the_loan(app, round_):
    lender, borrower = UserFactory(), UserFactory()
    loan = ask(lendable(lender), borrower, first=0, days=2)
    lending.act(loan.id, "approve", lender.id)

    outcomes = at_once(
        app,
        [
            lambda: lending.act(loan.id, "confirm_handover", lender.id).state,
            lambda: lending.act(loan.id, "confirm_handover", borrower.id).state,
        ],
    )

    assert "active" in outcomes, outcomes
    assert _states([loan.id]) == ["active"]
