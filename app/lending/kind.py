"""Loans as a kind of transaction (app/transactions/registry.py): registered at app start, so
the platform (machine, events, messages, feedback, money, pages) reaches loans only through
here. Loans also tell the listings' calendar which days they hold (app/lending/calendar.py)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import or_

from app.extensions import db
from app.lending import calendar, money, services, states, steps
from app.lending.conversation import KIND, describe_loans, loan_had_activity
from app.lending.feedback import FEEDBACK, SETTLED
from app.lending.models import Loan
from app.transactions.registry import DisputeRules, TransactionKind, count_where, register_kind


def _parties(loan: Loan) -> dict[int, str]:
    return {loan.lender_id: "lender", loan.borrower_id: "borrower"}


def _load(loan_id: int, lock: bool) -> Loan | None:
    return steps.lock_loan(loan_id) if lock else db.session.get(Loan, loan_id)


LOAN_KIND = TransactionKind(
    name=KIND,
    model=Loan,
    machine=states.MACHINE,
    load=_load,
    parties=_parties,
    amount=lambda loan: loan.fee_cents,
    currency=lambda loan: loan.currency,
    feedback_opens=lambda loan: loan.state in SETTLED,
    url=lambda loan: ("lending.detail", {"loan_id": loan.id}),
    not_found="We could not find that loan.",
    event_payload=steps.event_payload,
    record_history=steps.record_history,
    # First what the step means for the loan (the second handover confirmation starts it),
    # then its money.
    after_step=(steps.after_step, money.money_hook),
    describe=describe_loans,
    on_message=loan_had_activity,
    feedback=FEEDBACK,
    money=money.MONEY,
    # The borrower disputes a damage claim (a moderator divides the amount claimed), or the
    # fee once the thing is back or within REFUND_WINDOW_DAYS after completion (taken back
    # from the lender then). A chargeback on the loan's fee opens a fee dispute from those
    # states; during a claim it stays a flag on the payment for a person.
    disputes=DisputeRules(
        opens={
            states.RETURNED: "dispute_fee",
            states.DAMAGE_CLAIMED: "dispute_claim",
            states.COMPLETED: "dispute_fee",
        },
        stake=services.dispute_stake,
        carry_out=services.decide_claim,
        follow_up=money.follow_up,
        chargebacks=money.FEE_DISPUTES,
        # A counter-offer to the claim accepted; a fee refund agreed after completion.
        settles=frozenset({states.DAMAGE_CLAIMED, states.COMPLETED}),
        window_ends=money.refund_window_ends,
    ),
    completed_count=lambda user_id: count_where(
        Loan,
        Loan.state == states.COMPLETED,
        or_(Loan.lender_id == user_id, Loan.borrower_id == user_id),
    ),
)


def init_app(app: Flask) -> None:
    """Make loans a kind of transaction (machine, conversations, feedback, money), tell payments
    about their money, and the listings' calendar about the days they hold."""
    register_kind(LOAN_KIND)
    money.init_app(app)
    calendar.register_with_listings()
