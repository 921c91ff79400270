"""Real threads: a lender (or two of their devices) adding overlapping block-outs at the same
instant keep exactly one. The listing's calendar lock orders them (calendar.lock_calendar: row
locks on PostgreSQL, the write lock on SQLite), as it orders a loan's approval against a
block-out. Both databases."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.listings import availability
from app.listings.models import LoanBlockout
from tests.integration.loan_offer_support import day, lendable
from tests.integration.support import at_once


def test_eight_overlapping_block_outs_at_once_keep_exactly_one(app):
    listing = lendable()
    owner = listing.seller_id

    def add(offset: int):
        # Every range covers day 10, so any two overlap.
        return lambda: (
            availability.add_blockout(listing.id, owner, day(10 - offset), day(10 + offset))
            and "ok"
        )

    def outcome(error: Exception) -> str:
        return getattr(error, "code", f"error: {error!r}")

    outcomes = at_once(app, [add(n) for n in range(8)], on_error=outcome)
    assert sorted(outcomes) == ["blockout_overlaps"] * 7 + ["ok"]
    db.session.expire_all()
    assert len(db.session.scalars(select(LoanBlockout)).all()) == 1


def test_block_outs_on_separate_days_at_once_are_all_kept(app):
    listing = lendable()
    owner = listing.seller_id
    calls = [
        (lambda n=n: availability.add_blockout(listing.id, owner, day(n * 2), day(n * 2)) and "ok")
        for n in range(1, 7)
    ]
    assert at_once(app, calls) == ["ok"] * 6
    db.session.expire_all()
    assert len(db.session.scalars(select(LoanBlockout)).all()) == 6
