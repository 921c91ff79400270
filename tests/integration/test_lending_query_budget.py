"""Query budgets of the lending pages: "My loans" (both tabs, past loans), a loan page and the
API's list run a fixed number of SQL statements however many loans there are (no N+1): each is
requested over a market of loans in every state, then again after the market has doubled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from app.api import services as tokens
from app.extensions import db
from app.lending import services as lending
from app.lending.models import DamageClaim, DamageClaimPhoto
from app.messaging.services import send_message
from app.reviews.services import leave_feedback
from app.transactions import events
from tests.factories import UserFactory
from tests.integration.lending_support import ask, at, lendable, on_loan, returned
from tests.integration.test_query_budget import (
    StatementCounter,
    _assert_fixed_budget,
    _fetch,
)

# What each batch's loans of alice's become, half borrowed by her and half lent by her.
PLANS = ("requested", "approved", "active", "returned_late", "claimed", "disputed",
         "completed", "declined", "cancelled", "completed")  # fmt: skip


class LoanMarket:
    """Alice borrows and lends; bob is her usual partner, newcomers come with every batch."""

    def __init__(self) -> None:
        self.alice = UserFactory(handle="alice")
        self.bob = UserFactory(handle="bob")
        self.first_loan_id: int | None = None
        self.batches = 0

    def grow(self) -> None:
        self.batches += 1
        others = [UserFactory() for _ in range(3)]
        for n, plan in enumerate(PLANS):
            partner = [self.bob, *others][n % 4]
            lender, borrower = (partner, self.alice) if n % 2 == 0 else (self.alice, partner)
            listing = lendable(lender, title=f"Camping tent {self.batches}-{n}")
            loan = ask(listing, borrower, first=2 + n, days=2)
            if self.first_loan_id is None and {lender.id, borrower.id} == {
                self.alice.id,
                self.bob.id,
            }:
                self.first_loan_id = loan.id
            send_message("loan", loan.id, borrower.id, "Hello! Could I pick it up Friday?")
            send_message("loan", loan.id, lender.id, "Friday at six works.")
            self._take(loan, plan)
        send_message(
            "loan", self.first_loan_id, self.alice.id, f"Still fine, batch {self.batches}."
        )
        events.deliver_committed()

    def _take(self, loan, plan: str) -> None:
        after = at(loan.ends_on + timedelta(days=1))
        if plan == "approved":
            lending.act(loan.id, "approve", loan.lender_id)
        elif plan == "active":
            on_loan(loan)
        elif plan in ("returned_late", "claimed", "disputed", "completed"):
            loan = returned(loan, late_days=1 if plan == "returned_late" else 0)
        if plan in ("claimed", "disputed"):
            lending.claim_damage(loan.id, loan.lender_id, 1000, "Bent pole.", [], now=after)
            claim_id = db.session.query(DamageClaim.id).filter_by(loan_id=loan.id).scalar()
            db.session.add(  # a photo row (its file is not needed to count statements)
                DamageClaimPhoto(
                    claim_id=claim_id,
                    image_path="claims/x.jpg",
                    thumb_path="claims/x-t.jpg",
                    width=800,
                    height=600,
                )
            )
            db.session.commit()
        if plan == "disputed":
            lending.act(loan.id, "dispute_claim", loan.borrower_id, note="Not my doing.", now=after)
        if plan == "completed":
            lending.act(loan.id, "confirm_return", loan.lender_id, now=after)
            leave_feedback(loan.id, loan.borrower_id, "positive", "Great tent.", kind="loan")
            leave_feedback(loan.id, loan.lender_id, "positive", "Careful borrower.", kind="loan")
        elif plan == "declined":
            lending.act(loan.id, "decline", loan.lender_id, note="Away that week.")
        elif plan == "cancelled":
            lending.act(loan.id, "cancel", loan.borrower_id)


@pytest.fixture
def market(app) -> LoanMarket:
    market = LoanMarket()
    market.grow()
    return market


@pytest.fixture
def count_queries(app):
    counter = StatementCounter()
    event.listen(db.engine, "before_cursor_execute", counter)

    def _count(call):
        with counter.counting():
            response = call()
        return response, list(counter.statements)

    yield _count
    event.remove(db.engine, "before_cursor_execute", counter)


NEW = "Camping tent 2-"  # a title of the second batch
# (name, URL in this market, what shows the second batch, budget of statements)
PAGES = [
    # Signed in (session; the header's unread counts, one statement), the tab's loans (count, rows),
    # the tabs' numbers, what needs you, what is due next, unread messages per loan.
    ("my loans borrowing", lambda m: "/loans", NEW, 8),
    ("my loans lending", lambda m: "/loans?tab=lending", NEW, 8),
    ("my past loans", lambda m: "/loans?show=past", NEW, 8),
    # The loan page also reads once which of its messages a moderator hid (app/moderation).
    ("loan page", lambda m: f"/loans/{m.first_loan_id}", "batch 2", 10),
]


@pytest.mark.parametrize(
    ("url_of", "new_rows", "ceiling"),
    [page[1:] for page in PAGES],
    ids=[page[0] for page in PAGES],
)
def test_lending_page_runs_a_fixed_number_of_statements(
    market, make_client, count_queries, url_of, new_rows, ceiling
):
    client = make_client(market.alice)
    url = url_of(market)
    first, before = _fetch(count_queries, client, url)
    market.grow()
    second, after = _fetch(count_queries, client, url)
    assert new_rows not in first.text
    assert new_rows in second.text
    _assert_fixed_budget(before, after, ceiling)


def test_api_loans_runs_a_fixed_number_of_statements(market, client, count_queries):
    _token, raw = tokens.create_token(market.alice.id, "budget", ["read"])
    headers = {"Authorization": f"Bearer {raw}"}
    first, before = _fetch(count_queries, client, "/api/v1/loans", headers)
    market.grow()
    second, after = _fetch(count_queries, client, "/api/v1/loans", headers)
    assert second.get_json()["total"] > first.get_json()["total"] > 0
    _assert_fixed_budget(before, after, 8)


def test_a_loan_page_under_a_damage_claim_reads_the_claim_once(market, make_client, count_queries):
    """The claim (and its photos) come with the loan; the money lines and the next step ask
    steps.claim_of, which answers from it (it read the claim three times: twice by loan_id,
    once more through the relationship)."""
    from sqlalchemy import select

    from app.lending.models import Loan

    loan_id = db.session.scalar(
        select(Loan.id).where(Loan.state == "damage_claimed", Loan.borrower_id == market.alice.id)
    )
    response, statements = count_queries(lambda: make_client(market.alice).get(f"/loans/{loan_id}"))
    assert response.status_code == 200
    assert "Damage claim" in response.text and "Bent pole." in response.text
    # No statement of its own: the claim comes joined to the loan's row.
    assert any("JOIN damage_claims" in s for s in statements)
    own = [s for s in statements if s.lstrip().startswith("SELECT damage_claims.")]
    assert own == [], "\n---\n".join(own)
    assert len(statements) <= 17, "\n---\n".join(statements)
