"""Time passing on loans (services.run_due_jobs, the `lending.due` job): unanswered requests
expire, borrowers are reminded before the due day and each day late (the lender on the first),
returns nobody claimed for complete, unanswered claims stand, and provider calls an outage left
undone are retried. Every part runs twice without doing anything the second time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.jobs.runner import run_due
from app.lending import money as loan_money
from app.lending import services as lending
from app.notifications.models import Notification
from app.payments import ledger
from app.payments.models import Payment
from app.transactions import events
from tests.factories import UserFactory
from tests.integration.lending_support import (
    ask,
    assert_ledger_clean,
    at,
    fresh,
    lendable,
    on_loan,
    returned,
    save_card,
)

pytest_plugins = ("tests.stripe_server",)


@pytest.fixture
def lender(app):
    return UserFactory(handle="lena")


@pytest.fixture
def borrower(app):
    return UserFactory(handle="bob")


@pytest.fixture
def tent(lender):
    return lendable(lender)


def _told(user) -> list[tuple[str, str]]:
    """What the user was told so far (events recorded at a job's future time included)."""
    events.deliver_due(utcnow() + timedelta(days=400))
    db.session.expire_all()
    return [
        (n.kind, n.text)
        for n in db.session.scalars(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    ]


def test_an_unanswered_request_expires_and_both_hear_of_it(tent, lender, borrower):
    loan = ask(tent, borrower, first=10)
    assert lending.run_due_jobs(loan.expires_at - timedelta(minutes=1)) == 0
    assert fresh(loan.id).state == "requested"

    assert lending.run_due_jobs(loan.expires_at) == 1

    expired = fresh(loan.id)
    assert expired.state == "expired" and expired.expired_at == loan.expires_at
    assert lending.run_due_jobs(loan.expires_at + timedelta(hours=1)) == 0
    assert _told(borrower)[-1] == (
        "loan_answered",
        "Your request to borrow “Two-person tent” expired without an answer.",
    )
    assert _told(lender)[-1][1] == (
        "@bob's request to borrow “Two-person tent” expired without an answer."
    )


def test_the_borrower_is_reminded_before_the_due_day_and_each_day_late(tent, lender, borrower):
    loan = on_loan(ask(tent, borrower, first=5, days=3))
    due = loan.ends_on
    _told(borrower), _told(lender)  # what came before

    def remind(on, hour=8) -> list[str]:
        before = len(_told(borrower))
        lending.run_due_jobs(at(on, hour))
        return [text for _, text in _told(borrower)[before:]]

    assert remind(due - timedelta(days=2)) == []
    assert remind(due - timedelta(days=1)) == [
        f"“Two-person tent” is due back on {due:%b} {due.day}. Arrange the return with @lena."
    ]
    assert remind(due - timedelta(days=1), hour=20) == []
    assert remind(due) == []  # reminded once before the due day
    lender_before = len(_told(lender))
    (late,) = remind(due + timedelta(days=1))
    assert late.startswith(
        f"“Two-person tent” was due back on {due:%b} {due.day}: it is 1 day late."
    )
    assert late.endswith("Late fee: $3.00 a day, at most $12.00.")
    assert _told(lender)[lender_before:] == [
        ("loan_due", f"@bob has not brought back “Two-person tent”, due on {due:%b} {due.day}. "
                     "We reminded them.")
    ]  # fmt: skip
    assert remind(due + timedelta(days=1), hour=23) == []
    assert remind(due + timedelta(days=2))[0].startswith(
        f"“Two-person tent” was due back on {due:%b} {due.day}: it is 2 days late."
    )
    assert len(_told(lender)) == lender_before + 1  # the lender heard once
    lending.act(loan.id, "mark_returned", borrower.id, now=at(due + timedelta(days=2), 18))
    assert remind(due + timedelta(days=3)) == []


def test_a_return_nobody_claims_for_completes_after_the_claim_window(tent, lender, borrower):
    loan = returned(ask(tent, borrower, first=2), late_days=1)
    window_over = loan.returned_at + timedelta(days=3)
    assert lending.run_due_jobs(window_over - timedelta(minutes=1)) == 0

    assert lending.run_due_jobs(window_over) == 1

    done = fresh(loan.id)
    assert done.state == "completed" and done.completed_at == window_over
    assert_ledger_clean()
    assert ledger.balance(ledger.AUTHORIZED, "USD") == 0
    assert (
        "loan_returned",
        "No claim was made for “Two-person tent”: the loan is complete and your deposit "
        "released. The late fee of $3.00 is kept from it.",
    ) in _told(borrower)
    assert "feedback_due" in [kind for kind, _ in _told(lender)]


def test_a_claim_the_borrower_does_not_answer_stands(tent, lender, borrower):
    loan = returned(ask(tent, borrower, first=2))
    lending.claim_damage(loan.id, lender.id, 1500, "Mud inside.", [], now=loan.returned_at)
    answer_by = loan.returned_at + timedelta(days=7)
    assert lending.run_due_jobs(answer_by - timedelta(minutes=1)) == 0

    assert lending.run_due_jobs(answer_by) == 1

    done = fresh(loan.id)
    assert done.state == "completed" and done.claim.answer == "accepted"
    assert done.claim.awarded_cents == 1500
    assert_ledger_clean()
    assert ledger.balance(ledger.CUSTOMER_FUNDING, "USD") == -(1500 + 1500)  # fee and claim


def test_the_lending_job_is_scheduled_with_the_other_due_jobs(tent, borrower):
    loan = ask(tent, borrower, first=10)
    results = run_due(loan.expires_at)
    assert results["lending.due"] == 1
    assert fresh(loan.id).state == "expired"


def test_an_approval_the_card_provider_missed_is_secured_by_the_job(faulty, lender, borrower):
    save_card(borrower)
    loan = ask(lendable(lender), borrower, first=0, days=2)
    faulty.fail("charge_saved_card", "unavailable", "unavailable", "unavailable")

    lending.act(loan.id, "approve", lender.id)

    assert fresh(loan.id).state == "approved"  # approved; the money not secured yet
    assert ledger.balance(ledger.DEPOSITS_HELD, "USD") == 0
    assert lending.run_due_jobs(at(loan.starts_on, 0)) == 0  # too soon: it may still be trying
    assert lending.run_due_jobs(fresh(loan.id).approved_at + timedelta(minutes=6)) == 1
    assert ledger.balance(ledger.DEPOSITS_HELD, "USD") == 1000
    assert ledger.balance(ledger.AUTHORIZED, "USD") == 5000
    assert_ledger_clean()
    assert lending.run_due_jobs(fresh(loan.id).approved_at + timedelta(minutes=7)) == 0


def test_an_approved_loan_never_handed_over_lapses_after_its_last_day(tent, lender, borrower):
    loan = ask(tent, borrower, first=2, days=3)
    lending.act(loan.id, "approve", lender.id)
    _told(borrower), _told(lender)  # what came before

    assert lending.run_due_jobs(at(loan.ends_on, 23)) == 0  # its last day is not over yet
    assert fresh(loan.id).state == "approved"
    assert lending.run_due_jobs(at(loan.ends_on + timedelta(days=1), 0)) == 1

    lapsed = fresh(loan.id)
    assert lapsed.state == "cancelled"
    assert lending.run_due_jobs(at(loan.ends_on + timedelta(days=2), 0)) == 0
    for party in (borrower, lender):
        kind, text = _told(party)[-1]
        assert kind == "loan_cancelled" and "was never handed over" in text
    assert_ledger_clean()


def test_a_lapsed_card_loan_refunds_the_fee_and_releases_the_deposit(faulty, lender, borrower):
    save_card(borrower)
    loan = ask(lendable(lender), borrower, first=0, days=2)
    lending.act(loan.id, "approve", lender.id)
    assert ledger.balance(ledger.DEPOSITS_HELD, "USD") == 1000

    assert lending.run_due_jobs(at(loan.ends_on + timedelta(days=1), 1)) == 1

    assert fresh(loan.id).state == "cancelled"
    assert ledger.balance(ledger.DEPOSITS_HELD, "USD") == 0
    assert ledger.balance(ledger.AUTHORIZED, "USD") == 0
    assert_ledger_clean()


def test_a_loan_running_past_its_deposit_hold_keeps_the_deposit_on_the_saved_card(
    faulty, lender, borrower
):
    save_card(borrower)
    loan = on_loan(ask(lendable(lender), borrower, first=0, days=2))
    assert fresh(loan.id).deposit_method == "hold"
    assert ledger.balance(ledger.AUTHORIZED, "USD") == 5000  # the deposit
    approved = fresh(loan.id).approved_at

    lending.run_due_jobs(approved + timedelta(days=5))  # late, but the hold still lasts
    assert fresh(loan.id).deposit_method == "hold"
    lending.run_due_jobs(approved + timedelta(days=6, hours=1))  # the hold is about to end

    moved = fresh(loan.id)
    assert moved.deposit_method == "saved_card" and moved.state == "active"
    assert ledger.balance(ledger.AUTHORIZED, "USD") == 0  # the hold released
    assert "deposit is now kept on your saved card" in _told(borrower)[-1][1]
    assert_ledger_clean()

    late = returned(moved, late_days=5)  # the late fee is kept from the deposit
    lending.act(late.id, "confirm_return", lender.id)
    done = fresh(loan.id)
    assert done.state == "completed" and done.late_fee_cents > 0
    paid = db.session.scalars(
        select(Payment).where(Payment.subject_type == "loan", Payment.subject_id == loan.id)
    )
    kept = [payment for payment in paid if loan_money.part_of(payment) == "kept"]
    assert [p.amount_cents for p in kept] == [done.late_fee_cents]
    assert_ledger_clean()
