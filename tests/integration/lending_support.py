"""Helpers for the lending tests: a thing offered for loan (a listing with its LoanOffer), its
people, days relative to today, and a loan taken through its steps."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.lending import services as lending
from app.lending.models import Loan
from app.listings.models import LoanBlockout, LoanOffer
from app.payments import ledger
from app.payments.models import LedgerTransaction
from tests.factories import ListingFactory

TENT = {
    "fee_per_day_cents": 500,
    "deposit_cents": 5000,
    "min_days": 1,
    "max_days": 14,
    "late_fee_per_day_cents": 300,
    "late_fee_cap_cents": 1200,
    "pickup_area": "Riverside",
}


def lendable(lender, title: str = "Two-person tent", **terms) -> int:
    """A listing of the lender's offered for loan on TENT's terms (changed by `terms`); its id."""
    listing = ListingFactory(seller=lender, title=title, for_sale=False, price_cents=0)
    db.session.add(LoanOffer(listing_id=listing.id, **(TENT | terms)))
    db.session.commit()
    return listing.id


def block_out(listing_id: int, first: date, last: date) -> None:
    db.session.add(LoanBlockout(listing_id=listing_id, starts_on=first, ends_on=last))
    db.session.commit()


def day(offset: int) -> date:
    """Today (UTC) plus `offset` days."""
    return utcnow().date() + timedelta(days=offset)


def at(value: date, hour: int = 12) -> datetime:
    """Noon (or `hour`) UTC of a day: a moment to run a step or a job at."""
    from datetime import UTC, time

    return datetime.combine(value, time(hour), tzinfo=UTC)


def fresh(loan_id: int) -> Loan:
    """The loan as stored now."""
    db.session.expire_all()
    return db.session.get(Loan, loan_id)


def ask(listing_id: int, borrower, first: int = 10, days: int = 3, message: str = "") -> Loan:
    """The borrower asks for `days` days starting `first` days from today."""
    return lending.request_loan(
        listing_id, borrower.id, day(first), day(first + days - 1), message or "May I?"
    )


def on_loan(loan: Loan) -> Loan:
    """Approve the loan now and have both sides confirm the handover on its first day."""
    moment = at(loan.starts_on, 9)
    if loan.state == "requested":
        lending.act(loan.id, "approve", loan.lender_id)
    lending.act(loan.id, "confirm_handover", loan.lender_id, now=moment)
    lending.act(loan.id, "confirm_handover", loan.borrower_id, now=moment)
    return fresh(loan.id)


def returned(loan: Loan, late_days: int = 0) -> Loan:
    """Take the loan out and bring it back `late_days` after its last day."""
    loan = on_loan(loan) if loan.state != "active" else loan
    moment = at(loan.ends_on + timedelta(days=late_days), 18)
    lending.act(loan.id, "mark_returned", loan.borrower_id, now=moment)
    return fresh(loan.id)


def assert_ledger_clean() -> None:
    """Every transaction sums to zero and `flask ledger verify` finds nothing."""
    db.session.expire_all()
    for txn in db.session.scalars(select(LedgerTransaction)):
        assert sum(line.amount_cents for line in txn.lines) == 0, txn.operation_key
    report = ledger.verify()
    assert report.ok, report.problems


def save_card(user, number: str = "4242424242424242") -> None:
    """A card saved on the user's profile at the (Stripe) provider, as the card page leaves it
    once the SetupIntent succeeded. 4000000000000341 saves but declines every charge."""
    from app.payments import money as payments
    from app.payments.models import PaymentProfile
    from app.payments.providers import get_provider

    provider = get_provider()
    setup = payments.start_card_setup(user.id, email=user.email)
    profile = db.session.scalar(select(PaymentProfile).where(PaymentProfile.user_id == user.id))
    method = provider.client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 1, "exp_year": 2035, "cvc": "123"},
        }
    )
    provider.client.v1.payment_methods.attach(method.id, params={"customer": profile.customer_ref})
    provider.client.v1.setup_intents.confirm(setup.ref, params={"payment_method": method.id})
    profile.payment_method_ref = provider.retrieve_setup(setup.ref).payment_method_ref
    db.session.commit()
