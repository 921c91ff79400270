"""Pledges and deals as kinds of transaction feedback is about (app/reviews, double-blind):

  pledge  the member and the organizer rate each other, and the member and the supplier, once
          the pledge is final (received, resolved by a moderator, or dropped: a member who did
          not pay can be rated for it)
  deal    the organizer and the supplier rate each other once the deal is completed

Each is the `feedback` of its kind's registry entry (app/clubs/kind.py), so reviews never
imports clubs; the roles (member, organizer, supplier) feed reputation per role.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from app.clubs import states
from app.clubs.models import GroupDeal, Pledge
from app.clubs.steps import DEAL, PLEDGE, deal_payload, pledge_payload
from app.extensions import db
from app.transactions.registry import FeedbackRules, Rateable, RatingPair

ROLES = {"member": "club member", "organizer": "organizer", "supplier": "supplier"}
PLEDGE_PAIRS = (
    RatingPair("member", "organizer", (("communication", "Communication"),
                                       ("speed", "Pickup well organized"))),
    RatingPair("organizer", "member", (("speed", "Paid and collected on time"),
                                       ("communication", "Communication"))),
    RatingPair("member", "supplier", (("described", "Goods as described"),
                                      ("speed", "Delivered on time"))),
    RatingPair("supplier", "member", (("speed", "Paid on time"),)),
)  # fmt: skip
DEAL_PAIRS = (
    RatingPair("organizer", "supplier", (("described", "Goods as agreed"),
                                         ("speed", "Delivered on time"),
                                         ("communication", "Communication"))),
    RatingPair("supplier", "organizer", (("communication", "Communication"),
                                         ("speed", "Pickup well organized"))),
)  # fmt: skip


def pledge_opened_at(pledge: Pledge):
    """When the pledge became final (the window opens), None before."""
    if pledge.state == states.RECEIVED:
        return pledge.received_at
    if pledge.state == states.RESOLVED:
        return pledge.resolved_at
    if pledge.state == states.DROPPED:
        return pledge.dropped_at
    return None


def load_pledges(ids: Sequence[int], lock: bool) -> dict[int, Rateable]:
    query = select(Pledge).where(Pledge.id.in_(list(ids)))
    pledges = db.session.scalars(query.with_for_update() if lock else query).all()
    found = {}
    for pledge in pledges:
        deal = db.session.get(GroupDeal, pledge.deal_id)
        found[pledge.id] = Rateable(
            kind=PLEDGE,
            id=pledge.id,
            parties={
                pledge.member_id: "member",
                deal.organizer_id: "organizer",
                deal.supplier_id: "supplier",
            },
            title=deal.title,
            amount_cents=pledge.amount_cents,
            currency=deal.currency,
            opens_at=pledge_opened_at(pledge) if pledge.state in states.FEEDBACK_OPEN else None,
            path=f"/deals/{deal.id}",
            payload=pledge_payload(pledge),
        )
    return found


def load_deals(ids: Sequence[int], lock: bool) -> dict[int, Rateable]:
    query = select(GroupDeal).where(GroupDeal.id.in_(list(ids)))
    deals = db.session.scalars(query.with_for_update() if lock else query).all()
    return {
        deal.id: Rateable(
            kind=DEAL,
            id=deal.id,
            parties={deal.organizer_id: "organizer", deal.supplier_id: "supplier"},
            title=deal.title,
            amount_cents=(deal.final_unit_price_cents or 0) * deal.pledged_quantity,
            currency=deal.currency,
            opens_at=deal.completed_at if deal.state == states.COMPLETED else None,
            path=f"/deals/{deal.id}",
            payload=deal_payload(deal),
        )
        for deal in deals
    }


PLEDGE_FEEDBACK = FeedbackRules(
    load=load_pledges,
    pairs=PLEDGE_PAIRS,
    roles=ROLES,
    noun="pledge",
    not_open="You can leave feedback once the goods are received (or the pledge is dropped).",
    not_found="Pledge not found.",
    opens_on=(
        f"{PLEDGE}.confirm_receipt",
        f"{PLEDGE}.auto_confirm",
        f"{PLEDGE}.resolve",
        f"{PLEDGE}.settle",
        f"{PLEDGE}.drop",
        f"{PLEDGE}.mark_no_show",
    ),
)
DEAL_FEEDBACK = FeedbackRules(
    load=load_deals,
    pairs=DEAL_PAIRS,
    roles={"organizer": "organizer", "supplier": "supplier"},
    noun="deal",
    not_open="You can leave feedback once the deal is completed.",
    not_found="Deal not found.",
    opens_on=(f"{DEAL}.complete",),
)
