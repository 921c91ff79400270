"""Orders through the test client: buying, the order pages, the action buttons, access rules."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.listings.models import Listing
from app.orders.models import Order
from app.orders.services import place_order, transition
from tests.factories import ListingFactory
from tests.integration.support import state_of, stock

# Buying from the listing page


def test_buying_creates_an_order_and_opens_it(make_client, listing, buyer):
    response = make_client(buyer).post(f"/listings/{listing.id}/buy", data={"quantity": "2"})
    assert response.status_code == 303
    order = db.session.scalar(select(Order))
    assert response.headers["Location"].endswith(f"/orders/{order.id}")
    assert (order.quantity, order.total_cents) == (2, 2500)
    assert stock(listing.id) == 1


def test_buying_anonymously_asks_to_sign_in(make_client, listing):
    response = make_client(None).post(f"/listings/{listing.id}/buy", data={"quantity": "1"})
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert db.session.scalar(select(Order)) is None


@pytest.mark.parametrize(
    ("who", "quantity", "message"),
    [
        ("seller", "1", "You cannot buy your own listing."),
        ("buyer", "4", "Only 3 left."),
        ("buyer", "0", "Choose at least 1."),
        ("buyer", "lots", "Enter a whole number, like 2."),
        ("buyer", "", "Choose how many you want."),
    ],
)
def test_buying_errors_are_shown_on_the_listing_page(
    make_client, listing, buyer, seller, who, quantity, message
):
    client = make_client(buyer if who == "buyer" else seller)
    response = client.post(f"/listings/{listing.id}/buy", data={"quantity": quantity})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/listings/{listing.id}")
    assert message in client.get(f"/listings/{listing.id}").get_data(as_text=True)
    assert db.session.scalar(select(Order)) is None
    assert stock(listing.id) == 3


def test_buying_a_missing_listing_is_not_found(make_client, buyer):
    assert (
        make_client(buyer).post("/listings/999999/buy", data={"quantity": "1"}).status_code == 404
    )


# Access matrix


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 302), ("stranger", 404), ("buyer", 200), ("seller", 200)],
)
def test_order_page_access(make_client, order, parties, who, status):
    response = make_client(parties[who]).get(f"/orders/{order.id}")
    assert response.status_code == status
    assert (b"Walnut desk lamp" in response.data) is (status == 200)


@pytest.mark.parametrize(
    ("who", "status", "after"),
    [
        ("anonymous", 302, "pending_payment"),
        ("stranger", 404, "pending_payment"),
        ("buyer", 303, "cancelled"),
        ("seller", 303, "cancelled"),
    ],
)
def test_cancel_access(make_client, order, parties, who, status, after):
    client = make_client(parties[who])
    response = client.post(f"/orders/{order.id}/cancel", data={"cancel-note": "Sorry"})
    assert response.status_code == status
    assert state_of(order.id) == after


@pytest.mark.parametrize(
    ("who", "status", "after"),
    [
        ("anonymous", 302, "pending_payment"),
        ("stranger", 404, "pending_payment"),
        ("buyer", 403, "pending_payment"),
        ("seller", 303, "paid"),
    ],
)
def test_mark_paid_access(make_client, order, parties, who, status, after):
    response = make_client(parties[who]).post(
        f"/orders/{order.id}/mark_paid", data={"mark_paid-confirm": "y"}
    )
    assert response.status_code == status
    assert state_of(order.id) == after


def test_mark_paid_asks_the_seller_to_confirm_the_money_is_in_hand(make_client, order, seller):
    as_seller = make_client(seller)
    page = as_seller.get(f"/orders/{order.id}").get_data(as_text=True)

    unconfirmed = as_seller.post(f"/orders/{order.id}/mark_paid", data={})
    still = state_of(order.id)
    shown = as_seller.get(f"/orders/{order.id}").get_data(as_text=True)  # where 303 leads
    confirmed = as_seller.post(f"/orders/{order.id}/mark_paid", data={"mark_paid-confirm": "y"})

    assert 'name="mark_paid-confirm"' in page and "required" in page
    assert "I have received $12.50 from @bob." in page
    assert (unconfirmed.status_code, still) == (303, "pending_payment")
    assert unconfirmed.headers["Location"].endswith(f"/orders/{order.id}")
    assert "Tick the box to confirm you have received the payment." in shown
    assert confirmed.status_code == 303
    assert state_of(order.id) == "paid"


def test_unknown_action_is_not_found(make_client, order, buyer):
    assert make_client(buyer).post(f"/orders/{order.id}/teleport").status_code == 404


def test_action_on_a_missing_order_is_not_found(make_client, buyer):
    assert make_client(buyer).post("/orders/999999/cancel").status_code == 404


def test_orders_list_needs_sign_in(make_client):
    response = make_client(None).get("/orders")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# The whole path through the pages


def test_whole_sale_through_the_pages(make_client, listing, buyer, seller):
    buyer_client, seller_client = make_client(buyer), make_client(seller)
    buyer_client.post(f"/listings/{listing.id}/buy", data={"quantity": "1"})
    order_id = db.session.scalar(select(Order.id))

    page = buyer_client.get(f"/orders/{order_id}").get_data(as_text=True)
    assert "Waiting for the seller to confirm your payment" in page
    assert "Cancel order" in page and "Mark as paid" not in page

    page = seller_client.get(f"/orders/{order_id}").get_data(as_text=True)
    assert "Mark as paid" in page and "@bob" in page

    confirm = {"mark_paid-confirm": "y"}
    assert seller_client.post(f"/orders/{order_id}/mark_paid", data=confirm).status_code == 303
    response = seller_client.post(f"/orders/{order_id}/ship", data={"ship-note": "Tracking 1Z999"})
    assert response.status_code == 303
    page = buyer_client.get(f"/orders/{order_id}").get_data(as_text=True)
    assert "Confirm delivery" in page and "Tracking 1Z999" in page
    assert "completes automatically on" in page

    assert buyer_client.post(f"/orders/{order_id}/confirm_delivery").status_code == 303
    assert state_of(order_id) == "completed"
    page = buyer_client.get(f"/orders/{order_id}").get_data(as_text=True)
    assert "This order is complete" in page
    assert 'id="feedback"' in page  # the reviews panel is included
    for label in ("Order placed", "Payment received", "Shipped", "Delivery confirmed"):
        assert label in page


def test_cancelling_from_the_page_returns_stock(make_client, order, listing, seller):
    assert stock(listing.id) == 2
    response = make_client(seller).post(
        f"/orders/{order.id}/cancel", data={"cancel-note": "Sold it elsewhere"}
    )
    assert response.status_code == 303
    assert stock(listing.id) == 3
    page = make_client(seller).get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Sold it elsewhere" in page


def test_an_illegal_step_is_explained_on_the_order_page(make_client, order, buyer, seller):
    transition(order.id, "mark_paid", seller.id)
    transition(order.id, "ship", seller.id)
    client = make_client(buyer)
    response = client.post(f"/orders/{order.id}/cancel", follow_redirects=True)
    assert response.status_code == 200
    assert "This order has already shipped, so it can no longer be cancelled." in response.get_data(
        as_text=True
    )
    assert state_of(order.id) == "shipped"


def test_an_overlong_note_is_a_form_error(make_client, order, seller):
    transition(order.id, "mark_paid", seller.id)
    client = make_client(seller)
    response = client.post(f"/orders/{order.id}/ship", data={"ship-note": "x" * 501})
    assert response.status_code == 303
    assert "At most 500 characters." in client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert state_of(order.id) == "paid"


# The orders list


def test_orders_list_shows_purchases_and_sales_in_tabs(make_client, order, buyer, seller):
    other_listing = ListingFactory(seller=buyer, title="Green bicycle", quantity=1)
    place_order(seller.id, other_listing.id, 1)
    client = make_client(buyer)
    purchases = client.get("/orders").get_data(as_text=True)
    assert "Walnut desk lamp" in purchases and "Green bicycle" not in purchases
    sales = client.get("/orders?tab=sales").get_data(as_text=True)
    assert "Green bicycle" in sales and "Walnut desk lamp" not in sales


def test_orders_list_filters_by_state(make_client, listing, buyer):
    first = place_order(buyer.id, listing.id, 1)
    ListingFactory(seller=listing.seller, title="Oak stool", quantity=1)
    place_order(
        buyer.id, db.session.scalar(select(Listing.id).where(Listing.title == "Oak stool")), 1
    )
    transition(first.id, "cancel", buyer.id)
    client = make_client(buyer)
    page = client.get("/orders?state=cancelled").get_data(as_text=True)
    assert "Walnut desk lamp" in page and "Oak stool" not in page
    page = client.get("/orders?state=nonsense").get_data(as_text=True)
    assert "Walnut desk lamp" in page and "Oak stool" in page


def test_orders_list_shows_unread_message_counts(make_client, order, buyer, seller):
    from app.messaging.services import send_message

    send_message("order", order.id, buyer.id, "Hello")
    send_message("order", order.id, buyer.id, "Still there?")
    page = make_client(seller).get("/orders?tab=sales").get_data(as_text=True)
    assert '<span class="pill">2</span> <span class="small">new messages</span>' in page


def test_empty_orders_list_invites_to_browse(make_client, buyer):
    response = make_client(buyer).get("/orders")
    assert response.status_code == 200
    assert "No purchases yet" in response.get_data(as_text=True)
