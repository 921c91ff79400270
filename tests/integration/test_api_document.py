"""The OpenAPI document says what the API does: stable operationIds, the services' rules
(lengths, enums, ranges), links for the main flow, and bodies the server refuses exactly as
the document says (a PATCH needs a body, a multipart body only its declared parts)."""

from __future__ import annotations

import io
import re

import pytest

from app.accounts import services as accounts
from app.listings import services as listings
from tests.factories import ListingFactory, UserFactory
from tests.integration.api_support import bearer
from tests.integration.listing_images import image_bytes

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def document(client) -> dict:
    return client.get("/api/v1/openapi.json").json


def _operations(document) -> dict[str, dict]:
    """operationId -> operation (with its path and method)."""
    found = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                found[operation.get("operationId") or f"{method} {path}"] = {
                    **operation,
                    "path": path,
                    "method": method,
                }
    return found


def test_every_operation_has_a_unique_readable_operation_id(document):
    ids = [
        operation.get("operationId")
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in METHODS
    ]
    assert all(ids), "operations without an operationId"
    assert len(ids) == len(set(ids)), "duplicate operationIds"
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", i) for i in ids), ids


@pytest.mark.parametrize(
    ("operation_id", "method", "path"),
    [
        ("listListings", "get", "/api/v1/listings"),
        ("createListing", "post", "/api/v1/listings"),
        ("getOrder", "get", "/api/v1/orders/{order_id}"),
        ("createOrder", "post", "/api/v1/orders"),
        ("takeOrderAction", "post", "/api/v1/orders/{order_id}/{action}"),
        ("createRefund", "post", "/api/v1/orders/{order_id}/refunds"),
        ("createToken", "post", "/api/v1/auth/tokens"),
        ("createFeedback", "post", "/api/v1/orders/{order_id}/feedback"),
    ],
)
def test_main_operations_have_their_documented_names(document, operation_id, method, path):
    assert document["paths"][path][method]["operationId"] == operation_id


def test_the_services_rules_are_in_the_document(document):
    schemas = document["components"]["schemas"]
    listing = schemas["ListingIn"]["properties"]
    assert (listing["title"]["minLength"], listing["title"]["maxLength"]) == (
        listings.TITLE_MIN,
        listings.TITLE_MAX,
    )
    assert listing["category"]["enum"] == [slug for slug, _name in listings.CATEGORIES]
    assert listing["description"]["maxLength"] == listings.DESCRIPTION_MAX
    assert listing["quantity"]["maximum"] == listings.QUANTITY_MAX
    patch = schemas["ListingPatchIn"]["properties"]
    assert patch["category"]["enum"] == listing["category"]["enum"]
    for schema, field in (("SignupIn", "password"), ("PasswordIn", "new_password")):
        assert schemas[schema]["properties"][field]["minLength"] == accounts.PASSWORD_MIN_LENGTH
    assert schemas["ProfileIn"]["properties"]["bio"]["maxLength"] == accounts.BIO_MAX_LENGTH


@pytest.mark.parametrize(
    ("source", "status", "name", "target"),
    [
        ("createListing", "201", "OrderListing", "createOrder"),
        ("getListing", "200", "OrderListing", "createOrder"),
        ("createOrder", "201", "TakeFirstAction", "takeOrderAction"),
        ("takeOrderAction", "200", "TakeNextAction", "takeOrderAction"),
        ("takeOrderAction", "200", "LeaveFeedback", "createFeedback"),
        ("takeOrderAction", "200", "Refund", "createRefund"),
    ],
)
def test_links_lead_through_the_main_flow(document, source, status, name, target):
    operations = _operations(document)
    link = operations[source]["responses"][status]["links"][name]
    assert link["operationId"] == target
    assert target in operations


def _evaluate(expression, response, request_path: dict):
    """The two kinds of runtime expression the document uses."""
    if isinstance(expression, dict):
        return {k: _evaluate(v, response, request_path) for k, v in expression.items()}
    if isinstance(expression, str) and expression.startswith("$response.body#/"):
        value = response.json
        for part in expression.removeprefix("$response.body#/").split("/"):
            value = value[int(part)] if isinstance(value, list) else value[part]
        return value
    if isinstance(expression, str) and expression.startswith("$request.path."):
        return request_path[expression.removeprefix("$request.path.")]
    return expression


def _follow(
    client, document, response, source, status, name, *, headers, path=None, body=None, **extra
):
    """Call the operation a link names, with the values the link takes from `response`
    (`extra`: path values the link leaves to the client; `body`: when the link gives none)."""
    operations = _operations(document)
    link = operations[source]["responses"][status]["links"][name]
    target = operations[link["operationId"]]
    params = {**_evaluate(link.get("parameters", {}), response, path or {}), **extra}
    linked_body = _evaluate(link.get("requestBody"), response, path or {})
    json = linked_body if linked_body is not None else body
    if json is None and target.get("requestBody"):
        json = {}
    response = client.open(
        target["path"].format(**params),
        method=target["method"].upper(),
        headers=headers,
        **({"json": json} if json is not None else {}),
    )
    return response, params


def test_following_the_links_sells_ships_and_rates(client, document):
    seller, buyer = bearer(UserFactory()), bearer(UserFactory())
    listing = client.post(
        "/api/v1/listings",
        headers=seller,
        json={
            "title": "Linked lamp",
            "description": "Bright.",
            "category": "home-garden",
            "condition": "good",
            "price_cents": 1500,
        },
    )
    assert listing.status_code == 201
    order, _ = _follow(
        client, document, listing, "createListing", "201", "OrderListing", headers=buyer
    )
    assert order.status_code == 201, order.json
    step = order
    source, status, name = "createOrder", "201", "TakeFirstAction"
    for action, who in (("mark_paid", seller), ("ship", seller), ("confirm_delivery", buyer)):
        step, _ = _follow(client, document, step, source, status, name, headers=who, action=action)
        assert step.status_code == 200, (action, step.json)
        source, status, name = "takeOrderAction", "200", "TakeNextAction"
    assert step.json["state"] == "completed"
    feedback, params = _follow(
        client,
        document,
        step,
        "takeOrderAction",
        "200",
        "LeaveFeedback",
        headers=buyer,
        body={"rating": "positive", "comment": "Lovely lamp"},
    )
    assert feedback.status_code == 201, feedback.json
    shown, _ = _follow(
        client,
        document,
        feedback,
        "createFeedback",
        "201",
        "GetFeedback",
        headers=buyer,
        path=params,
    )
    assert shown.status_code == 200
    assert shown.json["mine"]["comment"] == "Lovely lamp"


# -- bodies the document does not allow ----------------------------------------------------


@pytest.mark.parametrize("body", [None, {}, ""], ids=["no-body", "empty-object", "empty-text"])
@pytest.mark.parametrize("target", ["me", "listing"])
def test_a_patch_without_anything_to_change_is_a_422(client, body, target):
    user = UserFactory()
    url = "/api/v1/users/me"
    if target == "listing":
        url = f"/api/v1/listings/{ListingFactory(seller=user).id}"
    kwargs = {"json": body} if body is not None and body != "" else {}
    if body == "":
        kwargs = {"data": "", "content_type": "application/json"}
    response = client.patch(url, headers=bearer(user), **kwargs)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_failed"
    assert response.json["error"]["fields"] == {"_body": ["Send at least one field to change."]}


def test_a_patch_with_a_field_still_works(client):
    user = UserFactory()
    response = client.patch("/api/v1/users/me", headers=bearer(user), json={"bio": "Hello"})
    assert response.status_code == 200
    assert response.json["bio"] == "Hello"


def _unknown_field() -> dict:
    return {"caption": "a plain field"}


def _unknown_file() -> dict:
    return {"other": (io.BytesIO(b"x"), "other.jpg")}


@pytest.mark.parametrize("extra", [_unknown_field, _unknown_file], ids=["field", "file"])
def test_multipart_parts_the_document_does_not_declare_are_a_422(client, extra):
    user = UserFactory()
    listing = ListingFactory(seller=user)
    photo = client.post(
        f"/api/v1/listings/{listing.id}/photos",
        headers=bearer(user),
        data={"photos": (io.BytesIO(image_bytes()), "a.jpg"), **extra()},
        content_type="multipart/form-data",
    )
    assert photo.status_code == 422
    assert set(photo.json["error"]["fields"]) == set(extra())
    avatar = client.put(
        "/api/v1/users/me/avatar",
        headers=bearer(user),
        data={"avatar": (io.BytesIO(image_bytes()), "a.jpg"), **extra()},
        content_type="multipart/form-data",
    )
    assert avatar.status_code == 422
    assert set(avatar.json["error"]["fields"]) == set(extra())


def test_multipart_bodies_are_documented_as_closed(document):
    schemas = document["components"]["schemas"]
    assert schemas["PhotosIn"]["additionalProperties"] is False
    assert schemas["AvatarIn"]["additionalProperties"] is False


def test_several_photos_in_one_multipart_body_are_still_fine(client):
    user = UserFactory()
    listing = ListingFactory(seller=user)
    response = client.post(
        f"/api/v1/listings/{listing.id}/photos",
        headers=bearer(user),
        data={"photos": [(io.BytesIO(image_bytes()), f"{n}.jpg") for n in range(2)]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201
    assert len(response.json["photos"]) == 2
