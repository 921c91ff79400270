"""Buying clubs: starting one (a privilege earned through reputation), editing it, joining
(open, by approval, by invite link), leaving, removing, co-organizers and handing the club over.
Pages and the API call these; the rules live here and nowhere else.

    club_privilege(user_id) -> Privilege
    create_club(user_id, *, name, description, area, visibility, join_policy) -> Club
    update_club(club_id, editor_id, **fields) -> Club
    rotate_invite(club_id, actor_id) -> Club
    join_club(club_id, user_id, *, message="", invite_token=None) -> ClubMember
    leave_club(club_id, user_id) -> ClubMember
    member_action(club_id, actor_id, user_id, action, note="") -> ClubMember
        # approve, decline, promote, demote, remove, make_organizer
    club_for(club_id, viewer_id, invite_token=None) -> Club
    public_clubs(query, page, per_page) -> Page[Club]
    clubs_of(user_id) -> list[ClubMember]
    members_of(club_id, viewer_id, status) -> list[ClubMember]

Every membership change is a guarded UPDATE on the person's row (WHERE status is what we read),
and the club's member count moves in the same unit of work by an UPDATE of its own, so two
organizers approving the same request at once count it once.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app import visibility
from app.accounts.models import User
from app.accounts.suspension import ensure_not_suspended
from app.clubs.membership import (
    NotAnOrganizer,
    can_see,
    membership,
    require_organizer,
)
from app.clubs.models import (
    ACTIVE,
    APPROVAL,
    CO_ORGANIZER,
    DECLINED,
    INVITE,
    JOIN_POLICIES,
    LEFT,
    MEMBER,
    OPEN,
    ORGANIZER,
    PENDING,
    PRIVATE,
    PUBLIC,
    REMOVED,
    VISIBILITIES,
    Club,
    ClubMember,
)
from app.db import utcnow
from app.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from app.extensions import db
from app.messaging.services import leave_conversation
from app.pagination import Page, page_number
from app.transactions.events import record_event
from app.trust import levels as trust

logger = logging.getLogger(__name__)

KIND = "club"
NAME_MIN, NAME_MAX = 3, 80
DESCRIPTION_MAX = 2000
AREA_MAX = 120
MESSAGE_MAX = 500
NOTE_MAX = 500
SEARCH_MAX = 80
NOT_FOUND = "We could not find that club."

VISIBILITY_LABELS = {
    PUBLIC: "Public: anyone can find it and read its page",
    PRIVATE: "Private: only its members see it",
}
POLICY_LABELS = {
    OPEN: "Open: anyone signed in joins at once",
    APPROVAL: "By approval: an organizer approves each request",
    INVITE: "By invite link only",
}
ROLE_LABELS = {ORGANIZER: "Organizer", CO_ORGANIZER: "Co-organizer", MEMBER: "Member"}
# What an organizer (or co-organizer) may do to a person's place, and from which status.
MEMBER_ACTIONS = ("approve", "decline", "promote", "demote", "remove", "make_organizer")


class NotPrivileged(trust.TrustLevelRequired):
    default_message = "You cannot start a club yet."

    def __init__(self, message: str | None = None):
        super().__init__(message, level=trust.START_CLUB_LEVEL)


class InviteOnly(Forbidden):
    code, default_message = "invite_only", "This club takes new members by invite link only."


class RemovedFromClub(Forbidden):
    code, default_message = (
        "removed_from_club",
        "An organizer removed you from this club: only an invite link lets you back in.",
    )


class InvalidInvite(NotFound):
    code, default_message = (
        "invalid_invite",
        "That invite link is not valid any more: ask an organizer for a new one.",
    )


class AlreadyMember(Conflict):
    code, default_message = "already_member", "You are already a member of this club."


class AlreadyRequested(Conflict):
    code, default_message = (
        "already_requested",
        "You have asked to join already: an organizer will answer.",
    )


class OrganizerCannotLeave(Conflict):
    code, default_message = (
        "organizer_cannot_leave",
        "Hand the club over to another member before you leave it.",
    )


# -- the privilege to start a club -----------------------------------------------------------


@dataclass(frozen=True)
class Privilege:
    """Whether a person may start a club: the trust level it takes (app/trust/levels.py),
    with where they stand against it."""

    min_positive: int
    min_percent: int
    positive: int  # positive ratings received (all time)
    percent_positive: float | None  # over the last 12 months; None without ratings
    is_admin: bool  # staff (admins and moderators) are exempt
    level: int  # the person's trust level
    level_required: int
    missing: tuple[str, ...]  # what the level still asks, with the person's numbers

    @property
    def rule(self) -> str:
        return club_rule()

    @property
    def has_positive(self) -> bool:
        return self.positive >= self.min_positive

    @property
    def has_percent(self) -> bool:
        return self.percent_positive is not None and self.percent_positive >= self.min_percent

    @property
    def has_level(self) -> bool:
        return self.level >= self.level_required

    @property
    def is_met(self) -> bool:
        return self.is_admin or self.has_level

    @property
    def standing(self) -> str:
        """Where the person stands, in a sentence."""
        percent = (
            "no ratings in the last 12 months"
            if self.percent_positive is None
            else f"{self.percent_positive:g}% positive over 12 months"
        )
        ratings = f"{self.positive} positive rating{'s' * (self.positive != 1)}"
        level = f"You are at trust level {self.level} ({trust.LEVEL_NAMES[self.level]})"
        still = f"; still needed: {'; '.join(self.missing)}" if self.missing else ""
        return f"You have {ratings} and {percent}. {level}{still}."

    @property
    def refusal(self) -> str:
        return f"{self.rule} {self.standing}"


def club_rule() -> str:
    """The rule for starting a club, as every page and the API state it."""
    config = current_app.config
    level = trust.START_CLUB_LEVEL
    return (
        f"Starting a club takes trust level {level} ({trust.LEVEL_NAMES[level]}): at least "
        f"{config['CLUB_MIN_POSITIVE']} positive ratings received and at least "
        f"{config['CLUB_MIN_PERCENT']}% positive ratings over the last 12 months, an account at "
        f"least {trust.MEMBER_MIN_DAYS} days old and at least {trust.BASIC_MIN_COMPLETED} "
        "completed transaction."
    )


def club_privilege(user_id: int) -> Privilege:
    """Where the person stands against the rule for starting a club: their trust level
    (computed from their account, transactions and overall reputation)."""
    found = trust.standing(user_id)
    level = trust.START_CLUB_LEVEL
    return Privilege(
        min_positive=current_app.config["CLUB_MIN_POSITIVE"],
        min_percent=current_app.config["CLUB_MIN_PERCENT"],
        positive=found.positive,
        percent_positive=found.percent_positive,
        is_admin=found.is_staff,
        level=found.level,
        level_required=level,
        missing=tuple(
            r.text.lower() for r in trust.all_requirements(found.levels, level) if not r.is_met
        ),
    )


def organizer_reputation(user_id: int) -> dict | None:
    """The person's reputation in the role "organizer" (None: never rated as one)."""
    return organizer_reputations([user_id]).get(user_id)


def organizer_reputations(user_ids: list[int]) -> dict[int, dict]:
    """{user_id: reputation as organizer} of those rated as one (one query for all)."""
    from app.reviews.models import ReputationScore

    rows = db.session.scalars(
        select(ReputationScore).where(
            ReputationScore.user_id.in_(sorted(set(user_ids))),
            ReputationScore.role == "organizer",
        )
    )
    return {
        row.user_id: {
            "feedback_score": row.feedback_score,
            "percent_positive": None
            if row.percent_positive is None
            else round(row.percent_positive, 1),
            "positive": row.positive,
            "neutral": row.neutral,
            "negative": row.negative,
            "ratings": row.ratings,
        }
        for row in rows
        if row.ratings > 0
    }


# -- creating and editing --------------------------------------------------------------------


def _clean(fields: dict, *, partial: bool) -> dict:
    """The club's fields trimmed and checked; ValidationFailed names every wrong one."""
    errors: dict[str, list[str]] = {}
    clean: dict = {}
    if "name" in fields or not partial:
        name = " ".join((fields.get("name") or "").split())
        if len(name) < NAME_MIN:
            errors["name"] = [f"Give the club a name of at least {NAME_MIN} characters."]
        elif len(name) > NAME_MAX:
            errors["name"] = [f"At most {NAME_MAX} characters (this one has {len(name)})."]
        clean["name"] = name
    for key, limit in (("description", DESCRIPTION_MAX), ("area", AREA_MAX)):
        if key in fields or not partial:
            value = (fields.get(key) or "").strip()
            if len(value) > limit:
                errors[key] = [f"At most {limit} characters (this one has {len(value)})."]
            clean[key] = value
    if "visibility" in fields or not partial:
        value = fields.get("visibility") or PUBLIC
        if value not in VISIBILITIES:
            errors["visibility"] = [f"Choose one of: {', '.join(VISIBILITIES)}."]
        clean["visibility"] = value
    if "join_policy" in fields or not partial:
        value = fields.get("join_policy") or OPEN
        if value not in JOIN_POLICIES:
            errors["join_policy"] = [f"Choose one of: {', '.join(JOIN_POLICIES)}."]
        clean["join_policy"] = value
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(first, fields=errors)
    return clean


def _new_token() -> str:
    return secrets.token_urlsafe(32)  # 43 characters


def create_club(
    user_id: int,
    *,
    name: str,
    description: str = "",
    area: str = "",
    visibility: str = PUBLIC,
    join_policy: str = OPEN,
    now: datetime | None = None,
) -> Club:
    """Start a club with the person as its organizer. Raises NotPrivileged (the rule, with
    where they stand), ValidationFailed."""
    ensure_not_suspended(user_id)
    privilege = club_privilege(user_id)
    if not privilege.is_met:
        raise NotPrivileged(privilege.refusal)
    clean = _clean(
        {
            "name": name,
            "description": description,
            "area": area,
            "visibility": visibility,
            "join_policy": join_policy,
        },
        partial=False,
    )
    now = now or utcnow()
    club = Club(
        **clean,
        invite_token=_new_token(),
        organizer_id=user_id,
        member_count=1,
        created_at=now,
        updated_at=now,
    )
    db.session.add(club)
    db.session.flush()
    db.session.add(
        ClubMember(
            club_id=club.id,
            user_id=user_id,
            role=ORGANIZER,
            status=ACTIVE,
            joined_at=now,
            updated_at=now,
        )
    )
    db.session.commit()
    logger.info("club %s started by user %s", club.id, user_id)
    return club


def update_club(club_id: int, editor_id: int, **fields) -> Club:
    """Change the club's name, description, area, visibility or join policy (organizers
    only; only the fields given). Raises NotFound, NotAMember/NotAnOrganizer,
    ValidationFailed."""
    club = club_for(club_id, editor_id)
    require_organizer(club_id, editor_id)
    allowed = {"name", "description", "area", "visibility", "join_policy"}
    clean = _clean({k: v for k, v in fields.items() if k in allowed}, partial=True)
    for key, value in clean.items():
        setattr(club, key, value)
    club.updated_at = utcnow()
    db.session.commit()
    return club


def rotate_invite(club_id: int, actor_id: int) -> Club:
    """A new invite link for the club; the old one stops working (organizers only)."""
    club = club_for(club_id, actor_id)
    require_organizer(club_id, actor_id)
    club.invite_token = _new_token()
    club.updated_at = utcnow()
    db.session.commit()
    logger.info("club %s invite link rotated by user %s", club_id, actor_id)
    return club


# -- seeing clubs -----------------------------------------------------------------------------


def is_invite(club: Club, token: str | None) -> bool:
    """Whether `token` is the club's current invite token (compared in constant time)."""
    return bool(token) and hmac.compare_digest(club.invite_token.encode(), str(token).encode())


def club_for(club_id: int, viewer_id: int | None, invite_token: str | None = None) -> Club:
    """The club if the viewer may see it: a public club, a private one to its members, or to
    whoever holds its invite link. NotFound otherwise (never a hint that it exists)."""
    club = db.session.get(Club, club_id)
    if club is None:
        raise NotFound(NOT_FOUND)
    if can_see(club, viewer_id):
        return club
    if is_invite(club, invite_token) and visibility.state("club", club.id) == visibility.VISIBLE:
        return club
    raise NotFound(NOT_FOUND)


def public_clubs(query: str = "", page: int = 1, per_page: int = 20) -> Page[Club]:
    """Public clubs no moderator hid or removed, the busiest first, optionally whose name or
    area holds `query`."""
    select_clubs = select(Club).where(Club.visibility == PUBLIC, visibility.shown("club", Club.id))
    words = (query or "").strip()[:SEARCH_MAX]
    if words:
        pattern = (
            "%" + words.lower().replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
        )
        select_clubs = select_clubs.where(
            or_(
                func.lower(Club.name).like(pattern, escape="\\"),
                func.lower(Club.area).like(pattern, escape="\\"),
            )
        )
    total = db.session.scalar(select(func.count()).select_from(select_clubs.subquery())) or 0
    page = page_number(page)
    items = list(
        db.session.scalars(
            select_clubs.options(joinedload(Club.organizer))
            .order_by(Club.member_count.desc(), Club.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    return Page(items=items, page=page, per_page=per_page, total=total)


def clubs_of(user_id: int) -> list[ClubMember]:
    """The person's places in clubs they are in or have asked to join, the clubs loaded."""
    return list(
        db.session.scalars(
            select(ClubMember)
            .where(ClubMember.user_id == user_id, ClubMember.status.in_((ACTIVE, PENDING)))
            .options(joinedload(ClubMember.club).joinedload(Club.organizer))
            .order_by(ClubMember.status, ClubMember.id.desc())
        )
    )


def places_in(club_ids: list[int], user_id: int | None) -> dict[int, ClubMember]:
    """{club_id: the person's place} among these clubs (one query for a whole page)."""
    if user_id is None or not club_ids:
        return {}
    return {
        place.club_id: place
        for place in db.session.scalars(
            select(ClubMember).where(
                ClubMember.club_id.in_(club_ids), ClubMember.user_id == user_id
            )
        )
    }


ROLE_ORDER = {ORGANIZER: 0, CO_ORGANIZER: 1, MEMBER: 2}


def members_of(club_id: int, viewer_id: int | None, status: str = ACTIVE) -> list[ClubMember]:
    """The club's people with `status` (active: whoever may see the club; pending: its
    organizers only), organizers first."""
    club_for(club_id, viewer_id)
    if status == PENDING:
        require_organizer(club_id, viewer_id or 0)
    elif status != ACTIVE:
        raise ValidationFailed(
            "Choose active or pending members.", fields={"status": ["active or pending"]}
        )
    people = list(
        db.session.scalars(
            select(ClubMember)
            .where(ClubMember.club_id == club_id, ClubMember.status == status)
            .options(joinedload(ClubMember.user))
        )
    )
    key = (lambda m: m.requested_at or m.updated_at) if status == PENDING else None
    if key is not None:
        return sorted(people, key=key)
    return sorted(people, key=lambda m: (ROLE_ORDER[m.role], m.joined_at or m.updated_at, m.id))


def members_shown(club: Club, limit: int) -> tuple[list[ClubMember], int]:
    """The first `limit` active members of a club the viewer may see (club_for), in the order
    of members_of, with their accounts, and how many active members it has: one statement
    however many there are."""
    role_order = case(
        *((ClubMember.role == role, rank) for role, rank in ROLE_ORDER.items()), else_=99
    )
    order = (role_order, func.coalesce(ClubMember.joined_at, ClubMember.updated_at), ClubMember.id)
    # The few shown are chosen on club_members alone, then joined to their accounts: joining
    # first read every member's account (a club of 3,700: 100 ms).
    first = (
        select(ClubMember.id, func.count().over().label("total"))
        .where(ClubMember.club_id == club.id, ClubMember.status == ACTIVE)
        .order_by(*order)
        .limit(limit)
        .subquery()
    )
    rows = db.session.execute(
        select(ClubMember, first.c.total)
        .join(first, first.c.id == ClubMember.id)
        .options(joinedload(ClubMember.user))
        .order_by(*order)
    ).all()
    return [row[0] for row in rows], (rows[0][1] if rows else 0)


def pending_count(club_id: int, organizer_id: int) -> int:
    """How many ask to join, for the club's organizers (Forbidden for anyone else)."""
    require_organizer(club_id, organizer_id)
    return (
        db.session.scalar(
            select(func.count(ClubMember.id)).where(
                ClubMember.club_id == club_id, ClubMember.status == PENDING
            )
        )
        or 0
    )


def organizer_ids(club_id: int) -> list[int]:
    """The club's organizer and co-organizers (active)."""
    return list(
        db.session.scalars(
            select(ClubMember.user_id).where(
                ClubMember.club_id == club_id,
                ClubMember.status == ACTIVE,
                ClubMember.role.in_((ORGANIZER, CO_ORGANIZER)),
            )
        )
    )


def active_member_ids(club_id: int) -> list[int]:
    return list(
        db.session.scalars(
            select(ClubMember.user_id)
            .where(ClubMember.club_id == club_id, ClubMember.status == ACTIVE)
            .order_by(ClubMember.user_id)
        )
    )


# -- joining and leaving ----------------------------------------------------------------------


def _count(club_id: int, delta: int) -> None:
    db.session.execute(
        update(Club)
        .where(Club.id == club_id)
        .values(member_count=Club.member_count + delta, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _move(place: ClubMember, expected: str, **values) -> None:
    """Change the place if it is still in `expected` status (else someone acted first)."""
    values.setdefault("updated_at", utcnow())
    result = db.session.execute(
        update(ClubMember)
        .where(ClubMember.id == place.id, ClubMember.status == expected)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise InvalidTransition("Someone else changed this membership meanwhile: try again.")
    db.session.expire(place)


def _event(name: str, club: Club, actor_id: int | None, member_id: int, **extra) -> None:
    record_event(
        name,
        subject_kind=KIND,
        subject_id=club.id,
        actor_id=actor_id,
        payload={
            "club_name": club.name,
            "title": club.name,
            "member_id": member_id,
            "organizer_ids": organizer_ids(club.id),
            "path": f"/clubs/{club.id}",
            **extra,
        },
    )


def join_club(
    club_id: int,
    user_id: int,
    *,
    message: str = "",
    invite_token: str | None = None,
) -> ClubMember:
    """Join the club: at once with its invite link or when it is open, or ask to join when
    it approves members (with a message to the organizers). Raises NotFound (a private club
    without its link), InvalidInvite, InviteOnly, RemovedFromClub, AlreadyMember,
    AlreadyRequested, ValidationFailed (the message)."""
    ensure_not_suspended(user_id)
    club = db.session.get(Club, club_id)
    if club is None:
        raise NotFound(NOT_FOUND)
    if invite_token is not None and not is_invite(club, invite_token):
        raise InvalidInvite()
    invited = invite_token is not None
    if not invited and not can_see(club, user_id):
        raise NotFound(NOT_FOUND)
    message = (message or "").strip()
    if len(message) > MESSAGE_MAX:
        raise ValidationFailed(
            f"At most {MESSAGE_MAX} characters (this one has {len(message)}).",
            fields={"message": [f"At most {MESSAGE_MAX} characters."]},
        )
    place = membership(club_id, user_id)
    if place is not None and place.status == ACTIVE:
        raise AlreadyMember()
    if place is not None and place.status == PENDING and not invited:
        raise AlreadyRequested()
    if place is not None and place.status == REMOVED and not invited:
        raise RemovedFromClub()
    if not invited and club.join_policy == INVITE:
        raise InviteOnly()
    now = utcnow()
    joins = invited or club.join_policy == OPEN
    status = ACTIVE if joins else PENDING
    values = {
        "status": status,
        "role": MEMBER,
        "message": message if not joins else "",
        "requested_at": now if not joins else None,
        "joined_at": now if joins else None,
        "left_at": None,
        "updated_at": now,
    }
    if place is None:
        place = ClubMember(club_id=club_id, user_id=user_id, **values)
        db.session.add(place)
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            raise AlreadyRequested(
                "Your request to join is already on its way: look again in a moment."
            ) from None
    else:
        _move(place, place.status, **values)
    if joins:
        _count(club_id, 1)
        _event("club.joined", club, user_id, user_id, invited=invited)
    else:
        _event(
            "club.join_requested",
            club,
            user_id,
            user_id,
            message=message[:140],
            path=f"/clubs/{club.id}/members",
        )
    db.session.commit()
    logger.info("user %s %s club %s", user_id, "joined" if joins else "asked to join", club_id)
    return db.session.get(ClubMember, place.id)


def leave_club(club_id: int, user_id: int) -> ClubMember:
    """Leave the club, or withdraw a request to join it. The organizer hands the club over
    first (OrganizerCannotLeave). Raises NotFound when the person is not in it."""
    place = membership(club_id, user_id)
    if place is None or place.status not in (ACTIVE, PENDING):
        raise NotFound("You are not in this club.")
    if place.status == ACTIVE and place.role == ORGANIZER:
        raise OrganizerCannotLeave()
    was_active = place.status == ACTIVE
    _move(place, place.status, status=LEFT, role=MEMBER, left_at=utcnow())
    if was_active:
        _count(club_id, -1)
        leave_conversation(KIND, club_id, user_id)
    db.session.commit()
    return db.session.get(ClubMember, place.id)


def member_action(
    club_id: int, actor_id: int, user_id: int, action: str, note: str = ""
) -> ClubMember:
    """An organizer (or co-organizer) acts on a person's place: approve or decline a request,
    promote a member to co-organizer or demote one, remove someone, or (the organizer only)
    make another member the organizer. Raises NotFound, NotAnOrganizer, InvalidTransition."""
    if action not in MEMBER_ACTIONS:
        raise NotFound("There is no such action on a membership.")
    club = club_for(club_id, actor_id)
    actor = require_organizer(club_id, actor_id)
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationFailed(
            f"At most {NOTE_MAX} characters.", fields={"note": [f"At most {NOTE_MAX} characters."]}
        )
    place = membership(club_id, user_id)
    if place is None or place.status not in (ACTIVE, PENDING):
        raise NotFound("That person is not in this club and has not asked to join.")
    now = utcnow()
    if action in ("approve", "decline"):
        if place.status != PENDING:
            raise InvalidTransition("Only a request to join can be approved or declined.")
        if action == "approve":
            _move(place, PENDING, status=ACTIVE, joined_at=now)
            _count(club_id, 1)
            _event("club.approve", club, actor_id, user_id)
        else:
            _move(place, PENDING, status=DECLINED)
            _event("club.decline", club, actor_id, user_id, note=note)
    else:
        if place.status != ACTIVE:
            raise InvalidTransition("Answer the request to join first.")
        if user_id == actor_id:
            raise InvalidTransition("You cannot do that to your own place: leave the club instead.")
        if place.role == ORGANIZER:
            raise NotAnOrganizer("Nobody can demote or remove the club's organizer.")
        if action == "promote":
            if place.role != MEMBER:
                raise InvalidTransition(f"@{_handle(user_id)} is a co-organizer already.")
            _move(place, ACTIVE, role=CO_ORGANIZER)
            _event("club.promote", club, actor_id, user_id)
        elif action == "demote":
            if place.role != CO_ORGANIZER:
                raise InvalidTransition("Only a co-organizer can be demoted.")
            _move(place, ACTIVE, role=MEMBER)
            _event("club.demote", club, actor_id, user_id)
        elif action == "remove":
            _move(place, ACTIVE, status=REMOVED, role=MEMBER, left_at=now)
            _count(club_id, -1)
            leave_conversation(KIND, club_id, user_id)
            _event("club.remove", club, actor_id, user_id, note=note)
        elif action == "make_organizer":
            if actor.role != ORGANIZER:
                raise NotAnOrganizer("Only the organizer can hand the club over.")
            _move(place, ACTIVE, role=ORGANIZER)
            _move(actor, ACTIVE, role=CO_ORGANIZER)
            club.organizer_id = user_id
            club.updated_at = now
            _event("club.make_organizer", club, actor_id, user_id)
    db.session.commit()
    return db.session.get(ClubMember, place.id)


def _handle(user_id: int) -> str:
    return db.session.scalar(select(User.handle).where(User.id == user_id)) or "someone"


def member_actions(viewer: ClubMember | None, place: ClubMember) -> list[str]:
    """What the viewer may do to this place now (buttons and the API's `actions`)."""
    if viewer is None or viewer.status != ACTIVE or viewer.role not in (ORGANIZER, CO_ORGANIZER):
        return []
    if place.status == PENDING:
        return ["approve", "decline"]
    if place.status != ACTIVE or place.user_id == viewer.user_id or place.role == ORGANIZER:
        return []
    actions = ["promote"] if place.role == MEMBER else ["demote"]
    if viewer.role == ORGANIZER:
        actions.append("make_organizer")
    actions.append("remove")
    return actions


def my_actions(club: Club, place: ClubMember | None, user_id: int | None) -> list[str]:
    """What the viewer may do with the club itself: join, request, leave, withdraw, edit,
    rotate_invite."""
    if user_id is None:
        return []
    if place is not None and place.status == ACTIVE:
        actions = []
        if place.role in (ORGANIZER, CO_ORGANIZER):
            actions += ["edit", "rotate_invite"]
        if place.role != ORGANIZER:
            actions.append("leave")
        return actions
    if place is not None and place.status == PENDING:
        return ["withdraw"]
    if place is not None and place.status == REMOVED:
        return []
    if club.join_policy == OPEN:
        return ["join"]
    if club.join_policy == APPROVAL:
        return ["request"]
    return []
