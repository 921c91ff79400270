"""The clubs API: the same rules as the pages, stable error codes, links in the document,
private clubs invisible to strangers, the invite link, the organizers' actions."""

from __future__ import annotations

import pytest

from app.clubs import services as clubs
from app.clubs.membership import is_member, membership, runs_club
from tests.factories import UserFactory
from tests.integration.api_support import bearer
from tests.integration.club_support import club_of, organizer, rated


@pytest.fixture
def owner(app):
    return organizer("olga")


@pytest.fixture
def club(owner):
    return club_of(owner, name="Riverside bulk food")


def error_code(response) -> str:
    return response.json["error"]["code"]


def test_the_document_names_the_operations_and_links_them(client):
    document = client.get("/api/v1/openapi.json").json
    paths = document["paths"]
    assert paths["/api/v1/clubs"]["post"]["operationId"] == "createClub"
    assert paths["/api/v1/clubs/{club_id}"]["get"]["operationId"] == "getClub"
    assert paths["/api/v1/clubs/{club_id}/join"]["post"]["operationId"] == "joinClub"
    member_action = paths["/api/v1/clubs/{club_id}/members/{user_id}/{action}"]["post"]
    assert member_action["operationId"] == "takeClubMemberAction"
    links = paths["/api/v1/clubs"]["post"]["responses"]["201"]["links"]
    assert links["GetClub"]["operationId"] == "getClub"
    assert (
        "trust_level_required" in paths["/api/v1/clubs"]["post"]["responses"]["403"]["description"]
    )
    club_in = document["components"]["schemas"]["ClubIn"]["properties"]
    assert (club_in["name"]["minLength"], club_in["name"]["maxLength"]) == (3, 80)
    assert club_in["join_policy"]["enum"] == ["open", "approval", "invite"]


def test_starting_a_club_takes_the_privilege(client, owner):
    newcomer = UserFactory()
    refused = client.post("/api/v1/clubs", json={"name": "Oats"}, headers=bearer(newcomer))
    assert refused.status_code == 403 and error_code(refused) == "trust_level_required"
    standing = client.get("/api/v1/clubs/privilege", headers=bearer(newcomer)).json
    assert standing["is_met"] is False and standing["positive"] == 0
    assert "at least 3 positive ratings" in standing["rule"]
    made = client.post(
        "/api/v1/clubs",
        json={"name": "Bulk oats", "join_policy": "approval", "visibility": "private"},
        headers=bearer(owner),
    )
    assert made.status_code == 201
    body = made.json
    assert body["organizer"]["handle"] == "olga" and body["member_count"] == 1
    assert body["membership"]["role"] == "organizer"
    assert set(body["actions"]) == {"edit", "rotate_invite"}
    assert "/join/" in body["invite_url"]


def test_bad_fields_are_a_422_with_the_fields_named(client, owner):
    response = client.post(
        "/api/v1/clubs", json={"name": "x", "join_policy": "lottery"}, headers=bearer(owner)
    )
    assert response.status_code == 422 and "join_policy" in response.json["error"]["fields"]
    response = client.post("/api/v1/clubs", json={"name": "xy"}, headers=bearer(owner))
    assert response.status_code == 422 and "name" in response.json["error"]["fields"]


def test_listing_public_clubs_and_mine(client, club):
    club_of(name="Hidden circle", visibility="private")
    public = client.get("/api/v1/clubs").json
    assert [c["name"] for c in public["items"]] == ["Riverside bulk food"]
    assert public["items"][0]["invite_url"] is None
    assert client.get("/api/v1/clubs?q=hidden").json["total"] == 0
    assert client.get("/api/v1/clubs?mine=true").status_code == 401
    member = UserFactory()
    clubs.join_club(club.id, member.id)
    mine = client.get("/api/v1/clubs?mine=true", headers=bearer(member)).json
    assert [c["membership"]["status"] for c in mine["items"]] == ["active"]


@pytest.mark.parametrize("who", ["anonymous", "stranger"])
def test_a_private_club_is_a_404_to_outsiders(client, who):
    hidden = club_of(name="Hidden circle", visibility="private")
    headers = {} if who == "anonymous" else bearer(UserFactory())
    for path in ("", "/members"):
        response = client.get(f"/api/v1/clubs/{hidden.id}{path}", headers=headers)
        assert response.status_code == 404 and error_code(response) == "not_found"
        assert "Hidden" not in response.get_data(as_text=True)
    if headers:
        joined = client.post(f"/api/v1/clubs/{hidden.id}/join", json={}, headers=headers)
        assert joined.status_code == 404


def test_joining_by_each_policy(client, club, owner):
    member = UserFactory()
    joined = client.post(f"/api/v1/clubs/{club.id}/join", headers=bearer(member))
    assert joined.status_code == 200 and joined.json["status"] == "active"
    again = client.post(f"/api/v1/clubs/{club.id}/join", json={}, headers=bearer(member))
    assert again.status_code == 409 and error_code(again) == "already_member"
    careful = club_of(owner, name="Careful club", join_policy="approval")
    asked = client.post(
        f"/api/v1/clubs/{careful.id}/join", json={"message": "Hi"}, headers=bearer(member)
    )
    assert asked.json["status"] == "pending" and asked.json["message"] == "Hi"
    closed = club_of(owner, name="Closed club", join_policy="invite")
    refused = client.post(f"/api/v1/clubs/{closed.id}/join", json={}, headers=bearer(member))
    assert refused.status_code == 403 and error_code(refused) == "invite_only"


def test_the_invite_token_joins_a_private_club_until_it_is_rotated(client, owner):
    hidden = club_of(owner, name="Hidden circle", visibility="private", join_policy="invite")
    guest = UserFactory()
    token = hidden.invite_token
    joined = client.post(
        f"/api/v1/clubs/{hidden.id}/join", json={"invite_token": token}, headers=bearer(guest)
    )
    assert joined.status_code == 200 and is_member(hidden.id, guest.id)
    assert (
        client.post(f"/api/v1/clubs/{hidden.id}/invite", headers=bearer(guest)).status_code == 403
    )
    rotated = client.post(f"/api/v1/clubs/{hidden.id}/invite", headers=bearer(owner))
    assert rotated.status_code == 200 and token not in rotated.json["invite_url"]
    late = client.post(
        f"/api/v1/clubs/{hidden.id}/join",
        json={"invite_token": token},
        headers=bearer(UserFactory()),
    )
    assert late.status_code == 404 and error_code(late) == "invalid_invite"


def test_organizers_answer_requests_and_manage_roles(client, owner):
    careful = club_of(owner, name="Careful club", join_policy="approval")
    asker = UserFactory()
    clubs.join_club(careful.id, asker.id, message="Please")
    pending = client.get(
        f"/api/v1/clubs/{careful.id}/members?status=pending", headers=bearer(owner)
    ).json
    assert [p["user"]["id"] for p in pending["items"]] == [asker.id]
    assert pending["items"][0]["actions"] == ["approve", "decline"]
    refused = client.get(
        f"/api/v1/clubs/{careful.id}/members?status=pending", headers=bearer(asker)
    )
    assert refused.status_code == 403 and error_code(refused) == "not_a_member"
    base = f"/api/v1/clubs/{careful.id}/members/{asker.id}"
    approved = client.post(f"{base}/approve", headers=bearer(owner))
    assert approved.status_code == 200 and approved.json["status"] == "active"
    twice = client.post(f"{base}/approve", json={}, headers=bearer(owner))
    assert twice.status_code == 409 and error_code(twice) == "invalid_transition"
    promoted = client.post(f"{base}/promote", headers=bearer(owner))
    assert promoted.json["role"] == "co_organizer" and runs_club(careful.id, asker.id)
    on_owner = client.post(
        f"/api/v1/clubs/{careful.id}/members/{owner.id}/remove", headers=bearer(asker)
    )
    assert on_owner.status_code == 403 and error_code(on_owner) == "not_an_organizer"
    removed = client.post(f"{base}/remove", json={"note": "Bye"}, headers=bearer(owner))
    assert removed.json["status"] == "removed"
    back = client.post(f"/api/v1/clubs/{careful.id}/join", json={}, headers=bearer(asker))
    assert back.status_code == 403 and error_code(back) == "removed_from_club"


def test_members_cannot_edit_or_act_on_others(client, club):
    member, other = UserFactory(), UserFactory()
    clubs.join_club(club.id, member.id)
    clubs.join_club(club.id, other.id)
    edit = client.patch(f"/api/v1/clubs/{club.id}", json={"name": "Mine"}, headers=bearer(member))
    assert edit.status_code == 403 and error_code(edit) == "not_an_organizer"
    act = client.post(f"/api/v1/clubs/{club.id}/members/{other.id}/remove", headers=bearer(member))
    assert act.status_code == 403
    stranger = client.patch(
        f"/api/v1/clubs/{club.id}", json={"name": "Mine"}, headers=bearer(UserFactory())
    )
    assert stranger.status_code == 403 and error_code(stranger) == "not_a_member"
    assert (
        client.patch(f"/api/v1/clubs/{club.id}", json={}, headers=bearer(member)).status_code == 422
    )


def test_the_organizer_edits_and_cannot_leave(client, club, owner):
    edited = client.patch(
        f"/api/v1/clubs/{club.id}", json={"join_policy": "approval"}, headers=bearer(owner)
    )
    assert edited.status_code == 200 and edited.json["join_policy"] == "approval"
    assert edited.json["name"] == "Riverside bulk food"
    refused = client.post(f"/api/v1/clubs/{club.id}/leave", headers=bearer(owner))
    assert refused.status_code == 409 and error_code(refused) == "organizer_cannot_leave"


def test_the_club_conversation_is_for_active_members(client, club, owner):
    member = UserFactory()
    clubs.join_club(club.id, member.id)
    sent = client.post(
        f"/api/v1/clubs/{club.id}/messages", json={"body": "Oats?"}, headers=bearer(member)
    )
    assert sent.status_code == 201
    listed = client.get(f"/api/v1/clubs/{club.id}/messages", headers=bearer(owner)).json
    assert [m["body"] for m in listed["items"]] == ["Oats?"]
    conversations = client.get("/api/v1/conversations", headers=bearer(owner)).json["items"]
    assert conversations[0]["subject"]["kind"] == "club"
    outsider = client.get(f"/api/v1/clubs/{club.id}/messages", headers=bearer(UserFactory()))
    assert outsider.status_code == 404
    left = client.post(f"/api/v1/clubs/{club.id}/leave", headers=bearer(member))
    assert left.status_code == 200 and left.json["status"] == "left"
    assert membership(club.id, member.id).status == "left"
    after = client.get(f"/api/v1/clubs/{club.id}/messages", headers=bearer(member))
    assert after.status_code == 404


def test_the_organizers_reputation_as_organizer_is_in_the_club(client, club, owner):
    assert client.get(f"/api/v1/clubs/{club.id}").json["organizer_reputation"] is None
    rated(owner, 4, 1, role="organizer")
    shown = client.get(f"/api/v1/clubs/{club.id}").json["organizer_reputation"]
    assert shown["ratings"] == 5 and shown["percent_positive"] == 80.0
