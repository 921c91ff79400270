"""The demo has moderators, open and decided cases, and a public moderation log."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import User
from app.disputes.models import Dispute
from app.extensions import db
from app.moderation.models import Appeal, ModerationAction, ModerationCase


def test_demo_has_moderators_cases_and_a_public_log(app, client):
    result = app.test_cli_runner().invoke(
        args=["demo", "--users", "8", "--listings", "24", "--trades", "10", "--seed", "5"]
    )
    assert result.exit_code == 0, result.output
    moderators = db.session.scalars(select(User).where(User.is_moderator)).all()
    assert len(moderators) == 2
    actions = db.session.scalars(select(ModerationAction)).all()
    assert {a.action for a in actions} >= {
        "warn",
        "remove",
        "dismiss",
        "suspend",
        "uphold",
        "decide",
    }
    decided = db.session.scalars(select(Dispute).where(Dispute.status == "decided")).all()
    assert decided and all(d.awarded_cents + d.refunded_cents == d.stake_cents for d in decided)
    waiting = db.session.scalars(select(ModerationCase).where(ModerationCase.status != "closed"))
    assert len(waiting.all()) == 1
    assert "Counterfeit goods are not allowed here." in client.get("/moderation/log").text


def test_demo_has_an_appeal_waiting_and_decided_ones_in_the_log(app, client):
    result = app.test_cli_runner().invoke(
        args=["demo", "--users", "8", "--listings", "24", "--trades", "10", "--seed", "5"]
    )
    assert result.exit_code == 0, result.output
    by_status = {a.status: a for a in db.session.scalars(select(Appeal))}
    assert {"pending", "upheld"} <= set(by_status)
    decided = by_status["upheld"]
    assert decided.decision.moderator_id != decided.action.moderator_id
    assert "on appeal" in client.get("/moderation/log").text
