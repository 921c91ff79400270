"""Two-way, double-blind feedback: the rules in app.reviews.services."""

import threading
from datetime import timedelta

import pytest
from flask import render_template
from sqlalchemy import func, select

from app.db import utcnow
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.jobs.runner import DUE_JOBS, run_due
from app.reviews import services
from app.reviews.models import Feedback
from app.reviews.services import (
    feedback_view,
    leave_feedback,
    received_feedback,
    reply_to_feedback,
    reputation_summary,
    reveal_expired,
)
from tests.factories import ListingFactory, OrderFactory, UserFactory

SECRET = "Packed in a shoebox, arrived crushed"


@pytest.fixture
def order(app):
    return OrderFactory(listing=ListingFactory(price_cents=1250), quantity=2)


def feedback_count() -> int:
    return db.session.scalar(select(func.count(Feedback.id)))


def parties(order):
    return {"buyer": order.buyer, "seller": order.seller}


# -- leaving feedback ---------------------------------------------------------------------------


def test_buyer_feedback_rates_the_seller_with_the_order_amount(order):
    feedback = leave_feedback(order.id, order.buyer_id, "positive", "Great", described=5, speed=4)
    assert feedback.subject_user_id == order.seller_id
    assert (feedback.author_role, feedback.subject_role) == ("buyer", "seller")
    assert feedback.amount_cents == 2500 == order.total_cents
    assert (feedback.detail_described, feedback.detail_communication, feedback.detail_speed) == (
        5,
        None,
        4,
    )


def test_seller_feedback_rates_the_buyer(order):
    feedback = leave_feedback(order.id, order.seller_id, "positive", communication=5, speed=5)
    assert feedback.subject_user_id == order.buyer_id
    assert (feedback.author_role, feedback.subject_role) == ("seller", "buyer")


def test_first_feedback_stays_hidden(order):
    feedback = leave_feedback(order.id, order.buyer_id, "negative", SECRET)
    assert feedback.revealed_at is None


def test_second_feedback_reveals_both_at_the_same_moment(order):
    first = leave_feedback(order.id, order.buyer_id, "positive", "Fine")
    second = leave_feedback(order.id, order.seller_id, "positive", "Quick payer")
    db.session.refresh(first)
    assert second.revealed_at is not None
    assert first.revealed_at == second.revealed_at


def test_leave_feedback_refuses_a_stranger_with_not_found(order):
    stranger = UserFactory()
    with pytest.raises(NotFound):
        leave_feedback(order.id, stranger.id, "positive")
    assert feedback_count() == 0


def test_leave_feedback_refuses_a_missing_order(app):
    user = UserFactory()
    with pytest.raises(NotFound):
        leave_feedback(999_999, user.id, "positive")


@pytest.mark.parametrize("role", ["buyer", "seller"])
def test_leave_feedback_refuses_a_second_attempt(order, role):
    author = parties(order)[role]
    leave_feedback(order.id, author.id, "positive")
    with pytest.raises(Conflict, match="You have already left feedback for this order"):
        leave_feedback(order.id, author.id, "negative", "Changed my mind")
    assert feedback_count() == 1


def test_a_racing_duplicate_is_stopped_by_the_unique_constraint_as_a_conflict(order, monkeypatch):
    leave_feedback(order.id, order.buyer_id, "positive")
    # Pretend the second request checked before the first one committed.
    monkeypatch.setattr(services, "_feedback_by", lambda *_key: None)
    with pytest.raises(Conflict, match="You have already left feedback for this order"):
        leave_feedback(order.id, order.buyer_id, "negative", "Again")
    assert feedback_count() == 1


@pytest.mark.parametrize("state", ["pending_payment", "paid", "shipped", "delivered", "cancelled"])
def test_leave_feedback_refuses_an_order_that_is_not_completed(app, state):
    order = OrderFactory(state=state)
    with pytest.raises(Conflict, match="once the order is completed"):
        leave_feedback(order.id, order.buyer_id, "positive")
    assert feedback_count() == 0


def test_leave_feedback_refuses_after_the_window_closed(app):
    order = OrderFactory(completed_at=utcnow() - timedelta(days=30, minutes=1))
    with pytest.raises(Conflict, match="feedback window for this order closed"):
        leave_feedback(order.id, order.buyer_id, "positive")


def test_leave_feedback_accepts_on_the_last_day_of_the_window(app):
    order = OrderFactory(completed_at=utcnow() - timedelta(days=29, hours=23))
    assert leave_feedback(order.id, order.buyer_id, "positive").id is not None


def test_the_window_length_comes_from_configuration(app):
    app.config["FEEDBACK_WINDOW_DAYS"] = 3
    order = OrderFactory(completed_at=utcnow() - timedelta(days=4))
    with pytest.raises(Conflict):
        leave_feedback(order.id, order.buyer_id, "positive")


@pytest.mark.parametrize("rating", ["", "great", "POSITIVE", None])
def test_leave_feedback_rejects_an_unknown_rating(order, rating):
    with pytest.raises(ValidationFailed) as error:
        leave_feedback(order.id, order.buyer_id, rating, "text")
    assert "rating" in error.value.fields


@pytest.mark.parametrize("rating", ["neutral", "negative"])
def test_neutral_and_negative_feedback_need_a_comment(order, rating):
    with pytest.raises(ValidationFailed) as error:
        leave_feedback(order.id, order.buyer_id, rating, "   ")
    assert "comment" in error.value.fields


def test_positive_feedback_needs_no_comment(order):
    assert leave_feedback(order.id, order.buyer_id, "positive").comment == ""


def test_comment_longer_than_1000_characters_is_rejected(order):
    with pytest.raises(ValidationFailed) as error:
        leave_feedback(order.id, order.buyer_id, "positive", "x" * 1001)
    assert "comment" in error.value.fields
    assert leave_feedback(order.id, order.buyer_id, "positive", "x" * 1000).comment == "x" * 1000


@pytest.mark.parametrize("value", [0, 6, -1, 100, True, "3", 2.5])
@pytest.mark.parametrize("detail", ["described", "communication", "speed"])
def test_detailed_ratings_out_of_range_are_rejected(order, detail, value):
    with pytest.raises(ValidationFailed) as error:
        leave_feedback(order.id, order.buyer_id, "positive", **{detail: value})
    assert detail in error.value.fields
    assert feedback_count() == 0


def test_item_as_described_does_not_apply_when_rating_a_buyer(order):
    with pytest.raises(ValidationFailed) as error:
        leave_feedback(order.id, order.seller_id, "positive", described=5)
    assert "described" in error.value.fields


def _at_once(app, calls):
    """Run leave_feedback calls in threads released together; returns results or errors."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, args):
        with app.app_context():
            barrier.wait()
            try:
                results[index] = leave_feedback(*args).id
            except Exception as error:  # collected and asserted on by the test
                results[index] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_both_parties_rating_at_the_same_moment_still_reveal_both(app, backend):
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers; the row lock under test is PostgreSQL's")
    orders = [OrderFactory() for _ in range(4)]
    for o in orders:
        results = _at_once(app, [(o.id, o.buyer_id, "positive"), (o.id, o.seller_id, "positive")])
        assert all(isinstance(r, int) for r in results), results
    db.session.expire_all()
    assert feedback_count() == 8
    assert db.session.scalar(select(func.count()).where(Feedback.revealed_at.is_(None))) == 0


def test_the_same_party_rating_twice_at_once_gets_one_feedback_and_one_conflict(app, backend):
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers; the row lock under test is PostgreSQL's")
    o = OrderFactory()
    results = _at_once(app, [(o.id, o.buyer_id, "positive"), (o.id, o.buyer_id, "positive")])
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "int"]
    assert feedback_count() == 1


# -- the double-blind matrix -------------------------------------------------------------------


def test_before_reveal_the_author_sees_their_own_feedback_and_the_subject_nothing(order):
    leave_feedback(order.id, order.buyer_id, "negative", SECRET)

    author_view = feedback_view(order.id, order.buyer_id)
    assert author_view.mine.comment == SECRET
    assert author_view.theirs is None
    assert author_view.is_waiting_for_other is True
    assert author_view.can_leave is False

    subject_view = feedback_view(order.id, order.seller_id)
    assert subject_view.mine is None
    assert subject_view.theirs is None
    assert subject_view.is_waiting_for_other is False
    assert subject_view.can_leave is True


def test_before_reveal_the_subject_view_is_the_same_as_with_no_feedback_at_all(app):
    rated, unrated = OrderFactory(), OrderFactory()
    leave_feedback(rated.id, rated.buyer_id, "negative", SECRET)
    a = feedback_view(rated.id, rated.seller_id)
    b = feedback_view(unrated.id, unrated.seller_id)
    fields = ("can_leave", "mine", "theirs", "is_waiting_for_other", "can_reply")
    assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields]


def test_after_both_rated_each_side_sees_both(order):
    leave_feedback(order.id, order.buyer_id, "negative", SECRET)
    leave_feedback(order.id, order.seller_id, "positive", "Paid at once")
    for viewer, mine, theirs in [
        (order.buyer_id, SECRET, "Paid at once"),
        (order.seller_id, "Paid at once", SECRET),
    ]:
        view = feedback_view(order.id, viewer)
        assert view.mine.comment == mine
        assert view.theirs.comment == theirs
        assert view.is_waiting_for_other is False
        assert view.can_leave is False


def test_a_stranger_sees_nothing_of_an_order_feedback(order):
    leave_feedback(order.id, order.buyer_id, "positive", "Fine")
    leave_feedback(order.id, order.seller_id, "positive", "Fine too")
    view = feedback_view(order.id, UserFactory().id)
    assert (view.can_leave, view.mine, view.theirs, view.can_reply) == (False, None, None, False)


def test_window_closes_feedback_window_days_after_completion(order):
    view = feedback_view(order.id, order.buyer_id)
    assert view.window_closes_at == order.completed_at + timedelta(days=30)


def test_nobody_can_leave_feedback_on_an_unfinished_order(app):
    order = OrderFactory(state="shipped")
    assert feedback_view(order.id, order.buyer_id).can_leave is False
    assert feedback_view(order.id, order.buyer_id).window_closes_at is None


def _render_panel(app, order, viewer):
    with app.test_request_context():
        return render_template(
            "reviews/_panel.html", order=order, feedback=feedback_view(order.id, viewer.id)
        )


def test_rendered_panel_hides_the_comment_from_the_subject_before_reveal(app, order):
    leave_feedback(order.id, order.buyer_id, "negative", SECRET)
    subject_html = _render_panel(app, order, order.seller)
    assert SECRET not in subject_html
    assert "badge-negative" not in subject_html
    assert "Submit feedback" in subject_html
    author_html = _render_panel(app, order, order.buyer)
    assert SECRET in author_html
    assert "hidden until @" + order.seller.handle in author_html


def test_rendered_panel_of_the_subject_is_identical_with_or_without_hidden_feedback(app):
    rated, unrated = OrderFactory(), OrderFactory()
    leave_feedback(rated.id, rated.buyer_id, "negative", SECRET)

    def normalized(order):
        html = _render_panel(app, order, order.seller)
        html = html.replace(f"/orders/{order.id}/", "/orders/N/")
        return html.replace(order.buyer.handle, "BUYER").replace(order.seller.handle, "SELLER")

    assert normalized(rated) == normalized(unrated)


def test_rendered_panel_shows_both_feedbacks_and_a_reply_form_after_reveal(app, order):
    leave_feedback(order.id, order.buyer_id, "negative", SECRET)
    leave_feedback(order.id, order.seller_id, "positive", "Paid at once")
    html = _render_panel(app, order, order.seller)
    assert SECRET in html and "Paid at once" in html
    assert "Post reply" in html
    assert "Submit feedback" not in html


def test_rendered_panel_labels_details_by_the_role_of_the_person_rated(app, order):
    buyer_html = _render_panel(app, order, order.buyer)
    seller_html = _render_panel(app, order, order.seller)
    assert "Item as described" in buyer_html and "Shipping speed" in buyer_html
    assert "Item as described" not in seller_html and "Payment speed" in seller_html


# -- reveal when the window closes -------------------------------------------------------------


def test_reveal_expired_reveals_feedback_once_the_window_has_closed(order):
    feedback = leave_feedback(order.id, order.buyer_id, "positive", "Fine")
    later = order.completed_at + timedelta(days=30, seconds=1)
    assert reveal_expired(order.completed_at + timedelta(days=29)) == 0
    assert reveal_expired(later) == 1
    db.session.refresh(feedback)
    assert feedback.revealed_at == later
    assert feedback_view(order.id, order.seller_id).theirs.id == feedback.id


def test_reveal_expired_leaves_open_windows_and_revealed_feedback_alone(app):
    old, fresh = OrderFactory(), OrderFactory(completed_at=utcnow())
    both = OrderFactory()
    leave_feedback(old.id, old.buyer_id, "positive")
    leave_feedback(fresh.id, fresh.seller_id, "positive")
    leave_feedback(both.id, both.buyer_id, "positive")
    mutual = leave_feedback(both.id, both.seller_id, "positive")
    revealed_at = mutual.revealed_at
    now = old.completed_at + timedelta(days=30, hours=1)

    assert reveal_expired(now) == 1
    assert reveal_expired(now) == 0  # idempotent
    db.session.expire_all()
    assert db.session.get(Feedback, mutual.id).revealed_at == revealed_at
    hidden = db.session.scalars(select(Feedback).where(Feedback.revealed_at.is_(None))).all()
    assert [f.order_id for f in hidden] == [fresh.id]


def test_reveal_expired_is_a_registered_due_job(order):
    leave_feedback(order.id, order.buyer_id, "positive")
    assert DUE_JOBS["reviews.reveal_expired"] == "app.reviews.services:reveal_expired"
    results = run_due(utcnow() + timedelta(days=31))
    assert results["reviews.reveal_expired"] == 1


# -- replies -----------------------------------------------------------------------------------


@pytest.fixture
def revealed(order):
    """The buyer's feedback about the seller, revealed because both have rated."""
    feedback = leave_feedback(order.id, order.buyer_id, "neutral", "Slow shipping")
    leave_feedback(order.id, order.seller_id, "positive")
    db.session.refresh(feedback)
    return feedback


def test_the_person_rated_can_reply_once_after_reveal(order, revealed):
    feedback = reply_to_feedback(revealed.id, order.seller_id, "  Sorry, the post was on strike. ")
    assert feedback.reply == "Sorry, the post was on strike."
    assert feedback.reply_at is not None
    with pytest.raises(Conflict, match="already replied"):
        reply_to_feedback(revealed.id, order.seller_id, "And another thing")
    db.session.refresh(feedback)
    assert feedback.reply == "Sorry, the post was on strike."


def test_the_author_cannot_reply_to_their_own_feedback(order, revealed):
    with pytest.raises(Forbidden):
        reply_to_feedback(revealed.id, order.buyer_id, "Me again")


def test_a_stranger_cannot_reply(order, revealed):
    with pytest.raises(Forbidden):
        reply_to_feedback(revealed.id, UserFactory().id, "Hello")


def test_nobody_can_reply_before_reveal_and_the_subject_learns_nothing(order):
    feedback = leave_feedback(order.id, order.buyer_id, "negative", SECRET)
    with pytest.raises(NotFound):
        reply_to_feedback(feedback.id, order.seller_id, "What?")
    with pytest.raises(NotFound):
        reply_to_feedback(feedback.id, UserFactory().id, "What?")
    with pytest.raises(Forbidden):
        reply_to_feedback(feedback.id, order.buyer_id, "What?")
    db.session.refresh(feedback)
    assert feedback.reply is None


@pytest.mark.parametrize("text", ["", "   ", "x" * 501])
def test_reply_must_have_one_to_500_characters(order, revealed, text):
    with pytest.raises(ValidationFailed):
        reply_to_feedback(revealed.id, order.seller_id, text)
    assert reply_to_feedback(revealed.id, order.seller_id, "x" * 500).reply == "x" * 500


def test_reply_to_a_missing_feedback_is_not_found(app):
    with pytest.raises(NotFound):
        reply_to_feedback(424242, UserFactory().id, "Hello")


def test_each_side_may_reply_to_the_feedback_it_received_until_it_has(order, revealed):
    seller_view = feedback_view(order.id, order.seller_id)
    assert seller_view.can_reply is True
    assert seller_view.theirs.id == revealed.id
    reply_to_feedback(revealed.id, order.seller_id, "Thanks")
    assert feedback_view(order.id, order.seller_id).can_reply is False
    assert feedback_view(order.id, order.buyer_id).can_reply is True


# -- received feedback and the reputation summary ----------------------------------------------


def test_received_feedback_lists_only_revealed_feedback_newest_first(app):
    seller = UserFactory()
    orders = [OrderFactory(listing=ListingFactory(seller=seller)) for _ in range(3)]
    hidden = leave_feedback(orders[0].id, orders[0].buyer_id, "negative", SECRET)
    for o in orders[1:]:
        leave_feedback(o.id, o.buyer_id, "positive")
        leave_feedback(o.id, o.seller_id, "positive")
    got = received_feedback(seller.id)
    assert hidden.id not in [f.id for f in got]
    assert [f.order_id for f in got] == [orders[2].id, orders[1].id]
    assert received_feedback(seller.id, limit=1)[0].order_id == orders[2].id


def test_received_feedback_filters_by_role(app):
    user = UserFactory()
    sale = OrderFactory(listing=ListingFactory(seller=user))
    purchase = OrderFactory(buyer=user)
    for o in (sale, purchase):
        leave_feedback(o.id, o.buyer_id, "positive")
        leave_feedback(o.id, o.seller_id, "positive")
    assert [f.order_id for f in received_feedback(user.id, role="seller")] == [sale.id]
    assert [f.order_id for f in received_feedback(user.id, role="buyer")] == [purchase.id]
    assert len(received_feedback(user.id)) == 2


def test_reputation_summary_counts_revealed_feedback_by_role(app):
    user = UserFactory()
    sales = [OrderFactory(listing=ListingFactory(seller=user)) for _ in range(3)]
    purchase = OrderFactory(buyer=user)
    leave_feedback(sales[0].id, sales[0].buyer_id, "positive")
    leave_feedback(sales[0].id, sales[0].seller_id, "positive")
    leave_feedback(sales[1].id, sales[1].buyer_id, "negative", "Broken")
    leave_feedback(sales[1].id, sales[1].seller_id, "positive")
    leave_feedback(sales[2].id, sales[2].buyer_id, "negative", "Hidden, not counted")
    leave_feedback(purchase.id, purchase.seller_id, "neutral", "Paid late")
    leave_feedback(purchase.id, purchase.buyer_id, "positive")

    summary = reputation_summary(user.id)
    counts = ("feedback_score", "percent_positive", "positive", "neutral", "negative")
    assert {key: summary["roles"]["seller"][key] for key in counts} == {
        "feedback_score": 0,
        "percent_positive": 50.0,
        "positive": 1,
        "neutral": 0,
        "negative": 1,
    }
    assert summary["roles"]["buyer"]["neutral"] == 1
    assert summary["roles"]["buyer"]["percent_positive"] is None
    assert summary["overall"]["feedback_score"] == 0
    assert summary["overall"]["neutral"] == 1


def test_reputation_summary_counts_one_rater_once_a_week(app):
    seller, buyer = UserFactory(), UserFactory()
    for _ in range(3):
        o = OrderFactory(buyer=buyer, listing=ListingFactory(seller=seller))
        leave_feedback(o.id, buyer.id, "positive")
        leave_feedback(o.id, seller.id, "positive")
    assert len(received_feedback(seller.id)) == 3
    assert reputation_summary(seller.id)["overall"]["feedback_score"] == 1


def test_rendered_summary_shows_score_percent_and_counts(app):
    summary = {
        "overall": {
            "feedback_score": 12,
            "percent_positive": 92.3,
            "positive": 12,
            "neutral": 1,
            "negative": 1,
        },
        "roles": {
            "seller": {
                "feedback_score": 9,
                "percent_positive": 90.0,
                "positive": 9,
                "neutral": 1,
                "negative": 1,
            },
            "buyer": {
                "feedback_score": 3,
                "percent_positive": 100.0,
                "positive": 3,
                "neutral": 0,
                "negative": 0,
            },
        },
    }
    with app.test_request_context():
        html = render_template("reviews/_summary.html", summary=summary)
    assert ">12<" in html and "92.3%" in html
    assert "Seller" in html and "Buyer" in html
