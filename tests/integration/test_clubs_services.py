"""Clubs: the privilege to start one, joining by each policy, the invite link, leaving,
removing, co-organizers, handing over, and who sees a private club."""

from __future__ import annotations

import pytest

from app.clubs import services as clubs
from app.clubs.membership import is_member, membership, runs_club
from app.clubs.models import Club
from app.errors import InvalidTransition, NotFound, ValidationFailed
from app.extensions import db
from app.messaging import services as messaging
from app.notifications.models import Notification
from app.transactions import events
from tests.factories import UserFactory
from tests.integration.club_support import club_of, organizer, rated


def count_of(club_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Club, club_id).member_count


# -- the privilege --------------------------------------------------------------------------


def test_a_newcomer_cannot_start_a_club_and_is_told_the_rule(app):
    newcomer = UserFactory()
    with pytest.raises(clubs.NotPrivileged) as refused:
        clubs.create_club(newcomer.id, name="Bulk oats")
    assert refused.value.code == "trust_level_required"
    assert "at least 3 positive ratings" in refused.value.message
    assert "90%" in refused.value.message
    assert "You have 0 positive ratings" in refused.value.message


@pytest.mark.parametrize(
    ("positive", "negative", "allowed"),
    [(2, 0, False), (3, 0, True), (9, 1, True), (8, 1, False), (30, 4, False)],
)
def test_the_rule_takes_enough_positive_ratings_and_percent(app, positive, negative, allowed):
    user = rated(UserFactory(), positive, negative)
    assert clubs.club_privilege(user.id).is_met is allowed


def test_admins_are_exempt_from_the_rule(app):
    admin = UserFactory(is_admin=True)
    club = clubs.create_club(admin.id, name="Admins buy coffee")
    assert club.organizer_id == admin.id


def test_the_limits_come_from_the_configuration(app):
    app.config["CLUB_MIN_POSITIVE"] = 1
    user = rated(UserFactory(), 1)
    assert clubs.club_privilege(user.id).is_met
    assert "at least 1 positive ratings" in clubs.club_rule()


def test_starting_a_club_makes_the_creator_its_organizer(app):
    owner = organizer()
    club = clubs.create_club(
        owner.id, name="  Riverside   bulk food ", area="Old mill", join_policy="approval"
    )
    assert club.name == "Riverside bulk food"
    assert club.member_count == 1 and len(club.invite_token) == 43
    assert runs_club(club.id, owner.id)
    assert membership(club.id, owner.id).role == "organizer"


def test_bad_fields_are_refused_with_every_field_named(app):
    with pytest.raises(ValidationFailed) as refused:
        clubs.create_club(
            organizer().id, name="x", visibility="secret", join_policy="lottery", area="a" * 200
        )
    assert set(refused.value.fields) == {"name", "visibility", "join_policy", "area"}


def test_only_organizers_edit_and_only_given_fields_change(app):
    club = club_of(description="Oats")
    member = UserFactory()
    clubs.join_club(club.id, member.id)
    with pytest.raises(clubs.NotAnOrganizer):
        clubs.update_club(club.id, member.id, name="Mine now")
    clubs.update_club(club.id, club.organizer_id, visibility="private")
    db.session.expire_all()
    club = db.session.get(Club, club.id)
    assert (club.visibility, club.name, club.description) == (
        "private",
        "Riverside bulk food",
        "Oats",
    )


# -- joining --------------------------------------------------------------------------------


def test_an_open_club_takes_a_member_at_once(app):
    club = club_of()
    member = UserFactory()
    place = clubs.join_club(club.id, member.id)
    assert place.status == "active" and place.role == "member"
    assert count_of(club.id) == 2
    with pytest.raises(clubs.AlreadyMember):
        clubs.join_club(club.id, member.id)


def test_a_request_waits_for_an_organizer_who_is_notified(app):
    club = club_of(join_policy="approval")
    co = UserFactory()
    clubs.join_club(club.id, co.id, invite_token=club.invite_token)
    clubs.member_action(club.id, club.organizer_id, co.id, "promote")
    asker = UserFactory(handle="asker")
    place = clubs.join_club(club.id, asker.id, message="I run a bakery")
    assert place.status == "pending" and not is_member(club.id, asker.id)
    assert count_of(club.id) == 2
    with pytest.raises(clubs.AlreadyRequested):
        clubs.join_club(club.id, asker.id)
    events.deliver_committed()
    told = db.session.query(Notification).filter_by(kind="club_request").all()
    assert {n.user_id for n in told} == {club.organizer_id, co.id}
    assert "@asker asks to join" in told[0].text and "bakery" in told[0].text
    assert told[0].link == f"/clubs/{club.id}/members"


def test_approving_a_request_makes_a_member_and_tells_them(app):
    club = club_of(join_policy="approval")
    asker = UserFactory()
    clubs.join_club(club.id, asker.id)
    clubs.member_action(club.id, club.organizer_id, asker.id, "approve")
    assert is_member(club.id, asker.id) and count_of(club.id) == 2
    with pytest.raises(InvalidTransition):
        clubs.member_action(club.id, club.organizer_id, asker.id, "approve")
    events.deliver_committed()
    note = db.session.query(Notification).filter_by(user_id=asker.id).one()
    assert note.kind == "club_membership" and "approved your request" in note.text


def test_a_declined_person_may_ask_again(app):
    club = club_of(join_policy="approval")
    asker = UserFactory()
    clubs.join_club(club.id, asker.id)
    clubs.member_action(club.id, club.organizer_id, asker.id, "decline", note="Locals only")
    assert membership(club.id, asker.id).status == "declined"
    assert clubs.join_club(club.id, asker.id).status == "pending"
    events.deliver_committed()
    texts = [n.text for n in db.session.query(Notification).filter_by(user_id=asker.id)]
    assert any("declined. Locals only" in text for text in texts)


def test_an_invite_only_club_refuses_without_the_link(app):
    club = club_of(join_policy="invite")
    with pytest.raises(clubs.InviteOnly) as refused:
        clubs.join_club(club.id, UserFactory().id)
    assert refused.value.code == "invite_only"


def test_the_invite_link_lets_anyone_in_and_rotating_it_revokes_it(app):
    club = club_of(join_policy="approval", visibility="private")
    old = club.invite_token
    first = UserFactory()
    assert clubs.join_club(club.id, first.id, invite_token=old).status == "active"
    clubs.rotate_invite(club.id, club.organizer_id)
    assert db.session.get(Club, club.id).invite_token != old
    with pytest.raises(clubs.InvalidInvite) as refused:
        clubs.join_club(club.id, UserFactory().id, invite_token=old)
    assert refused.value.code == "invalid_invite" and refused.value.status == 404
    with pytest.raises(clubs.NotAnOrganizer):
        clubs.rotate_invite(club.id, first.id)


def test_a_private_club_is_invisible_to_strangers(app):
    club = club_of(visibility="private")
    stranger = UserFactory()
    with pytest.raises(NotFound):
        clubs.club_for(club.id, stranger.id)
    with pytest.raises(NotFound):
        clubs.club_for(club.id, None)
    with pytest.raises(NotFound):
        clubs.join_club(club.id, stranger.id)
    with pytest.raises(NotFound):
        clubs.members_of(club.id, stranger.id)
    assert clubs.club_for(club.id, None, invite_token=club.invite_token).id == club.id
    assert club.id not in [c.id for c in clubs.public_clubs().items]


def test_browse_lists_public_clubs_by_name_or_area(app):
    club_of(name="Oat lovers", area="North side")
    club_of(name="Coffee beans")
    club_of(name="Secret oats", visibility="private")
    assert [c.name for c in clubs.public_clubs("oat").items] == ["Oat lovers"]
    assert [c.name for c in clubs.public_clubs("north").items] == ["Oat lovers"]
    assert clubs.public_clubs("100%_").total == 0
    assert clubs.public_clubs().total == 2


# -- leaving, removing, roles ---------------------------------------------------------------


def test_leaving_takes_the_member_out_of_the_club_and_its_conversation(app):
    club = club_of()
    member = UserFactory()
    clubs.join_club(club.id, member.id)
    message = messaging.send_message("club", club.id, member.id, "Hello all")
    assert messaging.unread_count(club.organizer_id) == 1
    clubs.leave_club(club.id, member.id)
    assert not is_member(club.id, member.id) and count_of(club.id) == 1
    with pytest.raises(NotFound):
        messaging.conversation_view(message.conversation_id, member.id)
    with pytest.raises(NotFound):
        messaging.send_message("club", club.id, member.id, "Still here?")
    # Back in: the conversation takes them again at their first read.
    clubs.join_club(club.id, member.id)
    assert [m.body for m in messaging.thread("club", club.id, member.id)] == ["Hello all"]


def test_the_organizer_cannot_leave_before_handing_over(app):
    club = club_of()
    founder = club.organizer_id
    with pytest.raises(clubs.OrganizerCannotLeave):
        clubs.leave_club(club.id, founder)
    heir = UserFactory()
    clubs.join_club(club.id, heir.id)
    clubs.member_action(club.id, founder, heir.id, "make_organizer")
    db.session.expire_all()
    assert db.session.get(Club, club.id).organizer_id == heir.id
    assert membership(club.id, founder).role == "co_organizer"
    clubs.leave_club(club.id, founder)
    assert count_of(club.id) == 1


def test_a_removed_member_needs_an_invite_to_come_back(app):
    club = club_of()
    member = UserFactory()
    clubs.join_club(club.id, member.id)
    clubs.member_action(club.id, club.organizer_id, member.id, "remove", note="Spam")
    assert membership(club.id, member.id).status == "removed" and count_of(club.id) == 1
    with pytest.raises(clubs.RemovedFromClub):
        clubs.join_club(club.id, member.id)
    assert clubs.join_club(club.id, member.id, invite_token=club.invite_token).status == "active"


def test_co_organizers_run_the_club_but_cannot_touch_the_organizer(app):
    club = club_of()
    co, other = UserFactory(), UserFactory()
    clubs.join_club(club.id, co.id)
    clubs.join_club(club.id, other.id)
    with pytest.raises(clubs.NotAnOrganizer):
        clubs.member_action(club.id, other.id, co.id, "promote")
    clubs.member_action(club.id, club.organizer_id, co.id, "promote")
    assert runs_club(club.id, co.id)
    for action in ("demote", "remove", "make_organizer"):
        with pytest.raises(clubs.NotAnOrganizer):
            clubs.member_action(club.id, co.id, club.organizer_id, action)
    with pytest.raises(clubs.NotAnOrganizer):  # handing over is the organizer's alone
        clubs.member_action(club.id, co.id, other.id, "make_organizer")
    clubs.member_action(club.id, co.id, other.id, "remove")
    assert not is_member(club.id, other.id)
    clubs.member_action(club.id, club.organizer_id, co.id, "demote")
    assert not runs_club(club.id, co.id) and is_member(club.id, co.id)


def test_the_actions_offered_match_what_the_services_allow(app):
    club = club_of(join_policy="approval")
    owner = membership(club.id, club.organizer_id)
    asker = UserFactory()
    clubs.join_club(club.id, asker.id)
    assert clubs.member_actions(owner, membership(club.id, asker.id)) == ["approve", "decline"]
    clubs.member_action(club.id, club.organizer_id, asker.id, "approve")
    place = membership(club.id, asker.id)
    assert clubs.member_actions(owner, place) == ["promote", "make_organizer", "remove"]
    assert clubs.member_actions(place, owner) == []
    assert clubs.my_actions(club, place, asker.id) == ["leave"]
    assert clubs.my_actions(club, None, UserFactory().id) == ["request"]
