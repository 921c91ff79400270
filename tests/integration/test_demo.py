"""The demo marketplace is made through the real services, so it obeys every rule."""

from sqlalchemy import func, select

from app.extensions import db
from app.orders.models import Order
from app.payments import ledger
from app.reviews.models import Feedback, ReputationScore


def test_flask_demo_builds_a_living_marketplace(app):
    result = app.test_cli_runner().invoke(
        args=["demo", "--users", "8", "--listings", "24", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "8 users, 24 listings" in result.output

    states = set(db.session.scalars(select(Order.state).distinct()))
    assert {"pending_payment", "paid", "shipped", "completed"} <= states
    hidden = db.session.scalar(select(func.count()).where(Feedback.revealed_at.is_(None)))
    revealed = db.session.scalar(select(func.count()).where(Feedback.revealed_at.is_not(None)))
    assert hidden == 0 and revealed > 0
    # Steps happen one after the other, in the past.
    for order in db.session.scalars(select(Order).where(Order.state == "completed")):
        assert order.created_at <= order.paid_at <= order.shipped_at <= order.completed_at
    assert ledger.verify().ok
    assert db.session.scalar(select(func.count(ReputationScore.id))) > 0
