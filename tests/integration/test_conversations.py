"""Conversations on any subject: many participants, unread counts per participant, a paginated
inbox on the web and in the API, and who may see or write what."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.errors import NotFound
from app.extensions import db
from app.messaging import subjects
from app.messaging.models import Conversation, Message
from app.messaging.services import (
    conversation_view,
    inbox,
    mark_read,
    send_message,
    send_to_conversation,
    thread,
    unread_by_subject,
    unread_count,
)
from app.messaging.subjects import Subject, register_subject
from tests.factories import UserFactory
from tests.integration.api_support import bearer
from tests.integration.support import at_once

CLUB_MEMBERS: dict[int, tuple[int, ...]] = {}  # club id -> member ids, for the test kind


def _describe_clubs(ids, viewer_id):
    return {
        club_id: Subject(
            kind="club",
            id=club_id,
            title=f"Coffee club {club_id}",
            participant_ids=CLUB_MEMBERS[club_id],
            endpoint="main.index",
            label="Member",
        )
        for club_id in ids
        if viewer_id in CLUB_MEMBERS.get(club_id, ())
    }


@pytest.fixture
def clubs(app, monkeypatch):
    """A kind of subject with many participants, registered the way a real kind registers."""
    monkeypatch.setattr(subjects, "_KINDS", dict(subjects._KINDS))
    monkeypatch.setattr("tests.integration.test_conversations.CLUB_MEMBERS", {})
    register_subject("club", _describe_clubs, not_found="We could not find that club.")
    return CLUB_MEMBERS


@pytest.fixture
def trio(clubs):
    """Three members of club 1."""
    ana, ben, cat = UserFactory(handle="ana"), UserFactory(handle="ben"), UserFactory(handle="cat")
    clubs[1] = (ana.id, ben.id, cat.id)
    return ana, ben, cat


def unread(*users) -> tuple[int, ...]:
    return tuple(unread_count(u.id) for u in users)


# Many participants


def test_unread_counts_are_kept_per_participant_of_a_three_party_conversation(trio):
    ana, ben, cat = trio
    send_message("club", 1, ana.id, "Order 5 kg this week?")
    send_message("club", 1, ana.id, "Price drops at 10 kg.")
    send_message("club", 1, ben.id, "Count me in for 2.")
    assert unread(ana, ben, cat) == (1, 2, 3)

    assert [m.body for m in thread("club", 1, cat.id)] == [
        "Order 5 kg this week?",
        "Price drops at 10 kg.",
        "Count me in for 2.",
    ]
    assert unread(ana, ben, cat) == (1, 2, 0)

    send_message("club", 1, cat.id, "Me too, 3 kg.")
    assert unread(ana, ben, cat) == (2, 3, 0)
    assert unread_by_subject(ben.id, "club", [1, 2]) == {1: 3}
    assert [e.unread for e in inbox(ana.id)] == [2]


def test_own_message_counts_as_read_once_every_other_participant_read_it(trio):
    ana, ben, cat = trio
    first = send_message("club", 1, ana.id, "Who is in?")

    def read_at_for_ana():
        db.session.expire_all()
        view = conversation_view(first.conversation_id, ana.id)
        return view.messages[0].read_at

    assert read_at_for_ana() is None
    thread("club", 1, ben.id)
    assert read_at_for_ana() is None  # cat has not read it yet
    thread("club", 1, cat.id)
    assert read_at_for_ana() is not None


def test_everyone_in_the_subject_is_in_its_conversation_from_the_first_message(trio):
    _ana, ben, cat = trio
    message = send_message("club", 1, ben.id, "Hello club")
    assert [u.handle for u in conversation_view(message.conversation_id, cat.id).participants] == [
        "ana",
        "ben",
        "cat",
    ]


def test_a_member_who_joins_later_takes_part_and_sees_the_history_unread(trio, clubs):
    ana, ben, _cat = trio
    send_message("club", 1, ana.id, "Before dan joined")
    dan = UserFactory(handle="dan")
    clubs[1] = (*clubs[1], dan.id)
    send_message("club", 1, ben.id, "Welcome, dan")
    assert unread_count(dan.id) == 2
    assert [m.body for m in thread("club", 1, dan.id)] == ["Before dan joined", "Welcome, dan"]
    assert unread_count(dan.id) == 0


def test_a_stranger_can_neither_read_nor_write_a_club_conversation(trio):
    ana, _ben, _cat = trio
    message = send_message("club", 1, ana.id, "Members only")
    eve = UserFactory(handle="eve")
    with pytest.raises(NotFound, match="club"):
        send_message("club", 1, eve.id, "Let me in")
    with pytest.raises(NotFound):
        thread("club", 1, eve.id)
    with pytest.raises(NotFound):
        send_to_conversation(message.conversation_id, eve.id, "Let me in")
    with pytest.raises(NotFound):
        conversation_view(message.conversation_id, eve.id)
    with pytest.raises(NotFound):
        mark_read(message.conversation_id, eve.id)
    assert db.session.scalar(select(func.count(Message.id))) == 1


def test_a_subject_of_an_unknown_kind_is_not_found(app, buyer):
    with pytest.raises(NotFound):
        send_message("nothing", 1, buyer.id, "Hello?")


# The inbox


def _clubs_with_messages(clubs, members, count: int) -> None:
    for club_id in range(1, count + 1):
        clubs[club_id] = tuple(m.id for m in members)
        send_message("club", club_id, members[0].id, f"News from club {club_id}")


def test_inbox_pages_hold_latest_activity_first_with_the_total(trio, clubs):
    _ana, ben, cat = trio
    _clubs_with_messages(clubs, trio, 23)
    send_message("club", 4, ben.id, "Club 4 again")  # club 4 moves to the top

    first = inbox(cat.id, 1, 10)
    assert (first.total, first.pages, len(first.items)) == (23, 3, 10)
    assert [e.subject.id for e in first] == [4, 23, 22, 21, 20, 19, 18, 17, 16, 15]
    assert first.items[0].last_message.body == "Club 4 again"
    assert [e.unread for e in first] == [2] + [1] * 9
    last = inbox(cat.id, 3, 10)
    assert [e.subject.id for e in last] == [3, 2, 1]
    beyond = inbox(cat.id, 4, 10)
    assert (beyond.items, beyond.total) == ([], 23)
    everything = [e.subject.id for p in (1, 2, 3) for e in inbox(cat.id, p, 10)]
    assert sorted(everything) == list(range(1, 24))


def test_web_inbox_is_paginated(trio, clubs, make_client):
    _ana, _ben, cat = trio
    _clubs_with_messages(clubs, trio, 23)
    client = make_client(cat)
    first = client.get("/messages").get_data(as_text=True)
    assert first.count('class="inbox-row') == 20
    assert "News from club 23" in first and "Page 1, current" in first
    second = client.get("/messages?page=2").get_data(as_text=True)
    assert second.count('class="inbox-row') == 3
    assert "News from club 3" in second and "News from club 23" not in second
    assert "Page 2, current" in second
    assert "News from club 1" in client.get("/messages?page=99").get_data(as_text=True)


def test_web_inbox_shows_who_wrote_last_in_a_group(trio, make_client):
    _ana, ben, cat = trio
    send_message("club", 1, ben.id, "Beans arrived")
    page = make_client(cat).get("/messages").get_data(as_text=True)
    assert "Coffee club 1" in page
    assert "@ben:</span> Beans arrived" in page


def test_api_lists_all_conversations_and_the_order_inbox_only_orders(
    trio, order, buyer, seller, client
):
    ana, _ben, _cat = trio
    send_message("order", order.id, seller.id, "Your lamp is ready")
    send_message("club", 1, ana.id, "Club news")
    CLUB_MEMBERS[1] = (*CLUB_MEMBERS[1], buyer.id)
    send_message("club", 1, ana.id, "Welcome bob")

    listed = client.get("/api/v1/conversations", headers=bearer(buyer)).json
    assert listed["total"] == 2
    club, lamp = listed["items"]
    assert (club["subject_kind"], club["subject_id"], club["unread"]) == ("club", 1, 2)
    assert [p["handle"] for p in club["participants"]] == ["ana", "ben", "cat", "bob"]
    assert club["last_message"]["body"] == "Welcome bob"
    assert club["last_message"]["order_id"] is None
    assert lamp["subject"]["kind"] == "order" and lamp["subject"]["state"] == "pending_payment"
    assert lamp["subject"]["page_url"].endswith(f"/orders/{order.id}")
    assert lamp["title"] == "Walnut desk lamp" and lamp["last_message"]["order_id"] == order.id

    legacy = client.get("/api/v1/messages", headers=bearer(buyer)).json
    assert [(c["order_id"], c["state"], c["unread"]) for c in legacy["items"]] == [
        (order.id, "pending_payment", 1)
    ]
    assert legacy["total"] == 1


def test_api_conversation_pages_through_messages_without_marking_them_read(
    order, buyer, seller, client
):
    for n in range(5):
        send_message("order", order.id, seller.id, f"Note {n}")
    conversation_id = db.session.scalar(select(Conversation.id))
    url = f"/api/v1/conversations/{conversation_id}"
    headers = bearer(buyer)

    latest = client.get(url, headers=headers, query_string={"limit": 3}).json
    assert [m["body"] for m in latest["messages"]] == ["Note 2", "Note 3", "Note 4"]
    assert (latest["has_more"], latest["unread"]) == (True, 5)
    older = client.get(
        url, headers=headers, query_string={"limit": 3, "before_id": latest["messages"][0]["id"]}
    ).json
    assert [m["body"] for m in older["messages"]] == ["Note 0", "Note 1"]
    assert older["has_more"] is False
    assert unread_count(buyer.id) == 5

    read = client.post(f"{url}/read", headers=headers)
    assert read.status_code == 200
    assert read.json["unread"] == 0
    assert unread_count(buyer.id) == 0
    assert all(m["read_at"] for m in client.get(url, headers=headers).json["messages"])

    sent = client.post(f"{url}/messages", headers=headers, json={"body": "  Thanks!  "})
    assert sent.status_code == 201
    assert (sent.json["body"], sent.json["order_id"]) == ("Thanks!", order.id)
    assert sent.json["conversation_id"] == conversation_id
    assert unread_count(seller.id) == 1


@pytest.mark.parametrize("body", ["", "   ", "x" * 2001])
def test_api_refuses_a_bad_message_in_a_conversation(order, buyer, client, body):
    first = send_message("order", order.id, buyer.id, "Hello")
    response = client.post(
        f"/api/v1/conversations/{first.conversation_id}/messages",
        headers=bearer(buyer),
        json={"body": body},
    )
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_failed"
    assert "body" in response.json["error"]["fields"]
    assert db.session.scalar(select(func.count(Message.id))) == 1


# Who may do what


EXPECTED = {"anonymous": 401, "stranger": 404}


@pytest.mark.parametrize("who", ["anonymous", "stranger", "buyer", "seller"])
@pytest.mark.parametrize(
    ("method", "suffix", "body", "ok"),
    [
        ("get", "", None, 200),
        ("post", "/messages", {"body": "hi"}, 201),
        ("post", "/read", None, 200),
    ],
)
def test_api_conversation_access(client, order, parties, who, method, suffix, body, ok):
    first = send_message("order", order.id, order.buyer_id, "Private: 1 Elm St.")
    user = parties[who]
    response = getattr(client, method)(
        f"/api/v1/conversations/{first.conversation_id}{suffix}",
        headers=bearer(user) if user else {},
        json=body,
    )
    assert response.status_code == EXPECTED.get(who, ok)
    if who in EXPECTED:
        assert "Elm St" not in response.get_data(as_text=True)
    expected_messages = 2 if suffix == "/messages" and who in ("buyer", "seller") else 1
    assert db.session.scalar(select(func.count(Message.id))) == expected_messages


@pytest.mark.parametrize(
    ("who", "status"), [("anonymous", 302), ("stranger", 404), ("buyer", 302), ("seller", 302)]
)
def test_conversation_address_leads_its_parties_to_the_order_page(
    make_client, order, parties, who, status
):
    first = send_message("order", order.id, order.buyer_id, "Hello")
    response = make_client(parties[who]).get(f"/messages/{first.conversation_id}")
    assert response.status_code == status
    if who in ("buyer", "seller"):
        assert response.headers["Location"].endswith(f"/orders/{order.id}#messages")
    elif who == "anonymous":
        assert "/login" in response.headers["Location"]


def test_a_missing_conversation_is_not_found_in_the_api(client, buyer):
    response = client.get("/api/v1/conversations/999999", headers=bearer(buyer))
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


# Concurrency


@pytest.mark.postgres_only
def test_both_parties_writing_first_at_once_share_one_conversation(app, order, buyer, seller):
    outcomes = at_once(
        app,
        [
            lambda: send_message("order", order.id, buyer.id, "Is it still there?") and "ok",
            lambda: send_message("order", order.id, seller.id, "Thanks for buying!") and "ok",
        ],
        on_error=repr,
    )
    assert outcomes == ["ok", "ok"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Conversation.id))) == 1
    assert db.session.scalar(select(func.count(Message.id))) == 2
    assert (unread_count(buyer.id), unread_count(seller.id)) == (1, 1)
