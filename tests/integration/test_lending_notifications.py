"""A loan from request to feedback: every step where the other side must act (or should know)
reaches them in their words, a loan talked about in messages is a conversation subject, and the
two rate each other with the details declared for each side (double-blind, as for orders)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.lending import services as lending
from app.messaging.services import send_message
from app.notifications import services as notifications
from app.notifications.models import Notification
from app.reviews.models import Feedback
from app.reviews.services import feedback_view, leave_feedback
from app.transactions import events
from tests.factories import UserFactory
from tests.integration.lending_support import ask, at, fresh, lendable


@pytest.fixture
def lender(app):
    return UserFactory(handle="lena")


@pytest.fixture
def borrower(app):
    return UserFactory(handle="bob")


def _told(user) -> list[tuple[str, str]]:
    """What the user was told so far (steps taken at later times included)."""
    events.deliver_due(utcnow() + timedelta(days=400))
    db.session.expire_all()
    return [
        (n.kind, n.text)
        for n in db.session.scalars(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    ]


def test_every_step_of_a_loan_tells_the_side_that_must_act(lender, borrower):
    tent = lendable(lender)
    loan = ask(tent, borrower, first=2, days=3, message="For the lake weekend")
    days = f"from {loan.starts_on:%b} {loan.starts_on.day} to {loan.ends_on:%b} {loan.ends_on.day}"
    assert _told(lender) == [
        ("loan_requested", f"@bob asks to borrow “Two-person tent” {days} (3 days). "
                           "Approve or decline the request.")
    ]  # fmt: skip

    send_message("loan", loan.id, lender.id, "Sure, pick it up at 9?")
    lending.act(loan.id, "approve", lender.id)
    moment = at(loan.starts_on, 9)
    lending.act(loan.id, "confirm_handover", lender.id, now=moment)
    lending.act(loan.id, "confirm_handover", borrower.id, now=moment)
    late = at(loan.ends_on + timedelta(days=1), 18)
    lending.act(loan.id, "mark_returned", borrower.id, now=late)
    lending.claim_damage(loan.id, lender.id, 2000, "Bent pole.", [], now=late)
    lending.act(loan.id, "accept_claim", borrower.id, now=late)

    due = f"{loan.ends_on:%b} {loan.ends_on.day}"
    assert _told(borrower) == [
        ("message", "@lena wrote about “Two-person tent”: Sure, pick it up at 9?"),
        ("loan_answered", f"@lena approved your request to borrow “Two-person tent” {days} "
                          "(3 days). Arrange the handover in the messages."),
        ("loan_handover", "@lena confirmed the handover of “Two-person tent”. Confirm it too "
                          "once you have it."),
        ("loan_handover", f"You have “Two-person tent” until {due}: bring it back by then."),
        ("loan_claim", "@lena claims $20.00 of your deposit for damage to “Two-person tent”. "
                       "Accept or dispute the claim."),
        ("feedback_due", "“Two-person tent” is complete. How did it go with @lena? "
                         "Leave feedback."),
    ]  # fmt: skip
    assert _told(lender)[1:] == [
        ("loan_handover", f"“Two-person tent” is on loan to @bob until {due}."),
        ("loan_returned", "@bob brought back “Two-person tent”, 1 day late. Confirm it came "
                          "back in good condition, or claim for damage."),
        ("loan_claim", "@bob accepted your claim of $20.00 for “Two-person tent”."),
        ("feedback_due", "“Two-person tent” is complete. How did it go with @bob? "
                         "Leave feedback."),
    ]  # fmt: skip


def test_the_lender_and_the_borrower_rate_each_other_in_their_roles(lender, borrower):
    loan = ask(lendable(lender), borrower, first=1, days=2)
    lending.act(loan.id, "approve", lender.id)
    lending.act(loan.id, "confirm_with_code", borrower.id, code=loan.handover_code)
    lending.act(loan.id, "mark_returned", lender.id, note="All good")
    assert fresh(loan.id).state == "returned"
    with pytest.raises(lending.Conflict):  # not before the loan is settled
        leave_feedback(loan.id, borrower.id, "positive", kind="loan")
    lending.act(loan.id, "confirm_return", lender.id)

    view = feedback_view(loan.id, borrower.id, kind="loan")
    assert view is not None
    leave_feedback(loan.id, borrower.id, "positive", "Clean tent", 5, 5, 4, kind="loan")
    assert leave_feedback(loan.id, lender.id, "neutral", "Fine", 4, 3, 5, kind="loan")

    rows = {
        (f.author_id, f.subject_role): f
        for f in db.session.scalars(select(Feedback).where(Feedback.subject_kind == "loan"))
    }
    assert set(rows) == {(borrower.id, "lender"), (lender.id, "borrower")}
    pairs = {pair.author_role: pair for pair in lending.get_kind("loan").feedback.pairs}
    assert dict(pairs["borrower"].details)["speed"] == "Handover on time"
    assert dict(pairs["lender"].details) == {
        "described": "Returned in condition",
        "speed": "Returned on time",
        "communication": "Communication",
    }


def test_loans_have_their_own_notification_settings(lender):
    loan_kinds = [kind for kind in notifications.KINDS if kind.startswith("loan_")]
    assert loan_kinds == [
        "loan_requested",
        "loan_answered",
        "loan_handover",
        "loan_due",
        "loan_returned",
        "loan_claim",
        "loan_cancelled",
    ]
    assert (
        notifications.set_preferences(lender.id, {"loan_requested": "email"})["loan_requested"]
        == "email"
    )
