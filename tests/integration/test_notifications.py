"""Notifications: every step where the other party must act or should know reaches them, in
the app (bell, list, mark as read) and by email as each person chose; nobody sees another's."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.db import utcnow
from app.extensions import db
from app.messaging.services import send_message
from app.notifications import services
from app.notifications.models import Notification
from app.orders.money import refund_order
from app.orders.services import transition
from app.reviews.services import leave_feedback
from app.transactions import events
from tests.integration.api_support import bearer


def _inbox(user) -> list[tuple[str, str]]:
    """(kind, text) of the user's notifications, oldest first."""
    db.session.expire_all()
    rows = db.session.scalars(
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    )
    return [(n.kind, n.text) for n in rows]


def _kinds(user) -> list[str]:
    return [kind for kind, _ in _inbox(user)]


@pytest.fixture
def outbox(app):
    """The emails sent (locmem backend), emptied for each test."""
    state = current_app.extensions["mailman"]
    state.outbox = []
    return state.outbox


def test_every_step_of_a_sale_notifies_the_party_who_must_act_or_should_know(order, buyer, seller):
    events.deliver_committed()
    assert _inbox(seller) == [("order_placed", "@bob ordered “Walnut desk lamp” ($12.50). "
                               "Arrange payment with them.")]  # fmt: skip
    send_message("order", order.id, buyer.id, "Cash on pick-up tomorrow?")
    transition(order.id, "mark_paid", seller.id)
    refund_order(order.id, seller.id, 250, "Scratch on the base")
    transition(order.id, "ship", seller.id, "Posted")
    transition(order.id, "confirm_delivery", buyer.id)
    events.deliver_committed()
    assert _kinds(buyer) == ["order_paid", "order_refunded", "order_shipped", "feedback_due"]
    assert _kinds(seller) == ["order_placed", "message", "order_delivered", "feedback_due"]
    assert ("message", "@bob wrote about “Walnut desk lamp”: Cash on pick-up tomorrow?") in (
        _inbox(seller)
    )
    assert ("order_refunded", "@sally refunded $2.50 for “Walnut desk lamp”.") in _inbox(buyer)

    leave_feedback(order.id, buyer.id, "positive", "Lovely lamp")
    events.deliver_committed()
    assert "feedback_received" not in _kinds(seller)  # double-blind: nothing yet
    leave_feedback(order.id, seller.id, "positive", "Paid promptly")
    events.deliver_committed()
    assert _kinds(buyer)[-1] == "feedback_received"
    assert _kinds(seller)[-1] == "feedback_received"
    links = db.session.scalars(select(Notification.link).where(Notification.user_id == buyer.id))
    assert set(links) == {f"/orders/{order.id}", f"/orders/{order.id}#feedback"}


def test_cancelling_notifies_the_other_party_only(order, buyer, seller):
    transition(order.id, "cancel", buyer.id, "Changed my mind")
    events.deliver_committed()
    assert _kinds(seller) == ["order_placed", "order_cancelled"]
    assert _kinds(buyer) == []


def test_an_order_auto_completed_by_the_job_asks_both_for_feedback(order, buyer, seller):
    from app.jobs.runner import run_due

    transition(order.id, "mark_paid", seller.id)
    transition(order.id, "ship", seller.id)
    run_due(utcnow() + timedelta(days=30))
    assert _kinds(buyer)[-1] == "feedback_due"
    assert _kinds(seller)[-1] == "feedback_due"


def test_a_redelivered_event_does_not_notify_twice(order, seller):
    events.deliver_committed()
    event = db.session.scalar(
        select(events.DomainEvent).where(events.DomainEvent.name == "order.placed")
    )
    from app.notifications.consumers import notify

    with pytest.raises(IntegrityError):  # UNIQUE (event, user)
        notify(event)
        db.session.flush()
    db.session.rollback()
    assert _kinds(seller) == ["order_placed"]


# -- pages ---------------------------------------------------------------------------------


def test_the_bell_shows_the_unread_count_and_links_to_the_list(order, make_client, seller, buyer):
    page = make_client(seller).get("/")  # the order was placed by a service: not delivered yet
    assert 'aria-label="Notifications"' in page.text
    events.deliver_committed()
    page = make_client(seller).get("/listings")
    assert 'aria-label="Notifications, 1 unread"' in page.text
    assert 'class="pill bell-count">1<' in page.text
    assert 'href="/notifications"' in page.text
    assert 'aria-label="Notifications"' in make_client(buyer).get("/").text


def test_a_purchase_through_the_web_notifies_the_seller_before_the_next_page(
    listing, make_client, buyer, seller
):
    response = make_client(buyer).post(f"/listings/{listing.id}/buy", data={"quantity": 1})
    assert response.status_code in (302, 303)
    assert "1 unread" in make_client(seller).get("/").text


def test_the_list_is_newest_first_with_unread_highlighted_and_links_that_mark_read(
    order, make_client, buyer, seller
):
    send_message("order", order.id, buyer.id, "Hello!")
    events.deliver_committed()
    client = make_client(seller)
    page = client.get("/notifications").text
    assert page.index("@bob wrote") < page.index("@bob ordered")
    assert page.count("notification notification-unread") == 2
    first = db.session.scalars(
        select(Notification).where(Notification.user_id == seller.id).order_by(Notification.id)
    ).first()
    response = client.get(f"/notifications/{first.id}/open")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/orders/{order.id}"
    page = client.get("/notifications").text
    assert page.count("notification notification-unread") == 1
    assert "Mark all as read" in page


def test_mark_as_read_and_mark_all_as_read(order, make_client, buyer, seller):
    send_message("order", order.id, buyer.id, "One")
    send_message("order", order.id, buyer.id, "Two")
    events.deliver_committed()
    client = make_client(seller)
    first = services.notifications_for(seller.id).items[-1]
    assert client.post(f"/notifications/{first.id}/read").status_code == 303
    assert services.unread_count(seller.id) == 2
    response = client.post("/notifications/read_all", follow_redirects=True)
    assert "Marked 2 notifications as read." in response.text
    assert services.unread_count(seller.id) == 0
    assert "Nothing unread" in client.get("/notifications?show=unread").text


def test_the_list_is_paginated(order, make_client, buyer, seller):
    for n in range(23):
        send_message("order", order.id, buyer.id, f"Message {n}")
    events.deliver_committed()
    client = make_client(seller)
    first = client.get("/notifications").text
    second = client.get("/notifications?page=2").text
    assert "Message 22" in first and "Message 2<" not in first
    assert "Page 2, current" in second and "@bob ordered" in second


@pytest.mark.parametrize("who", ["anonymous", "buyer", "stranger"])
@pytest.mark.parametrize("how", ["open", "read"])
def test_nobody_reaches_another_persons_notification(order, make_client, parties, who, how):
    events.deliver_committed()
    theirs = services.notifications_for(order.seller_id).items[0]
    client = make_client(parties[who])
    if how == "open":
        response = client.get(f"/notifications/{theirs.id}/open")
    else:
        response = client.post(f"/notifications/{theirs.id}/read")
    if who == "anonymous":
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    else:
        assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Notification, theirs.id).read_at is None


def test_the_preferences_page_saves_each_kinds_channel(make_client, buyer):
    client = make_client(buyer)
    page = client.get("/settings/notifications")
    assert page.status_code == 200 and "Feedback to give" in page.text
    form = {kind: "app" for kind in services.KINDS} | {"message": "email", "order_paid": "digest"}
    response = client.post("/settings/notifications", data=form)
    assert response.status_code == 303
    prefs = services.preferences_for(buyer.id)
    assert prefs["message"] == "email" and prefs["order_paid"] == "digest"
    assert prefs["order_shipped"] == "app"


def test_the_preferences_page_refuses_an_unknown_channel_next_to_the_field(make_client, buyer):
    form = {kind: "app" for kind in services.KINDS} | {"message": "pigeon"}
    response = make_client(buyer).post("/settings/notifications", data=form)
    assert response.status_code == 422
    assert "Not a valid choice" in response.text
    assert services.preferences_for(buyer.id)["message"] == "app"


# -- email ---------------------------------------------------------------------------------


def test_an_order_emails_a_seller_who_chose_email_once_with_an_absolute_link(
    listing, buyer, seller, outbox, make_client
):
    services.set_preferences(seller.id, {"order_placed": "email"})
    make_client(buyer).post(f"/listings/{listing.id}/buy", data={"quantity": 1})
    events.deliver_due(utcnow() + timedelta(days=1))  # nothing is sent a second time
    assert len(outbox) == 1
    mail = outbox[0]
    order_id = db.session.scalar(select(Notification.subject_id))
    assert mail.to == [seller.email]
    assert "@bob ordered “Walnut desk lamp”" in mail.subject
    assert f"http://mutual.test/orders/{order_id}\n" in mail.body
    assert "http://mutual.test/settings/notifications" in mail.body


def test_in_the_app_only_sends_no_email(order, buyer, seller, outbox):
    events.deliver_committed()
    transition(order.id, "mark_paid", seller.id)
    events.deliver_committed()
    assert outbox == []
    assert services.unread_count(seller.id) == 1


def test_digest_users_get_one_digest_a_day_with_their_unread_notifications(
    order, buyer, seller, outbox
):
    services.set_preferences(seller.id, {"message": "digest", "order_placed": "digest"})
    send_message("order", order.id, buyer.id, "First question")
    send_message("order", order.id, buyer.id, "Second question")
    events.deliver_committed()
    assert outbox == []  # nothing at once
    now = utcnow()
    assert services.send_digests(now) == 1
    assert len(outbox) == 1
    digest = outbox[0]
    assert digest.to == [seller.email] and "3 unread notifications" in digest.subject
    assert "First question" in digest.body and "Second question" in digest.body
    assert re.search(r"http://mutual\.test/messages/\d+", digest.body)

    send_message("order", order.id, buyer.id, "Third question")
    events.deliver_committed()
    assert services.send_digests(now + timedelta(hours=2)) == 0  # once a day
    assert services.send_digests(now + timedelta(days=1, minutes=1)) == 1
    assert "Third question" in outbox[1].body and "First question" not in outbox[1].body


def test_a_mail_server_failure_is_retried_without_losing_the_notification(
    order, buyer, seller, outbox, app
):
    services.set_preferences(seller.id, {"message": "email"})
    mailman = app.extensions["mailman"]
    saved = mailman.backend, mailman.server, mailman.port
    mailman.backend, mailman.server, mailman.port = "smtp", "127.0.0.1", 1  # nobody listens
    try:
        send_message("order", order.id, buyer.id, "Are you there?")
        events.deliver_committed()
        assert _kinds(seller) == ["order_placed"]  # rolled back with the failed delivery
    finally:
        mailman.backend, mailman.server, mailman.port = saved
    events.deliver_due(utcnow() + timedelta(minutes=5))
    assert _kinds(seller) == ["order_placed", "message"]
    assert len(outbox) == 1


# -- API -----------------------------------------------------------------------------------


def test_api_lists_filters_and_marks_notifications(order, client, buyer, seller):
    send_message("order", order.id, buyer.id, "Hello")
    events.deliver_committed()
    headers = bearer(seller)
    listed = client.get("/api/v1/notifications", headers=headers).get_json()
    assert listed["total"] == 2 and listed["unread_count"] == 2
    newest = listed["items"][0]
    assert newest["kind"] == "message" and newest["event"] == "message.sent"
    assert re.fullmatch(r"http://mutual\.test/messages/\d+", newest["url"])
    assert newest["subject_kind"] == "order" and newest["subject_id"] == order.id
    read = client.post(f"/api/v1/notifications/{newest['id']}/read", headers=headers)
    assert read.status_code == 200 and read.get_json()["is_read"] is True
    unread = client.get("/api/v1/notifications?unread=true", headers=headers).get_json()
    assert [n["kind"] for n in unread["items"]] == ["order_placed"]
    marked = client.post("/api/v1/notifications/read_all", headers=headers).get_json()
    assert marked == {"marked": 1}


def test_api_never_shows_or_marks_another_persons_notification(order, client, buyer, stranger):
    events.deliver_committed()
    theirs = services.notifications_for(order.seller_id).items[0]
    for user in (buyer, stranger):
        headers = bearer(user)
        assert client.get("/api/v1/notifications", headers=headers).get_json()["total"] == 0
        response = client.post(f"/api/v1/notifications/{theirs.id}/read", headers=headers)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    assert services.unread_count(order.seller_id) == 1


def test_api_preferences_read_and_change_with_the_right_scopes(client, buyer):
    headers = bearer(buyer)
    got = client.get("/api/v1/notification_preferences", headers=headers).get_json()
    assert set(got["preferences"].values()) == {"app"}
    assert got["kinds"]["feedback_due"] == "Feedback to give"
    put = client.put(
        "/api/v1/notification_preferences",
        headers=headers,
        json={"preferences": {"message": "email", "feedback_due": "digest"}},
    )
    assert put.status_code == 200
    assert put.get_json()["preferences"]["message"] == "email"
    bad = client.put(
        "/api/v1/notification_preferences",
        headers=headers,
        json={"preferences": {"message": "pigeon", "weather": "email"}},
    )
    assert bad.status_code == 422
    assert bad.get_json()["error"]["code"] == "validation_failed"
    read_only = bearer(buyer, scopes=("read",))
    denied = client.put(
        "/api/v1/notification_preferences", headers=read_only, json={"preferences": {}}
    )
    assert denied.status_code == 403
    assert client.post("/api/v1/notifications/read_all", headers=read_only).status_code == 403
    assert services.preferences_for(buyer.id)["feedback_due"] == "digest"


def test_api_operations_have_stable_operation_ids(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    ids = {
        (method, path): op["operationId"]
        for path, item in paths.items()
        if "notification" in path
        for method, op in item.items()
        if method in {"get", "post", "put"}
    }
    assert ids == {
        ("get", "/api/v1/notifications"): "listNotifications",
        ("post", "/api/v1/notifications/{notification_id}/read"): "markNotificationRead",
        ("post", "/api/v1/notifications/read_all"): "markAllNotificationsRead",
        ("get", "/api/v1/notification_preferences"): "getNotificationPreferences",
        ("put", "/api/v1/notification_preferences"): "setNotificationPreferences",
    }


@pytest.mark.parametrize("page", ["0", "-3", "abc", "99999999999999999999"])
def test_the_list_answers_any_page_number_without_an_error(make_client, buyer, page):
    response = make_client(buyer).get(f"/notifications?page={page}")
    assert response.status_code == 200
    assert "No notifications yet" in response.text
