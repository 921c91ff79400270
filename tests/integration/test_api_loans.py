"""Loans through the JSON API: ask, list, read with "state" and "actions", every action and its
refusals with their codes, claims with photos (multipart), messages and feedback, and the
document's operationIds and links."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.lending import services as lending
from app.lending.models import Loan
from tests.factories import ListingFactory, UserFactory
from tests.integration.api_support import bearer
from tests.integration.lending_support import ask, at, day, fresh, lendable, on_loan, returned
from tests.integration.listing_images import image_bytes


@pytest.fixture
def lender(app):
    return UserFactory(handle="lena")


@pytest.fixture
def borrower(app):
    return UserFactory(handle="bob")


@pytest.fixture
def tent(lender):
    return lendable(lender)


@pytest.fixture
def api(lender, borrower):
    """Headers with a token of each person, by name."""
    return {
        "lender": bearer(lender),
        "borrower": bearer(borrower),
        "stranger": bearer(UserFactory(handle="eve")),
    }


@pytest.fixture
def loan(tent, borrower):
    return ask(tent, borrower, first=10, days=3)


def _ask(client, headers, listing_id, first=5, last=7, **extra):
    return client.post(
        "/api/v1/loans",
        headers=headers,
        json={
            "listing_id": listing_id,
            "starts_on": day(first).isoformat(),
            "ends_on": day(last).isoformat(),
            **extra,
        },
    )


def _error(response) -> tuple[int, str]:
    return response.status_code, response.json["error"]["code"]


# -- asking ------------------------------------------------------------------------------------


def test_asking_to_borrow_answers_the_loan_with_its_state_and_actions(client, api, tent):
    response = _ask(client, api["borrower"], tent, message="For a weekend.")

    assert response.status_code == 201, response.json
    body = response.json
    assert (body["state"], body["state_label"], body["role"]) == (
        "requested",
        "Requested",
        "borrower",
    )
    assert body["actions"] == ["cancel"]
    assert (body["days"], body["fee_cents"], body["deposit_cents"]) == (3, 1500, 5000)
    assert (body["starts_on"], body["ends_on"]) == (day(5).isoformat(), day(7).isoformat())
    assert body["deposit_method"] == "in_person"
    assert body["handover_code"] is None  # the lender's alone
    assert body["request_message"] == "For a weekend."
    assert body["lender"]["handle"] == "lena" and body["borrower"]["handle"] == "bob"
    assert body["url"].endswith(f"/loans/{body['id']}")
    assert body["claim"] is None and body["events"] == []


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [(-1, 1, "starts_on"), (6, 5, "ends_on"), (5, 40, "ends_on")],
    ids=["past", "backwards", "too_long"],
)
def test_days_that_cannot_be_lent_are_a_422_naming_the_field(client, api, tent, first, last, field):
    response = _ask(client, api["borrower"], tent, first, last)
    assert _error(response) == (422, "validation_failed")
    assert list(response.json["error"]["fields"]) == [field]
    assert db.session.scalar(select(func.count(Loan.id))) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"starts_on": "2026-13-01", "ends_on": "2026-12-03"},
        {"starts_on": 20261201, "ends_on": "2026-12-03"},
        {"ends_on": "2026-12-03"},
        {"starts_on": "2026-12-01", "ends_on": "2026-12-03", "listing_id": 1.5},
    ],
    ids=["not_a_date", "a_number", "missing", "float_id"],
)
def test_a_malformed_request_is_a_422(client, api, tent, body):
    response = client.post(
        "/api/v1/loans", headers=api["borrower"], json={"listing_id": tent, **body}
    )
    assert _error(response) == (422, "validation_failed")


def test_the_refusals_of_a_request_have_their_codes(client, api, tent, loan, lender):
    assert _error(_ask(client, api["lender"], tent)) == (409, "cannot_borrow_own")
    lending.act(loan.id, "approve", lender.id)
    taken = _ask(client, api["stranger"], tent, 10, 11)
    assert _error(taken) == (409, "dates_taken")
    assert "already lent" in taken.json["error"]["message"]
    for_sale_only = ListingFactory(seller=lender).id
    assert _error(_ask(client, api["borrower"], for_sale_only)) == (409, "not_lendable")
    assert _error(_ask(client, api["borrower"], 999_999)) == (404, "not_found")


def test_asking_needs_a_token_that_may_write(client, tent, borrower):
    assert _ask(client, {}, tent).status_code == 401
    assert _error(_ask(client, bearer(borrower, scopes=["read"]), tent)) == (
        403,
        "insufficient_scope",
    )


# -- reading -----------------------------------------------------------------------------------


def test_a_loan_is_for_its_two_parties_only(client, api, loan, lender):
    lending.act(loan.id, "approve", lender.id)
    url = f"/api/v1/loans/{loan.id}"
    assert _error(client.get(url, headers=api["stranger"])) == (404, "not_found")
    as_lender = client.get(url, headers=api["lender"]).json
    assert as_lender["role"] == "lender"
    assert as_lender["handover_code"] == fresh(loan.id).handover_code
    assert as_lender["actions"] == ["cancel", "confirm_handover"]
    as_borrower = client.get(url, headers=api["borrower"]).json
    assert as_borrower["handover_code"] is None
    assert as_borrower["actions"] == ["cancel", "confirm_handover", "confirm_with_code"]


def test_my_loans_by_role_and_group(client, api, tent, loan, lender, borrower):
    drill = lendable(borrower, title="Cordless drill")
    ask(drill, lender, first=3)
    lending.act(loan.id, "decline", lender.id)

    def titles(**query):
        response = client.get("/api/v1/loans", headers=api["borrower"], query_string=query)
        assert response.status_code == 200, response.json
        return sorted(item["title"] for item in response.json["items"])

    assert titles() == ["Cordless drill", "Two-person tent"]
    assert titles(role="lender") == ["Cordless drill"]
    assert titles(role="borrower") == ["Two-person tent"]
    assert titles(state_group="closed") == ["Two-person tent"]
    assert titles(state_group="open", role="borrower") == []
    bad = client.get("/api/v1/loans?role=owner", headers=api["borrower"])
    assert _error(bad) == (422, "validation_failed")
    assert list(bad.json["error"]["fields"]) == ["role"]


# -- acting ------------------------------------------------------------------------------------


def _act(client, headers, loan_id, action, **body):
    return client.post(f"/api/v1/loans/{loan_id}/{action}", headers=headers, json=body)


def test_a_whole_loan_through_the_api_late_with_a_partial_claim(client, api, tent):
    loan_id = _ask(client, api["borrower"], tent, 2, 4).json["id"]
    steps = [
        ("lender", "approve", {}, "approved"),
        ("lender", "confirm_handover", {}, "approved"),
        ("borrower", "confirm_handover", {}, "active"),
    ]
    for who, action, body, state in steps:
        response = _act(client, api[who], loan_id, action, **body)
        assert response.status_code == 200, (action, response.json)
        assert response.json["state"] == state
    # Two days late (as if the borrower's client said so two days after the last day).
    lending.act(loan_id, "mark_returned", fresh(loan_id).borrower_id, now=at(day(6), 18))
    shown = client.get(f"/api/v1/loans/{loan_id}", headers=api["lender"]).json
    assert (shown["state"], shown["late_days"], shown["late_fee_cents"]) == ("returned", 2, 600)
    assert shown["actions"] == ["confirm_return", "claim_damage"]
    assert shown["claim_window_closes_at"] is not None
    assert [e["action"] for e in shown["events"]][-1] == "mark_returned"

    claimed = client.post(
        f"/api/v1/loans/{loan_id}/claim",
        headers=api["lender"],
        data={
            "amount_cents": "1500",
            "description": "A pole is bent.",
            "photos": [(io.BytesIO(image_bytes()), "pole.jpg")],
        },
        content_type="multipart/form-data",
    )
    assert claimed.status_code == 201, claimed.json
    claim = claimed.json["claim"]
    assert (claimed.json["state"], claim["amount_cents"], claim["answer"]) == (
        "damage_claimed",
        1500,
        None,
    )
    photo = client.get(claim["photos"][0]["thumb_url"], headers=api["borrower"])
    assert (photo.status_code, photo.mimetype) == (200, "image/jpeg")
    assert client.get(claim["photos"][0]["url"], headers=api["stranger"]).status_code == 404

    accepted = _act(client, api["borrower"], loan_id, "accept_claim")
    assert accepted.json["state"] == "completed"
    assert (accepted.json["claim"]["answer"], accepted.json["claim"]["awarded_cents"]) == (
        "accepted",
        1500,
    )

    for who, comment in (("borrower", "Good tent."), ("lender", "Late, but honest.")):
        rated = client.post(
            f"/api/v1/loans/{loan_id}/feedback",
            headers=api[who],
            json={"rating": "positive", "comment": comment, "speed": 4},
        )
        assert rated.status_code == 201, rated.json
    seen = client.get(f"/api/v1/loans/{loan_id}/feedback", headers=api["borrower"]).json
    assert seen["mine"]["comment"] == "Good tent."
    assert seen["theirs"]["comment"] == "Late, but honest."
    assert seen["theirs"]["subject_role"] == "borrower"


@pytest.mark.parametrize(
    ("who", "action", "answer"),
    [
        ("borrower", "approve", (403, "forbidden")),
        ("stranger", "approve", (404, "not_found")),
        ("lender", "confirm_return", (409, "invalid_transition")),
        ("lender", "cancel", (403, "forbidden")),  # a request: only the borrower withdraws it
    ],
)
def test_a_step_that_is_not_yours_or_not_now_is_refused_with_its_code(
    client, api, loan, who, action, answer
):
    assert _error(_act(client, api[who], loan.id, action)) == answer
    assert fresh(loan.id).state == "requested"


def test_an_action_the_loan_does_not_know_is_a_404(client, api, loan):
    assert _act(client, api["lender"], loan.id, "explode").status_code == 404
    assert _act(client, api["lender"], loan.id, "claim_damage").status_code == 404  # /claim
    assert _act(client, api["lender"], loan.id, "expire").status_code == 404  # system only


def test_the_borrower_confirms_with_the_code(client, api, loan, lender):
    lending.act(loan.id, "approve", lender.id)
    wrong = _act(client, api["borrower"], loan.id, "confirm_with_code", code="123")
    assert _error(wrong) == (422, "wrong_handover_code")
    assert list(wrong.json["error"]["fields"]) == ["code"]
    right = _act(
        client, api["borrower"], loan.id, "confirm_with_code", code=fresh(loan.id).handover_code
    )
    assert right.json["state"] == "active"


def test_a_note_over_500_characters_is_a_422(client, api, loan):
    response = _act(client, api["lender"], loan.id, "decline", note="x" * 501)
    assert _error(response) == (422, "validation_failed")
    assert "note" in response.json["error"]["fields"]


def test_a_claim_is_refused_with_the_apis_field_names(client, api, loan, lender):
    before = _claim(client, api["lender"], loan.id, "100", "x")
    assert _error(before) == (409, "invalid_transition")
    loan = returned(loan)
    too_much = _claim(client, api["lender"], loan.id, "5001", "x")
    assert _error(too_much) == (422, "validation_failed")
    assert too_much.json["error"]["fields"] == {"amount_cents": ["You can claim at most $50.00."]}
    not_a_number = _claim(client, api["lender"], loan.id, "12.5", "x")
    assert list(not_a_number.json["error"]["fields"]) == ["amount_cents"]
    by_borrower = _claim(client, api["borrower"], loan.id, "100", "x")
    assert _error(by_borrower) == (403, "forbidden")
    late = _claim(client, api["stranger"], loan.id, "100", "x")
    assert _error(late) == (404, "not_found")
    assert fresh(loan.id).state == "returned"


def _claim(client, headers, loan_id, amount, description):
    return client.post(
        f"/api/v1/loans/{loan_id}/claim",
        headers=headers,
        data={"amount_cents": amount, "description": description},
        content_type="multipart/form-data",
    )


def test_a_disputed_claim_waits_for_a_moderator(client, api, loan, lender):
    loan = returned(loan)
    lending.claim_damage(loan.id, lender.id, 2000, "Torn.", [], now=at(loan.ends_on + timedelta(1)))
    disputed = _act(client, api["borrower"], loan.id, "dispute_claim", note="It was torn before.")
    assert disputed.json["state"] == "disputed"
    assert disputed.json["actions"] == []
    assert disputed.json["claim"]["answer_note"] == "It was torn before."


# -- messages ----------------------------------------------------------------------------------


def test_the_parties_write_to_each_other_about_the_loan(client, api, loan):
    sent = client.post(
        f"/api/v1/loans/{loan.id}/messages", headers=api["borrower"], json={"body": "Friday?"}
    )
    assert sent.status_code == 201
    read = client.get(f"/api/v1/loans/{loan.id}/messages", headers=api["lender"]).json
    assert [m["body"] for m in read["items"]] == ["Friday?"]
    refused = client.post(
        f"/api/v1/loans/{loan.id}/messages", headers=api["stranger"], json={"body": "Hi"}
    )
    assert _error(refused) == (404, "not_found")


# -- the document ------------------------------------------------------------------------------


@pytest.fixture
def document(client) -> dict:
    return client.get("/api/v1/openapi.json").json


@pytest.mark.parametrize(
    ("operation_id", "method", "path"),
    [
        ("createLoan", "post", "/api/v1/loans"),
        ("listLoans", "get", "/api/v1/loans"),
        ("getLoan", "get", "/api/v1/loans/{loan_id}"),
        ("takeLoanAction", "post", "/api/v1/loans/{loan_id}/{action}"),
        ("createLoanClaim", "post", "/api/v1/loans/{loan_id}/claim"),
        ("listLoanMessages", "get", "/api/v1/loans/{loan_id}/messages"),
        ("sendLoanMessage", "post", "/api/v1/loans/{loan_id}/messages"),
        ("getLoanFeedback", "get", "/api/v1/loans/{loan_id}/feedback"),
        ("createLoanFeedback", "post", "/api/v1/loans/{loan_id}/feedback"),
    ],
)
def test_loan_operations_have_their_documented_names(document, operation_id, method, path):
    assert document["paths"][path][method]["operationId"] == operation_id


def test_the_document_names_the_refusals_and_the_links(document):
    act = document["paths"]["/api/v1/loans/{loan_id}/{action}"]["post"]
    assert {"403", "404", "409", "422"} <= set(act["responses"])
    assert "invalid_transition" in act["responses"]["409"]["description"]
    links = act["responses"]["200"]["links"]
    assert links["TakeNextAction"]["operationId"] == "takeLoanAction"
    assert links["ClaimDamage"]["operationId"] == "createLoanClaim"
    assert links["LeaveFeedback"]["operationId"] == "createLoanFeedback"
    created = document["paths"]["/api/v1/loans"]["post"]["responses"]["201"]["links"]
    assert created["TakeFirstAction"]["parameters"] == {"loan_id": "$response.body#/id"}
    actions = next(
        p
        for p in document["paths"]["/api/v1/loans/{loan_id}/{action}"]["parameters"]
        if p["name"] == "action"
    )
    assert "approve" in actions["schema"]["enum"]
    assert "claim_damage" not in actions["schema"]["enum"]


def test_the_listed_actions_lead_through_a_whole_loan(client, document, api, tent):
    """The actions each answer lists lead from the request to the completed loan."""
    response = _ask(client, api["borrower"], tent, 3, 4)
    loan_id = response.json["id"]
    for who, action in (
        ("lender", "approve"),
        ("lender", "confirm_handover"),
        ("borrower", "confirm_handover"),
        ("borrower", "mark_returned"),
        ("lender", "confirm_return"),
    ):
        assert action in client.get(f"/api/v1/loans/{loan_id}", headers=api[who]).json["actions"]
        response = _act(client, api[who], loan_id, action)
        assert response.status_code == 200, (action, response.json)
    assert response.json["state"] == "completed"


def test_on_loan_now_is_said(client, api, loan):
    on_loan(loan)
    assert (
        client.get(f"/api/v1/loans/{loan.id}", headers=api["borrower"]).json["is_overdue"] is False
    )
