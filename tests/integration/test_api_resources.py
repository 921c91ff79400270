"""Resources beyond the sale journey: accounts, listings and photos, lists and the docs."""

from __future__ import annotations

import io

from PIL import Image

from app.extensions import db
from app.listings.models import Listing
from tests.factories import PASSWORD, ListingFactory, UserFactory
from tests.integration.api_support import bearer


def _png() -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 40)).save(data, "PNG")
    data.seek(0)
    return data


def test_sign_up_refuses_a_taken_handle_with_field_messages(client):
    UserFactory(handle="taken")
    response = client.post(
        "/api/v1/users",
        json={"email": "new@example.com", "handle": "taken", "password": "long enough pw"},
    )
    assert response.status_code == 422
    assert "handle" in response.json["error"]["fields"]


def test_sign_up_with_a_short_password_names_the_field(client):
    response = client.post(
        "/api/v1/users", json={"email": "a@example.com", "handle": "abcde", "password": "short"}
    )
    assert response.status_code == 422
    assert "password" in response.json["error"]["fields"]


def test_change_password_needs_the_current_one(client):
    user = UserFactory()
    headers = bearer(user)
    wrong = client.post(
        "/api/v1/users/me/password",
        headers=headers,
        json={"current_password": "nope", "new_password": "a brand new password"},
    )
    assert wrong.status_code == 422
    assert "current_password" in wrong.json["error"]["fields"]
    right = client.post(
        "/api/v1/users/me/password",
        headers=headers,
        json={"current_password": PASSWORD, "new_password": "a brand new password"},
    )
    assert right.status_code == 204
    token = client.post(
        "/api/v1/auth/tokens",
        json={"email": user.email, "password": "a brand new password"},
    )
    assert token.status_code == 201


def test_avatar_upload_and_removal(client):
    user = UserFactory()
    headers = bearer(user)
    uploaded = client.put(
        "/api/v1/users/me/avatar",
        headers=headers,
        data={"avatar": (_png(), "me.png")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 200, uploaded.json
    assert uploaded.json["avatar_url"].endswith(f"/avatars/{user.id}")
    removed = client.delete("/api/v1/users/me/avatar", headers=headers)
    assert removed.json["avatar_url"] is None


def test_avatar_that_is_not_an_image_is_a_422(client):
    response = client.put(
        "/api/v1/users/me/avatar",
        headers=bearer(UserFactory()),
        data={"avatar": (io.BytesIO(b"plain text"), "me.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "avatar" in response.json["error"]["fields"]


def test_categories_are_slug_and_name(client):
    categories = client.get("/api/v1/categories").json
    assert categories["total"] == len(categories["items"]) >= 10
    assert set(categories["items"][0]) == {"slug", "name"}


def test_search_pages_and_sorts(client):
    seller = UserFactory()
    for price in (300, 100, 200):
        ListingFactory(seller=seller, price_cents=price, title=f"Lamp {price}")
    first = client.get(
        "/api/v1/listings", query_string={"sort": "price_asc", "per_page": 2, "page": 1}
    ).json
    assert (first["page"], first["per_page"], first["total"]) == (1, 2, 3)
    assert [i["price_cents"] for i in first["items"]] == [100, 200]
    second = client.get(
        "/api/v1/listings", query_string={"sort": "price_asc", "per_page": 2, "page": 2}
    ).json
    assert [i["price_cents"] for i in second["items"]] == [300]
    cheap = client.get("/api/v1/listings", query_string={"max_price_cents": 150}).json
    assert [i["price_cents"] for i in cheap["items"]] == [100]


def test_patch_listing_changes_details_and_pauses_it(client):
    listing = ListingFactory()
    headers = bearer(listing.seller)
    changed = client.patch(
        f"/api/v1/listings/{listing.id}",
        headers=headers,
        json={"price_cents": 1999, "category": "tools", "status": "paused"},
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["price_cents"] == 1999
    assert changed.json["category"] == "tools"
    assert changed.json["status"] == "paused"
    assert changed.json["is_buyable"] is False
    assert client.get("/api/v1/listings").json["total"] == 0


def test_patch_listing_with_a_bad_price_changes_nothing(client):
    listing = ListingFactory()
    response = client.patch(
        f"/api/v1/listings/{listing.id}",
        headers=bearer(listing.seller),
        json={"price_cents": -1, "title": "Renamed"},
    )
    assert response.status_code == 422
    assert "price_cents" in response.json["error"]["fields"]
    db.session.expire_all()
    assert db.session.get(Listing, listing.id).title != "Renamed"


def test_delete_listing_makes_it_gone(client):
    listing = ListingFactory()
    assert (
        client.delete(f"/api/v1/listings/{listing.id}", headers=bearer(listing.seller)).status_code
        == 204
    )
    assert client.get(f"/api/v1/listings/{listing.id}").status_code == 404


def test_photos_upload_as_multipart_and_remove(client):
    listing = ListingFactory()
    headers = bearer(listing.seller)
    added = client.post(
        f"/api/v1/listings/{listing.id}/photos",
        headers=headers,
        data={"photos": [(_png(), "a.png"), (_png(), "b.png")]},
        content_type="multipart/form-data",
    )
    assert added.status_code == 201, added.json
    photos = added.json["photos"]
    assert len(photos) == 2
    assert photos[0]["thumb_url"].endswith(f"/photos/{photos[0]['id']}/thumb")
    assert client.get(photos[0]["url"]).status_code == 200

    first = client.post(
        f"/api/v1/listings/{listing.id}/photos/{photos[1]['id']}/first", headers=headers
    )
    assert [p["id"] for p in first.json["photos"]] == [photos[1]["id"], photos[0]["id"]]
    removed = client.delete(
        f"/api/v1/listings/{listing.id}/photos/{photos[0]['id']}", headers=headers
    )
    assert removed.status_code == 204
    assert len(client.get(f"/api/v1/listings/{listing.id}").json["photos"]) == 1


def test_photo_of_another_listing_is_404_in_this_path(client):
    mine = ListingFactory()
    headers = bearer(mine.seller)
    other = ListingFactory(seller=mine.seller)
    added = client.post(
        f"/api/v1/listings/{other.id}/photos",
        headers=headers,
        data={"photos": (_png(), "a.png")},
        content_type="multipart/form-data",
    ).json
    photo_id = added["photos"][0]["id"]
    response = client.delete(f"/api/v1/listings/{mine.id}/photos/{photo_id}", headers=headers)
    assert response.status_code == 404
    assert len(client.get(f"/api/v1/listings/{other.id}").json["photos"]) == 1


def test_photo_upload_without_a_file_is_a_422(client):
    listing = ListingFactory()
    response = client.post(
        f"/api/v1/listings/{listing.id}/photos",
        headers=bearer(listing.seller),
        data={},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "photos" in response.json["error"]["fields"]


def test_my_listings_include_paused_ones(client):
    seller = UserFactory()
    ListingFactory(seller=seller, status="paused")
    ListingFactory(seller=seller)
    headers = bearer(seller)
    assert client.get("/api/v1/users/me/listings", headers=headers).json["total"] == 2
    paused = client.get(
        "/api/v1/users/me/listings", headers=headers, query_string={"status": "paused"}
    ).json
    assert [i["status"] for i in paused["items"]] == ["paused"]
    public = client.get(f"/api/v1/users/{seller.handle}/listings").json
    assert public["total"] == 1


def test_openapi_document_describes_bearer_auth_and_the_error_shape(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert spec["paths"]["/api/v1/orders"]["post"]["security"] == [{"bearerAuth": []}]
    price = spec["components"]["schemas"]["ListingIn"]["properties"]["price_cents"]
    assert price["type"] == "integer"


def test_docs_page_lists_every_operation(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    spec = client.get("/api/v1/openapi.json").json
    for path in spec["paths"]:
        assert path in html
    assert "<script" not in html
