"""The web pages and the JSON API call the same services, so they give the same answer to the
same bad input: the same refusal, in the same words (orders, listings, messages and loans)."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.lending import services as lending
from app.lending.models import Loan
from app.listings.models import Listing
from app.messaging.models import Message
from app.orders.models import Order
from app.orders.services import place_order, transition
from app.payments import ledger
from tests.factories import UserFactory
from tests.integration.api_support import bearer
from tests.integration.lending_support import ask, day, lendable, returned
from tests.integration.support import state_of, stock


def shown(client, path: str) -> str:
    """The page the web client is sent back to after a failed post, as its reader sees it."""
    return html.unescape(client.get(path).get_data(as_text=True))


def api_words(response, field: str) -> str:
    """What the API said about `field` (its message when it names no field)."""
    error = response.json["error"]
    return (error["fields"].get(field) or [error["message"]])[0]


def order_count() -> int:
    return db.session.scalar(select(func.count(Order.id)))


def message_count() -> int:
    return db.session.scalar(select(func.count(Message.id)))


@pytest.mark.parametrize(
    "quantity", [0, -2, 4, 10_000_000], ids=["zero", "negative", "more_than_stock", "huge"]
)
def test_buying_a_bad_quantity_is_refused_alike_on_the_web_and_in_the_api(
    make_client, client, listing, buyer, quantity
):
    web = make_client(buyer)
    page = web.post(f"/listings/{listing.id}/buy", data={"quantity": str(quantity)})
    api = client.post(
        "/api/v1/orders",
        headers=bearer(buyer),
        json={"listing_id": listing.id, "quantity": quantity},
    )

    assert page.status_code == 303
    assert api.status_code in (409, 422)
    assert api_words(api, "quantity") in shown(web, f"/listings/{listing.id}")
    assert order_count() == 0
    assert stock(listing.id) == 3


@pytest.mark.parametrize(
    ("amount", "reason"),
    [("0", "Broken"), ("5.00", "x" * 301), ("13.00", "Broken")],
    ids=["zero", "reason_too_long", "more_than_held"],
)
def test_a_bad_refund_is_refused_alike_on_the_web_and_in_the_api(
    make_client, client, order, seller, amount, reason
):
    transition(order.id, "mark_paid", seller.id)
    web = make_client(seller)
    page = web.post(f"/orders/{order.id}/refund", data={"amount": amount, "reason": reason})
    api = client.post(
        f"/api/v1/orders/{order.id}/refunds",
        headers=bearer(seller),
        json={"amount_cents": round(float(amount) * 100), "reason": reason},
    )

    assert page.status_code == 303
    assert api.status_code == 422
    field = "reason" if len(reason) > 300 else "amount_cents"
    assert api_words(api, field) in shown(web, f"/orders/{order.id}")
    assert ledger.balance(ledger.ESCROW, "USD") == 1250


@pytest.mark.parametrize(
    ("body", "accepted"),
    [("", False), ("  \n ", False), ("x" * 2001, False), ("x" * 2000 + "   ", True)],
    ids=["empty", "blank", "too_long", "longest_with_spaces"],
)
def test_a_message_is_judged_alike_on_the_web_and_in_the_api(
    make_client, client, order, buyer, body, accepted
):
    web = make_client(buyer)
    page = web.post(f"/orders/{order.id}/messages", data={"body": body})
    api = client.post(
        f"/api/v1/orders/{order.id}/messages", headers=bearer(buyer), json={"body": body}
    )

    if accepted:
        assert (page.status_code, api.status_code) == (303, 201)
        assert message_count() == 2
    else:
        assert (page.status_code, api.status_code) == (303, 422)
        assert api.json["error"]["fields"]["body"][0] in shown(web, f"/orders/{order.id}")
        assert message_count() == 0


@pytest.mark.parametrize(
    ("note", "accepted"),
    [("x" * 501, False), ("x" * 500 + "\n  ", True)],
    ids=["too_long", "longest_with_spaces"],
)
def test_a_shipping_note_is_judged_alike_on_the_web_and_in_the_api(
    make_client, client, listing, buyer, seller, note, accepted
):
    by_web = place_order(buyer.id, listing.id, 1)
    by_api = place_order(buyer.id, listing.id, 1)
    for order in (by_web, by_api):
        transition(order.id, "mark_paid", seller.id)

    web = make_client(seller)
    page = web.post(f"/orders/{by_web.id}/ship", data={"ship-note": note})
    api = client.post(
        f"/api/v1/orders/{by_api.id}/ship", headers=bearer(seller), json={"note": note}
    )

    if accepted:
        assert (page.status_code, api.status_code) == (303, 200)
        assert (state_of(by_web.id), state_of(by_api.id)) == ("shipped", "shipped")
    else:
        assert (page.status_code, api.status_code) == (303, 422)
        assert api.json["error"]["fields"]["note"][0] in shown(web, f"/orders/{by_web.id}")
        assert (state_of(by_web.id), state_of(by_api.id)) == ("paid", "paid")


@pytest.mark.parametrize(
    "title", ["", "   ", "ab", "x" * 121], ids=["empty", "blank", "short", "long"]
)
def test_a_bad_listing_title_is_refused_alike_on_the_web_and_in_the_api(make_client, client, title):
    seller = UserFactory()
    page = make_client(seller).post(
        "/sell",
        data={
            "title": title,
            "description": "Solid oak.",
            "category": "home-garden",
            "condition": "good",
            "price": "12.50",
            "quantity": "1",
        },
    )
    api = client.post(
        "/api/v1/listings",
        headers=bearer(seller),
        json={
            "title": title,
            "description": "Solid oak.",
            "category": "home-garden",
            "condition": "good",
            "price_cents": 1250,
            "quantity": 1,
        },
    )

    assert (page.status_code, api.status_code) == (422, 422)
    assert list(api.json["error"]["fields"]) == ["title"]
    assert api.json["error"]["fields"]["title"][0] in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Listing.id))) == 0


# -- loans -----------------------------------------------------------------------------------


@pytest.fixture
def tent(seller):
    return lendable(seller)


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [(-1, 1, "starts_on"), (6, 5, "ends_on"), (5, 40, "ends_on")],
    ids=["past", "backwards", "too_long"],
)
def test_asking_to_borrow_bad_days_is_refused_alike_on_the_web_and_in_the_api(
    make_client, client, tent, buyer, first, last, field
):
    web = make_client(buyer)
    days = {"start": day(first).isoformat(), "end": day(last).isoformat()}
    page = web.post(f"/listings/{tent}/borrow", data=days)
    api = client.post(
        "/api/v1/loans",
        headers=bearer(buyer),
        json={"listing_id": tent, "starts_on": days["start"], "ends_on": days["end"]},
    )

    assert (page.status_code, api.status_code) == (303, 422)
    assert api_words(api, field) in shown(web, page.headers["Location"])
    assert db.session.scalar(select(func.count(Loan.id))) == 0


@pytest.mark.parametrize(
    ("amount", "cents"), [("50.01", 5001), ("0", 0)], ids=["over_the_deposit", "zero"]
)
def test_a_bad_damage_claim_is_refused_alike_on_the_web_and_in_the_api(
    make_client, client, tent, buyer, seller, amount, cents
):
    by_web = returned(ask(tent, buyer, first=3))
    by_api = returned(ask(tent, buyer, first=10))
    web = make_client(seller)
    page = web.post(
        f"/loans/{by_web.id}/claim_damage", data={"amount": amount, "description": "Torn."}
    )
    api = client.post(
        f"/api/v1/loans/{by_api.id}/claim",
        headers=bearer(seller),
        data={"amount_cents": str(cents), "description": "Torn."},
        content_type="multipart/form-data",
    )

    assert (page.status_code, api.status_code) == (303, 422)
    assert api_words(api, "amount_cents") in shown(web, f"/loans/{by_web.id}")
    db.session.expire_all()
    assert (by_web.state, by_api.state) == ("returned", "returned")


def test_a_wrong_handover_code_is_refused_alike_on_the_web_and_in_the_api(
    make_client, client, tent, buyer, seller
):
    loans = [ask(tent, buyer, first=3), ask(tent, buyer, first=10)]
    for loan in loans:
        lending.act(loan.id, "approve", seller.id)
    web = make_client(buyer)
    page = web.post(f"/loans/{loans[0].id}/confirm_with_code", data={"code": "12345"})
    api = client.post(
        f"/api/v1/loans/{loans[1].id}/confirm_with_code",
        headers=bearer(buyer),
        json={"code": "12345"},
    )

    assert (page.status_code, api.status_code) == (303, 422)
    assert api_words(api, "code") in shown(web, f"/loans/{loans[0].id}")
    db.session.expire_all()
    assert [loan.state for loan in loans] == ["approved", "approved"]
