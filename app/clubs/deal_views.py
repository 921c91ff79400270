"""Group deals over HTTP: draft one in a club, the deal page, pledge/change/withdraw, the
deal's and the pledges' actions, the printable pickup list, My deals. Thin: load the form, call
one service of app/clubs/deals.py, answer (a failed form goes back to its page with what was
typed: app/form_drafts.py)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.routing import BuildError

from app.accounts.services import get_user_by_handle
from app.clubs import deal_pages as pages
from app.clubs import deals as services
from app.clubs import states
from app.clubs.deal_forms import DealForm, PledgeForm, percent_text, tier_field_names
from app.clubs.membership import get_club, require_organizer, runs_club
from app.clubs.models import PICKUP, GroupDeal, Pledge
from app.errors import Conflict, DomainError, NotFound, ValidationFailed
from app.extensions import db
from app.form_drafts import EXPIRED, form_refused, keep_failed_form, refilled_form
from app.messaging.forms import MessageForm
from app.messaging.services import send_message, thread
from app.payments.services import settles_in_person

bp = Blueprint("deals", __name__)

# The services' field names -> the draft form's.
DRAFT_FIELDS = {
    "supplier_id": "supplier",
    "tiers": "tier1_quantity",
    "shipping_cents": "shipping",
    "organizer_fee_bps": "organizer_fee",
}


def _to_deal(deal_id: int, anchor: str | None = None):
    return redirect(url_for("deals.detail", deal_id=deal_id, _anchor=anchor), code=303)


def _site_currency() -> str:
    from flask import current_app

    return current_app.config.get("SITE_CURRENCY", "USD")


@bp.app_template_global()
def club_deals(club) -> dict:
    """The deals a club page shows (deals/_club_deals.html): open, past, and drafts for the
    people who run the club."""
    viewer = current_user.id if current_user.is_authenticated else None
    return pages.club_deals(club.id, viewer)


@bp.app_template_global()
def open_group_deals(limit: int = 6) -> list[GroupDeal]:
    """Open deals of public clubs, closing soonest first (the home page)."""
    return pages.open_public_deals(limit)


@bp.app_template_filter("deal_moment")
def _deal_moment(value) -> str:
    return pages.moment(value)


@bp.app_template_global()
def fee_percent(bps: int) -> str:
    """500 -> "5" (the organizer's fee as people read it)."""
    return percent_text(bps)


@bp.app_template_global()
def deal_progress(deal: GroupDeal) -> pages.Progress:
    return pages.progress(deal)


# -- drafting ----------------------------------------------------------------------------


def _draft_fields(error: ValidationFailed) -> dict[str, list[str]]:
    if not error.fields:
        return {"title": [error.message]}
    found: dict[str, list[str]] = {}
    for name, messages in error.fields.items():
        if name.startswith("tiers"):
            name = "tiers"
        found.setdefault(DRAFT_FIELDS.get(name, name), []).extend(messages)
    return found


def _terms_of(form: DealForm, key: str):
    """The service's arguments from a posted draft form, or None (the errors kept under
    `key` for the page the post goes back to)."""
    if not form.validate():
        if "csrf_token" in form.errors:
            flash(EXPIRED, "error")
        else:
            form.terms(_site_currency())  # the other fields' reasons too, all at once
            keep_failed_form(key, form, _all_errors(form))
        return None
    terms = form.terms(_site_currency())
    if terms is None:
        keep_failed_form(key, form, _all_errors(form))
        return None
    handle = terms.pop("supplier_handle")
    try:
        supplier = get_user_by_handle(handle)
    except NotFound:
        keep_failed_form(key, form, {"supplier": [f"Nobody here has the handle @{handle}."]})
        return None
    terms["supplier_id"] = supplier.id
    return terms


def _all_errors(form: DealForm) -> dict[str, list[str]]:
    return {field.name: list(field.errors) for field in form if field.errors}


@bp.route("/clubs/<int:club_id>/deals/new", methods=["GET", "POST"])
@login_required
def new(club_id: int):
    club = get_club(club_id)
    require_organizer(club.id, current_user.id)  # 403 for anyone who does not run the club
    key = pages.draft_form_key(club.id)
    if request.method == "POST":
        form = DealForm()
        terms = _terms_of(form, key)
        if terms is None:
            return redirect(url_for("deals.new", club_id=club.id), 303)
        try:
            deal = services.create_deal(club.id, current_user.id, **terms)
        except ValidationFailed as error:
            keep_failed_form(key, form, _draft_fields(error))
            return redirect(url_for("deals.new", club_id=club.id), 303)
        flash(
            "Draft saved. Check it, then send it to the supplier: pledges open once they "
            "accept the terms.",
            "success",
        )
        return _to_deal(deal.id)
    form = refilled_form(key, lambda data: DealForm(formdata=data))
    return render_template(
        "deals/form.html", form=form, club=club, deal=None, tier_names=tier_field_names
    )


@bp.route("/deals/<int:deal_id>/edit", methods=["GET", "POST"])
@login_required
def edit(deal_id: int):
    deal = services.get_deal(deal_id, current_user.id)
    if deal.organizer_id != current_user.id and not _runs(deal):
        raise NotFound("We could not find that deal.")
    if deal.state not in states.EDITABLE:
        flash(
            "The supplier has these terms: take the deal back to edit it, or cancel and redraft.",
            "error",
        )
        return _to_deal(deal.id)
    key = pages.edit_form_key(deal.id)
    if request.method == "POST":
        form = DealForm()
        terms = _terms_of(form, key)
        if terms is None:
            return redirect(url_for("deals.edit", deal_id=deal.id), 303)
        try:
            services.update_deal(deal.id, current_user.id, **terms)
        except ValidationFailed as error:
            keep_failed_form(key, form, _draft_fields(error))
            return redirect(url_for("deals.edit", deal_id=deal.id), 303)
        except Conflict as error:
            flash(error.message, "error")
            return _to_deal(deal.id)
        flash("Draft saved.", "success")
        return _to_deal(deal.id)
    form = refilled_form(key, lambda data: DealForm.from_deal(deal, formdata=data))
    return render_template(
        "deals/form.html", form=form, club=deal.club, deal=deal, tier_names=tier_field_names
    )


def _runs(deal: GroupDeal) -> bool:
    return runs_club(deal.club_id, current_user.id)


# -- the deal page ----------------------------------------------------------------------------


@bp.get("/deals/<int:deal_id>")
@login_required
def detail(deal_id: int):
    # 404 for whoever may not see it; with its club and people, which the page shows
    deal = services.get_deal(deal_id, current_user.id, for_page=True)
    role = pages.role_in(deal, current_user.id)
    pledge = pages.pledge_of(deal.id, current_user.id)
    # Reading the thread marks it read, a commit that expires every loaded row: do it before
    # the pledges table is loaded, or each of its pledges would be fetched again one by one.
    conversation = _conversation(deal, role, pledge)
    bar = pages.progress(deal)
    view = services.deal_view(
        deal, current_user.id, pledges={deal.id: pledge} if pledge is not None else {}
    )
    quantity = pledge.quantity if pledge is not None else 1
    feedback_panels = _feedback_panels(deal, role, pledge)
    return render_template(
        "deals/detail.html",
        deal=deal,
        club=deal.club,
        role=role,
        runs_club=_runs(deal),
        pledge=pledge,
        view=view,
        bar=bar,
        bar_lines=pages.progress_lines(deal, bar),
        tier_rows=pages.tier_rows(deal, bar),
        cost=pages.pledge_cost(deal, quantity, pledge),
        machine=states.DEAL_MACHINE,
        pledge_machine=states.PLEDGE_MACHINE,
        next_step=pages.next_step(deal, role, pledge),
        rules=pages.rules(deal),
        buttons=pages.deal_buttons(deal, current_user.id),
        pledge_buttons=pages.pledge_buttons(pledge, current_user.id) if pledge else [],
        pledge_actions=pages.pledge_actions(pledge, current_user.id) if pledge else [],
        pledge_form=refilled_form(
            pages.pledge_form_key(deal.id),
            lambda data: PledgeForm(formdata=data, quantity=quantity),
        ),
        **_roster_context(deal, role),
        **_pledging(view),
        counts=pages.pledges_by_state(deal.id),
        events=pages.deal_events(deal.id),
        pledge_events=pages.pledge_events(pledge.id) if pledge else [],
        in_person=settles_in_person(),
        feedback_panels=feedback_panels,
        **_disputes_context(deal, role, pledge),
        **conversation,
    )


def _disputes_context(deal: GroupDeal, role: str | None, pledge) -> dict:
    """Disputes and agreed refunds between a member and the organizer (app/disputes): the
    disputes about the deal's pledges (one query), whether the member may propose a refund on
    their own pledge, and the pledge states in which the organizer may."""
    from app.clubs.money import RELEASED_DEALS
    from app.disputes.models import Dispute
    from app.disputes.refunds import can_offer

    if deal.state not in RELEASED_DEALS:  # nothing paid out to dispute yet
        return {"pledge_disputes": {}, "pledge_refundable": False, "refund_states": ()}
    found = db.session.execute(
        select(Dispute.subject_id, Dispute.id)
        .join(Pledge, Pledge.id == Dispute.subject_id)
        .where(Dispute.subject_kind == pages.PLEDGE, Pledge.deal_id == deal.id)
    ).all()
    return {
        "pledge_disputes": dict(found),
        "pledge_refundable": bool(
            pledge is not None
            and pledge.state in (states.PAID, states.DELIVERED)
            and can_offer(pages.PLEDGE, pledge, current_user.id)
        ),
        "refund_states": (states.PAID, states.DELIVERED) if role == "organizer" else (),
    }


def _conversation(deal: GroupDeal, role: str | None, pledge) -> dict:
    """The thread on the page: the deal's (organizer and supplier), or a pledge's (its member,
    the organizer and the supplier): the member's own, or for the organizer and the supplier
    the one chosen in the pledges table (?pledge=<id>)."""
    chosen = _chosen_pledge(deal, role)
    if chosen is not None:
        kind, subject_id, other = pages.PLEDGE, chosen.id, chosen.member
        empty = f"No messages yet with @{chosen.member.handle} about their pledge."
    elif role in ("organizer", "supplier"):
        kind, subject_id = pages.DEAL, deal.id
        other = deal.supplier if role == "organizer" else deal.organizer
        empty = "No messages yet. Agree on the terms and the delivery here."
    elif pledge is not None:
        kind, subject_id, other = pages.PLEDGE, pledge.id, deal.organizer
        empty = (
            f"No messages yet. Questions about your pledge, payment or pickup: @"
            f"{deal.organizer.handle} and @{deal.supplier.handle} read them here."
        )
    else:
        return {"messages": None}
    return {
        "messages": thread(kind, subject_id, current_user.id),
        "message_form": refilled_form(
            pages.message_form_key(kind, subject_id), lambda data: MessageForm(formdata=data)
        ),
        "message_url": url_for(
            "deals.send",
            deal_id=deal.id,
            about=kind,
            pledge=chosen.id if chosen is not None else None,
        ),
        "message_other": other,
        "message_empty": empty,
        "message_pledge": chosen,
    }


def _chosen_pledge(deal: GroupDeal, role: str | None):
    """The pledge whose thread the organizer or the supplier opened (?pledge=<id>)."""
    wanted = request.args.get("pledge", type=int)
    if wanted is None or role not in ("organizer", "supplier"):
        return None
    chosen = db.session.get(Pledge, wanted)
    return chosen if chosen is not None and chosen.deal_id == deal.id else None


@bp.post("/deals/<int:deal_id>/messages")
@login_required
def send(deal_id: int):
    """Write in the deal's thread (?about=deal) or in your pledge's (?about=pledge)."""
    deal = services.get_deal(deal_id, current_user.id)
    chosen = _chosen_pledge(deal, pages.role_in(deal, current_user.id))
    if chosen is not None:
        kind, subject_id = pages.PLEDGE, chosen.id
    elif request.args.get("about") == pages.DEAL:
        kind, subject_id = pages.DEAL, deal.id
    else:
        mine = pages.pledge_of(deal.id, current_user.id)
        if mine is None:
            raise NotFound("You have no pledge to this deal.")
        kind, subject_id = pages.PLEDGE, mine.id
    form = MessageForm()
    key = pages.message_form_key(kind, subject_id)
    back = redirect(
        url_for(
            "deals.detail",
            deal_id=deal_id,
            pledge=chosen.id if chosen is not None else None,
            _anchor="messages",
        ),
        303,
    )
    if form_refused(form, key):
        return back
    try:
        send_message(kind, subject_id, current_user.id, form.body.data)
    except ValidationFailed as error:
        keep_failed_form(key, form, error.fields or {"body": [error.message]})
    return back


def _roster_context(deal: GroupDeal, role: str | None) -> dict:
    """The pledges table for the organizer and the supplier, with what they may do to each."""
    if role not in ("organizer", "supplier"):
        return {"roster_pledges": None, "roster_actions": {}, "can_deliver_all": False}
    found = pages.deal_pledges(deal.id)
    actions = {
        pledge_id: [action for action in offered if action in ROSTER_ACTIONS]
        for pledge_id, offered in pages.roster_actions(deal, found, current_user.id).items()
    }
    can_deliver_all = (
        deal.state == states.SETTLED
        and deal.fulfilment == PICKUP
        and any(pledge.state == states.PAID for pledge in found)
    )
    return {"roster_pledges": found, "roster_actions": actions, "can_deliver_all": can_deliver_all}


# What the organizer and the supplier do to a pledge from the pledges table.
ROSTER_ACTIONS = ("record_payment", "mark_delivered", "mark_no_show")


def _pledging(view) -> dict:
    """Whether the viewer may pledge now, and if not why (the service's DealView)."""
    return {"can_pledge": bool(view.can_pledge), "why_not": view.why_not or ""}


def _feedback_panels(deal: GroupDeal, role: str | None, pledge) -> list:
    """The feedback this viewer can see or give on the deal: their pledge's (member), or the
    deal's (organizer and supplier) and every finished pledge's."""
    from sqlalchemy import select

    from app.reviews.services import feedback_view, feedback_views
    from app.transactions.registry import get_kind

    panels = []
    if pledge is not None and get_kind(pages.PLEDGE).feedback_opens(pledge):
        panels.append(feedback_view(pledge.id, current_user.id, kind=pages.PLEDGE))
    if role in ("organizer", "supplier"):
        if get_kind(pages.DEAL).feedback_opens(deal):
            panels.append(feedback_view(deal.id, current_user.id, kind=pages.DEAL))
        finished = db.session.scalars(
            select(Pledge.id)
            .where(Pledge.deal_id == deal.id, Pledge.state.in_(states.FEEDBACK_OPEN))
            .order_by(Pledge.id)
        ).all()
        # Every finished pledge's panel at once: a fixed number of statements for any number.
        views = feedback_views(finished, current_user.id, kind=pages.PLEDGE)
        panels.extend(views[pledge_id] for pledge_id in finished if pledge_id in views)
    return [panel for panel in panels if panel.pairs]


@bp.get("/deals/<int:deal_id>/roster")
@login_required
def roster(deal_id: int):
    deal = services.get_deal(deal_id, current_user.id)
    rows = services.roster(deal.id, current_user.id)  # refuses members and strangers
    return render_template(
        "deals/roster.html",
        deal=deal,
        rows=rows,
        bar=pages.progress(deal),
        total_quantity=sum(row.quantity for row in rows),
        total_amount=sum(row.amount_cents for row in rows),
    )


# -- pledging ----------------------------------------------------------------------------------


@bp.post("/deals/<int:deal_id>/pledge")
@login_required
def pledge(deal_id: int):
    form = PledgeForm()
    key = pages.pledge_form_key(deal_id)
    back = _to_deal(deal_id, "pledge")
    if form_refused(form, key):
        return back
    existing = pages.pledge_of(deal_id, current_user.id)
    try:
        if existing is not None and existing.state == states.PLEDGED:
            done = services.change_pledge(existing.id, current_user.id, form.quantity.data)
            message = "Pledge changed"
        else:
            done = services.pledge(deal_id, current_user.id, form.quantity.data)
            message = "Pledged"
    except ValidationFailed as error:
        keep_failed_form(key, form, {"quantity": [error.message]})
        return back
    except DomainError as error:
        if error.code == "saved_card_required":
            flash(f"{error.message} Save one, then pledge again.", "error")
            return redirect(
                url_for("payments.card", next=url_for("deals.detail", deal_id=deal_id)), 303
            )
        keep_failed_form(key, form, {"quantity": [error.message]})
        return back
    deal = done.deal
    flash(
        f"{message}: {pages.plural(done.quantity, deal.unit)}. You pay only if the deal tips, "
        "at the final price.",
        "success",
    )
    return back


@bp.post("/deals/<int:deal_id>/pledges/<int:pledge_id>/<action>")
@login_required
def pledge_act(deal_id: int, pledge_id: int, action: str):
    if action not in states.PLEDGE_MACHINE.user_actions and action != "retry_charge":
        raise NotFound(states.PLEDGE_MACHINE.unknown_action)
    back = _to_deal(
        deal_id,
        "roster" if action in ("record_payment", "mark_no_show", "mark_delivered") else "pledge",
    )
    try:
        if action == "retry_charge":
            services.retry_charge(pledge_id, current_user.id)
            flash("Charged. Thank you!", "success")
            return back
        form = pages.action_form(action, formdata=request.form)
        if not form.validate():
            if "csrf_token" in form.errors:
                flash(EXPIRED, "error")
            else:
                keep_failed_form(pages.action_form_key(action, pledge_id), form)
            return back
        if action == "withdraw":
            services.withdraw_pledge(pledge_id, current_user.id, note=form.note.data or "")
        else:
            services.pledge_action(pledge_id, action, current_user.id, note=form.note.data or "")
    except ValidationFailed as error:
        keep_failed_form(
            pages.action_form_key(action, pledge_id),
            pages.action_form(action, request.form),
            error.fields or {"note": [error.message]},
        )
        return back
    except (Conflict, DomainError) as error:
        if isinstance(error, NotFound):
            raise
        flash(error.message, "error")
        return back
    flash(PLEDGE_DONE.get(action, "Done."), "success")
    return back


PLEDGE_DONE = {
    "withdraw": "Pledge withdrawn. You can pledge again until the deadline.",
    "record_payment": "Payment recorded.",
    "mark_no_show": "Pledge dropped.",
    "mark_delivered": "Marked as delivered.",
    "confirm_receipt": "Thanks! Receipt confirmed. You can rate the organizer and the "
    "supplier now.",
    "report_problem": "Problem reported. A moderator decides; the organizer and the supplier "
    "are told.",
}


@bp.post("/deals/<int:deal_id>/deliver-all")
@login_required
def deliver_all(deal_id: int):
    try:
        count = services.deliver_all(deal_id, current_user.id)
    except (Conflict, DomainError) as error:
        if isinstance(error, NotFound):
            raise
        flash(error.message, "error")
        return _to_deal(deal_id, "roster")
    flash(f"{count} pledge{'s' if count != 1 else ''} marked as delivered.", "success")
    return _to_deal(deal_id, "roster")


@bp.post("/deals/<int:deal_id>/<action>")
@login_required
def act(deal_id: int, action: str):
    if action not in states.DEAL_MACHINE.user_actions:
        raise NotFound(states.DEAL_MACHINE.unknown_action)
    back = _to_deal(deal_id)
    form = pages.action_form(action, formdata=request.form)
    key = pages.action_form_key(action, deal_id)
    if form_refused(form, key):
        return back
    try:
        services.deal_action(deal_id, action, current_user.id, note=form.note.data or "")
    except ValidationFailed as error:
        keep_failed_form(key, form, error.fields or {"note": [error.message]})
        return back
    except (Conflict, DomainError) as error:
        if isinstance(error, NotFound):
            raise
        flash(error.message, "error")
        return back
    flash(DEAL_DONE.get(action, "Done."), "success")
    return back


DEAL_DONE = {
    "propose": "Sent to the supplier. Pledges open when they accept the terms.",
    "accept_terms": "Terms accepted: the deal is open for pledges.",
    "decline_terms": "Terms declined. The organizer can redraft them.",
    "retract": "Taken back: you can edit the draft again.",
    "cancel": "Deal cancelled. Nobody is charged; members who pledged are told.",
    "mark_fulfilled": "Marked as delivered. Members confirm receipt.",
}


# -- My deals -----------------------------------------------------------------------------------


@bp.get("/deals")
@login_required
def index():
    tab = request.args.get("tab", "member")
    if tab not in ("member", "organizer", "supplier"):
        tab = "member"
    pledges = pages.member_pledges(current_user.id)
    organizing = pages.deals_as(current_user.id, "organizer")
    supplying = pages.deals_as(current_user.id, "supplier")
    return render_template(
        "deals/index.html",
        tab=tab,
        pledges=pledges,
        organizing=organizing,
        supplying=supplying,
        needs_you=pages.needs_you(current_user.id, pledges, organizing, supplying),
        machine=states.DEAL_MACHINE,
        pledge_machine=states.PLEDGE_MACHINE,
    )


@bp.app_template_global()
def club_url(club=None) -> str:
    """The club's page (or the clubs page), blueprint `clubs` (/clubs/<id>, CLUBS.md)."""
    try:
        if club is None:
            return url_for("clubs.index")
        return url_for("clubs.detail", club_id=club.id)
    except BuildError:  # the clubs pages are another blueprint's, by the same paths
        return request.script_root + ("/clubs" if club is None else f"/clubs/{club.id}")


@bp.app_template_global()
def deal_state_machine():
    return states.DEAL_MACHINE


@bp.app_template_global()
def can_draft_deal(club) -> bool:
    """Whether the signed-in person may draft a deal in the club (its organizers)."""
    return current_user.is_authenticated and runs_club(club.id, current_user.id)
