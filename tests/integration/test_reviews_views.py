"""Feedback through the browser: POST routes, redirects, flashes, and the order page."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.db import utcnow
from app.extensions import db
from app.reviews.models import Feedback
from app.reviews.services import leave_feedback
from tests.factories import OrderFactory, UserFactory

SECRET = "Packed in a shoebox, arrived crushed"


@pytest.fixture
def order(app):
    return OrderFactory()


def feedback_count() -> int:
    return db.session.scalar(select(func.count(Feedback.id)))


def client_for(make_client, order, name):
    """A client for anonymous, a stranger, the buyer or the seller of `order`."""
    people = {"anonymous": None, "buyer": order.buyer, "seller": order.seller}
    return make_client(people[name] if name in people else UserFactory())


def flashes(client) -> list[tuple[str, str]]:
    with client.session_transaction() as session:
        return list(session.get("_flashes", []))


@pytest.mark.parametrize(
    ("name", "status"),
    [("anonymous", 302), ("stranger", 404), ("buyer", 303), ("seller", 303)],
)
def test_who_may_leave_feedback(make_client, order, name, status):
    client = client_for(make_client, order, name)
    response = client.post(f"/orders/{order.id}/feedback", data={"rating": "positive"})
    assert response.status_code in ({302, 303} if status != 404 else {404})
    if name == "anonymous":
        assert "/login" in response.headers["Location"]
        assert feedback_count() == 0
    elif name == "stranger":
        assert feedback_count() == 0
    else:
        assert response.headers["Location"].endswith(f"/orders/{order.id}#feedback")
        assert feedback_count() == 1


def test_leaving_feedback_redirects_to_the_order_with_a_success_flash(make_client, order):
    client = make_client(order.buyer)
    response = client.post(
        f"/orders/{order.id}/feedback",
        data={"rating": "negative", "comment": SECRET, "described": "2", "speed": ""},
    )
    assert response.status_code in (302, 303)
    feedback = db.session.scalar(select(Feedback))
    assert (feedback.rating, feedback.comment) == ("negative", SECRET)
    assert (feedback.detail_described, feedback.detail_speed) == (2, None)
    [(category, message)] = flashes(client)
    assert category == "success"
    assert f"hidden until @{order.seller.handle} rates too" in message


def test_second_feedback_from_the_same_party_flashes_the_conflict(make_client, order):
    client = make_client(order.buyer)
    client.post(f"/orders/{order.id}/feedback", data={"rating": "positive"})
    response = client.post(
        f"/orders/{order.id}/feedback", data={"rating": "negative", "comment": "again"}
    )
    assert response.status_code in (302, 303)
    assert ("error", "You have already left feedback for this order.") in flashes(client)
    assert feedback_count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"rating": "negative", "comment": ""}, "comment"),
        ({"rating": "sideways"}, "rating"),
        ({}, "rating"),
        ({"rating": "positive", "described": "7"}, "described"),
        ({"rating": "positive", "speed": "0"}, "speed"),
        ({"rating": "positive", "communication": "lots"}, "communication"),
        ({"rating": "positive", "comment": "x" * 1001}, "comment"),
    ],
)
def test_bad_feedback_input_gives_a_form_error_on_the_order_page(make_client, order, data, field):
    client = make_client(order.buyer)
    response = client.post(f"/orders/{order.id}/feedback", data=data)
    assert response.status_code in (302, 303)
    assert feedback_count() == 0
    assert [c for c, _m in flashes(client)] == ["error"]
    page = client.get(f"/orders/{order.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'class="error"' in html
    assert "Submit feedback" in html


def test_a_detail_that_is_not_a_number_gets_a_friendly_message(make_client, order):
    client = make_client(order.buyer)
    client.post(f"/orders/{order.id}/feedback", data={"rating": "positive", "speed": "fast"})
    assert flashes(client) == [("error", "Choose a rating from 1 to 5, or skip it.")]


def test_a_form_error_keeps_what_was_typed(make_client, order):
    client = make_client(order.buyer)
    client.post(
        f"/orders/{order.id}/feedback",
        data={"rating": "neutral", "comment": "", "described": "3"},
    )
    html = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'value="neutral" required checked' in html
    assert '<option selected value="3">' in html
    assert "Please say in a few words what went wrong." in html


def test_feedback_on_an_unfinished_order_is_refused_with_a_flash(make_client, app):
    order = OrderFactory(state="shipped")
    client = make_client(order.buyer)
    response = client.post(f"/orders/{order.id}/feedback", data={"rating": "positive"})
    assert response.status_code in (302, 303)
    assert [c for c, _m in flashes(client)] == ["error"]
    assert feedback_count() == 0


def test_order_page_hides_the_comment_from_the_subject_until_they_rate(make_client, order):
    buyer, seller = make_client(order.buyer), make_client(order.seller)
    buyer.post(f"/orders/{order.id}/feedback", data={"rating": "negative", "comment": SECRET})

    buyer_html = buyer.get(f"/orders/{order.id}").get_data(as_text=True)
    assert SECRET in buyer_html
    assert "Your feedback is hidden until" in buyer_html

    seller_html = seller.get(f"/orders/{order.id}").get_data(as_text=True)
    assert SECRET not in seller_html
    assert "badge-negative" not in seller_html
    assert "Waiting for your feedback" in seller_html

    seller.post(f"/orders/{order.id}/feedback", data={"rating": "positive", "comment": "Paid"})
    for client in (buyer, seller):
        html = client.get(f"/orders/{order.id}").get_data(as_text=True)
        assert SECRET in html and "Paid" in html


def test_order_page_shows_feedback_revealed_when_the_window_closed(make_client, app):
    from app.reviews.services import reveal_expired

    order = OrderFactory(completed_at=utcnow() - timedelta(days=31))
    # Written while the window was open, then the window closed.
    order.completed_at = utcnow()
    db.session.commit()
    leave_feedback(order.id, order.buyer_id, "negative", SECRET)
    order.completed_at = utcnow() - timedelta(days=31)
    db.session.commit()
    seller = make_client(order.seller)
    assert SECRET not in seller.get(f"/orders/{order.id}").get_data(as_text=True)
    assert reveal_expired(utcnow()) == 1
    html = seller.get(f"/orders/{order.id}").get_data(as_text=True)
    assert SECRET in html
    assert "Post reply" in html
    assert "window closed" in html


@pytest.fixture
def revealed(order):
    feedback = leave_feedback(order.id, order.buyer_id, "neutral", "Slow shipping")
    leave_feedback(order.id, order.seller_id, "positive")
    return feedback


@pytest.mark.parametrize(
    ("name", "expected"),
    [("anonymous", 302), ("stranger", 403), ("buyer", 403), ("seller", 303)],
)
def test_who_may_reply(make_client, order, revealed, name, expected):
    client = client_for(make_client, order, name)
    response = client.post(f"/feedback/{revealed.id}/reply", data={"text": "Post was on strike"})
    if expected in (302, 303):
        assert response.status_code in (302, 303)
    else:
        assert response.status_code == expected
    db.session.expire_all()
    reply = db.session.get(Feedback, revealed.id).reply
    assert reply == ("Post was on strike" if name == "seller" else None)


def test_reply_shows_on_the_order_page_and_a_second_reply_is_refused(make_client, order, revealed):
    seller = make_client(order.seller)
    seller.post(f"/feedback/{revealed.id}/reply", data={"text": "Post was on strike"})
    seller.post(f"/feedback/{revealed.id}/reply", data={"text": "Second try"})
    assert ("error", "You have already replied to this feedback.") in flashes(seller)
    html = make_client(order.buyer).get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Post was on strike" in html
    assert "Second try" not in html


def test_the_subject_cannot_reply_to_hidden_feedback(make_client, order):
    hidden = leave_feedback(order.id, order.buyer_id, "negative", SECRET)
    response = make_client(order.seller).post(f"/feedback/{hidden.id}/reply", data={"text": "?"})
    assert response.status_code == 404
    assert SECRET not in response.get_data(as_text=True)


def test_profile_shows_the_reputation_summary(make_client, order, revealed):
    html = make_client().get(f"/u/{order.seller.handle}").get_data(as_text=True)
    assert "Feedback score" in html
    assert "Slow shipping" in html
