"""Group deals over the API: a club's deals, drafting, the supplier's answer, pledging (change
with PATCH, withdraw with DELETE), `state` and `actions` as on the page, the stable error codes,
settlement state and the roster."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.clubs import deals
from app.clubs.models import PRIVATE
from app.db import utcnow
from app.extensions import db
from tests.factories import UserFactory
from tests.integration.api_support import bearer
from tests.integration.deal_support import fresh, make_club, open_deal, settle


@pytest.fixture
def club(app):
    return make_club(members=3)


@pytest.fixture
def supplier(app):
    return UserFactory(handle="sam")


def _body(supplier, **overrides) -> dict:
    values = {
        "supplier_id": supplier.id,
        "title": "Organic oats, 1 kg bag",
        "unit": "bag",
        "tiers": [
            {"min_quantity": 10, "unit_price_cents": 900},
            {"min_quantity": 25, "unit_price_cents": 800},
        ],
        "min_quantity": 10,
        "deadline": (utcnow() + timedelta(days=5)).isoformat(),
        "fulfilment": "pickup",
        "pickup_point": "Elm Street hall",
        "organizer_fee_bps": 500,
    }
    values.update(overrides)
    return values


def test_draft_propose_accept_pledge_and_read_progress(client, club, supplier):
    the_club, organizer, members = club
    answer = client.post(
        f"/api/v1/clubs/{the_club.id}/deals", json=_body(supplier), headers=bearer(organizer)
    )
    assert answer.status_code == 201, answer.json
    deal = answer.json
    assert deal["state"] == "draft" and "propose" in deal["actions"]
    assert deal["role"] == "organizer"
    deal_id = deal["id"]
    assert (
        client.post(f"/api/v1/deals/{deal_id}/propose", headers=bearer(organizer)).json["state"]
        == "proposed"
    )
    seen = client.post(f"/api/v1/deals/{deal_id}/accept_terms", headers=bearer(supplier)).json
    assert seen["state"] == "open"
    made = client.post(
        f"/api/v1/deals/{deal_id}/pledges", json={"quantity": 12}, headers=bearer(members[0])
    )
    assert made.status_code == 201
    pledge = made.json
    assert pledge["most_cents"] == 12 * 900 + 540 and pledge["now_cents"] == 12 * 900 + 540
    assert pledge["actions"] == ["change_quantity", "withdraw"]  # PATCH and DELETE
    got = client.get(f"/api/v1/deals/{deal_id}", headers=bearer(members[1])).json
    assert got["state"] == "tipped"
    assert got["progress"]["units_to_next"] == 13
    assert got["progress"]["current_unit_price_cents"] == 900
    assert got["can_pledge"] is True and got["my_pledge"] is None
    assert any(rule["title"] == "Price" for rule in got["rules"])
    changed = client.patch(
        f"/api/v1/pledges/{pledge['id']}", json={"quantity": 5}, headers=bearer(members[0])
    )
    assert changed.json["quantity"] == 5
    gone = client.delete(f"/api/v1/pledges/{pledge['id']}", headers=bearer(members[0]))
    assert gone.json["state"] == "withdrawn"
    assert fresh(deal_id).pledged_quantity == 0


def test_refusals_answer_stable_codes(client, club, supplier):
    the_club, organizer, members = club
    deal = open_deal(
        the_club, organizer, supplier, tiers=[(10, 900)], cap_quantity=12, member_limit=10
    )
    deals.pledge(deal.id, members[0].id, 10)
    capped = client.post(
        f"/api/v1/deals/{deal.id}/pledges", json={"quantity": 5}, headers=bearer(members[1])
    )
    assert capped.status_code == 409 and capped.json["error"]["code"] == "cap_reached"
    assert "2" in capped.json["error"]["message"]
    own = client.post(
        f"/api/v1/deals/{deal.id}/pledges", json={"quantity": 1}, headers=bearer(organizer)
    )
    assert own.json["error"]["code"] == "own_deal"
    stranger = UserFactory()
    not_member = client.post(
        f"/api/v1/deals/{deal.id}/pledges", json={"quantity": 1}, headers=bearer(stranger)
    )
    assert not_member.json["error"]["code"] == "not_a_member"
    drafted = client.post(
        f"/api/v1/clubs/{the_club.id}/deals",
        json=_body(supplier, tiers=[{"min_quantity": 20, "unit_price_cents": 900}]),
        headers=bearer(organizer),
    )
    assert drafted.status_code == 422 and "tiers" in drafted.json["error"]["fields"]
    by_member = client.post(
        f"/api/v1/clubs/{the_club.id}/deals", json=_body(supplier), headers=bearer(members[0])
    )
    assert by_member.json["error"]["code"] == "not_an_organizer"
    wrong = client.post(f"/api/v1/deals/{deal.id}/accept_terms", headers=bearer(supplier))
    assert wrong.status_code == 409 and wrong.json["error"]["code"] == "invalid_transition"


def test_settlement_state_and_roster(client, club, supplier):
    the_club, organizer, members = club
    deal = open_deal(the_club, organizer, supplier)
    for member, quantity in zip(members, (6, 5, 4), strict=True):
        deals.pledge(deal.id, member.id, quantity)
    settle(fresh(deal.id))
    got = client.get(f"/api/v1/deals/{deal.id}", headers=bearer(members[0])).json
    assert got["state"] == "settled" and got["final_unit_price_cents"] == 900
    assert got["my_pledge"]["amount_cents"] == 6 * 900
    roster = client.get(f"/api/v1/deals/{deal.id}/roster", headers=bearer(organizer))
    assert roster.status_code == 200
    assert roster.json["total_quantity"] == 15 and len(roster.json["rows"]) == 3
    refused = client.get(f"/api/v1/deals/{deal.id}/roster", headers=bearer(members[0]))
    assert refused.status_code == 403
    mine = client.get("/api/v1/deals?role=member", headers=bearer(members[0])).json
    assert [item["id"] for item in mine["items"]] == [deal.id]
    listed = client.get(f"/api/v1/clubs/{the_club.id}/deals", headers=bearer(members[1])).json
    assert listed["total"] == 1


def test_a_private_clubs_deals_are_not_found_for_strangers(client, club, supplier):
    the_club, organizer, _ = club
    the_club.visibility = PRIVATE
    db.session.commit()
    deal = open_deal(the_club, organizer, supplier)
    stranger = bearer(UserFactory())
    assert client.get(f"/api/v1/deals/{deal.id}", headers=stranger).status_code == 404
    assert client.get(f"/api/v1/clubs/{the_club.id}/deals", headers=stranger).status_code == 404
