"""Memberships change under real concurrency on PostgreSQL: the member count stays exact, a
request is answered once, and one person has one place however often they click."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.clubs import services as clubs
from app.clubs.models import Club, ClubMember
from app.extensions import db
from tests.factories import UserFactory
from tests.integration.club_support import club_of
from tests.integration.support import at_once

pytestmark = pytest.mark.postgres_only


def _active(club_id: int) -> int:
    return db.session.scalar(
        select(func.count()).where(ClubMember.club_id == club_id, ClubMember.status == "active")
    )


def test_many_joining_at_once_keep_the_member_count_exact(app):
    club_id = club_of().id  # plain ids: the threads must not load the test's rows
    people = [UserFactory().id for _ in range(12)]
    outcomes = at_once(app, [lambda p=p: clubs.join_club(club_id, p).status for p in people])
    assert outcomes == ["active"] * 12
    db.session.expire_all()
    assert db.session.get(Club, club_id).member_count == _active(club_id) == 13


def test_two_organizers_approving_one_request_count_it_once(app):
    club = club_of(join_policy="approval")
    club_id, owner_id = club.id, club.organizer_id
    co, asker = UserFactory().id, UserFactory().id
    clubs.join_club(club_id, co, invite_token=club.invite_token)
    clubs.member_action(club_id, owner_id, co, "promote")
    clubs.join_club(club_id, asker)
    outcomes = at_once(
        app,
        [
            lambda: clubs.member_action(club_id, owner_id, asker, "approve").status,
            lambda: clubs.member_action(club_id, co, asker, "approve").status,
        ],
    )
    assert sorted(outcomes) == ["InvalidTransition", "active"]
    db.session.expire_all()
    assert db.session.get(Club, club_id).member_count == _active(club_id) == 3


def test_asking_twice_at_once_makes_one_request(app):
    club_id, asker_id = club_of(join_policy="approval").id, UserFactory().id
    outcomes = at_once(app, [lambda: clubs.join_club(club_id, asker_id).status] * 2)
    assert sorted(outcomes) == ["AlreadyRequested", "pending"]
    places = select(func.count()).where(
        ClubMember.club_id == club_id, ClubMember.user_id == asker_id
    )
    assert db.session.scalar(places) == 1
