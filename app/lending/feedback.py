"""Loans as a kind of transaction feedback is about: once a loan is settled the borrower rates
the lender and the lender rates the borrower, each with the details that matter for that side
(the thing as described and handed over on time; the thing returned in condition and on time).
FEEDBACK is the `feedback` of the loans' entry in the kind registry (app/lending/kind.py), so
reviews never imports lending. The lateness of the return travels with every loan event
(`late_days`), for reputation.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm.util import identity_key

from app.extensions import db
from app.lending import states
from app.lending.conversation import KIND
from app.lending.models import Loan
from app.lending.steps import event_payload
from app.transactions.registry import FeedbackRules, Rateable, RatingPair

SETTLED = (states.COMPLETED, states.RESOLVED)
PAIRS = (
    RatingPair(
        "borrower",
        "lender",
        (
            ("described", "Item as described"),
            ("communication", "Communication"),
            ("speed", "Handover on time"),
        ),
    ),
    RatingPair(
        "lender",
        "borrower",
        (
            ("described", "Returned in condition"),
            ("speed", "Returned on time"),
            ("communication", "Communication"),
        ),
    ),
)


def settled_at(loan: Loan):
    """When the loan was settled (completed, or resolved by a moderator), None before."""
    if loan.state == states.COMPLETED:
        return loan.completed_at
    if loan.state == states.RESOLVED:
        return loan.resolved_at
    return None


def _rateable(loan: Loan) -> Rateable:
    return Rateable(
        kind=KIND,
        id=loan.id,
        parties={loan.borrower_id: "borrower", loan.lender_id: "lender"},
        title=loan.title,
        amount_cents=loan.fee_cents,
        currency=loan.currency,
        opens_at=settled_at(loan),
        path=f"/loans/{loan.id}",
        payload=event_payload(loan),
    )


def load_loans(ids: Sequence[int], lock: bool) -> dict[int, Rateable]:
    """The loans among `ids` as feedback sees them; `lock` takes their rows FOR UPDATE (no
    query for one loan this unit of work has loaded already, as the loan page has)."""
    if not lock and len(ids) == 1 and identity_key(Loan, ids[0]) in db.session.identity_map:
        loans = [db.session.get(Loan, ids[0])]
    else:
        query = select(Loan).where(Loan.id.in_(list(ids)))
        loans = db.session.scalars(query.with_for_update() if lock else query)
    return {loan.id: _rateable(loan) for loan in loans}


FEEDBACK = FeedbackRules(
    load=load_loans,
    pairs=PAIRS,
    roles={"lender": "lender", "borrower": "borrower"},
    noun="loan",
    not_open="You can leave feedback once the loan is completed.",
    not_found="Loan not found.",
    opens_on=(
        "loan.confirm_return",
        "loan.auto_complete",
        "loan.accept_claim",
        "loan.withdraw_claim",
        "loan.auto_accept",
        "loan.resolve",
        "loan.settle_claim",
    ),
)
