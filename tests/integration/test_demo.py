"""The demo marketplace is made through the real services, so it obeys every rule, and it is
one a newcomer can trust: pictures of the things, descriptions that agree with the listing,
varied conversations, and regulars whose many ratings back their scores."""

from datetime import timedelta

from sqlalchemy import func, select

from app.accounts.models import User
from app.db import utcnow
from app.demo import CONDITION_WORDS, REGULARS
from app.extensions import db
from app.listings.models import Listing
from app.messaging.models import Message
from app.messaging.services import unread_by_subject
from app.orders.models import Order
from app.payments import ledger
from app.payments.models import LedgerTransaction
from app.reviews.models import Feedback, ReputationScore


def _run_demo(app, *args: str):
    result = app.test_cli_runner().invoke(args=["demo", *args])
    assert result.exit_code == 0, result.output
    return result


def test_flask_demo_builds_a_living_marketplace(app):
    result = _run_demo(app, "--users", "8", "--listings", "24", "--trades", "40", "--seed", "3")
    assert "8 users, 24 listings" in result.output

    states = set(db.session.scalars(select(Order.state).distinct()))
    assert {"pending_payment", "paid", "shipped", "completed"} <= states
    revealed = db.session.scalar(select(func.count()).where(Feedback.revealed_at.is_not(None)))
    assert revealed > 0
    # Feedback still hidden is double-blind at work: one side rated, the window is open.
    window = timedelta(days=app.config["FEEDBACK_WINDOW_DAYS"])
    hidden_on_orders = select(Feedback).where(
        Feedback.revealed_at.is_(None), Feedback.subject_kind == "order"
    )
    for hidden in db.session.scalars(hidden_on_orders):
        assert db.session.get(Order, hidden.order_id).completed_at > utcnow() - window
        authors = db.session.scalar(
            select(func.count()).where(
                Feedback.subject_kind == "order", Feedback.subject_id == hidden.subject_id
            )
        )
        assert authors == 1
    # Steps happen one after the other, in the past.
    for order in db.session.scalars(select(Order).where(Order.state == "completed")):
        assert order.created_at <= order.paid_at <= order.shipped_at <= order.completed_at
        # The money moved when the steps happened: the statement dates it then, not today.
        money_dates = set(
            db.session.scalars(
                select(LedgerTransaction.created_at).where(
                    LedgerTransaction.subject_type == "order",
                    LedgerTransaction.subject_id == order.id,
                )
            )
        )
        assert money_dates and money_dates <= {order.paid_at, order.completed_at}
    assert ledger.verify().ok
    assert db.session.scalar(select(func.count()).select_from(ReputationScore)) > 0

    # Listings agree with their condition, their seller's location and show the thing.
    listings = list(db.session.scalars(select(Listing)))
    assert len(listings) == 24 + 40
    other_titles = {
        condition: {w for c, (words, _) in CONDITION_WORDS.items() if c != condition for w in words}
        for condition in CONDITION_WORDS
    }
    for listing in listings:
        assert listing.photos, listing.title
        assert f"Pick-up in {listing.seller.location}" in listing.description
        assert any(line in listing.description for line in CONDITION_WORDS[listing.condition][1])
        assert not any(listing.title.startswith(word) for word in other_titles[listing.condition])
        if listing.condition == "for_parts":
            assert "(for parts)" in listing.title
    assert len({listing.title for listing in listings}) >= 25
    # What sold in the past is sold out: the shop window shows the 24 listings on sale.
    assert 10 <= len([listing for listing in listings if listing.quantity > 0]) <= 24

    # Conversations vary, and those on finished orders have been read.
    bodies = list(db.session.scalars(select(Message.body)))
    assert len(set(bodies)) >= 10
    assert max(bodies.count(body) for body in set(bodies)) < len(bodies) / 3
    finished = list(
        db.session.execute(
            select(Order.id, Order.buyer_id, Order.seller_id).where(
                Order.state.in_(("completed", "cancelled"))
            )
        )
    )
    unread_on_finished = sum(
        unread_by_subject(person, "order", [order_id]).get(order_id, 0)
        for order_id, buyer_id, seller_id in finished
        for person in (buyer_id, seller_id)
    )
    assert finished and unread_on_finished == 0


def test_demo_regulars_have_the_most_rated_history(app):
    _run_demo(app, "--users", "12", "--listings", "3", "--trades", "50", "--seed", "4")
    received = dict(
        db.session.execute(
            select(User.handle, func.count(Feedback.id))
            .join(Feedback, Feedback.subject_user_id == User.id)
            .where(Feedback.revealed_at.is_not(None))
            .group_by(User.handle)
        ).all()
    )
    handles = list(db.session.scalars(select(User.handle).order_by(User.id)))
    regulars, others = handles[:REGULARS], handles[REGULARS:]
    least_regular = min(received.get(h, 0) for h in regulars)
    assert least_regular > max(received.get(h, 0) for h in others)
    confidence = dict(
        db.session.execute(
            select(User.handle, ReputationScore.confidence)
            .join(ReputationScore, ReputationScore.user_id == User.id)
            .where(ReputationScore.role == "overall")
        ).all()
    )
    assert min(confidence[h] for h in regulars) > max(confidence.get(h, 0) for h in others)


def test_demo_loans_are_in_every_state_with_their_money_and_history(app):
    from app.demo import PEOPLE
    from app.lending import states as loan_states
    from app.lending.models import DamageClaim, DamageClaimPhoto, Loan, LoanEvent
    from app.listings.models import LoanOffer

    result = _run_demo(app, "--users", "8", "--listings", "24", "--trades", "10", "--seed", "5")
    assert "offered for loan" in result.output

    states = set(db.session.scalars(select(Loan.state).distinct()))
    assert set(loan_states.MACHINE.state_names) <= states
    assert db.session.scalar(select(func.count()).where(Loan.late_days > 0)) >= 2
    answers = set(db.session.scalars(select(DamageClaim.answer).distinct()))
    assert {"accepted", "disputed"} <= answers
    claims = db.session.scalar(select(func.count(DamageClaim.id)))
    assert db.session.scalar(select(func.count(DamageClaimPhoto.id))) == claims > 0
    assert db.session.scalar(select(func.count(LoanOffer.listing_id))) >= 8
    lend_only = select(func.count()).where(Listing.for_sale.is_(False))
    assert db.session.scalar(lend_only) >= 1
    # alice lends and borrows, with something that needs her.
    alice = db.session.scalar(select(User).where(User.handle == PEOPLE[0][0]))
    lent = select(func.count()).where(Loan.lender_id == alice.id)
    borrowed = select(func.count()).where(Loan.borrower_id == alice.id)
    assert db.session.scalar(lent) >= 5 and db.session.scalar(borrowed) >= 5
    # Each step happened at its time, in order, in the past; the money balances.
    for loan in db.session.scalars(select(Loan)):
        moments = [
            e.created_at
            for e in db.session.scalars(
                select(LoanEvent).where(LoanEvent.loan_id == loan.id).order_by(LoanEvent.id)
            )
        ]
        assert moments == sorted(moments)
        assert all(loan.created_at <= moment <= utcnow() for moment in moments)
    loan_feedback = select(func.count()).where(Feedback.subject_kind == "loan")
    assert db.session.scalar(loan_feedback) > 0
    assert ledger.verify().ok
