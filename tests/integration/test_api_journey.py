"""The whole sale journey through the JSON API alone: two people, no browser, no cookies."""

from __future__ import annotations

from app.reviews.models import Feedback


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _sign_up_with_token(client, handle: str) -> dict[str, str]:
    email = f"{handle}@example.com"
    password = "a long enough password"
    created = client.post(
        "/api/v1/users", json={"email": email, "handle": handle, "password": password}
    )
    assert created.status_code == 201, created.json
    assert created.json["handle"] == handle
    assert "email" not in created.json  # the answer is the public profile
    issued = client.post(
        "/api/v1/auth/tokens", json={"email": email, "password": password, "name": "journey"}
    )
    assert issued.status_code == 201, issued.json
    assert issued.json["token"].startswith("mut_")
    assert issued.json["scopes"] == ["read", "write"]
    return _bearer(issued.json["token"])


def test_sale_journey_through_the_api_alone(client):
    seller = _sign_up_with_token(client, "sally")
    buyer = _sign_up_with_token(client, "bruno")
    assert client.get("/api/v1/users/me", headers=seller).json["email"] == "sally@example.com"

    categories = client.get("/api/v1/categories").json["items"]
    assert {"slug": "electronics", "name": "Electronics"} in categories

    listed = client.post(
        "/api/v1/listings",
        headers=seller,
        json={
            "title": "Walnut turntable",
            "description": "Plays records beautifully.",
            "category": "electronics",
            "condition": "like_new",
            "price_cents": 12000,
            "quantity": 2,
        },
    )
    assert listed.status_code == 201, listed.json
    listing = listed.json
    assert listing["currency"] == "USD"  # the site's, when not given
    assert listing["seller"]["handle"] == "sally"

    found = client.get("/api/v1/listings", query_string={"q": "turntable"}, headers=buyer).json
    assert found["total"] == 1
    assert found["items"][0]["id"] == listing["id"]

    placed = client.post(
        "/api/v1/orders", headers=buyer, json={"listing_id": listing["id"], "quantity": 1}
    )
    assert placed.status_code == 201, placed.json
    order = placed.json
    assert order["state"] == "pending_payment"
    assert order["total_cents"] == 12000 and order["currency"] == "USD"
    assert order["actions"] == ["cancel"]
    order_url = f"/api/v1/orders/{order['id']}"
    assert client.get(order_url, headers=seller).json["actions"] == ["mark_paid", "cancel"]

    sent = client.post(
        f"{order_url}/messages", headers=buyer, json={"body": "Cash on pickup tomorrow?"}
    )
    assert sent.status_code == 201
    thread = client.get(f"{order_url}/messages", headers=seller).json
    assert [m["body"] for m in thread["items"]] == ["Cash on pickup tomorrow?"]

    paid = client.post(f"{order_url}/mark_paid", headers=seller)
    assert paid.status_code == 200, paid.json
    assert paid.json["state"] == "paid"
    shipped = client.post(f"{order_url}/ship", headers=seller, json={"note": "Handed over"})
    assert shipped.json["state"] == "shipped"
    assert shipped.json["shipping_note"] == "Handed over"
    done = client.post(f"{order_url}/confirm_delivery", headers=buyer)
    assert done.status_code == 200, done.json
    assert done.json["state"] == "completed"
    assert done.json["actions"] == ["dispute"]  # within REFUND_WINDOW_DAYS, the buyer only
    assert [e["to_state"] for e in done.json["events"]][-2:] == ["delivered", "completed"]

    panel = client.get(f"{order_url}/feedback", headers=buyer).json
    assert panel["can_leave"] is True
    assert panel["detail_ratings"] == ["described", "communication", "speed"]

    buyer_rates = client.post(
        f"{order_url}/feedback",
        headers=buyer,
        json={"rating": "positive", "comment": "Lovely seller", "described": 5},
    )
    assert buyer_rates.status_code == 201, buyer_rates.json
    assert buyer_rates.json["is_revealed"] is False
    # Double-blind: the seller cannot see it yet, and the buyer waits for the seller.
    assert client.get(f"{order_url}/feedback", headers=seller).json["theirs"] is None
    assert client.get(f"{order_url}/feedback", headers=buyer).json["is_waiting_for_other"]
    assert client.get("/api/v1/users/sally/reputation").json["overall"]["feedback_score"] == 0

    seller_rates = client.post(
        f"{order_url}/feedback", headers=seller, json={"rating": "positive", "comment": "Quick"}
    )
    assert seller_rates.status_code == 201
    assert seller_rates.json["is_revealed"] is True
    theirs = client.get(f"{order_url}/feedback", headers=seller).json["theirs"]
    assert theirs["comment"] == "Lovely seller"
    assert theirs["described"] == 5

    replied = client.post(
        f"{order_url}/feedback/{theirs['id']}/reply", headers=seller, json={"reply": "Thanks!"}
    )
    assert replied.status_code == 200, replied.json
    assert replied.json["reply"] == "Thanks!"

    sally = client.get("/api/v1/users/sally/reputation").json
    bruno = client.get("/api/v1/users/bruno/reputation").json
    assert sally["roles"]["seller"]["feedback_score"] == 1
    assert sally["roles"]["buyer"]["feedback_score"] == 0
    assert bruno["roles"]["buyer"]["feedback_score"] == 1
    assert bruno["overall"]["percent_positive"] == 100.0
    # The engine's trust, confidence and "why this score" come along, for portability.
    seller_block = sally["roles"]["seller"]
    assert 0.0 <= seller_block["trust"] <= 1.0 and 0.0 <= seller_block["confidence"] <= 1.0
    assert "new_account" in sally["overall"]["flags"]
    assert {f["name"] for f in sally["overall"]["explanation"]} >= {"ratings received"}
    received = client.get("/api/v1/users/sally/feedback").json
    assert [f["comment"] for f in received["items"]] == ["Lovely seller"]


def test_sale_journey_leaves_no_hidden_feedback_when_both_rated(client, app):
    """The reveal happens in the database, not only in the answer."""
    seller = _sign_up_with_token(client, "sam")
    buyer = _sign_up_with_token(client, "bea")
    listing = client.post(
        "/api/v1/listings",
        headers=seller,
        json={
            "title": "Camping stove",
            "category": "sports-outdoors",
            "condition": "good",
            "price_cents": 1500,
        },
    ).json
    order = client.post("/api/v1/orders", headers=buyer, json={"listing_id": listing["id"]}).json
    for action, who in (("mark_paid", seller), ("ship", seller), ("confirm_delivery", buyer)):
        assert client.post(f"/api/v1/orders/{order['id']}/{action}", headers=who).status_code == 200
    for who in (buyer, seller):
        client.post(
            f"/api/v1/orders/{order['id']}/feedback", headers=who, json={"rating": "positive"}
        )
    from sqlalchemy import select

    from app.extensions import db

    revealed = db.session.scalars(select(Feedback.revealed_at)).all()
    assert len(revealed) == 2 and all(revealed)
