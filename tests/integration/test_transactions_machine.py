"""The shared engine on a database, for a kind that exists only in the tests (a lamp loan,
tests/lamp_kind.py): registering a model, a machine table and a registry entry is all a new kind
needs for locked, guarded, recorded steps with hooks and follow-on steps."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from app.extensions import db
from app.messaging.subjects import describe
from app.transactions.events import DomainEvent
from app.transactions.machine import advance, available_actions
from app.transactions.registry import find_kind, register_kind, unregister_kind
from tests.factories import UserFactory
from tests.lamp_kind import ENTERED, HISTORY, LAMP_KIND, LampBase, LampLoan


@pytest.fixture
def lamps(app):
    LampBase.metadata.create_all(db.engine)
    register_kind(LAMP_KIND)
    HISTORY.clear()
    ENTERED.clear()
    yield
    unregister_kind("lamp")
    db.session.remove()
    LampBase.metadata.drop_all(db.engine)


@pytest.fixture
def loan(lamps):
    lender, borrower = UserFactory(handle="lena"), UserFactory(handle="bodo")
    loan = LampLoan(lender_id=lender.id, borrower_id=borrower.id)
    db.session.add(loan)
    db.session.commit()
    return loan, lender, borrower


def test_a_kind_registered_in_a_test_moves_through_its_machine_with_history_events_and_hooks(
    loan,
):
    loan, lender, borrower = loan
    assert available_actions("lamp", loan, lender.id) == ["lend", "decline"]
    assert available_actions("lamp", loan, borrower.id) == ["decline"]

    advance("lamp", loan.id, "lend", lender.id)
    advance("lamp", loan.id, "bring_back", borrower.id, note="  Bulb still fine  ")

    loan = db.session.get(LampLoan, loan.id)
    assert loan.state == "closed"  # bring_back is followed by the system's close
    assert loan.lent_at is not None and loan.returned_at is not None
    assert loan.closed_at is not None
    assert loan.condition_note == "Bulb still fine"
    expected_history = [
        ("lend", "requested", "lent", lender.id, None),
        ("bring_back", "lent", "returned", borrower.id, "Bulb still fine"),
        ("close", "returned", "closed", None, None),
    ]
    assert list(HISTORY) == expected_history
    assert list(ENTERED) == [(loan.id, "closed")]
    names = db.session.scalars(
        select(DomainEvent.name)
        .where(DomainEvent.subject_kind == "lamp", DomainEvent.subject_id == loan.id)
        .order_by(DomainEvent.id)
    ).all()
    assert names == ["lamp.lend", "lamp.bring_back", "lamp.close"]
    event = db.session.scalars(select(DomainEvent).where(DomainEvent.name == "lamp.lend")).one()
    assert event.payload["lender_id"] == lender.id
    assert (event.payload["from_state"], event.payload["to_state"]) == ("requested", "lent")


def test_the_engine_refuses_with_the_kinds_own_words(loan):
    loan, lender, borrower = loan
    stranger = UserFactory()
    with pytest.raises(NotFound, match=re.escape("We could not find that lamp loan.")):
        advance("lamp", loan.id, "lend", stranger.id)
    with pytest.raises(NotFound, match=re.escape("We could not find that lamp loan.")):
        advance("lamp", loan.id + 1000, "lend", lender.id)
    with pytest.raises(
        NotFound, match=re.escape("That is not something you can do with a lamp loan.")
    ):
        advance("lamp", loan.id, "teleport", lender.id)
    with pytest.raises(Forbidden, match=re.escape("Only the lender can do that.")):
        advance("lamp", loan.id, "lend", borrower.id)
    with pytest.raises(
        InvalidTransition,
        match=re.escape("This lamp loan is still only requested, so it cannot be"),
    ):
        advance("lamp", loan.id, "bring_back", borrower.id)
    with pytest.raises(ValidationFailed):
        advance("lamp", loan.id, "decline", borrower.id, note="x" * 501)
    advance("lamp", loan.id, "decline", borrower.id)
    with pytest.raises(
        InvalidTransition, match=re.escape("was declined, so it can no longer be lent.")
    ):
        advance("lamp", loan.id, "lend", lender.id)
    assert db.session.get(LampLoan, loan.id).state == "declined"
    assert [step[0] for step in HISTORY] == ["decline"]


def test_a_kind_without_conversations_is_no_subject(lamps):
    assert find_kind("lamp") is LAMP_KIND
    assert describe("lamp", [1], 1) == {}
