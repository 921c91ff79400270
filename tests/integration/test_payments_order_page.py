"""The order page follows the payment provider: with card payments the buyer is asked to pay by
card and the seller has no "Mark as paid"; with payment in person the seller confirms it. And
the statement and payouts are one click from the settings page."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.orders import money as order_money
from app.orders import services as orders
from app.orders import states
from app.orders.models import Order
from tests.factories import ListingFactory, UserFactory

pytest_plugins = ("tests.stripe_server",)

MARK_PAID_FORM = 'action="/orders/{id}/mark_paid"'


@pytest.fixture
def order(app):
    listing = ListingFactory(price_cents=2000, quantity=3)
    return orders.place_order(UserFactory().id, listing.id, 1)


def _page(make_client, order, who: str) -> str:
    user = order.buyer if who == "buyer" else order.seller
    answer = make_client(user).get(f"/orders/{order.id}")
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def test_card_buyer_is_asked_to_pay_by_card(stripe_app, make_client, order):
    page = _page(make_client, order, "buyer")

    assert (
        "Pay by card to confirm your order; the money is held by Mutual until you confirm "
        "delivery." in page
    )
    assert f'href="/orders/{order.id}/pay"' in page
    assert "Waiting for the seller to confirm your payment" not in page


def test_card_seller_has_no_mark_as_paid_button(stripe_app, make_client, order):
    page = _page(make_client, order, "seller")

    assert MARK_PAID_FORM.format(id=order.id) not in page
    assert "Mark as paid" not in page
    assert "Waiting for the buyer to pay by card." in page


def test_card_seller_cannot_mark_paid_by_posting_the_form(stripe_app, make_client, order):
    answer = make_client(order.seller).post(
        f"/orders/{order.id}/mark_paid", data={"mark_paid-confirm": "y"}, follow_redirects=True
    )

    assert "paid by card" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Order, order.id).state == "pending_payment"


def test_in_person_seller_marks_the_order_paid(app, make_client, order):
    seller_page = _page(make_client, order, "seller")
    buyer_page = _page(make_client, order, "buyer")

    assert MARK_PAID_FORM.format(id=order.id) in seller_page
    assert "Mark the order as paid once you have received it." in seller_page
    assert f'href="/orders/{order.id}/pay"' not in buyer_page
    assert "Arrange how to pay with them in the messages below." in buyer_page


def test_card_wording_follows_the_order_once_paid(stripe_app, make_client, order):
    from app.payments import services as payments
    from app.payments.models import Payment
    from app.payments.providers import get_provider

    start = order_money.start_order_payment(order.id, order.buyer_id)
    payment = db.session.get(Payment, start.payment_id)
    get_provider().pay_with_test_card(payment.provider_ref)
    payments.sync_payment(payment.id)

    assert "Your payment is held by Mutual." in _page(make_client, order, "buyer")
    assert "Paid by card; Mutual holds the money" in _page(make_client, order, "seller")


@pytest.mark.parametrize("role", ["buyer", "seller"])
@pytest.mark.parametrize("state", states.STATES)
def test_every_state_has_a_next_step_for_both_providers(state, role):
    in_person = states.next_step(state, role)
    by_card = states.next_step(state, role, settles_in_person=False, site_name="Swap")

    assert in_person and by_card
    assert "Mutual" not in by_card
    if state == states.PENDING_PAYMENT:
        assert "card" in by_card and "card" not in in_person


def test_settings_page_links_to_statement_and_payouts(app, make_client):
    page = make_client(UserFactory()).get("/settings").get_data(as_text=True)

    nav = page.split('class="settings-nav"', 1)[1].split("</nav>", 1)[0]
    assert 'href="/me/statement"' in nav
    assert 'href="/me/payouts"' in nav


@pytest.mark.parametrize(
    ("provider", "expected"),
    [("manual", "Arrange payment with the seller"), ("stripe", "Pay by card below")],
)
def test_buying_says_how_to_pay(app, make_client, provider, expected, request):
    if provider == "stripe":
        request.getfixturevalue("stripe_app")
    listing = ListingFactory(price_cents=2000, quantity=3)
    buyer = make_client(UserFactory())
    answer = buyer.post(
        f"/listings/{listing.id}/buy", data={"quantity": "1"}, follow_redirects=True
    )
    assert answer.status_code == 200
    assert expected in answer.get_data(as_text=True)
