"""Messages between the two parties of an order: services, pages and access rules."""

import pytest
from sqlalchemy import func, select

from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.messaging.models import Message
from app.messaging.services import inbox, send_message, thread, unread_count
from app.orders.services import place_order
from tests.factories import ListingFactory, UserFactory


def message_count() -> int:
    return db.session.scalar(select(func.count(Message.id)))


# Services


def test_send_message_goes_to_the_other_party_stripped(order, buyer, seller):
    message = send_message("order", order.id, buyer.id, "  Can I pick it up on Saturday?  \n")
    assert message.body == "Can I pick it up on Saturday?"
    assert message.sender_id == buyer.id
    assert (unread_count(seller.id), unread_count(buyer.id)) == (1, 0)
    reply = send_message("order", order.id, seller.id, "Sure")
    assert reply.conversation_id == message.conversation_id
    assert (unread_count(seller.id), unread_count(buyer.id)) == (1, 1)


@pytest.mark.parametrize("body", ["", "   \n\t ", None])
def test_send_message_refuses_an_empty_body(order, buyer, body):
    with pytest.raises(ValidationFailed, match="Write a message first"):
        send_message("order", order.id, buyer.id, body)
    assert message_count() == 0


def test_send_message_accepts_2000_characters_and_refuses_2001(order, buyer):
    send_message("order", order.id, buyer.id, "x" * 2000)
    with pytest.raises(ValidationFailed, match="at most 2000 characters"):
        send_message("order", order.id, buyer.id, "x" * 2001)
    assert message_count() == 1


def test_stranger_cannot_send_or_read(order, stranger, buyer):
    send_message("order", order.id, buyer.id, "Private")
    with pytest.raises(NotFound):
        send_message("order", order.id, stranger.id, "Hello")
    with pytest.raises(NotFound):
        thread("order", order.id, stranger.id)
    assert message_count() == 1


def test_thread_marks_only_the_viewers_messages_read(order, buyer, seller):
    send_message("order", order.id, buyer.id, "One")
    send_message("order", order.id, buyer.id, "Two")
    send_message("order", order.id, seller.id, "Three")
    assert (unread_count(seller.id), unread_count(buyer.id)) == (2, 1)
    messages = thread("order", order.id, seller.id)
    assert [m.body for m in messages] == ["One", "Two", "Three"]
    assert (unread_count(seller.id), unread_count(buyer.id)) == (0, 1)


def test_inbox_has_one_row_per_order_with_the_latest_message(order, buyer, seller):
    other = place_order(buyer.id, ListingFactory(seller=seller, title="Oak stool").id, 1)
    send_message("order", order.id, buyer.id, "First on lamp")
    send_message("order", other.id, buyer.id, "About the stool")
    send_message("order", order.id, seller.id, "Latest on lamp")
    rows = inbox(seller.id)
    assert [(r.subject.id, r.last_message.body, r.unread) for r in rows] == [
        (order.id, "Latest on lamp", 1),
        (other.id, "About the stool", 1),
    ]
    assert list(inbox(UserFactory().id)) == []


# Pages and access


@pytest.mark.parametrize(
    ("who", "status", "count"),
    [("anonymous", 302, 0), ("stranger", 404, 0), ("buyer", 303, 1), ("seller", 303, 1)],
)
def test_send_access(make_client, order, buyer, seller, stranger, who, status, count):
    user = {"anonymous": None, "buyer": buyer, "seller": seller, "stranger": stranger}[who]
    response = make_client(user).post(f"/orders/{order.id}/messages", data={"body": "Hi"})
    assert response.status_code == status
    assert message_count() == count


def test_sending_returns_to_the_thread(make_client, order, buyer):
    client = make_client(buyer)
    response = client.post(f"/orders/{order.id}/messages", data={"body": "See you at 5"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/orders/{order.id}#messages")
    assert "See you at 5" in client.get(f"/orders/{order.id}").get_data(as_text=True)


@pytest.mark.parametrize(
    ("body", "error"),
    [("", "Write a message."), ("   ", "Write a message."), ("x" * 2001, "At most 2000")],
)
def test_bad_message_is_a_form_error_on_the_order_page(make_client, order, buyer, body, error):
    client = make_client(buyer)
    response = client.post(f"/orders/{order.id}/messages", data={"body": body})
    assert response.status_code == 303
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert error in page
    assert "Walnut desk lamp" in page
    assert message_count() == 0


def test_opening_the_order_reads_its_messages_and_updates_the_header(
    make_client, order, buyer, seller
):
    send_message("order", order.id, buyer.id, "Hello there")
    client = make_client(seller)
    assert 'title="1 unread message"' in client.get("/orders").get_data(as_text=True)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Hello there" in page
    assert "unread message" not in page
    assert unread_count(seller.id) == 0


@pytest.mark.parametrize(("who", "status"), [("anonymous", 302), ("buyer", 200), ("stranger", 200)])
def test_inbox_shows_only_my_conversations(make_client, order, buyer, stranger, who, status):
    send_message("order", order.id, buyer.id, "Secret pick-up spot")
    user = {"anonymous": None, "buyer": buyer, "stranger": stranger}[who]
    response = make_client(user).get("/messages")
    assert response.status_code == status
    assert ("Secret pick-up spot" in response.get_data(as_text=True)) is (who == "buyer")


def test_empty_inbox_explains_where_messages_come_from(make_client, buyer):
    page = make_client(buyer).get("/messages").get_data(as_text=True)
    assert "No messages yet" in page


def test_a_message_moves_its_order_to_the_top_of_both_parties_lists(order, buyer, seller):
    from app.orders.services import orders_for

    newer = place_order(buyer.id, ListingFactory(seller=seller, title="Oak stool").id, 1)
    assert [o.id for o in orders_for(buyer.id, "buyer").items] == [newer.id, order.id]
    send_message("order", order.id, seller.id, "Your lamp is packed")
    assert [o.id for o in orders_for(buyer.id, "buyer").items] == [order.id, newer.id]
    assert [o.id for o in orders_for(seller.id, "seller").items] == [order.id, newer.id]
