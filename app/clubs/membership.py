"""Who is in a club and who runs it: the checks every club and deal rule starts from."""

from __future__ import annotations

from flask import has_request_context, request
from sqlalchemy import select

from app import visibility
from app.clubs.models import ACTIVE, CO_ORGANIZER, ORGANIZER, PRIVATE, Club, ClubMember
from app.errors import Forbidden, NotFound
from app.extensions import db

RUNS_CLUB = (ORGANIZER, CO_ORGANIZER)


class NotAMember(Forbidden):
    code, default_message = "not_a_member", "Join this club first."


class NotAnOrganizer(Forbidden):
    code, default_message = (
        "not_an_organizer",
        "Only the club's organizer and co-organizers can do that.",
    )


def get_club(club_id: int) -> Club:
    club = db.session.get(Club, club_id)
    if club is None:
        raise NotFound("We could not find that club.")
    return club


def membership(club_id: int, user_id: int | None) -> ClubMember | None:
    """The person's row in the club, whatever its status (None: never asked or joined).

    A page asks it several times (the club, its deals, its thread): a GET request, which
    changes no membership, reads it once."""
    if user_id is None:
        return None
    known = _read_this_request()
    if known is not None and (club_id, user_id) in known:
        return known[(club_id, user_id)]
    place = db.session.scalar(
        select(ClubMember).where(ClubMember.club_id == club_id, ClubMember.user_id == user_id)
    )
    if known is not None:
        known[(club_id, user_id)] = place
    return place


def _read_this_request() -> dict | None:
    """The memberships this GET request read ({(club id, user id): row or None}), kept on the
    request itself so nothing outlives it; None outside a request or in one that may write."""
    if not has_request_context() or request.method not in ("GET", "HEAD"):
        return None
    known = getattr(request, "_club_places", None)
    if known is None:
        known = {}
        setattr(request, "_club_places", known)  # noqa: B010
    return known


def is_member(club_id: int, user_id: int | None) -> bool:
    place = membership(club_id, user_id)
    return place is not None and place.status == ACTIVE


def runs_club(club_id: int, user_id: int | None) -> bool:
    """Whether the person is the club's organizer or one of its co-organizers."""
    place = membership(club_id, user_id)
    return place is not None and place.status == ACTIVE and place.role in RUNS_CLUB


def require_member(club_id: int, user_id: int) -> ClubMember:
    place = membership(club_id, user_id)
    if place is None or place.status != ACTIVE:
        raise NotAMember()
    return place


def require_organizer(club_id: int, user_id: int) -> ClubMember:
    place = require_member(club_id, user_id)
    if place.role not in RUNS_CLUB:
        raise NotAnOrganizer()
    return place


def can_see(club: Club, user_id: int | None) -> bool:
    """A public club is seen by anyone; a private one by its members only; one a moderator
    hid or removed (or reports hid pending review) by its members, who see the notice, and
    moderators."""
    if visibility.state("club", club.id) != visibility.VISIBLE:
        return is_member(club.id, user_id) or visibility.is_moderator(user_id)
    return club.visibility != PRIVATE or is_member(club.id, user_id)
