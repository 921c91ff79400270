"""The club pages: browse and my clubs, starting a club (the rule stated, forms that fail keep
what was typed), the club page for each viewer, members and the organizers' buttons, joining
by each policy and by invite link, leaving, the club conversation. Strangers never learn that
a private club exists."""

from __future__ import annotations

import html

import pytest

from app.clubs import services as clubs
from app.clubs.membership import is_member, membership, runs_club
from app.clubs.models import Club
from app.extensions import db
from tests.factories import UserFactory
from tests.integration.club_support import club_of, organizer


@pytest.fixture
def owner(app):
    return organizer("olga")


@pytest.fixture
def club(owner):
    return club_of(owner, name="Riverside bulk food", description="Oats and flour.")


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_the_header_links_to_clubs(client):
    assert 'href="/clubs">Clubs</a>' in client.get("/").get_data(as_text=True)


def test_browse_shows_public_clubs_and_states_the_rule(client, club):
    club_of(name="Hidden circle", visibility="private")
    page = text_of(client.get("/clubs"))
    assert "Riverside bulk food" in page and "Hidden circle" not in page
    assert "at least 3 positive ratings received and at least 90% positive" in page


def test_browse_searches_by_name(client, club):
    club_of(name="Coffee beans")
    page = text_of(client.get("/clubs?q=coffee"))
    assert "Coffee beans" in page and "Riverside" not in page


def test_my_clubs_lists_memberships_and_pending_requests(make_client, club):
    approval = club_of(name="Careful club", join_policy="approval")
    member = UserFactory()
    clubs.join_club(club.id, member.id)
    clubs.join_club(approval.id, member.id)
    page = text_of(make_client(member).get("/clubs"))
    assert "My clubs" in page and "Request pending" in page


def test_a_newcomer_sees_the_rule_instead_of_the_form(make_client):
    page = text_of(make_client(UserFactory()).get("/clubs/new"))
    assert "Not yet" in page and "You have 0 positive ratings" in page
    assert 'name="name"' not in page


def test_starting_a_club_from_the_form(make_client, owner):
    client = make_client(owner)
    response = client.post(
        "/clubs/new",
        data={"name": "Bulk oats", "description": "", "area": "Mill", "visibility": "private",
              "join_policy": "approval"},
    )  # fmt: skip
    club = db.session.query(Club).filter_by(name="Bulk oats").one()
    assert response.status_code == 303 and response.location.endswith(f"/clubs/{club.id}")
    assert (club.visibility, club.join_policy, club.organizer_id) == (
        "private",
        "approval",
        owner.id,
    )
    assert "Bulk oats" in text_of(client.get(f"/clubs/{club.id}"))


def test_a_failed_form_comes_back_with_its_errors_and_what_was_typed(make_client, owner):
    client = make_client(owner)
    response = client.post(
        "/clubs/new", data={"name": "x", "area": "Old mill", "visibility": "secret"}
    )
    assert response.status_code == 303 and response.location.endswith("/clubs/new")
    page = text_of(client.get("/clubs/new"))
    assert "Please correct the highlighted fields." in page
    assert "at least 3 characters" in page and "Choose one of: public, private" in page
    assert 'value="Old mill"' in page
    assert db.session.query(Club).count() == 0


def test_a_newcomer_posting_the_form_is_refused_with_the_rule(make_client):
    client = make_client(UserFactory())
    response = client.post("/clubs/new", data={"name": "Sneaky club"}, follow_redirects=True)
    assert "Starting a club takes trust level 2 (Member): at least 3" in text_of(response)
    assert db.session.query(Club).count() == 0


def test_editing_is_for_organizers(make_client, club, owner):
    member = UserFactory()
    clubs.join_club(club.id, member.id)
    assert make_client(member).get(f"/clubs/{club.id}/edit").status_code == 403
    client = make_client(owner)
    assert 'value="Riverside bulk food"' in text_of(client.get(f"/clubs/{club.id}/edit"))
    response = client.post(
        f"/clubs/{club.id}/edit",
        data={"name": "Riverside food", "description": "More", "visibility": "public",
              "join_policy": "invite"},
    )  # fmt: skip
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Club, club.id).join_policy == "invite"
    bad = client.post(f"/clubs/{club.id}/edit", data={"name": "", "visibility": "public"})
    assert bad.location.endswith(f"/clubs/{club.id}/edit")
    assert "Give the club a name" in text_of(client.get(f"/clubs/{club.id}/edit"))


@pytest.mark.parametrize("who", ["anonymous", "stranger"])
def test_a_private_club_is_a_404_to_outsiders(make_client, who):
    club = club_of(name="Hidden circle", visibility="private")
    client = make_client(None if who == "anonymous" else UserFactory())
    for path in ("", "/members", "/edit"):
        response = client.get(f"/clubs/{club.id}{path}")
        assert response.status_code in ((404,) if path != "/edit" or who == "stranger" else (302,))
        assert "Hidden circle" not in text_of(response)
    if who == "stranger":
        assert client.post(f"/clubs/{club.id}/join").status_code == 404
        assert client.post(f"/clubs/{club.id}/messages", data={"body": "hi"}).status_code == 404


def test_the_club_page_shows_members_and_the_organizers_reputation(client, club, owner):
    from tests.integration.club_support import rated

    rated(owner, 4, role="organizer")
    page = text_of(client.get(f"/clubs/{club.id}"))
    assert "Oats and flour." in page and "@olga" in page
    assert "100.0% positive</strong> as organizer" in page and "4 ratings" in page
    assert "Sign in to join" in page
    other = club_of(name="Fresh club")
    assert "Not rated as an organizer yet." in text_of(client.get(f"/clubs/{other.id}"))


def test_joining_an_open_club_and_asking_to_join_another(make_client, club):
    member = UserFactory()
    client = make_client(member)
    response = client.post(f"/clubs/{club.id}/join", follow_redirects=True)
    assert "Welcome to the club!" in text_of(response) and is_member(club.id, member.id)
    careful = club_of(name="Careful club", join_policy="approval")
    page = text_of(client.get(f"/clubs/{careful.id}"))
    assert "Ask to join" in page
    response = client.post(
        f"/clubs/{careful.id}/join", data={"message": "Neighbour here"}, follow_redirects=True
    )
    assert "Request sent." in text_of(response)
    assert "Withdraw the request" in text_of(client.get(f"/clubs/{careful.id}"))
    assert membership(careful.id, member.id).message == "Neighbour here"


def test_a_too_long_request_message_comes_back_under_its_field(make_client):
    careful = club_of(name="Careful club", join_policy="approval")
    client = make_client(UserFactory())
    response = client.post(f"/clubs/{careful.id}/join", data={"message": "x" * 600})
    assert response.status_code == 303
    assert "At most 500 characters" in text_of(client.get(f"/clubs/{careful.id}"))


def test_the_organizer_answers_requests_on_the_members_page(make_client, owner):
    careful = club_of(owner, name="Careful club", join_policy="approval")
    asker = UserFactory(handle="asker")
    clubs.join_club(careful.id, asker.id, message="Please")
    client = make_client(owner)
    page = text_of(client.get(f"/clubs/{careful.id}/members"))
    assert "Requests to join" in page and "@asker" in page and "“Please”" in page
    response = client.post(f"/clubs/{careful.id}/members/{asker.id}/approve", follow_redirects=True)
    assert "@asker is a member now." in text_of(response)
    assert is_member(careful.id, asker.id)
    client.post(f"/clubs/{careful.id}/members/{asker.id}/promote")
    assert runs_club(careful.id, asker.id)
    client.post(f"/clubs/{careful.id}/members/{asker.id}/remove", data={"note": "Bye"})
    assert membership(careful.id, asker.id).status == "removed"


def test_members_cannot_use_the_organizers_buttons(make_client, club, owner):
    member, other = UserFactory(), UserFactory()
    clubs.join_club(club.id, member.id)
    clubs.join_club(club.id, other.id)
    client = make_client(member)
    assert "Remove…" not in text_of(client.get(f"/clubs/{club.id}/members"))
    assert client.post(f"/clubs/{club.id}/members/{other.id}/remove").status_code == 403
    assert client.post(f"/clubs/{club.id}/members/{owner.id}/demote").status_code == 403
    assert client.post(f"/clubs/{club.id}/invite").status_code == 403
    assert client.post(f"/clubs/{club.id}/members/{other.id}/explode").status_code == 404
    assert is_member(club.id, other.id)


def test_the_invite_link_opens_a_private_club_and_rotating_it_closes_the_old_one(
    make_client, owner
):
    hidden = club_of(owner, name="Hidden circle", visibility="private", join_policy="invite")
    owner_page = text_of(make_client(owner).get(f"/clubs/{hidden.id}"))
    link = f"/clubs/{hidden.id}/join/{hidden.invite_token}"
    assert link in owner_page
    guest = UserFactory()
    client = make_client(guest)
    page = text_of(client.get(link))
    assert "You are invited to a buying club" in page and "Hidden circle" in page
    response = client.post(link)
    assert response.status_code == 303 and is_member(hidden.id, guest.id)
    make_client(owner).post(f"/clubs/{hidden.id}/invite")
    late = make_client(UserFactory())
    gone = late.get(link)
    assert gone.status_code == 404 and "Hidden circle" not in text_of(gone)
    assert late.post(link).status_code == 404
    assert make_client(None).get(f"/clubs/{hidden.id}/join/wrong").status_code == 404


def test_leaving_and_the_organizer_who_cannot(make_client, club, owner):
    member = UserFactory()
    clubs.join_club(club.id, member.id)
    response = make_client(member).post(f"/clubs/{club.id}/leave", follow_redirects=True)
    assert "You left the club." in text_of(response) and not is_member(club.id, member.id)
    response = make_client(owner).post(f"/clubs/{club.id}/leave", follow_redirects=True)
    assert "Hand the club over" in text_of(response) and is_member(club.id, owner.id)


def test_members_talk_in_the_club_conversation(make_client, club, owner):
    member = UserFactory(handle="mia")
    clubs.join_club(club.id, member.id)
    client = make_client(member)
    response = client.post(f"/clubs/{club.id}/messages", data={"body": "Oats next week?"})
    assert response.status_code == 303 and response.location.endswith("#messages")
    page = text_of(make_client(owner).get(f"/clubs/{club.id}"))
    assert "Club conversation" in page and "Oats next week?" in page and "@mia" in page
    inbox = text_of(make_client(owner).get("/messages"))
    assert "Riverside bulk food" in inbox
    client.post(f"/clubs/{club.id}/messages", data={"body": "  "})
    assert "Write a message." in text_of(client.get(f"/clubs/{club.id}"))
    outsider = text_of(make_client(UserFactory()).get(f"/clubs/{club.id}"))
    assert "Oats next week?" not in outsider and "Club conversation" not in outsider


def test_a_bad_club_name_is_refused_alike_on_the_web_and_in_the_api(make_client, client, owner):
    from tests.integration.api_support import bearer

    api = client.post("/api/v1/clubs", json={"name": "xy"}, headers=bearer(owner))
    web = make_client(owner)
    web.post("/clubs/new", data={"name": "xy", "visibility": "public", "join_policy": "open"})
    page = text_of(web.get("/clubs/new"))
    [message] = api.json["error"]["fields"]["name"]
    assert api.status_code == 422 and message in page


def test_leaving_a_private_club_goes_back_to_the_clubs(make_client, owner):
    hidden = club_of(owner, name="Hidden circle", visibility="private")
    member = UserFactory()
    clubs.join_club(hidden.id, member.id, invite_token=hidden.invite_token)
    response = make_client(member).post(f"/clubs/{hidden.id}/leave", follow_redirects=True)
    assert response.request.path == "/clubs" and "You left “Hidden circle”." in text_of(response)


def test_withdrawing_a_request(make_client, owner):
    careful = club_of(owner, name="Careful club", join_policy="approval")
    asker = UserFactory()
    clubs.join_club(careful.id, asker.id)
    response = make_client(asker).post(f"/clubs/{careful.id}/leave", follow_redirects=True)
    assert "Request withdrawn." in text_of(response)
    assert membership(careful.id, asker.id).status == "left"
