"""Buying clubs and memberships: browse and start clubs, join (open, by request, by invite
link), leave, the members and the organizers' actions on them, the invite link, and the club's
conversation. The same services as the pages (app/clubs/services.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import g, url_for

from app.api.club_schemas import (
    ClubIn,
    ClubList,
    ClubListArgs,
    ClubOut,
    ClubPatchIn,
    InviteOut,
    JoinIn,
    MemberActionIn,
    MemberList,
    MemberListArgs,
    MemberOut,
    PrivilegeOut,
)
from app.api.core import (
    PageArgs,
    TokenRequired,
    api_blueprint,
    api_user_id,
    link,
    page_of,
    paginate,
    token_optional,
    token_required,
    write_limit,
)
from app.api.schemas import MessageIn, MessageList, MessageOut
from app.clubs import services as clubs
from app.clubs.conversation import KIND
from app.clubs.membership import membership
from app.clubs.models import Club, ClubMember
from app.messaging import services as messaging

bp = api_blueprint(
    "clubs",
    __name__,
    "Buying clubs: start one (a privilege earned through reputation), join, leave, members, "
    "co-organizers, the invite link and the club's conversation.",
)

CLUB_ID = "$response.body#/id"
ACTION_PATH = "any(" + ", ".join(clubs.MEMBER_ACTIONS) + ")"
ERRORS = {
    401: "`unauthorized`: send a token",
    403: "`not_a_member`, `not_an_organizer`: your place in the club does not allow it; "
    "`trust_level_required`: your trust level does not open starting a club; "
    "`invite_only`: the club takes members by invite link only; `removed_from_club`: an "
    "organizer removed you (only an invite link lets you back)",
    404: "`not_found`: no such club, or a private club you are not in; `invalid_invite`: the "
    "invite token is not the club's current one",
    409: "`already_member`, `already_requested`, `organizer_cannot_leave`, "
    "`invalid_transition` (the place is not in a state for that action)",
    422: "`validation_failed`: a field is wrong (`fields` says which)",
}


def _errors(*statuses: int) -> dict:
    return {
        status: {
            "description": ERRORS[status],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for status in statuses
    }


def _answers(errors: tuple[int, ...], status: int, **targets: dict) -> dict:
    responses: dict[int, Any] = dict(_errors(*errors))
    if targets:
        responses[status] = {"links": targets}
    return {"responses": responses}


GET_CLUB = link("getClub", club_id=CLUB_ID)
CLUB_LINKS = {
    "GetClub": GET_CLUB,
    "ListMembers": link("listClubMembers", club_id=CLUB_ID),
    "JoinClub": link("joinClub", club_id=CLUB_ID),
    "ListMessages": link("listClubMessages", club_id=CLUB_ID),
}


def _viewer_id() -> int | None:
    user = g.get("api_user")
    return user.id if user is not None else None


@dataclass
class ClubView:
    """A club as one viewer sees it: their place, what they may do, the invite link for its
    organizers."""

    club: Club
    membership: ClubMember | None
    actions: list[str]
    organizer_reputation: dict | None
    invite_url: str | None

    @property
    def page_url(self) -> str:
        return url_for("clubs.detail", club_id=self.club.id, _external=True)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.club, name)


def club_view(club: Club, user_id: int | None) -> ClubView:
    return club_views([club], user_id)[0]


def club_views(found: list[Club], user_id: int | None) -> list[ClubView]:
    """Clubs as the viewer sees them, with a fixed number of queries for the whole list."""
    places = clubs.places_in([club.id for club in found], user_id)
    reputations = clubs.organizer_reputations([club.organizer_id for club in found])
    return [_view(club, places.get(club.id), reputations, user_id) for club in found]


def _view(club: Club, place, reputations: dict, user_id: int | None) -> ClubView:
    actions = clubs.my_actions(club, place, user_id)
    return ClubView(
        club=club,
        membership=place if place is not None and place.status in ("active", "pending") else None,
        actions=actions,
        organizer_reputation=reputations.get(club.organizer_id),
        invite_url=url_for("clubs.invite", club_id=club.id, token=club.invite_token, _external=True)
        if "rotate_invite" in actions
        else None,
    )


@dataclass
class MemberView:
    place: ClubMember
    actions: list[str]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.place, name)


@bp.route("/clubs/privilege", methods=["GET"])
@bp.doc(operationId="getClubPrivilege", responses=_errors(401))
@token_required("read")
@bp.response(200, PrivilegeOut)
def privilege():
    """Whether you may start a club: the rule, and where you stand against it."""
    return clubs.club_privilege(api_user_id())


@bp.route("/clubs", methods=["GET"])
@bp.doc(operationId="listClubs", responses=_errors(401))
@token_optional
@bp.arguments(ClubListArgs, location="query")
@bp.response(200, ClubList)
def index(args):
    """Public clubs, the busiest first (`q`: words in the name or area); with `mine=true`,
    the clubs you are in or have asked to join instead (needs a token)."""
    user_id = _viewer_id()
    if args["mine"]:
        if user_id is None:
            raise TokenRequired()
        places = clubs.clubs_of(user_id)
        views = club_views([place.club for place in places], user_id)
        return paginate(views, args["page"], args["per_page"])
    found = clubs.public_clubs(args["q"], args["page"], args["per_page"])
    return page_of(
        club_views(found.items, user_id),
        args["page"],
        args["per_page"],
        found.total,
    )


@bp.route("/clubs", methods=["POST"])
@bp.doc(operationId="createClub", **_answers((401, 403, 422), 201, **CLUB_LINKS))
@token_required("write")
@write_limit()
@bp.arguments(ClubIn)
@bp.response(201, ClubOut)
def create(data):
    """Start a club; you become its organizer. Starting a club takes trust level 2
    (Member): at least CLUB_MIN_POSITIVE (3) positive ratings received, at least
    CLUB_MIN_PERCENT (90) % positive over 12 months, an account at least 14 days old and a
    completed transaction (staff exempt): GET /clubs/privilege and GET /me/trust say where
    you stand; 403 `trust_level_required` otherwise."""
    club = clubs.create_club(api_user_id(), **data)
    return club_view(club, api_user_id())


@bp.route("/clubs/<id:club_id>", methods=["GET"])
@bp.doc(operationId="getClub", **_answers((401, 404), 200, **CLUB_LINKS))
@token_optional
@bp.response(200, ClubOut)
def detail(club_id: int):
    """A public club, or a private one you are in, with your `membership` and the `actions`
    you may take (join, request, withdraw, leave, edit, rotate_invite)."""
    return club_view(clubs.club_for(club_id, _viewer_id()), _viewer_id())


@bp.route("/clubs/<id:club_id>", methods=["PATCH"])
@bp.doc(operationId="updateClub", **_answers((401, 403, 404, 422), 200, GetClub=GET_CLUB))
@token_required("write")
@write_limit()
@bp.arguments(ClubPatchIn)
@bp.response(200, ClubOut)
def update(data, club_id: int):
    """Change the club's name, description, area, visibility or join policy (its organizer
    and co-organizers)."""
    club = clubs.update_club(club_id, api_user_id(), **data)
    return club_view(club, api_user_id())


@bp.route("/clubs/<id:club_id>/join", methods=["POST"])
@bp.doc(
    operationId="joinClub",
    **_answers(
        (401, 403, 404, 409, 422),
        200,
        GetClub=link("getClub", club_id="$request.path.club_id"),
        LeaveClub=link("leaveClub", club_id="$request.path.club_id"),
    ),
)
@token_required("write")
@write_limit()
@bp.arguments(JoinIn, required=False)
@bp.response(200, MemberOut)
def join(data, club_id: int):
    """Join the club: at once when it is open or with its `invite_token` (whatever the policy,
    private clubs too), or ask to join (status `pending`, with a `message` to the organizers)
    when it approves members. 403 `invite_only` without the token of an invite-only club."""
    place = clubs.join_club(
        club_id,
        api_user_id(),
        message=data.get("message") or "",
        invite_token=data.get("invite_token"),
    )
    return MemberView(place, [])


@bp.route("/clubs/<id:club_id>/leave", methods=["POST"])
@bp.doc(operationId="leaveClub", responses=_errors(401, 404, 409))
@token_required("write")
@write_limit()
@bp.response(200, MemberOut)
def leave(club_id: int):
    """Leave the club (its conversation stops reaching you), or withdraw your request to join.
    The organizer hands the club over first (409 `organizer_cannot_leave`)."""
    return MemberView(clubs.leave_club(club_id, api_user_id()), [])


@bp.route("/clubs/<id:club_id>/members", methods=["GET"])
@bp.doc(operationId="listClubMembers", responses=_errors(401, 403, 404))
@token_optional
@bp.arguments(MemberListArgs, location="query")
@bp.response(200, MemberList)
def members(args, club_id: int):
    """The club's active members, organizers first; `status=pending`: the requests to join
    (its organizers only). Each with the `actions` you may take on it."""
    user_id = _viewer_id()
    people = clubs.members_of(club_id, user_id, args["status"])
    viewer = membership(club_id, user_id)
    views = [MemberView(place, clubs.member_actions(viewer, place)) for place in people]
    return paginate(views, args["page"], args["per_page"])


@bp.route(f"/clubs/<id:club_id>/members/<id:user_id>/<{ACTION_PATH}:action>", methods=["POST"])
@bp.doc(
    operationId="takeClubMemberAction",
    **_answers(
        (401, 403, 404, 409, 422),
        200,
        ListMembers=link("listClubMembers", club_id="$request.path.club_id"),
    ),
)
@token_required("write")
@write_limit()
@bp.arguments(MemberActionIn, required=False)
@bp.response(200, MemberOut)
def member_action(data, club_id: int, user_id: int, action: str):
    """An organizer or co-organizer acts on a person's place: approve or decline (optional
    `note`) a request to join; promote a member to co-organizer or demote one; remove someone
    (optional `note`; they come back only by invite link); make_organizer hands the club over
    (the organizer only). Nobody can demote or remove the organizer."""
    place = clubs.member_action(club_id, api_user_id(), user_id, action, data.get("note") or "")
    viewer = membership(club_id, api_user_id())
    return MemberView(place, clubs.member_actions(viewer, place))


@bp.route("/clubs/<id:club_id>/invite", methods=["POST"])
@bp.doc(
    operationId="rotateClubInvite",
    **_answers((401, 403, 404), 200, GetClub=link("getClub", club_id="$request.path.club_id")),
)
@token_required("write")
@write_limit()
@bp.response(200, InviteOut)
def rotate_invite(club_id: int):
    """Make a new invite link (organizers only): the old one stops working at once."""
    club = clubs.rotate_invite(club_id, api_user_id())
    return {
        "invite_url": url_for(
            "clubs.invite", club_id=club.id, token=club.invite_token, _external=True
        )
    }


@bp.route("/clubs/<id:club_id>/messages", methods=["GET"])
@bp.doc(operationId="listClubMessages", responses=_errors(401, 404))
@token_required("read")
@bp.arguments(PageArgs, location="query")
@bp.response(200, MessageList)
def messages(args, club_id: int):
    """The club's conversation (active members only), oldest first; reading marks it read."""
    items = messaging.thread(KIND, club_id, api_user_id())
    return paginate(items, args["page"], args["per_page"])


@bp.route("/clubs/<id:club_id>/messages", methods=["POST"])
@bp.doc(operationId="sendClubMessage", responses=_errors(401, 404, 422))
@token_required("write")
@write_limit()
@bp.arguments(MessageIn)
@bp.response(201, MessageOut)
def send(data, club_id: int):
    """Write to everyone in the club."""
    return messaging.send_message(KIND, club_id, api_user_id(), data["body"])
