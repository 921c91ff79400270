"""Every error answers {"error": {"code", "message", "fields"}} with the right status."""

from __future__ import annotations

import io
import tempfile

import pytest

from app.extensions import limiter
from tests.conftest import make_test_app
from tests.factories import PASSWORD, ListingFactory, UserFactory
from tests.integration.api_support import COMPLETE, bearer, order_between

NEW_LISTING = {
    "title": "Road bike",
    "category": "vehicles-parts",
    "condition": "good",
    "price_cents": 30000,
}


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.json
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"price_cents": 12.5}, "price_cents"),
        ({"price_cents": "100"}, "price_cents"),
        ({"quantity": True}, "quantity"),
        ({"title": None}, "title"),
        ({"title": "bad\x00title"}, "title"),
        ({"condition": "mint"}, "condition"),
        ({"currency": "dollars"}, "currency"),
        ({"colour": "red"}, "colour"),
    ],
    ids=["float", "string-number", "bool", "null", "nul-char", "condition", "currency", "unknown"],
)
def test_create_listing_refuses_bad_types_with_422_and_field_messages(client, change, field):
    user = UserFactory()
    response = client.post("/api/v1/listings", headers=bearer(user), json={**NEW_LISTING, **change})
    error = _error(response, 422, "validation_failed")
    assert field in error["fields"]
    assert all(isinstance(m, str) for m in error["fields"][field])


def test_service_rules_come_back_under_the_api_field_names(client):
    user = UserFactory()
    response = client.post(
        "/api/v1/listings",
        headers=bearer(user),
        json={**NEW_LISTING, "price_cents": -5, "category": "spaceships", "title": "x"},
    )
    error = _error(response, 422, "validation_failed")
    assert {"price_cents", "category", "title"} <= set(error["fields"])


def test_missing_fields_are_named(client):
    response = client.post("/api/v1/listings", headers=bearer(UserFactory()), json={})
    error = _error(response, 422, "validation_failed")
    assert {"title", "category", "condition", "price_cents"} <= set(error["fields"])


def test_invalid_json_is_a_400(client):
    response = client.post(
        "/api/v1/listings",
        headers={**bearer(UserFactory()), "Content-Type": "application/json"},
        data="{not json",
    )
    _error(response, 400, "invalid_body")


def test_a_json_list_instead_of_an_object_is_a_422(client):
    response = client.post("/api/v1/orders", headers=bearer(UserFactory()), json=[1, 2])
    error = _error(response, 422, "validation_failed")
    assert "_body" in error["fields"]


def test_bad_query_parameters_are_a_422(client):
    response = client.get("/api/v1/listings", query_string={"per_page": 1000, "sort": "cheap"})
    error = _error(response, 422, "validation_failed")
    assert {"per_page", "sort"} <= set(error["fields"])


def test_unknown_category_in_search_is_a_422(client):
    response = client.get("/api/v1/listings", query_string={"category": "spaceships"})
    assert "category" in _error(response, 422, "validation_failed")["fields"]


def test_unknown_path_is_a_json_404(client):
    _error(client.get("/api/v1/nothing-here"), 404, "not_found")


@pytest.mark.parametrize("path", ["/api/v1/listings/0", "/api/v1/listings/99999999999"])
def test_ids_out_of_range_are_404_not_500(client, path):
    _error(client.get(path), 404, "not_found")


def test_wrong_method_is_405_with_allow_header(client):
    response = client.put("/api/v1/categories")
    _error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_too_large_upload_is_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    listing = ListingFactory()
    response = client.post(
        f"/api/v1/listings/{listing.id}/photos",
        headers=bearer(listing.seller),
        data={"photos": (io.BytesIO(b"x" * 4096), "big.jpg")},
        content_type="multipart/form-data",
    )
    _error(response, 413, "payload_too_large")


# -- 409 conflicts -------------------------------------------------------------------------


def test_buying_your_own_listing_is_409(client):
    listing = ListingFactory()
    response = client.post(
        "/api/v1/orders", headers=bearer(listing.seller), json={"listing_id": listing.id}
    )
    _error(response, 409, "cannot_buy_own_listing")


def test_buying_more_than_the_stock_is_409(client):
    listing = ListingFactory(quantity=2)
    response = client.post(
        "/api/v1/orders",
        headers=bearer(UserFactory()),
        json={"listing_id": listing.id, "quantity": 3},
    )
    assert "2" in _error(response, 409, "out_of_stock")["message"]


def test_an_illegal_step_is_409(client):
    order = order_between()
    response = client.post(f"/api/v1/orders/{order.id}/ship", headers=bearer(order.seller))
    _error(response, 409, "invalid_transition")


def test_a_step_of_the_other_party_is_403(client):
    order = order_between()
    response = client.post(f"/api/v1/orders/{order.id}/mark_paid", headers=bearer(order.buyer))
    _error(response, 403, "forbidden")


def test_an_unknown_action_is_404(client):
    order = order_between()
    response = client.post(f"/api/v1/orders/{order.id}/auto_win", headers=bearer(order.buyer))
    _error(response, 404, "not_found")


def test_rating_twice_is_409(client):
    order = order_between(steps=COMPLETE)
    headers = bearer(order.buyer)
    url = f"/api/v1/orders/{order.id}/feedback"
    assert client.post(url, headers=headers, json={"rating": "positive"}).status_code == 201
    _error(client.post(url, headers=headers, json={"rating": "positive"}), 409, "conflict")


def test_rating_before_completion_is_409(client):
    order = order_between(steps=("mark_paid",))
    response = client.post(
        f"/api/v1/orders/{order.id}/feedback",
        headers=bearer(order.buyer),
        json={"rating": "positive"},
    )
    _error(response, 409, "conflict")


def test_detailed_rating_out_of_range_is_422(client):
    order = order_between(steps=COMPLETE)
    response = client.post(
        f"/api/v1/orders/{order.id}/feedback",
        headers=bearer(order.buyer),
        json={"rating": "positive", "described": 9},
    )
    assert "described" in _error(response, 422, "validation_failed")["fields"]


# -- rate limits ---------------------------------------------------------------------------


@pytest.fixture
def limited_client(app):
    """A client of a second app with rate limits on (TestConfig turns them off)."""
    was_enabled = limiter.enabled
    with tempfile.TemporaryDirectory() as tmp:
        limited = make_test_app(
            "sqlite",
            tmp,
            RATELIMIT_ENABLED=True,
            API_TOKEN_RATE_LIMIT="3 per minute",
            API_WRITE_RATE_LIMIT="2 per minute",
            SIGNUP_RATE_LIMIT="2 per hour",
        )
        limiter.reset()
        with limited.app_context():
            yield limited.test_client()
        limiter.reset()
        limiter.enabled = was_enabled
        from app.extensions import db

        with limited.app_context():
            db.session.remove()
            db.engine.dispose()


def test_token_creation_is_rate_limited_with_retry_after(limited_client):
    user = UserFactory()
    body = {"email": user.email, "password": PASSWORD}
    statuses = [limited_client.post("/api/v1/auth/tokens", json=body).status_code for _ in range(3)]
    assert statuses == [201, 201, 201]
    response = limited_client.post("/api/v1/auth/tokens", json=body)
    _error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 0


def test_writes_are_rate_limited_per_token(limited_client):
    user = UserFactory()
    mine, other = bearer(user), bearer(user)
    for _ in range(2):
        assert (
            limited_client.patch("/api/v1/users/me", headers=mine, json={"bio": "x"}).status_code
            == 200
        )
    response = limited_client.patch("/api/v1/users/me", headers=mine, json={"bio": "x"})
    _error(response, 429, "rate_limited")
    assert "Retry-After" in response.headers
    assert limited_client.get("/api/v1/users/me", headers=mine).status_code == 200  # reads
    assert (
        limited_client.patch("/api/v1/users/me", headers=other, json={"bio": "x"}).status_code
        == 200
    )


def test_sign_up_is_rate_limited(limited_client):
    statuses = [
        limited_client.post(
            "/api/v1/users",
            json={
                "email": f"n{i}@example.com",
                "handle": f"newbie{i}",
                "password": "long password",
            },
        ).status_code
        for i in range(3)
    ]
    assert statuses == [201, 201, 429]
