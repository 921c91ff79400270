"""A form that fails answers 303 to the page it lives on (a reload never posts again); that page
shows what was typed and the error next to its field, once, in plain words."""

from __future__ import annotations

import html
import random
import re

import pytest

from app.extensions import db
from app.orders import services as orders
from app.orders.models import Order
from app.reviews.models import Feedback
from app.reviews.services import leave_feedback
from tests.factories import ListingFactory, OrderFactory, UserFactory

RAW_FRAMEWORK_TEXT = ("Not a valid integer value", "This field is required", "Not a valid")


def field_block(page: str, name: str) -> str:
    """The `<div class="field ...">` that holds the input named `name`."""
    at = page.index(f'name="{name}"')
    start = page.rindex('<div class="field', 0, at)
    end = page.index("</div>", at)
    return page[start:end]


def assert_failed_post_returns_to(response, path: str) -> None:
    assert response.status_code == 303
    assert response.headers["Location"].split("#")[0].endswith(path)


def assert_shown_once(client, path: str, name: str, typed: str, error: str) -> None:
    page = client.get(path).get_data(as_text=True)
    block = html.unescape(field_block(page, name))
    assert "has-error" in block and 'aria-invalid="true"' in block
    assert error in block
    assert typed in block
    for raw in RAW_FRAMEWORK_TEXT:
        assert raw not in page
    again = client.get(path).get_data(as_text=True)
    assert error not in html.unescape(field_block(again, name))


def test_a_failed_order_action_returns_to_the_order_with_the_note_and_its_error(
    make_client, order, buyer
):
    client = make_client(buyer)
    note = "Changed my mind, sorry. " + "x" * 490
    response = client.post(f"/orders/{order.id}/cancel", data={"cancel-note": note})
    assert_failed_post_returns_to(response, f"/orders/{order.id}")
    assert orders.get_order_for(order.id, buyer.id).state == "pending_payment"
    assert_shown_once(client, f"/orders/{order.id}", "cancel-note", note, "At most 500 characters.")


def test_the_cancel_box_opens_on_its_error(make_client, order, buyer):
    client = make_client(buyer)
    client.post(f"/orders/{order.id}/cancel", data={"cancel-note": "y" * 501})
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert re.search(r'<details class="order-cancel" open>', page)


def test_a_draft_belongs_to_its_own_order(make_client, order, buyer, listing):
    other = orders.place_order(buyer.id, listing.id, 1)
    client = make_client(buyer)
    client.post(f"/orders/{order.id}/cancel", data={"cancel-note": "z" * 501})
    assert "z" * 501 not in client.get(f"/orders/{other.id}").get_data(as_text=True)
    assert "z" * 501 in client.get(f"/orders/{order.id}").get_data(as_text=True)


@pytest.fixture
def paid(app):
    listing = ListingFactory(price_cents=2500, quantity=2)
    order = orders.place_order(UserFactory().id, listing.id, 2)
    orders.transition(order.id, "mark_paid", order.seller_id)
    return order


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("abc", "Enter an amount as a number, like 12.50."),
        ("50.01", "At most $50.00 is held for this order."),
        ("", "Enter an amount."),
    ],
)
def test_a_failed_refund_returns_to_the_order_with_what_was_typed(make_client, paid, amount, error):
    client = make_client(paid.seller)
    reason = "The lid arrived scratched"
    response = client.post(f"/orders/{paid.id}/refund", data={"amount": amount, "reason": reason})
    assert_failed_post_returns_to(response, f"/orders/{paid.id}")
    page = client.get(f"/orders/{paid.id}").get_data(as_text=True)
    block = html.unescape(field_block(page, "amount"))
    assert error in block and f'value="{amount}"' in block
    assert reason in html.unescape(field_block(page, "reason"))
    assert '<details class="refund-box" open>' in page


def test_an_overlong_refund_reason_is_shown_under_the_reason(make_client, paid):
    client = make_client(paid.seller)
    reason = "r" * 301
    client.post(f"/orders/{paid.id}/refund", data={"amount": "5", "reason": reason})
    assert_shown_once(client, f"/orders/{paid.id}", "reason", reason, "At most 300 characters.")


@pytest.fixture
def rated(app):
    order = OrderFactory()
    feedback = leave_feedback(order.id, order.buyer_id, "neutral", "Slow shipping")
    leave_feedback(order.id, order.seller_id, "positive")
    return feedback


def test_a_failed_reply_returns_to_the_order_with_the_text_and_its_error(make_client, rated):
    order = db.session.get(Order, rated.order_id)
    client = make_client(order.seller)
    text = "The post office was on strike that week. " + "w" * 470
    response = client.post(f"/feedback/{rated.id}/reply", data={"text": text})
    assert_failed_post_returns_to(response, f"/orders/{order.id}")
    db.session.expire_all()
    assert db.session.get(Feedback, rated.id).reply is None
    assert_shown_once(
        client, f"/orders/{order.id}", "text", text, "Keep the reply to 500 characters or fewer."
    )


def test_an_empty_reply_is_an_error_under_the_reply_box(make_client, rated):
    order = db.session.get(Order, rated.order_id)
    client = make_client(order.seller)
    client.post(f"/feedback/{rated.id}/reply", data={"text": "  "})
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Write a reply first." in field_block(page, "text")


@pytest.mark.parametrize(
    ("quantity", "error"),
    [
        ("lots", "Enter a whole number, like 2."),
        ("4", "Only 3 left."),
        ("0", "Choose at least 1."),
        ("", "Choose how many you want."),
    ],
)
def test_a_failed_purchase_returns_to_the_listing_with_the_quantity_and_its_error(
    make_client, listing, buyer, quantity, error
):
    client = make_client(buyer)
    response = client.post(f"/listings/{listing.id}/buy", data={"quantity": quantity})
    assert_failed_post_returns_to(response, f"/listings/{listing.id}")
    assert_shown_once(client, f"/listings/{listing.id}", "quantity", quantity, error)


def test_a_failed_message_returns_to_the_thread_with_the_text(make_client, order, buyer):
    client = make_client(buyer)
    body = "Can I pick it up on Saturday? " + "m" * 2000
    response = client.post(f"/orders/{order.id}/messages", data={"body": body})
    assert_failed_post_returns_to(response, f"/orders/{order.id}")
    assert response.headers["Location"].endswith("#messages")
    assert_shown_once(client, f"/orders/{order.id}", "body", body, "At most 2000 characters.")


def test_a_long_non_latin_draft_keeps_the_person_signed_in(make_client, order, buyer):
    client = make_client(buyer)
    rng = random.Random(9)  # text that compresses badly: any CJK character, an emoji now and then
    letters = [chr(rng.randrange(0x4E00, 0x9FFF)) for _ in range(3000)] + ["🚲", "🪑"]
    body = "Можно забрать в субботу? " + "".join(rng.choice(letters) for _ in range(2100))
    response = client.post(f"/orders/{order.id}/messages", data={"body": body})
    assert response.status_code == 303
    cookie = client.get_cookie("session")
    assert len(cookie.value) < 4000
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "At most 2000 characters." in field_block(page, "body")
    assert "Можно забрать в субботу?" in page
    assert client.get("/orders").status_code == 200  # still signed in


def test_buying_what_just_sold_out_says_so_at_the_top(make_client, listing, buyer):
    other = UserFactory()
    orders.place_order(other.id, listing.id, 3)
    client = make_client(buyer)
    response = client.post(f"/listings/{listing.id}/buy", data={"quantity": "1"})
    assert_failed_post_returns_to(response, f"/listings/{listing.id}")
    page = client.get(f"/listings/{listing.id}").get_data(as_text=True)
    assert "flash-error" in page and "no longer available" in page


def test_a_refund_the_order_no_longer_allows_returns_to_the_order_with_the_reason(
    make_client, paid
):
    orders.transition(paid.id, "ship", paid.seller_id)
    orders.transition(paid.id, "confirm_delivery", paid.buyer_id)
    client = make_client(paid.seller)
    response = client.post(f"/orders/{paid.id}/refund", data={"amount": "5", "reason": "Late"})
    assert_failed_post_returns_to(response, f"/orders/{paid.id}")
    page = client.get(f"/orders/{paid.id}").get_data(as_text=True)
    assert "flash-error" in page and "Refunds are possible while the payment is held" in page
