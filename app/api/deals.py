"""Group deals: a club's deals, drafting one (and editing the draft with PATCH), its terms,
tiers and progress, the supplier's answer, pledging (change with PATCH, withdraw with DELETE),
the pledges' steps after the deadline, and the roster. Same services as the deal page
(app/clubs/deals.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.api.core import (
    PageArgs,
    api_blueprint,
    api_user_id,
    link,
    links,
    page_of,
    token_required,
    write_limit,
)
from app.api.deal_schemas import (
    DEAL_ACTIONS,
    PLEDGE_ACTIONS,
    DealActionIn,
    DealIn,
    DealList,
    DealListArgs,
    DealOut,
    DealPatchIn,
    PledgeActionIn,
    PledgeIn,
    PledgeOut,
    RosterOut,
)
from app.clubs import deal_pages as pages
from app.clubs import deals as services
from app.clubs import states
from app.clubs.membership import can_see, get_club
from app.clubs.models import GroupDeal, Pledge
from app.errors import NotFound
from app.extensions import db

bp = api_blueprint(
    "deals",
    __name__,
    "Group deals of buying clubs: tiers, pledges, settlement at the deadline, the roster.",
)

DEAL_ID = "$response.body#/id"
PLEDGE_ID = "$response.body#/id"
NEXT_DEAL_ACTION = link("takeDealAction", deal_id=DEAL_ID)
EDIT_DRAFT = link("updateDeal", deal_id=DEAL_ID)
ERRORS = {
    403: "`not_a_member`, `not_an_organizer`, `own_deal`, `forbidden`: not yours to do",
    404: "`not_found`: no such deal or pledge, or you may not see it",
    409: "`invalid_transition`: not possible in this state; `not_pledging`: the deal is not "
    "open; `deadline_passed`; `cap_reached` (the message says how many units are left); "
    "`over_member_limit`; `already_pledged`; `saved_card_required`",
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
    return {"responses": {**_errors(*errors), **links(status, **targets)["responses"]}}


@dataclass
class PledgeView:
    """A pledge as the caller sees it: with the actions open to them and what it costs."""

    pledge: Pledge
    actions: list[str]
    most_cents: int
    now_cents: int | None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pledge, name)


def pledge_view(pledge: Pledge, user_id: int) -> PledgeView:
    deal = pledge.deal
    cost = pages.pledge_cost(deal, pledge.quantity, pledge)
    actions = pages.pledge_actions(pledge, user_id)
    if pledge.state == states.PAYMENT_DUE and pledge.member_id == user_id:
        actions = [*actions, "retry_charge"]
    return PledgeView(
        pledge, actions, cost.most.amount_cents, cost.now.amount_cents if cost.now else None
    )


@dataclass
class DealView:
    """A deal as the caller sees it: role, actions, progress, their pledge, the rules."""

    deal: GroupDeal
    role: str | None
    actions: list[str]
    progress: dict
    can_pledge: bool
    why_not: str
    my_pledge: PledgeView | None
    rules: list[dict]
    events: list

    def __getattr__(self, name: str) -> Any:
        return getattr(self.deal, name)


def deal_view(
    deal: GroupDeal, user_id: int, *, pledges: dict | None = None, events: dict | None = None
) -> DealView:
    """The deal as the caller sees it. A list passes what it read for all its deals at once:
    the caller's `pledges` and the deals' `events` ({deal id: ...})."""
    bar = pages.progress(deal)
    if pledges is None:
        pledges = services.viewer_pledges([deal.id], user_id)
    seen = services.deal_view(deal, user_id, pledges=pledges)
    mine = pledges.get(deal.id)
    return DealView(
        deal=deal,
        role=pages.role_in(deal, user_id),
        actions=pages.deal_actions(deal, user_id),
        progress={
            "total": bar.total,
            "current_unit_price_cents": bar.current.unit_price_cents if bar.current else None,
            "current_tier_min": bar.current.min_quantity if bar.current else None,
            "next_tier_min": bar.next.min_quantity if bar.next else None,
            "next_unit_price_cents": bar.next.unit_price_cents if bar.next else None,
            "units_to_next": bar.units_to_next,
            "units_to_tip": bar.units_to_tip,
            "units_left": bar.units_left,
            "is_tipped": bar.is_tipped,
        },
        can_pledge=bool(seen.can_pledge),
        why_not=seen.why_not or "",
        my_pledge=pledge_view(mine, user_id) if mine is not None else None,
        rules=[{"title": title, "text": text} for title, text in pages.rules(deal)],
        events=events[deal.id] if events is not None else pages.deal_events(deal.id),
    )


def _deal_for(deal_id: int) -> GroupDeal:
    return services.get_deal(deal_id, api_user_id())  # 404 for whoever may not see it


def _pledge_for(pledge_id: int) -> Pledge:
    """A pledge the caller may see: its member, or the deal's organizer or supplier."""
    pledge = db.session.get(Pledge, pledge_id)
    user_id = api_user_id()
    if pledge is None or user_id not in (
        pledge.member_id,
        pledge.deal.organizer_id,
        pledge.deal.supplier_id,
    ):
        raise NotFound("We could not find that pledge.")
    return pledge


# -- deals ------------------------------------------------------------------------------------


@bp.route("/clubs/<id:club_id>/deals", methods=["GET"])
@bp.doc(operationId="listClubDeals", responses=_errors(404))
@token_required("read")
@bp.arguments(PageArgs, location="query")
@bp.response(200, DealList)
def club_index(args, club_id: int):
    """A club's deals: open ones (closing soonest first), then past ones; drafts and deals
    waiting for their supplier only for the club's organizers and the deal's supplier."""
    club = get_club(club_id)
    user_id = api_user_id()
    if not can_see(club, user_id):
        raise NotFound("We could not find that club.")
    shown = pages.club_deals(club.id, user_id)
    found = shown["drafts"] + shown["open"] + shown["past"]
    start = (args["page"] - 1) * args["per_page"]
    items = found[start : start + args["per_page"]]
    return page_of(
        [deal_view(deal, user_id) for deal in items], args["page"], args["per_page"], len(found)
    )


@bp.route("/clubs/<id:club_id>/deals", methods=["POST"])
@bp.doc(
    operationId="createDeal",
    **_answers(
        (403, 404, 422),
        201,
        GetDeal=link("getDeal", deal_id=DEAL_ID),
        EditDraft=EDIT_DRAFT,
        TakeFirstAction=NEXT_DEAL_ACTION,
    ),
)
@token_required("write")
@write_limit()
@bp.arguments(DealIn)
@bp.response(201, DealOut)
def create(data, club_id: int):
    """Draft a deal in a club you organize (or co-organize), with a supplier who is another
    member of the site. It stays a `draft` until you `propose` it; the supplier then accepts
    (it opens for pledges) or declines the terms. Tiers: from `min_quantity` units in all,
    every unit costs `unit_price_cents`; the first tier starts at or below the deal's
    `min_quantity`, each next one needs more units and costs less."""
    tiers = [(tier["min_quantity"], tier["unit_price_cents"]) for tier in data.pop("tiers")]
    deal = services.create_deal(club_id, api_user_id(), tiers=tiers, **data)
    return deal_view(deal, api_user_id())


@bp.route("/deals", methods=["GET"])
@bp.doc(operationId="listDeals")
@token_required("read")
@bp.arguments(DealListArgs, location="query")
@bp.response(200, DealList)
def index(args):
    """Your deals, latest deadline first: those you pledged to (`member`), organize or
    supply; all of them when `role` is left out."""
    user_id = api_user_id()
    role = args.get("role")
    found: dict[int, GroupDeal] = {}
    if role in (None, "member"):
        for pledge in pages.member_pledges(user_id):
            found[pledge.deal_id] = pledge.deal
    for side in ("organizer", "supplier"):
        if role in (None, side):
            for deal in pages.deals_as(user_id, side):
                found[deal.id] = deal
    ordered = sorted(found.values(), key=lambda deal: (deal.deadline, deal.id), reverse=True)
    start = (args["page"] - 1) * args["per_page"]
    items = ordered[start : start + args["per_page"]]
    ids = [deal.id for deal in items]
    pledges, events = services.viewer_pledges(ids, user_id), pages.deals_events(ids)
    views = [deal_view(deal, user_id, pledges=pledges, events=events) for deal in items]
    return page_of(views, args["page"], args["per_page"], len(ordered))


@bp.route("/deals/<id:deal_id>", methods=["GET"])
@bp.doc(
    operationId="getDeal",
    **_answers(
        (404,),
        200,
        TakeAction=NEXT_DEAL_ACTION,
        EditDraft=EDIT_DRAFT,
        Pledge=link("createPledge", deal_id=DEAL_ID),
        GetRoster=link("getDealRoster", deal_id=DEAL_ID),
    ),
)
@token_required("read")
@bp.response(200, DealOut)
def detail(deal_id: int):
    """One deal, with `state`, the `actions` you may take, its `progress` (total, price now,
    units to the next tier), whether you may pledge (`can_pledge`, `why_not`), your pledge
    and the rules in words."""
    return deal_view(_deal_for(deal_id), api_user_id())


@bp.route("/deals/<id:deal_id>", methods=["PATCH"])
@bp.doc(
    operationId="updateDeal",
    **_answers(
        (403, 404, 409, 422),
        200,
        GetDeal=link("getDeal", deal_id=DEAL_ID),
        EditAgain=EDIT_DRAFT,
        TakeNextAction=NEXT_DEAL_ACTION,
    ),
)
@token_required("write")
@write_limit()
@bp.arguments(DealPatchIn)
@bp.response(200, DealOut)
def update(data, deal_id: int):
    """Change a draft's terms (its organizer, or another organizer of the club): send only
    what changes; `tiers` replaces the whole list, null clears `cap_quantity` or
    `member_limit`. The terms are checked together as for a new draft (422
    `validation_failed`). Only a `draft`: 409 `invalid_transition` once proposed (`retract`
    it first) or accepted (then cancel it and draft a new one)."""
    if "tiers" in data:
        data["tiers"] = [(tier["min_quantity"], tier["unit_price_cents"]) for tier in data["tiers"]]
    deal = services.update_deal(deal_id, api_user_id(), **data)
    return deal_view(deal, api_user_id())


@bp.route(f"/deals/<id:deal_id>/<any({', '.join(DEAL_ACTIONS)}):action>", methods=["POST"])
@bp.doc(
    operationId="takeDealAction",
    **_answers((403, 404, 409, 422), 200, TakeNextAction=NEXT_DEAL_ACTION),
)
@token_required("write")
@write_limit()
@bp.arguments(DealActionIn, required=False)
@bp.response(200, DealOut)
def act(data, deal_id: int, action: str):
    """Take one of the deal's `actions` (409 when not possible now). Organizer: propose (send
    the draft to the supplier), retract (take it back to edit), cancel (before the deadline:
    nobody is charged). Supplier: accept_terms (opens it for pledges), decline_terms
    (optional `note`), cancel. After settlement, either: mark_fulfilled."""
    deal = services.deal_action(deal_id, action, api_user_id(), note=data.get("note") or "")
    return deal_view(deal, api_user_id())


@bp.route("/deals/<id:deal_id>/deliver-all", methods=["POST"])
@bp.doc(
    operationId="deliverDeal",
    **_answers((403, 404, 409), 200, GetDeal=link("getDeal", deal_id="$request.path.deal_id")),
)
@token_required("write")
@write_limit()
@bp.response(200, DealOut)
def deliver_all(deal_id: int):
    """Delivered to the pickup point: every paid pledge becomes delivered at once (members
    then confirm receipt)."""
    services.deliver_all(deal_id, api_user_id())
    return deal_view(_deal_for(deal_id), api_user_id())


@bp.route("/deals/<id:deal_id>/roster", methods=["GET"])
@bp.doc(operationId="getDealRoster", responses=_errors(403, 404))
@token_required("read")
@bp.response(200, RosterOut)
def roster(deal_id: int):
    """The pickup list, for the organizer and the supplier: member, quantity, amount, paid,
    collected."""
    deal = _deal_for(deal_id)
    rows = services.roster(deal.id, api_user_id())
    return {
        "deal_id": deal.id,
        "currency": deal.currency,
        "final_unit_price_cents": deal.final_unit_price_cents,
        "rows": rows,
        "total_quantity": sum(row.quantity for row in rows),
        "total_amount_cents": sum(row.amount_cents for row in rows),
    }


# -- pledges ----------------------------------------------------------------------------------


@bp.route("/deals/<id:deal_id>/pledges", methods=["POST"])
@bp.doc(
    operationId="createPledge",
    **_answers(
        (403, 404, 409, 422),
        201,
        GetPledge=link("getPledge", pledge_id=PLEDGE_ID),
        ChangePledge=link("changePledge", pledge_id=PLEDGE_ID),
        WithdrawPledge=link("withdrawPledge", pledge_id=PLEDGE_ID),
    ),
)
@token_required("write")
@write_limit()
@bp.arguments(PledgeIn)
@bp.response(201, PledgeOut)
def create_pledge(data, deal_id: int):
    """Pledge `quantity` units to an open deal of a club you are a member of (or pledge again
    after withdrawing). With card payments you need a saved card (`saved_card_required`);
    nothing is held, the card is charged the final price at the deadline if the deal tipped.
    The cap is never exceeded: `cap_reached` says how many units are left."""
    pledge = services.pledge(deal_id, api_user_id(), data["quantity"])
    return pledge_view(pledge, api_user_id())


@bp.route("/pledges/<id:pledge_id>", methods=["GET"])
@bp.doc(operationId="getPledge", responses=_errors(404))
@token_required("read")
@bp.response(200, PledgeOut)
def pledge_detail(pledge_id: int):
    """A pledge: yours, or one of a deal you organize or supply."""
    return pledge_view(_pledge_for(pledge_id), api_user_id())


@bp.route("/pledges/<id:pledge_id>", methods=["PATCH"])
@bp.doc(operationId="changePledge", responses=_errors(403, 404, 409, 422))
@token_required("write")
@write_limit()
@bp.arguments(PledgeIn)
@bp.response(200, PledgeOut)
def change_pledge(data, pledge_id: int):
    """Change your pledge's quantity, until the deadline."""
    pledge = services.change_pledge(pledge_id, api_user_id(), data["quantity"])
    return pledge_view(pledge, api_user_id())


@bp.route("/pledges/<id:pledge_id>", methods=["DELETE"])
@bp.doc(operationId="withdrawPledge", responses=_errors(403, 404, 409))
@token_required("write")
@write_limit()
@bp.response(200, PledgeOut)
def withdraw_pledge(pledge_id: int):
    """Withdraw your pledge, until the deadline (you can pledge again before it)."""
    pledge = services.withdraw_pledge(pledge_id, api_user_id())
    return pledge_view(pledge, api_user_id())


@bp.route(f"/pledges/<id:pledge_id>/<any({', '.join(PLEDGE_ACTIONS)}):action>", methods=["POST"])
@bp.doc(operationId="takePledgeAction", responses=_errors(403, 404, 409, 422))
@token_required("write")
@write_limit()
@bp.arguments(PledgeActionIn, required=False)
@bp.response(200, PledgeOut)
def pledge_act(data, pledge_id: int, action: str):
    """Take one of the pledge's `actions`. Organizer or supplier: record_payment (paid in
    person at pickup), mark_no_show, mark_delivered. Member: confirm_receipt, report_problem
    (`note`: what went wrong; a moderator decides), retry_charge (after fixing the card)."""
    user_id = api_user_id()
    if action == "retry_charge":
        pledge = services.retry_charge(pledge_id, user_id)
    else:
        pledge = services.pledge_action(pledge_id, action, user_id, note=data.get("note") or "")
    return pledge_view(pledge, user_id)
