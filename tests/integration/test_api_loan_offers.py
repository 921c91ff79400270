"""Loan offers in the API: listings with `for_sale` and `loan_offer`, block-outs, availability
and quotes, with the same rules and words as the web pages."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from app.extensions import db
from app.listings.models import Listing, LoanBlockout
from tests.factories import ListingFactory, UserFactory
from tests.integration.api_support import bearer
from tests.integration.loan_offer_support import TERMS, block, day, lendable

NEW = {
    "title": "Four-person tent",
    "description": "Dry and clean.",
    "category": "sports-outdoors",
    "condition": "good",
    "for_sale": False,
    "loan_offer": {
        "fee_per_day_cents": 400,
        "fee_per_week_cents": 2000,
        "deposit_cents": 6000,
        "min_days": 2,
        "max_days": 14,
        "pickup_area": "Northside",
        "late_fee_per_day_cents": 500,
    },
}


def _error(response) -> dict:
    return response.json["error"]


def _url(listing, tail: str, **days: int) -> str:
    """/api/v1/listings/<id>/<tail>?name=<today + days>&..."""
    query = "&".join(f"{name.rstrip('_')}={day(n).isoformat()}" for name, n in days.items())
    return f"/api/v1/listings/{listing.id}/{tail}?{query}"


# -- listings with loan offers ---------------------------------------------------------------


def test_a_listing_only_for_loan_is_created_without_a_price(client):
    response = client.post("/api/v1/listings", headers=bearer(UserFactory()), json=NEW)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["for_sale"] is False and body["is_lendable"] is True and body["is_buyable"] is False
    assert body["loan_offer"] == {
        "fee_per_day_cents": 400,
        "fee_per_week_cents": 2000,
        "deposit_cents": 6000,
        "min_days": 2,
        "max_days": 14,
        "pickup_area": "Northside",
        "pickup_notes": "",
        "late_fee_per_day_cents": 500,
        "late_fee_cap_cents": 6000,
        "is_free": False,
    }


def test_a_plain_sale_listing_reads_with_no_loan_offer(client):
    listing = ListingFactory()
    body = client.get(f"/api/v1/listings/{listing.id}").json
    assert body["for_sale"] is True and body["loan_offer"] is None and body["is_lendable"] is False


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"for_sale": True}, "price_cents", "Enter a price."),
        ({"loan_offer": None}, "for_sale", "Offer it for sale, for loan, or both."),
        (
            {"loan_offer": {**NEW["loan_offer"], "fee_per_week_cents": 2800}},
            "loan_offer.fee_per_week_cents",
            "less than 7 days at the daily fee",
        ),
        (
            {"loan_offer": {**NEW["loan_offer"], "pickup_area": ""}},
            "loan_offer.pickup_area",
            "Say where it is picked up",
        ),
        ({"loan_offer": {"min_days": 1.5}}, "loan_offer.min_days", "Not a valid integer."),
    ],
)
def test_bad_offers_are_refused_with_the_services_words(client, changes, field, words):
    response = client.post(
        "/api/v1/listings", headers=bearer(UserFactory()), json={**NEW, **changes}
    )
    assert response.status_code == 422, response.json
    assert any(words in message for message in _error(response)["fields"][field]), response.json
    assert db.session.scalar(select(Listing)) is None


def test_patching_terms_keeps_the_others_and_null_stops_lending(client):
    listing = lendable(for_sale=True, price_cents=3000)
    headers = bearer(listing.seller)
    url = f"/api/v1/listings/{listing.id}"
    response = client.patch(url, headers=headers, json={"loan_offer": {"max_days": 21}})
    assert response.status_code == 200, response.json
    offer = response.json["loan_offer"]
    assert offer["max_days"] == 21 and offer["deposit_cents"] == TERMS["deposit_cents"]
    assert offer["fee_per_week_cents"] == TERMS["fee_per_week_cents"]
    response = client.patch(url, headers=headers, json={"loan_offer": None})
    assert response.status_code == 200
    assert response.json["loan_offer"] is None and response.json["is_lendable"] is False


def test_patching_a_weekly_rate_that_a_short_loan_never_reaches_is_refused(client):
    listing = lendable()
    response = client.patch(
        f"/api/v1/listings/{listing.id}",
        headers=bearer(listing.seller),
        json={"loan_offer": {"max_days": 3}},
    )
    assert response.status_code == 422
    assert "would never apply" in _error(response)["fields"]["loan_offer.fee_per_week_cents"][0]


def test_only_the_owner_patches_the_terms(client):
    listing = lendable()
    response = client.patch(
        f"/api/v1/listings/{listing.id}",
        headers=bearer(UserFactory()),
        json={"loan_offer": {"max_days": 20}},
    )
    assert response.status_code == 403
    assert db.session.get(Listing, listing.id).loan_offer.max_days == TERMS["max_days"]


def test_ordering_a_listing_only_for_loan_is_a_conflict_with_its_own_code(client):
    listing = lendable()
    response = client.post(
        "/api/v1/orders", headers=bearer(UserFactory()), json={"listing_id": listing.id}
    )
    assert response.status_code == 409
    assert _error(response)["code"] == "not_for_sale"


def test_search_to_borrow_and_by_free_days(client):
    tent = lendable(title="Tent")
    lendable(title="Canoe")
    ListingFactory(title="Lamp")
    block(tent, day(3), day(4))
    found = client.get("/api/v1/listings?offer=borrow").json
    assert {item["title"] for item in found["items"]} == {"Tent", "Canoe"}
    assert all(item["loan_offer"]["fee_per_day_cents"] == 300 for item in found["items"])
    url = f"/api/v1/listings?available_from={day(2).isoformat()}&available_to={day(3).isoformat()}"
    assert [item["title"] for item in client.get(url).json["items"]] == ["Canoe"]
    response = client.get(f"/api/v1/listings?available_from={day(-1).isoformat()}")
    assert response.status_code == 422
    assert "available_from" in _error(response)["fields"]


# -- block-outs ------------------------------------------------------------------------------


def test_the_lender_lists_adds_and_removes_block_outs(client):
    listing = lendable()
    headers = bearer(listing.seller)
    url = f"/api/v1/listings/{listing.id}/blockouts"
    body = {"starts_on": day(3).isoformat(), "ends_on": day(5).isoformat(), "note": "Trip"}
    created = client.post(url, headers=headers, json=body)
    assert created.status_code == 201, created.json
    assert created.json["starts_on"] == day(3).isoformat() and created.json["note"] == "Trip"
    listed = client.get(url, headers=headers).json
    assert [item["id"] for item in listed["items"]] == [created.json["id"]]
    assert listed["total"] == 1
    removed = client.delete(f"{url}/{created.json['id']}", headers=headers)
    assert removed.status_code == 204
    assert db.session.scalar(select(LoanBlockout)) is None


@pytest.mark.parametrize(
    ("start", "end", "status", "code", "field"),
    [
        (-1, 2, 422, "validation_failed", "starts_on"),
        (4, 3, 422, "validation_failed", "ends_on"),
        (5, 6, 409, "blockout_overlaps", "starts_on"),
        (10, 11, 409, "dates_booked", "starts_on"),
    ],
)
def test_refused_block_outs_have_stable_codes(client, bookings, start, end, status, code, field):
    listing = lendable()
    block(listing, day(6), day(7))
    bookings.book(listing, day(11), day(12))
    response = client.post(
        f"/api/v1/listings/{listing.id}/blockouts",
        headers=bearer(listing.seller),
        json={"starts_on": day(start).isoformat(), "ends_on": day(end).isoformat()},
    )
    assert response.status_code == status
    assert _error(response)["code"] == code
    assert field in _error(response)["fields"]


@pytest.mark.parametrize(("who", "status"), [("anonymous", 401), ("stranger", 403), ("owner", 200)])
def test_only_the_lender_reads_block_outs(client, who, status):
    listing = lendable()
    block(listing, day(1), day(2), "private note")
    user = {"anonymous": None, "stranger": UserFactory(), "owner": listing.seller}[who]
    headers = bearer(user) if user else {}
    response = client.get(f"/api/v1/listings/{listing.id}/blockouts", headers=headers)
    assert response.status_code == status
    assert ("private note" in response.get_data(as_text=True)) is (who == "owner")


def test_strangers_cannot_add_or_remove_block_outs(client):
    listing = lendable()
    kept = block(listing, day(1), day(2))
    headers = bearer(UserFactory())
    url = f"/api/v1/listings/{listing.id}/blockouts"
    body = {"starts_on": day(5).isoformat(), "ends_on": day(6).isoformat()}
    assert client.post(url, headers=headers, json=body).status_code == 403
    assert client.delete(f"{url}/{kept.id}", headers=headers).status_code == 403
    assert db.session.scalars(select(LoanBlockout.id)).all() == [kept.id]


def test_block_outs_of_a_listing_not_lent_are_a_conflict(client):
    listing = ListingFactory()
    response = client.get(
        f"/api/v1/listings/{listing.id}/blockouts", headers=bearer(listing.seller)
    )
    assert response.status_code == 409 and _error(response)["code"] == "not_for_loan"


# -- availability and quotes -----------------------------------------------------------------


def test_availability_names_the_reason_only_to_the_lender(client, bookings):
    listing = lendable()
    block(listing, day(2), day(3))
    bookings.book(listing, day(6), day(8))
    url = _url(listing, "availability", from_=0, to=6)
    public = client.get(url).json
    assert public["from"] == day(0).isoformat() and public["listing_id"] == listing.id
    assert public["busy"] == [
        {"starts_on": day(2).isoformat(), "ends_on": day(3).isoformat(), "reason": "taken"},
        {"starts_on": day(6).isoformat(), "ends_on": day(8).isoformat(), "reason": "taken"},
    ]
    own = client.get(url, headers=bearer(listing.seller)).json
    assert [b["reason"] for b in own["busy"]] == ["blocked", "booked"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("from={a}&to={b}", "to"), ("from={a}&to={far}", "to"), ("from={a}", "to")],
)
def test_availability_refuses_windows_it_cannot_answer(client, query, field):
    listing = lendable()
    values = {"a": day(5).isoformat(), "b": day(4).isoformat(), "far": day(400).isoformat()}
    response = client.get(f"/api/v1/listings/{listing.id}/availability?" + query.format(**values))
    assert response.status_code == 422
    assert field in _error(response)["fields"]


def test_availability_of_a_listing_not_lent_is_a_conflict(client):
    listing = ListingFactory()
    url = _url(listing, "availability", from_=0, to=1)
    response = client.get(url)
    assert response.status_code == 409 and _error(response)["code"] == "not_for_loan"


def test_a_quote_gives_the_total_the_deposit_rule_and_whether_days_are_free(client, bookings):
    listing = lendable(fee_per_day_cents=300, fee_per_week_cents=1500, deposit_cents=5000)
    url = _url(listing, "loan-quote", start=1, end=8)
    quote = client.get(url).json
    assert quote["days"] == 8 and quote["fee_cents"] == 1500 + 300
    assert quote["deposit_cents"] == 5000 and quote["due_cents"] == 6800
    assert (quote["late_fee_per_day_cents"], quote["late_fee_cap_cents"]) == (500, 2000)
    assert quote["available"] is True and quote["busy"] == []
    assert quote["deposit"]["method"] == "in_person"
    assert "in person" in quote["deposit"]["rule"]
    bookings.book(listing, day(8), day(9))
    quote = client.get(url).json
    assert quote["available"] is False
    assert quote["busy"] == [
        {"starts_on": day(8).isoformat(), "ends_on": day(9).isoformat(), "reason": "taken"}
    ]


def test_the_web_page_and_the_api_quote_the_same_numbers(client):
    listing = lendable(fee_per_day_cents=275, fee_per_week_cents=1600, deposit_cents=4000)
    query = f"start={day(1).isoformat()}&end={day(10).isoformat()}"
    api = client.get(f"/api/v1/listings/{listing.id}/loan-quote?{query}").json
    page = html.unescape(client.get(f"/listings/{listing.id}?{query}").get_data(as_text=True))
    assert api["fee_cents"] == 1600 + 3 * 275
    assert "$24.25" in page  # 16.00 + 3 x 2.75
    assert api["deposit"]["summary"] in page
    assert api["deposit"]["rule"] in page


@pytest.mark.parametrize(
    ("start", "end", "field"), [(-1, 2, "start"), (3, 2, "end"), (1, 30, "end")]
)
def test_a_quote_for_unusable_days_names_the_field(client, start, end, field):
    listing = lendable()
    url = _url(listing, "loan-quote", start=start, end=end)
    response = client.get(url)
    assert response.status_code == 422
    assert _error(response)["code"] == "validation_failed"
    assert field in _error(response)["fields"]


def test_no_quote_for_a_listing_not_lent(client):
    listing = ListingFactory()
    url = _url(listing, "loan-quote", start=1, end=2)
    response = client.get(url)
    assert response.status_code == 409 and _error(response)["code"] == "not_for_loan"


# -- the document ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation_id", "method", "path", "codes"),
    [
        (
            "listListingBlockouts",
            "get",
            "/api/v1/listings/{listing_id}/blockouts",
            ["not_for_loan"],
        ),
        (
            "createListingBlockout",
            "post",
            "/api/v1/listings/{listing_id}/blockouts",
            ["blockout_overlaps", "dates_booked", "validation_failed"],
        ),
        (
            "deleteListingBlockout",
            "delete",
            "/api/v1/listings/{listing_id}/blockouts/{blockout_id}",
            ["not_found", "forbidden"],
        ),
        (
            "getListingAvailability",
            "get",
            "/api/v1/listings/{listing_id}/availability",
            ["not_for_loan", "validation_failed"],
        ),
        ("getLoanQuote", "get", "/api/v1/listings/{listing_id}/loan-quote", ["not_for_loan"]),
    ],
)
def test_the_document_names_each_operation_and_its_error_codes(
    client, operation_id, method, path, codes
):
    operation = client.get("/api/v1/openapi.json").json["paths"][path][method]
    assert operation["operationId"] == operation_id
    described = " ".join(
        response.get("description", "") for response in operation["responses"].values()
    )
    for code in codes:
        assert f"`{code}`" in described


def test_the_document_describes_loan_offers_on_listings(client):
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    assert "loan_offer" in schemas["ListingOut"]["properties"]
    assert schemas["LoanOfferIn"]["properties"]["max_days"]["maximum"] == 365
    assert "price_cents" not in schemas["ListingIn"].get("required", [])
