"""The demo's buying clubs obey the club rules: their organizers earned the privilege, one
club is private, requests wait for an answer, and members talk in the clubs' conversations."""

from __future__ import annotations

from sqlalchemy import func, select

from app.clubs import services as clubs
from app.clubs.models import Club, ClubMember
from app.extensions import db
from app.messaging.models import Conversation


def test_the_demo_has_public_and_private_clubs_run_by_privileged_members(app):
    result = app.test_cli_runner().invoke(
        args=["demo", "--users", "12", "--listings", "12", "--trades", "60", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    made = list(db.session.scalars(select(Club)))
    assert len(made) == 5 and "5 clubs" in result.output
    assert {club.visibility for club in made} == {"public", "private"}
    for club in made:
        assert clubs.club_privilege(club.organizer_id).is_met
        active = db.session.scalar(
            select(func.count()).where(ClubMember.club_id == club.id, ClubMember.status == "active")
        )
        assert club.member_count == active >= 5
    pending = db.session.scalar(select(func.count()).where(ClubMember.status == "pending"))
    assert pending >= 2
    assert db.session.scalar(select(func.count()).where(ClubMember.role == "co_organizer")) >= 1
    talks = db.session.scalar(select(func.count()).where(Conversation.subject_kind == "club"))
    assert talks == 5
