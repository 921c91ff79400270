"""Every money word is true for the provider that moved the money, from the reader's side: paid
in person (the manual provider, the embedded default) nothing is held, sent, charged a fee or
paid out by the site; paid by card the site holds the money, refunds to the card and pays out.
The statement lists every order whose money moved, dated when it moved."""

from __future__ import annotations

from datetime import timedelta

from app.db import utcnow
from app.orders import money as order_money
from app.orders import services as orders
from app.payments import services as payments
from app.payments.models import Payment
from app.payments.providers import get_provider
from tests.factories import ListingFactory, UserFactory
from tests.integration.api_support import bearer

pytest_plugins = ("tests.stripe_server",)


def _in_person_order(price_cents: int = 5000, *, until=("mark_paid",), now=None):
    listing = ListingFactory(price_cents=price_cents)
    order = orders.place_order(UserFactory().id, listing.id, 1)
    for action in until:
        actor = order.buyer_id if action == "confirm_delivery" else order.seller_id
        orders.transition(order.id, action, actor, now=now)
    return order


def _card_order(price_cents: int = 5000):
    from app.extensions import db

    listing = ListingFactory(price_cents=price_cents)
    order = orders.place_order(UserFactory().id, listing.id, 1)
    start = order_money.start_order_payment(order.id, order.buyer_id)
    payment = db.session.get(Payment, start.payment_id)
    get_provider().pay_with_test_card(payment.provider_ref)
    payments.sync_payment(payment.id)
    return order


def _text(response) -> str:
    return response.get_data(as_text=True)


# -- the order page -----------------------------------------------------------------------------


def test_an_order_paid_in_person_never_says_the_site_holds_the_money(payments_wired, make_client):
    order = _in_person_order()

    seller_page = _text(make_client(order.seller).get(f"/orders/{order.id}"))
    buyer_page = _text(make_client(order.buyer).get(f"/orders/{order.id}"))

    for page in (seller_page, buyer_page):
        assert "Held by" not in page and "held by" not in page
        assert "Platform fee" not in page
        assert "takes no fee" in page
    assert "You received in person" in seller_page
    assert "You paid in person" in buyer_page


def test_a_card_order_says_the_site_holds_the_money_until_delivery(stripe_app, make_client):
    order = _card_order()

    buyer_page = _text(make_client(order.buyer).get(f"/orders/{order.id}"))

    assert "Held by Mutual until delivery" in buyer_page
    assert "You paid by card" in buyer_page
    assert "in person" not in buyer_page


def test_a_refund_in_person_is_recorded_not_sent(payments_wired, make_client):
    order = _in_person_order()
    seller = make_client(order.seller)

    answer = seller.post(
        f"/orders/{order.id}/refund", data={"amount": "7.50"}, follow_redirects=True
    )
    page = _text(answer)

    assert "Recorded: you gave $7.50 back to the buyer in person." in page
    assert "Refund sent" not in page
    assert "You gave back in person" in page
    buyer_page = _text(make_client(order.buyer).get(f"/orders/{order.id}"))
    assert "Given back to you in person" in buyer_page


def test_a_card_refund_says_it_went_to_the_card(stripe_app, make_client):
    order = _card_order()

    answer = make_client(order.seller).post(
        f"/orders/{order.id}/refund", data={"amount": "7.50"}, follow_redirects=True
    )

    assert "Refund of $7.50 sent to the buyer&#39;s card." in _text(answer)


def test_the_listing_says_how_payment_works_with_the_provider_in_use(stripe_app, make_client):
    listing = ListingFactory(price_cents=900)

    page = _text(make_client(UserFactory()).get(f"/listings/{listing.id}"))

    assert "You pay by card after ordering" in page
    assert "You arrange payment" not in page


# -- the statement ------------------------------------------------------------------------------


def test_in_person_statement_shows_the_seller_receiving_money_without_fees_or_payouts(
    payments_wired, make_client
):
    order = _in_person_order(until=("mark_paid", "ship", "confirm_delivery"))
    payments.run_pending_operations()

    page = _text(make_client(order.seller).get("/me/statement"))
    data = make_client(order.seller).get("/api/v1/me/statement", headers=bearer(order.seller))

    assert "Received in person from the buyer" in page
    assert "+$50.00" in page and "-$50.00" not in page
    assert "platform fee" not in page.lower() and "after fees" not in page.lower()
    assert "Paid out" not in page and "Waiting to be paid out" not in page
    entries = data.json["entries"]
    assert [(e["kind"], e["amount_cents"]) for e in entries] == [("order_funded", 5000)]
    assert data.json["totals"]["USD"]["received_in_person"] == 5000
    assert data.json["totals"]["USD"]["earned"] == 0


def test_in_person_statement_shows_the_buyer_paying_and_getting_money_back(
    payments_wired, make_client
):
    order = _in_person_order()
    order_money.refund_order(order.id, order.seller_id, 1000)

    page = _text(make_client(order.buyer).get("/me/statement"))

    assert "You paid in person" in page and "-$50.00" in page
    assert "Given back to you in person" in page and "+$10.00" in page


def test_the_statement_lists_an_order_refunded_and_cancelled(payments_wired, make_client):
    order = _in_person_order(until=("mark_paid", "cancel"))
    payments.run_pending_operations()

    seller_page = _text(make_client(order.seller).get("/me/statement"))
    buyer_page = _text(make_client(order.buyer).get("/me/statement"))

    for page in (seller_page, buyer_page):
        assert f"Order #{order.id}" in page
        assert "No money has moved yet" not in page
    assert "You gave back in person" in seller_page and "-$50.00" in seller_page
    assert "Given back to you in person" in buyer_page and "+$50.00" in buyer_page


def test_the_statement_dates_each_entry_when_it_happened(payments_wired, make_client):
    long_ago = utcnow() - timedelta(days=200)
    order = _in_person_order(until=("mark_paid",), now=long_ago)

    data = make_client(order.buyer).get("/api/v1/me/statement", headers=bearer(order.buyer))
    page = _text(make_client(order.buyer).get("/me/statement"))

    (entry,) = data.json["entries"]
    assert entry["at"].startswith(long_ago.date().isoformat())
    assert long_ago.strftime("%b %-d, %Y") in page
    assert utcnow().strftime("%b %-d, %Y") not in page.split("<tbody>")[1]


def test_card_statement_keeps_fees_and_payouts_and_shows_the_held_payment(stripe_app, make_client):
    order = _card_order(5000)

    page = _text(make_client(order.seller).get("/me/statement"))

    assert f"Order #{order.id}" in page
    assert "The buyer paid $50.00 by card" in page
    assert "in person" not in page
