"""A club as the subject of a conversation: one group thread for its active members, on the
club's page (app/messaging/subjects.py: a subject whose people change; a member who leaves or
is removed leaves the thread: app/clubs/services.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, select

from app.clubs.models import ACTIVE, Club, ClubMember
from app.extensions import db
from app.messaging.subjects import Subject, register_subject

KIND = "club"
NOT_FOUND = "We could not find that club."


def describe_clubs(ids: Sequence[int], viewer_id: int) -> dict[int, Subject]:
    """The clubs among `ids` the viewer is an active member of, each with its active members
    as the conversation's people (two queries for any number of clubs)."""
    clubs = list(
        db.session.scalars(
            select(Club)
            .join(
                ClubMember,
                and_(
                    ClubMember.club_id == Club.id,
                    ClubMember.user_id == viewer_id,
                    ClubMember.status == ACTIVE,
                ),
            )
            .where(Club.id.in_(ids))
        )
    )
    if not clubs:
        return {}
    people: dict[int, list[int]] = defaultdict(list)
    for club_id, user_id in db.session.execute(
        select(ClubMember.club_id, ClubMember.user_id)
        .where(ClubMember.club_id.in_([club.id for club in clubs]), ClubMember.status == ACTIVE)
        .order_by(ClubMember.user_id)
    ):
        people[club_id].append(user_id)
    return {
        club.id: Subject(
            kind=KIND,
            id=club.id,
            title=club.name,
            participant_ids=tuple(people[club.id]),
            endpoint="clubs.detail",
            url_values={"club_id": club.id},
            label="Club",
        )
        for club in clubs
    }


def club_had_activity(club_id: int, at: datetime) -> None:
    """A message is activity: the club rises in its members' lists."""
    club = db.session.get(Club, club_id)
    if club is not None:
        club.updated_at = at


def init_app(app) -> None:
    """Let conversations be about clubs."""
    register_subject(KIND, describe_clubs, not_found=NOT_FOUND, on_message=club_had_activity)
