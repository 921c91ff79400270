"""Giveaways: an item priced 0 skips the payment step. Its order goes straight to `paid`, says
"Free" wherever a price shows, works end to end on the web and the API with either payment
provider, and nothing about it reaches the payment provider or the ledger."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.orders import services as orders
from app.orders.models import Order, OrderEvent
from app.payments import ledger
from app.payments.models import LedgerTransaction, Payment, ProviderOperation
from tests.conftest import login
from tests.factories import ListingFactory, UserFactory
from tests.integration.api_support import bearer
from tests.integration.support import state_of, stock

pytest_plugins = ("tests.stripe_server",)


@pytest.fixture(params=["manual", "stripe"])
def provider_app(request, payments_wired):
    """The app with each payment provider in turn."""
    if request.param == "stripe":
        return request.getfixturevalue("stripe_app")
    return payments_wired


def _no_money_moved() -> None:
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Payment.id))) == 0
    assert db.session.scalar(select(func.count(ProviderOperation.id))) == 0
    assert db.session.scalar(select(func.count(LedgerTransaction.id))) == 0
    report = ledger.verify()
    assert report.ok, report.problems


def _giveaway(**kwargs):
    return ListingFactory(price_cents=0, quantity=2, title="Free firewood", **kwargs)


def test_a_free_order_is_placed_straight_into_paid_by_the_system(provider_app):
    listing = _giveaway()
    buyer = UserFactory()

    order = orders.place_order(buyer.id, listing.id, 1)

    assert order.state == "paid" and order.paid_at is not None
    assert order.is_free
    events = db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id))
    assert [(e.action, e.from_state, e.to_state, e.actor_id) for e in events] == [
        ("nothing_to_pay", "pending_payment", "paid", None)
    ]
    assert orders.available_actions(order, listing.seller_id) == ["cancel", "ship"]
    assert orders.available_actions(order, buyer.id) == ["cancel"]
    _no_money_moved()


def test_a_free_order_completes_and_cancels_without_touching_money(provider_app):
    listing = _giveaway()
    buyer = UserFactory()
    kept = orders.place_order(buyer.id, listing.id, 1)
    dropped = orders.place_order(buyer.id, listing.id, 1)

    orders.transition(kept.id, "ship", listing.seller_id)
    orders.transition(kept.id, "confirm_delivery", buyer.id)
    orders.transition(dropped.id, "cancel", buyer.id)

    assert state_of(kept.id) == "completed"
    assert state_of(dropped.id) == "cancelled"
    assert stock(listing.id) == 1
    _no_money_moved()


def test_a_free_order_left_awaiting_payment_can_be_marked_paid(payments_wired, client):
    """Orders placed before giveaways skipped payment were stuck: Mark as paid answered 500."""
    listing = _giveaway()
    buyer = UserFactory()
    order = Order(
        listing_id=listing.id,
        buyer_id=buyer.id,
        seller_id=listing.seller_id,
        title=listing.title,
        quantity=1,
        unit_price_cents=0,
        total_cents=0,
        currency="USD",
        state="pending_payment",
    )
    db.session.add(order)
    db.session.commit()
    login(client, listing.seller)

    answer = client.post(f"/orders/{order.id}/mark_paid", data={"mark_paid-confirm": "y"})

    assert answer.status_code == 303
    assert state_of(order.id) == "paid"
    _no_money_moved()


def test_a_free_order_left_awaiting_payment_can_be_marked_paid_over_the_api(stripe_app, client):
    listing = _giveaway()
    buyer = UserFactory()
    order = Order(
        listing_id=listing.id,
        buyer_id=buyer.id,
        seller_id=listing.seller_id,
        title=listing.title,
        quantity=1,
        unit_price_cents=0,
        total_cents=0,
        currency="USD",
        state="pending_payment",
    )
    db.session.add(order)
    db.session.commit()
    seller = bearer(listing.seller)

    shown = client.get(f"/api/v1/orders/{order.id}", headers=seller)
    answer = client.post(f"/api/v1/orders/{order.id}/mark_paid", headers=seller)

    assert "mark_paid" in shown.json["actions"]
    assert answer.status_code == 200, answer.json
    assert answer.json["state"] == "paid"
    _no_money_moved()


def test_the_api_takes_a_free_order_end_to_end(provider_app, client):
    listing = _giveaway()
    buyer, seller = bearer(UserFactory()), bearer(listing.seller)

    placed = client.post("/api/v1/orders", json={"listing_id": listing.id}, headers=buyer)
    order_id = placed.json["id"]
    pay = client.post(f"/api/v1/orders/{order_id}/payment", headers=buyer)
    refund = client.post(
        f"/api/v1/orders/{order_id}/refunds", json={"amount_cents": 1}, headers=seller
    )
    shipped = client.post(f"/api/v1/orders/{order_id}/ship", headers=seller)
    done = client.post(f"/api/v1/orders/{order_id}/confirm_delivery", headers=buyer)

    assert placed.status_code == 201, placed.json
    assert placed.json["state"] == "paid"
    assert placed.json["is_free"] is True
    assert placed.json["total_cents"] == 0
    assert placed.json["events"][0]["action"] == "nothing_to_pay"
    assert pay.status_code == 409 and pay.json["error"]["code"] == "nothing_to_pay"
    assert refund.status_code == 409 and refund.json["error"]["code"] == "not_refundable"
    assert "free" in refund.json["error"]["message"].lower()
    assert shipped.status_code == 200, shipped.json
    assert done.status_code == 200 and done.json["state"] == "completed"
    _no_money_moved()


def test_paid_orders_are_not_free_in_the_api(payments_wired, client):
    listing = ListingFactory(price_cents=500)
    placed = client.post(
        "/api/v1/orders", json={"listing_id": listing.id}, headers=bearer(UserFactory())
    )

    assert placed.json["is_free"] is False
    assert placed.json["state"] == "pending_payment"


def test_the_web_takes_a_free_order_end_to_end_and_says_free(provider_app, make_client):
    listing = _giveaway()
    buyer = UserFactory()
    as_buyer, as_seller = make_client(buyer), make_client(listing.seller)

    listing_page = as_buyer.get(f"/listings/{listing.id}").get_data(as_text=True)
    placed = as_buyer.post(f"/listings/{listing.id}/buy", data={"quantity": "1"})
    order_id = db.session.scalar(select(Order.id))
    buyer_page = as_buyer.get(placed.headers["Location"]).get_data(as_text=True)
    seller_page = as_seller.get(f"/orders/{order_id}").get_data(as_text=True)
    shipped = as_seller.post(f"/orders/{order_id}/ship", data={})
    confirmed = as_buyer.post(f"/orders/{order_id}/confirm_delivery", data={})
    purchases = as_buyer.get("/orders").get_data(as_text=True)
    statement = as_buyer.get("/me/statement").get_data(as_text=True)

    assert "Free" in listing_page and "$0.00" not in listing_page
    assert placed.status_code == 303
    for page in (buyer_page, seller_page):
        assert "$0.00" not in page
        assert "Free" in page
        assert "No payment" in page
        assert "Pay " not in page and "Mark as paid" not in page and "Refund" not in page
        assert "held by" not in page.lower() and "arrange payment" not in page.lower()
    assert "Mark as shipped" in seller_page
    assert (shipped.status_code, confirmed.status_code) == (303, 303)
    assert state_of(order_id) == "completed"
    assert "Free" in purchases and "$0.00" not in purchases
    assert "No money has moved yet" in statement
    _no_money_moved()


def test_the_pay_page_of_a_free_order_explains_there_is_nothing_to_pay(stripe_app, make_client):
    listing = _giveaway()
    buyer = UserFactory()
    order = orders.place_order(buyer.id, listing.id, 1)

    answer = make_client(buyer).get(f"/orders/{order.id}/pay", follow_redirects=True)

    assert answer.status_code in (200, 409)
    assert "nothing to pay" in answer.get_data(as_text=True).lower()
    _no_money_moved()
