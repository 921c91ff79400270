"""Clubs over HTTP: browse and start clubs, a club's page, its members, joining (open, by
request, by invite link), leaving, the organizers' actions and the club's conversation. Thin:
load the form, call one service of app/clubs/services.py, answer (a failed form goes back to
its page with what was typed: app/form_drafts.py)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.clubs import services
from app.clubs.conversation import KIND
from app.clubs.forms import ClubForm, JoinForm, MemberActionForm
from app.clubs.membership import membership
from app.clubs.models import ACTIVE, PENDING, PRIVATE
from app.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from app.form_drafts import EXPIRED, form_refused, keep_failed_form, refilled_form
from app.messaging.forms import MessageForm
from app.messaging.services import send_message, thread
from app.pagination import page_number

bp = Blueprint("clubs", __name__)

PAGE_SIZE = 20
MEMBERS_SHOWN = 12  # avatars on the club page; the members page has them all
NEW_KEY = "club-new"


def _edit_key(club_id: int) -> str:
    return f"club-edit:{club_id}"


def _join_key(club_id: int) -> str:
    return f"club-join:{club_id}"


def _message_key(club_id: int) -> str:
    return f"club-message:{club_id}"


def _to_club(club_id: int, anchor: str | None = None):
    return redirect(url_for("clubs.detail", club_id=club_id, _anchor=anchor), code=303)


def _viewer_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


@bp.get("/clubs")
def index():
    query = request.args.get("q", "")[: services.SEARCH_MAX]
    page = services.public_clubs(query, page_number(request.args.get("page")), PAGE_SIZE)
    user_id = _viewer_id()
    return render_template(
        "clubs/index.html",
        page=page,
        query=query,
        mine=services.clubs_of(user_id) if user_id else [],
        privilege=services.club_privilege(user_id) if user_id else None,
        rule=services.club_rule(),
    )


@bp.get("/clubs/new")
@login_required
def new():
    form = refilled_form(NEW_KEY, lambda data: ClubForm(formdata=data))
    return render_template(
        "clubs/form.html",
        form=form,
        club=None,
        privilege=services.club_privilege(current_user.id),
    )


@bp.post("/clubs/new")
@login_required
def create():
    form = ClubForm()
    back = redirect(url_for("clubs.new"), code=303)
    if form_refused(form, NEW_KEY):
        return back
    try:
        club = services.create_club(
            current_user.id,
            name=form.name.data or "",
            description=form.description.data or "",
            area=form.area.data or "",
            visibility=form.visibility.data or "",
            join_policy=form.join_policy.data or "",
        )
    except services.NotPrivileged as error:
        flash(error.message, "error")
        return back
    except ValidationFailed as error:
        keep_failed_form(NEW_KEY, form, error.fields or {"name": [error.message]})
        return back
    flash(f"“{club.name}” is started. Invite people, then draft its first deal.", "success")
    return _to_club(club.id)


def _club_page(club, place):
    """What the club page shows to this viewer."""
    user_id = _viewer_id()
    is_member = place is not None and place.status == ACTIVE
    runs = is_member and place.role in ("organizer", "co_organizer")
    members, member_total = services.members_shown(club, MEMBERS_SHOWN)
    return {
        "club": club,
        "place": place,
        "is_member": is_member,
        "runs_club": runs,
        "actions": services.my_actions(club, place, user_id),
        "members": members,
        "member_total": member_total,
        "organizer_rep": services.organizer_reputation(club.organizer_id),
        "pending_count": services.pending_count(club.id, user_id) if runs else 0,
        "invite_url": url_for(
            "clubs.invite", club_id=club.id, token=club.invite_token, _external=True
        )
        if runs
        else None,
        "join_form": refilled_form(_join_key(club.id), lambda data: JoinForm(formdata=data)),
        "thread": thread(KIND, club.id, user_id) if is_member else [],
        "message_form": refilled_form(
            _message_key(club.id), lambda data: MessageForm(formdata=data)
        )
        if is_member
        else None,
        "policy_labels": services.POLICY_LABELS,
        "role_labels": services.ROLE_LABELS,
    }


@bp.get("/clubs/<int:club_id>")
def detail(club_id: int):
    club = services.club_for(club_id, _viewer_id())
    place = membership(club_id, _viewer_id())
    return render_template("clubs/detail.html", **_club_page(club, place))


@bp.get("/clubs/<int:club_id>/edit")
@login_required
def edit(club_id: int):
    club = services.club_for(club_id, current_user.id)
    if "edit" not in services.my_actions(
        club, membership(club_id, current_user.id), current_user.id
    ):
        raise Forbidden("Only the club's organizer and co-organizers can edit it.")
    form = refilled_form(_edit_key(club_id), lambda data: ClubForm(formdata=data, obj=club))
    return render_template("clubs/form.html", form=form, club=club, privilege=None)


@bp.post("/clubs/<int:club_id>/edit")
@login_required
def update(club_id: int):
    form = ClubForm()
    back = redirect(url_for("clubs.edit", club_id=club_id), code=303)
    if form_refused(form, _edit_key(club_id)):
        return back
    try:
        services.update_club(
            club_id,
            current_user.id,
            name=form.name.data or "",
            description=form.description.data or "",
            area=form.area.data or "",
            visibility=form.visibility.data or "",
            join_policy=form.join_policy.data or "",
        )
    except ValidationFailed as error:
        keep_failed_form(_edit_key(club_id), form, error.fields or {"name": [error.message]})
        return back
    flash("Club saved.", "success")
    return _to_club(club_id)


@bp.get("/clubs/<int:club_id>/members")
def members(club_id: int):
    user_id = _viewer_id()
    club = services.club_for(club_id, user_id)
    place = membership(club_id, user_id)
    runs = (
        place is not None and place.status == ACTIVE and place.role in ("organizer", "co_organizer")
    )
    return render_template(
        "clubs/members.html",
        club=club,
        place=place,
        members=services.members_of(club_id, user_id),
        pending=services.members_of(club_id, user_id, PENDING) if runs else [],
        actions_for=lambda person: services.member_actions(place, person),
        runs_club=runs,
        role_labels=services.ROLE_LABELS,
    )


MEMBER_ACTION_WORDS = {
    "approve": "Request approved: @{} is a member now.",
    "decline": "Request from @{} declined.",
    "promote": "@{} is a co-organizer now.",
    "demote": "@{} is a member again.",
    "remove": "@{} is removed from the club.",
    "make_organizer": "@{} is the club's organizer now; you are a co-organizer.",
}


@bp.post("/clubs/<int:club_id>/members/<int:user_id>/<action>")
@login_required
def member_action(club_id: int, user_id: int, action: str):
    if action not in services.MEMBER_ACTIONS:
        raise NotFound("There is no such action on a membership.")
    form = MemberActionForm()
    back = redirect(url_for("clubs.members", club_id=club_id), code=303)
    if not form.validate():
        flash(EXPIRED, "error")
        return back
    try:
        place = services.member_action(club_id, current_user.id, user_id, action, form.note.data)
    except (Conflict, ValidationFailed) as error:
        flash(error.message, "error")
        return back
    flash(MEMBER_ACTION_WORDS[action].format(place.user.handle), "success")
    return back


@bp.post("/clubs/<int:club_id>/join")
@login_required
def join(club_id: int):
    form = JoinForm()
    back = _to_club(club_id, "join")
    if not form.validate():
        flash(EXPIRED, "error")
        return back
    try:
        place = services.join_club(club_id, current_user.id, message=form.message.data or "")
    except ValidationFailed as error:
        keep_failed_form(_join_key(club_id), form, error.fields or {"message": [error.message]})
        return back
    except (Conflict, Forbidden) as error:
        flash(error.message, "error")
        return back
    if place.status == PENDING:
        flash("Request sent. An organizer will approve or decline it; we tell you.", "success")
    else:
        flash("Welcome to the club!", "success")
    return back


@bp.get("/clubs/<int:club_id>/join/<token>")
def invite(club_id: int, token: str):
    """The invite link: the club, and a button to join it (private clubs too)."""
    try:
        club = services.club_for(club_id, None, invite_token=token)
        if not services.is_invite(club, token):
            raise services.InvalidInvite()
    except NotFound:
        return render_template("clubs/invite.html", club=None, token=token), 404
    place = membership(club_id, _viewer_id())
    if place is not None and place.status == ACTIVE:
        return _to_club(club_id)
    return render_template(
        "clubs/invite.html",
        club=club,
        token=token,
        organizer_rep=services.organizer_reputation(club.organizer_id),
        form=JoinForm(),
    )


@bp.post("/clubs/<int:club_id>/join/<token>")
@login_required
def join_by_invite(club_id: int, token: str):
    form = JoinForm()
    if not form.validate():
        flash(EXPIRED, "error")
        return redirect(url_for("clubs.invite", club_id=club_id, token=token), code=303)
    try:
        services.join_club(club_id, current_user.id, invite_token=token)
    except services.AlreadyMember:
        return _to_club(club_id)
    except DomainError as error:
        if isinstance(error, NotFound):
            raise
        flash(error.message, "error")
        return redirect(url_for("clubs.invite", club_id=club_id, token=token), code=303)
    flash("Welcome to the club!", "success")
    return _to_club(club_id)


@bp.post("/clubs/<int:club_id>/leave")
@login_required
def leave(club_id: int):
    form = MemberActionForm()
    if not form.validate():
        flash(EXPIRED, "error")
        return _to_club(club_id)
    try:
        place = services.leave_club(club_id, current_user.id)
    except Conflict as error:
        flash(error.message, "error")
        return _to_club(club_id)
    was_request = place.requested_at is not None and place.joined_at is None
    if place.club.visibility == PRIVATE:  # its page is for members only now
        flash(f"You left “{place.club.name}”.", "success")
        return redirect(url_for("clubs.index"), code=303)
    flash("Request withdrawn." if was_request else "You left the club.", "success")
    return _to_club(club_id)


@bp.post("/clubs/<int:club_id>/invite")
@login_required
def rotate_invite(club_id: int):
    form = MemberActionForm()
    if not form.validate():
        flash(EXPIRED, "error")
        return _to_club(club_id, "invite")
    services.rotate_invite(club_id, current_user.id)
    flash("New invite link made: the old one no longer works.", "success")
    return _to_club(club_id, "invite")


@bp.post("/clubs/<int:club_id>/messages")
@login_required
def send(club_id: int):
    form = MessageForm()
    back = _to_club(club_id, "messages")
    if form_refused(form, _message_key(club_id)):
        return back
    try:
        send_message(KIND, club_id, current_user.id, form.body.data)
    except ValidationFailed as error:
        keep_failed_form(_message_key(club_id), form, error.fields or {"body": [error.message]})
    return back
