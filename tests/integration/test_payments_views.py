"""Payment pages through the test client: who may see and do what, and clear errors."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.orders import services as orders
from app.payments import ledger
from app.payments.models import Payment
from tests.factories import ListingFactory, UserFactory

pytest_plugins = ("tests.stripe_server",)


@pytest.fixture
def paid(payments_wired):
    listing = ListingFactory(price_cents=2500, quantity=2)
    order = orders.place_order(UserFactory().id, listing.id, 2)
    orders.transition(order.id, "mark_paid", order.seller_id)
    return order


def people(order, who):
    return {
        "anonymous": None,
        "stranger": UserFactory(),
        "buyer": order.buyer,
        "seller": order.seller,
    }[who]


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 302), ("stranger", 404), ("buyer", 403), ("seller", 303)],
)
def test_refund_access_matrix(make_client, paid, who, status):
    client = make_client(people(paid, who))
    response = client.post(f"/orders/{paid.id}/refund", data={"amount": "5.00"})

    assert response.status_code == status
    expected_escrow = 4500 if who == "seller" else 5000
    assert ledger.balance(ledger.ESCROW, "USD") == expected_escrow


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("", "Enter an amount."),
        ("abc", "Enter an amount as a number, like 12.50."),
        ("-3", "The amount cannot be negative."),
        ("0", "Enter an amount."),
        ("50.01", "At most $50.00 is held for this order."),
        ("1.234", "Use at most 2 decimal places."),
    ],
)
def test_bad_refund_amounts_give_a_clear_message_and_move_nothing(
    make_client, paid, amount, message
):
    client = make_client(paid.seller)
    response = client.post(
        f"/orders/{paid.id}/refund", data={"amount": amount}, follow_redirects=True
    )

    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert ledger.balance(ledger.ESCROW, "USD") == 5000


def test_seller_sees_refund_form_and_held_amount_on_the_order_page(make_client, paid):
    page = make_client(paid.seller).get(f"/orders/{paid.id}").get_data(as_text=True)
    assert "Record money you gave back" in page  # paid in person: the seller gives it back
    assert 'for="refund-amount"' in page
    assert "$50.00" in page

    buyer_page = make_client(paid.buyer).get(f"/orders/{paid.id}").get_data(as_text=True)
    assert "gave back" not in buyer_page
    assert "You paid in person" in buyer_page


def test_seller_refund_shows_on_both_statements(make_client, paid):
    make_client(paid.seller).post(
        f"/orders/{paid.id}/refund", data={"amount": "7.50", "reason": "scratch"}
    )

    buyer_page = make_client(paid.buyer).get("/me/statement").get_data(as_text=True)
    assert "+$7.50" in buyer_page and "-$50.00" in buyer_page


@pytest.mark.parametrize("path", ["/me/statement", "/me/payouts"])
def test_money_pages_need_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_statement_is_only_about_the_signed_in_user(make_client, paid):
    stranger_page = make_client(UserFactory()).get("/me/statement").get_data(as_text=True)
    assert "No money has moved yet" in stranger_page
    assert f"Order #{paid.id}" not in stranger_page


def test_payouts_page_with_manual_payments_says_nothing_to_set_up(make_client, paid):
    page = make_client(paid.seller).get("/me/payouts").get_data(as_text=True)
    assert "Paid in person" in page
    response = make_client(paid.seller).post("/me/payouts/onboard", follow_redirects=True)
    assert "nothing to set up" in response.get_data(as_text=True)


def test_pay_page_with_manual_payments_explains_payment_in_person(make_client, payments_wired):
    listing = ListingFactory()
    order = orders.place_order(UserFactory().id, listing.id, 1)
    response = make_client(order.buyer).get(f"/orders/{order.id}/pay")
    assert response.status_code == 409
    assert "settles payment in person" in response.get_data(as_text=True)


# -- with Stripe (localstripe) ------------------------------------------------------------------


@pytest.fixture
def card_order(stripe_app):
    listing = ListingFactory(price_cents=1999)
    return orders.place_order(UserFactory().id, listing.id, 1)


@pytest.mark.parametrize(
    ("who", "status"), [("anonymous", 302), ("stranger", 404), ("seller", 403)]
)
def test_pay_page_is_only_for_the_buyer(make_client, card_order, who, status):
    response = make_client(people(card_order, who)).get(f"/orders/{card_order.id}/pay")
    assert response.status_code == status
    assert db.session.scalar(select(Payment)) is None


def test_pay_page_loads_stripe_card_element_without_inline_script(make_client, card_order):
    page = make_client(card_order.buyer).get(f"/orders/{card_order.id}/pay").get_data(as_text=True)
    payment = db.session.scalar(select(Payment))

    assert f'data-client-secret="{payment.provider_ref}_secret_' in page
    assert 'data-publishable-key="pk_test_mutual"' in page
    assert "/js.stripe.com/v3/" in page
    assert re.search(r"js/payments(\.[0-9a-f]+)?\.js", page)  # its hashed name
    assert "<script>" not in page  # no inline script
    assert 'name="number"' not in page and "card_number" not in page  # no card field of ours
    assert "$19.99" in page


def test_returning_from_a_paid_card_marks_the_order_paid(make_client, card_order):
    from app.payments.providers import get_provider

    buyer = make_client(card_order.buyer)
    buyer.get(f"/orders/{card_order.id}/pay")
    payment = db.session.scalar(select(Payment))
    get_provider().pay_with_test_card(payment.provider_ref)

    response = buyer.get(f"/orders/{card_order.id}/pay/return", follow_redirects=True)

    assert "Payment received" in response.get_data(as_text=True)
    db.session.refresh(card_order)
    assert card_order.state == "paid"


def test_order_page_offers_card_payment_to_the_buyer_only(make_client, card_order):
    buyer_page = (
        make_client(card_order.buyer).get(f"/orders/{card_order.id}").get_data(as_text=True)
    )
    seller_page = (
        make_client(card_order.seller).get(f"/orders/{card_order.id}").get_data(as_text=True)
    )

    pay_button = f'href="/orders/{card_order.id}/pay"'
    assert pay_button in buyer_page and "Payment is settled directly" not in buyer_page
    assert pay_button not in seller_page
    # The next step is said once, in "What happens next", not again in the payment panel.
    assert buyer_page.count("Pay by card") == 1
    assert seller_page.count("pay by card") == 1


def test_payout_onboarding_redirects_to_stripe_and_shows_status(make_client, card_order, connect):
    seller = make_client(card_order.seller)
    response = seller.post("/me/payouts/onboard")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("https://connect.stripe.test/setup/acct_")

    account = response.headers["Location"].rsplit("/", 1)[-1]
    connect.approve(account)
    page = seller.get("/me/payouts/return", follow_redirects=True).get_data(as_text=True)
    assert "Your payout account is ready." in page and "Active" in page
