"""Deals and pledges as subjects of conversations: the organizer and the supplier talk about a
deal (its terms, the delivery); a member talks with the organizer and the supplier about their
own pledge (payment, pickup). The club's own thread is the clubs helper's (subject "club").

Part of the deal and pledge kinds' registry entries (app/clubs/kind.py), so messaging never
imports clubs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from app.clubs.models import GroupDeal, Pledge
from app.clubs.steps import DEAL, PLEDGE
from app.extensions import db
from app.messaging.subjects import Subject


def describe_deals(ids: Sequence[int], viewer_id: int) -> dict[int, Subject]:
    """The viewer's deals (as organizer or supplier) among `ids` (one query)."""
    deals = db.session.scalars(
        select(GroupDeal)
        .where(
            GroupDeal.id.in_(list(ids)),
            or_(GroupDeal.organizer_id == viewer_id, GroupDeal.supplier_id == viewer_id),
        )
        .options(joinedload(GroupDeal.organizer), joinedload(GroupDeal.supplier))
    )
    return {
        deal.id: Subject(
            kind=DEAL,
            id=deal.id,
            title=deal.title,
            participant_ids=(deal.organizer_id, deal.supplier_id),
            endpoint="deals.detail",
            url_values={"deal_id": deal.id},
            label="Organizing" if viewer_id == deal.organizer_id else "Supplying",
            state=deal.state,
            counterpart=deal.supplier if viewer_id == deal.organizer_id else deal.organizer,
        )
        for deal in deals
    }


def describe_pledges(ids: Sequence[int], viewer_id: int) -> dict[int, Subject]:
    """The pledges among `ids` the viewer is a party to (member, organizer or supplier of its
    deal), one query."""
    rows = db.session.execute(
        select(Pledge, GroupDeal)
        .join(GroupDeal, GroupDeal.id == Pledge.deal_id)
        .where(
            Pledge.id.in_(list(ids)),
            or_(
                Pledge.member_id == viewer_id,
                GroupDeal.organizer_id == viewer_id,
                GroupDeal.supplier_id == viewer_id,
            ),
        )
        .options(joinedload(Pledge.member))
    ).all()
    subjects = {}
    for pledge, deal in rows:
        is_member = viewer_id == pledge.member_id
        subjects[pledge.id] = Subject(
            kind=PLEDGE,
            id=pledge.id,
            title=f"{deal.title} ({pledge.quantity} {deal.unit})",
            participant_ids=(pledge.member_id, deal.organizer_id, deal.supplier_id),
            endpoint="deals.detail",
            # The deal page opens this pledge's thread (not the organizer-supplier one) for
            # the organizer and the supplier; for its member it is their own thread anyway.
            url_values={"deal_id": deal.id, "pledge": pledge.id},
            label="Your pledge" if is_member else "A member's pledge",
            state=pledge.state,
            counterpart=None if is_member else pledge.member,
        )
    return subjects


def deal_had_activity(deal_id: int, at: datetime) -> None:
    """A message is activity: the deal rises in its parties' lists."""
    deal = db.session.get(GroupDeal, deal_id)
    if deal is not None:
        deal.updated_at = at


def pledge_had_activity(pledge_id: int, at: datetime) -> None:
    pledge = db.session.get(Pledge, pledge_id)
    if pledge is not None:
        pledge.updated_at = at
