"""A token of one user can read or change nothing private of another user."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.listings.models import Listing
from app.messaging import services as messaging
from app.orders.models import Order
from app.reviews import services as reviews
from app.reviews.models import Feedback
from tests.factories import UserFactory
from tests.integration.api_support import COMPLETE, bearer, order_between

PARTIES = ["anonymous", "stranger", "buyer", "seller"]


def _headers(who: str, order: Order) -> dict[str, str]:
    if who == "anonymous":
        return {}
    user = {"stranger": UserFactory(), "buyer": order.buyer, "seller": order.seller}[who]
    return bearer(user)


EXPECTED_READ = {"anonymous": 401, "stranger": 404, "buyer": 200, "seller": 200}


@pytest.mark.parametrize("who", PARTIES)
@pytest.mark.parametrize("suffix", ["", "/messages", "/feedback"])
def test_order_reads_are_for_its_parties_only(client, who, suffix):
    order = order_between(steps=COMPLETE)
    messaging.send_message("order", order.id, order.buyer_id, "Private: my address is 1 Elm St.")
    response = client.get(f"/api/v1/orders/{order.id}{suffix}", headers=_headers(who, order))
    assert response.status_code == EXPECTED_READ[who]
    assert "Elm St" not in response.get_data(as_text=True) or who in ("buyer", "seller")
    if who == "stranger":
        assert response.json["error"]["code"] == "not_found"


@pytest.mark.parametrize("who", ["anonymous", "stranger"])
@pytest.mark.parametrize(
    ("suffix", "body"),
    [
        ("/cancel", None),
        ("/messages", {"body": "hello"}),
        ("/feedback", {"rating": "negative", "comment": "never met them"}),
    ],
)
def test_outsiders_cannot_act_on_an_order(client, who, suffix, body):
    order = order_between(steps=("mark_paid",) if suffix == "/cancel" else COMPLETE)
    before = order.state
    response = client.post(
        f"/api/v1/orders/{order.id}{suffix}", headers=_headers(who, order), json=body
    )
    assert response.status_code == (401 if who == "anonymous" else 404)
    db.session.expire_all()
    assert db.session.get(Order, order.id).state == before
    assert messaging.thread("order", order.id, order.buyer_id) == []
    assert db.session.scalars(select(Feedback)).all() == []


def test_order_list_shows_only_my_orders(client):
    mine = order_between()
    theirs = order_between()
    listed = client.get("/api/v1/orders", headers=bearer(mine.buyer)).json
    assert [o["id"] for o in listed["items"]] == [mine.id]
    assert theirs.id not in [o["id"] for o in listed["items"]]


def test_order_list_filters_by_role_and_state(client):
    me = UserFactory()
    bought = order_between(buyer=me, steps=("mark_paid",))
    sold = order_between(seller=me)
    headers = bearer(me)

    def ids(**query):
        return [
            o["id"]
            for o in client.get("/api/v1/orders", headers=headers, query_string=query).json["items"]
        ]

    assert sorted(ids()) == sorted([bought.id, sold.id])
    assert ids(role="buyer") == [bought.id]
    assert ids(role="seller") == [sold.id]
    assert ids(state="paid") == [bought.id]
    assert ids(role="seller", state="paid") == []
    seller_view = client.get("/api/v1/orders", headers=headers, query_string={"role": "seller"})
    assert seller_view.json["items"][0]["role"] == "seller"


def test_hidden_feedback_is_not_shown_to_the_person_rated(client):
    order = order_between(steps=COMPLETE)
    reviews.leave_feedback(order.id, order.buyer_id, "negative", "Secret: it broke")
    hidden = db.session.scalars(select(Feedback)).one()
    seller = bearer(order.seller)

    panel = client.get(f"/api/v1/orders/{order.id}/feedback", headers=seller)
    assert panel.json["theirs"] is None
    assert "Secret" not in panel.get_data(as_text=True)
    profile = client.get(f"/api/v1/users/{order.seller.handle}/feedback")
    assert profile.json["total"] == 0
    reply = client.post(
        f"/api/v1/orders/{order.id}/feedback/{hidden.id}/reply",
        headers=seller,
        json={"reply": "I must answer this"},
    )
    assert reply.status_code == 404
    reputation = client.get(f"/api/v1/users/{order.seller.handle}/reputation").json
    assert reputation["overall"]["negative"] == 0


def test_feedback_reply_must_belong_to_the_order_in_the_path(client):
    first = order_between(steps=COMPLETE)
    second = order_between(seller=first.seller, steps=COMPLETE)
    for order in (first, second):
        reviews.leave_feedback(order.id, order.buyer_id, "positive", "")
        reviews.leave_feedback(order.id, order.seller_id, "positive", "")
    feedback_on_first = db.session.scalar(
        select(Feedback).where(
            Feedback.subject_id == first.id, Feedback.subject_user_id == first.seller_id
        )
    )
    response = client.post(
        f"/api/v1/orders/{second.id}/feedback/{feedback_on_first.id}/reply",
        headers=bearer(first.seller),
        json={"reply": "Wrong order"},
    )
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Feedback, feedback_on_first.id).reply is None


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("patch", "", {"price_cents": 1}),
        ("patch", "", {"status": "paused"}),
        ("delete", "", None),
    ],
)
def test_a_stranger_cannot_change_my_listing(client, method, suffix, body):
    order = order_between()
    listing_id = order.listing_id
    response = getattr(client, method)(
        f"/api/v1/listings/{listing_id}{suffix}", headers=bearer(UserFactory()), json=body
    )
    assert response.status_code == 403
    db.session.expire_all()
    listing = db.session.get(Listing, listing_id)
    assert listing.status == "active" and listing.price_cents == 2500


def test_my_account_shows_my_email_and_never_anothers(client):
    me, other = UserFactory(), UserFactory()
    headers = bearer(me)
    assert client.get("/api/v1/users/me", headers=headers).json["email"] == me.email
    public = client.get(f"/api/v1/users/{other.handle}", headers=headers)
    assert public.status_code == 200
    assert "email" not in public.json
    assert other.email not in public.get_data(as_text=True)


def test_changing_settings_touches_only_my_account(client):
    me, other = UserFactory(), UserFactory()
    response = client.patch(
        "/api/v1/users/me", headers=bearer(me), json={"display_name": "Changed"}
    )
    assert response.json["display_name"] == "Changed"
    db.session.expire_all()
    assert db.session.get(type(other), other.id).display_name is None


def test_inbox_lists_only_my_conversations(client):
    mine = order_between()
    theirs = order_between()
    messaging.send_message("order", mine.id, mine.seller_id, "Yours")
    messaging.send_message("order", theirs.id, theirs.seller_id, "Not yours")
    inbox = client.get("/api/v1/messages", headers=bearer(mine.buyer)).json
    assert [c["order_id"] for c in inbox["items"]] == [mine.id]
    assert inbox["items"][0]["unread"] == 1
    assert "Not yours" not in str(inbox)
