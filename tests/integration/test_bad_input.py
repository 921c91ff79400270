"""Bad input gets a clear 4xx (or an ordinary page), never a 500: one test per cause of the
500s found by fuzzing (huge money text, huge page numbers, huge ids, deep JSON, NUL bytes in
forms, url_for's own options in the query string)."""

from __future__ import annotations

import pytest

from app.accounts.models import User
from app.extensions import db
from app.inputs import MAX_JSON_DEPTH, json_nesting_exceeds
from app.pagination import MAX_PAGE, page_number
from tests.factories import ListingFactory, UserFactory
from tests.integration.api_support import bearer, order_between
from tests.integration.support import state_of

HUGE = "1e999999999"
HUGE_PAGE = "9223372036854775807"
HUGE_ID = "99999999999999999999"


# -- money ---------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["min_price", "max_price"])
def test_browse_with_an_absurd_price_filter_shows_a_form_error(client, field):
    response = client.get(f"/listings?{field}={HUGE}")
    assert response.status_code == 200
    assert "That price is too large." in response.text


def test_selling_at_an_absurd_price_is_a_form_error(make_client):
    seller = UserFactory()
    response = make_client(seller).post(
        "/sell",
        data={
            "title": "A plain lamp",
            "description": "Works.",
            "category": "home-garden",
            "condition": "good",
            "price": HUGE,
            "quantity": "1",
        },
    )
    assert response.status_code == 422
    assert "That price is too large." in response.text


def test_editing_to_an_absurd_price_is_a_form_error(make_client):
    listing = ListingFactory()
    response = make_client(listing.seller).post(
        f"/listings/{listing.id}/edit",
        data={
            "title": listing.title,
            "description": "Still works.",
            "category": listing.category.slug,
            "condition": listing.condition,
            "price": HUGE,
            "quantity": "1",
        },
    )
    assert response.status_code == 422
    assert "That price is too large." in response.text


def test_refunding_an_absurd_amount_explains_and_refunds_nothing(make_client):
    order = order_between(steps=("mark_paid",))
    seller = db.session.get(User, order.seller_id)
    response = make_client(seller).post(
        f"/orders/{order.id}/refund",
        data={"amount": HUGE, "reason": "sorry"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "too large" in response.text
    assert state_of(order.id) == "paid"


# -- page numbers --------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [HUGE_PAGE, "-5", "0", "abc", "", None, "1e9"])
def test_page_number_is_clamped_to_a_real_page(raw):
    assert 1 <= page_number(raw) <= MAX_PAGE


@pytest.mark.parametrize("url", ["/orders", "/me/statement", "/listings"])
def test_lists_answer_a_huge_page_number_with_an_empty_page(make_client, url):
    # Browse sends a page past its numbered pages to the last one (deeper pages go by cursor).
    response = make_client(UserFactory()).get(f"{url}?page={HUGE_PAGE}", follow_redirects=True)
    assert response.status_code == 200


def test_api_lists_refuse_a_huge_page_number_with_a_422(client):
    response = client.get(f"/api/v1/listings?page={HUGE_PAGE}")
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_failed"
    assert "page" in response.json["error"]["fields"]


# -- ids in URLs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/orders/{id}"),
        ("POST", "/orders/{id}/ship"),
        ("GET", "/orders/{id}/pay"),
        ("POST", "/orders/{id}/feedback"),
        ("GET", "/listings/{id}"),
        ("GET", "/listings/{id}/edit"),
        ("POST", "/listings/{id}/buy"),
        ("GET", "/photos/{id}/thumb"),
        ("POST", "/photos/{id}/delete"),
        ("GET", "/avatars/{id}"),
        ("GET", "/api/v1/orders/{id}"),
    ],
)
@pytest.mark.parametrize("number", [HUGE_ID, str(2**63), str(2**31), "0"])
def test_an_id_that_cannot_exist_is_a_404(make_client, method, url, number):
    response = make_client(UserFactory()).open(url.format(id=number), method=method)
    assert response.status_code == 404


def test_the_largest_id_still_routes(client):
    assert client.get(f"/listings/{2**31 - 1}").status_code == 404  # routed, no such listing
    listing = ListingFactory()
    assert client.get(f"/listings/{listing.id}").status_code == 200


# -- deep JSON -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "signed_in"),
    [
        ("POST", "/api/v1/users", False),
        ("POST", "/api/v1/auth/tokens", False),
        ("POST", "/api/v1/listings", True),
        ("PATCH", "/api/v1/users/me", True),
    ],
)
def test_deeply_nested_json_is_a_400_before_anything_parses_it(client, method, url, signed_in):
    headers = bearer(UserFactory()) if signed_in else {}
    response = client.open(
        url, method=method, data="[" * 100_000, content_type="application/json", headers=headers
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "json_too_deep"


def test_a_json_body_over_the_limit_is_a_413_before_it_is_read(app, client):
    app.config["MAX_JSON_BYTES"] = 1000
    body = '{"email": "a@example.com", "handle": "ann", "password": "' + "x" * 2000 + '"}'
    response = client.post("/api/v1/users", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"


def test_json_nesting_is_measured_outside_strings():
    assert not json_nesting_exceeds(b'{"a": "' + b"[" * 1000 + b'"}')
    assert not json_nesting_exceeds(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)
    assert json_nesting_exceeds(b"[" * (MAX_JSON_DEPTH + 1))
    assert not json_nesting_exceeds(b'[{"a": [1, 2], "b": "x\\"[["}, [3]]')


def test_ordinary_json_still_works(client):
    response = client.post(
        "/api/v1/users",
        json={"email": "ann@example.com", "handle": "ann_j", "password": "a long passphrase"},
    )
    assert response.status_code == 201


# -- NUL bytes in forms --------------------------------------------------------------------


def test_nul_bytes_in_a_form_field_are_removed_not_stored(make_client):
    user = UserFactory()
    response = make_client(user).post(
        "/settings/profile",
        data={"display_name": "Ann\x00e", "location": "Le\x00eds", "bio": "Hi\x00"},
    )
    assert response.status_code in (303, 302)
    db.session.expire_all()
    stored = db.session.get(User, user.id)
    assert (stored.display_name, stored.location, stored.bio) == ("Anne", "Leeds", "Hi")


def test_nul_bytes_in_sign_in_and_search_fields_are_harmless(client):
    response = client.post("/login", data={"email": "a\x00b@example.com", "password": "x\x00"})
    assert response.status_code < 500
    assert client.get("/orders?state=paid%00").status_code in (200, 302)
    assert client.get("/listings?q=bike%00&condition=go%00od").status_code == 200


# -- url_for options in the query string ---------------------------------------------------


@pytest.mark.parametrize("extra", ["_method=POST", "_external=1", "_scheme=ftp", "_anchor=x"])
def test_browse_pagination_ignores_url_for_options_in_the_query(app, client, extra):
    app.config["LISTINGS_PER_PAGE"] = 1
    ListingFactory.create_batch(2)
    response = client.get(f"/listings?q=&{extra}")
    assert response.status_code == 200
    assert "Next" in response.text
    assert "_method" not in response.text and "ftp:" not in response.text


@pytest.mark.parametrize("extra", ["_method=POST", "_scheme=ftp", "handle=other"])
def test_profile_redirect_ignores_url_for_options_in_the_query(client, extra):
    user = UserFactory()
    response = client.get(f"/u/{user.handle.upper()}?feedback=buyer&{extra}")
    assert response.status_code == 301
    assert response.location.endswith(f"/u/{user.handle}?feedback=buyer")
