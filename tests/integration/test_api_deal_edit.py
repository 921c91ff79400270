"""Editing a draft deal over the API (PATCH /api/v1/deals/{id}, operationId updateDeal): only
what is sent changes, the merged terms are checked like a new draft, only a draft, only its
organizers; the service's codes, and the document's links to it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.clubs import deals
from app.clubs.models import CO_ORGANIZER, PRIVATE
from app.db import utcnow
from app.extensions import db
from tests.factories import UserFactory
from tests.integration.api_support import bearer
from tests.integration.deal_support import fresh, join, make_club, terms


@pytest.fixture
def club(app):
    return make_club(members=2)


@pytest.fixture
def supplier(app):
    return UserFactory(handle="sam")


@pytest.fixture
def draft(club, supplier):
    the_club, organizer, _ = club
    return deals.create_deal(
        the_club.id, organizer.id, **terms(supplier, cap_quantity=60, member_limit=20)
    )


def _patch(client, deal_id: int, user, body=None, **kwargs):
    if body is not None:
        kwargs["json"] = body
    return client.patch(f"/api/v1/deals/{deal_id}", headers=bearer(user), **kwargs)


def test_the_organizer_changes_only_what_they_send(client, club, draft):
    _, organizer, _ = club
    deadline = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    answer = _patch(
        client,
        draft.id,
        organizer,
        {
            "title": "  Organic oats, 2 kg bag ",
            "tiers": [
                {"min_quantity": 20, "unit_price_cents": 1700},
                {"min_quantity": 8, "unit_price_cents": 1800},
            ],
            "min_quantity": 8,
            "cap_quantity": None,
            "deadline": deadline.isoformat(),
        },
    )
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert body["id"] == draft.id and body["state"] == "draft"
    assert body["title"] == "Organic oats, 2 kg bag"
    assert body["tiers"] == [
        {"min_quantity": 8, "unit_price_cents": 1800},
        {"min_quantity": 20, "unit_price_cents": 1700},
    ]
    assert body["cap_quantity"] is None and body["member_limit"] == 20  # null clears; kept
    assert body["pickup_point"] == "The community hall, Elm Street 4"  # not sent: kept
    assert "propose" in body["actions"] and body["role"] == "organizer"
    saved = fresh(draft.id)
    assert (saved.min_quantity, saved.cap_quantity, saved.deadline) == (8, None, deadline)
    assert sorted((t.min_quantity, t.unit_price_cents) for t in saved.tiers) == [
        (8, 1800),
        (20, 1700),
    ]


def test_a_co_organizer_may_edit_the_draft(client, club, draft):
    the_club, _, _ = club
    helper = UserFactory()
    join(the_club, helper, role=CO_ORGANIZER)
    answer = _patch(client, draft.id, helper, {"description": "Now with a recipe card."})
    assert answer.status_code == 200, answer.json
    assert fresh(draft.id).description == "Now with a recipe card."


def test_the_merged_terms_are_checked_as_a_whole(client, club, draft):
    _, organizer, _ = club
    # Alone the value is fine; with the draft's minimum of 10 (and tiers to 50) it is too low.
    answer = _patch(client, draft.id, organizer, {"cap_quantity": 5, "member_limit": 2})
    assert answer.status_code == 422
    assert answer.json["error"]["code"] == "validation_failed"
    assert {"cap_quantity", "tiers"} <= set(answer.json["error"]["fields"])
    assert fresh(draft.id).cap_quantity == 60  # nothing changed
    own = _patch(client, draft.id, organizer, {"supplier_id": organizer.id})
    assert own.status_code == 422 and "supplier_id" in own.json["error"]["fields"]
    unknown = _patch(client, draft.id, organizer, {"state": "open"})
    assert unknown.status_code == 422 and "state" in unknown.json["error"]["fields"]


@pytest.mark.parametrize(
    "body", [None, {}], ids=["no-body", "empty-object"]
)  # the document's PATCH rule (app/api/core.py PatchIn)
def test_a_patch_without_anything_to_change_is_a_422(client, club, draft, body):
    _, organizer, _ = club
    answer = _patch(client, draft.id, organizer, body)
    assert answer.status_code == 422
    assert answer.json["error"]["fields"] == {"_body": ["Send at least one field to change."]}


def test_only_a_draft_can_be_edited(client, club, supplier, draft):
    _, organizer, _ = club
    deals.deal_action(draft.id, "propose", organizer.id)
    proposed = _patch(client, draft.id, organizer, {"title": "Too late"})
    assert proposed.status_code == 409
    assert proposed.json["error"]["code"] == "invalid_transition"
    deals.deal_action(draft.id, "retract", organizer.id)  # taken back to edit
    assert _patch(client, draft.id, organizer, {"title": "Retracted"}).status_code == 200
    deals.deal_action(draft.id, "propose", organizer.id)
    deals.deal_action(draft.id, "accept_terms", supplier.id)
    opened = _patch(client, draft.id, organizer, {"title": "After acceptance"})
    assert opened.status_code == 409 and opened.json["error"]["code"] == "invalid_transition"
    assert fresh(draft.id).title == "Retracted"


def test_members_the_supplier_and_strangers_cannot_edit(client, club, supplier, draft):
    the_club, _, members = club
    member = _patch(client, draft.id, members[0], {"title": "Mine now"})
    assert member.status_code == 403 and member.json["error"]["code"] == "not_an_organizer"
    by_supplier = _patch(client, draft.id, supplier, {"title": "Supplier's"})
    assert by_supplier.status_code == 403
    assert by_supplier.json["error"]["code"] == "not_an_organizer"
    the_club.visibility = PRIVATE
    db.session.commit()
    stranger = _patch(client, draft.id, UserFactory(), {"title": "Stranger's"})
    assert stranger.status_code == 404 and stranger.json["error"]["code"] == "not_found"
    missing = _patch(client, draft.id + 1000, members[0], {"title": "Nobody's"})
    assert missing.status_code == 404
    assert fresh(draft.id).title == terms(supplier)["title"]


def test_the_document_links_drafting_to_editing(client, club, supplier):
    document = client.get("/api/v1/openapi.json").json
    operation = document["paths"]["/api/v1/deals/{deal_id}"]["patch"]
    assert operation["operationId"] == "updateDeal"
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/DealPatchIn"
    )
    patch_in = document["components"]["schemas"]["DealPatchIn"]
    assert "required" not in patch_in  # every field optional
    assert set(patch_in["properties"]) == set(
        document["components"]["schemas"]["DealIn"]["properties"]
    )
    assert patch_in["properties"]["cap_quantity"]["maximum"] == 1_000_000
    assert set(operation["responses"]) >= {"200", "403", "404", "409", "422"}
    links = operation["responses"]["200"]["links"]
    assert links["TakeNextAction"]["operationId"] == "takeDealAction"
    created = document["paths"]["/api/v1/clubs/{club_id}/deals"]["post"]["responses"]["201"]
    edit = created["links"]["EditDraft"]
    assert edit == {"operationId": "updateDeal", "parameters": {"deal_id": "$response.body#/id"}}
    # Following the link from a real answer edits the draft just made.
    the_club, organizer, _ = club
    made = client.post(
        f"/api/v1/clubs/{the_club.id}/deals",
        json={
            "supplier_id": supplier.id,
            "title": "Linked oats",
            "tiers": [{"min_quantity": 10, "unit_price_cents": 900}],
            "min_quantity": 10,
            "deadline": (utcnow() + timedelta(days=5)).isoformat(),
            "pickup_point": "Elm Street hall",
        },
        headers=bearer(organizer),
    )
    assert made.status_code == 201, made.json
    followed = client.patch(
        f"/api/v1/deals/{made.json[edit['parameters']['deal_id'].rsplit('/', 1)[1]]}",
        json={"unit": "sack"},
        headers=bearer(organizer),
    )
    assert followed.status_code == 200 and followed.json["unit"] == "sack"
