"""Group deals and pledges as kinds of transaction (app/transactions/registry.py): registered at
app start (`init_app`, called in create_app next to the loans), so the platform (machine,
events, messages, feedback, money, pages) reaches them only through here.

    deal    parties {organizer: "organizer", supplier: "supplier"}; the deal's own steps
    pledge  parties {member: "member", organizer: "organizer", supplier: "supplier"}; one
            member's part, with its own money, feedback and conversation

Both pages are the deal's page (deals.detail); both histories are DealEvent rows.
"""

from __future__ import annotations

from flask import Flask

from app.clubs import money, states, steps
from app.clubs.deal_conversation import (
    deal_had_activity,
    describe_deals,
    describe_pledges,
    pledge_had_activity,
)
from app.clubs.feedback import DEAL_FEEDBACK, PLEDGE_FEEDBACK
from app.clubs.models import GroupDeal, Pledge
from app.extensions import db
from app.transactions.registry import DisputeRules, TransactionKind, count_where, register_kind


def _deal_parties(deal: GroupDeal) -> dict[int, str]:
    return {deal.organizer_id: "organizer", deal.supplier_id: "supplier"}


def _pledge_parties(pledge: Pledge) -> dict[int, str]:
    deal = db.session.get(GroupDeal, pledge.deal_id)
    return {
        deal.organizer_id: "organizer",
        deal.supplier_id: "supplier",
        pledge.member_id: "member",
    }


def _load_deal(deal_id: int, lock: bool) -> GroupDeal | None:
    return steps.hold_deal(deal_id) if lock else db.session.get(GroupDeal, deal_id)


def _load_pledge(pledge_id: int, lock: bool) -> Pledge | None:
    return steps.hold_pledge(pledge_id) if lock else db.session.get(Pledge, pledge_id)


def _deal_amount(deal: GroupDeal) -> int:
    return (deal.final_unit_price_cents or 0) * deal.pledged_quantity


DEAL_KIND = TransactionKind(
    name=steps.DEAL,
    model=GroupDeal,
    machine=states.DEAL_MACHINE,
    load=_load_deal,
    parties=_deal_parties,
    amount=_deal_amount,
    currency=lambda deal: deal.currency,
    feedback_opens=lambda deal: deal.state == states.COMPLETED,
    url=lambda deal: ("deals.detail", {"deal_id": deal.id}),
    not_found="We could not find that deal.",
    event_payload=steps.deal_payload,
    record_history=steps.record_deal_history,
    on_enter={
        states.FAILED: (steps.on_deal_stopped,),
        states.CANCELLED: (steps.on_deal_stopped,),
        states.CLOSED: (steps.on_deal_closed,),
        states.SETTLED: (money.on_deal_settled,),
        states.FULFILLED: (steps.on_deal_fulfilled,),
    },
    describe=describe_deals,
    on_message=deal_had_activity,
    feedback=DEAL_FEEDBACK,
)

PLEDGE_KIND = TransactionKind(
    name=steps.PLEDGE,
    model=Pledge,
    machine=states.PLEDGE_MACHINE,
    load=_load_pledge,
    parties=_pledge_parties,
    amount=lambda pledge: pledge.amount_cents,
    currency=lambda pledge: db.session.get(GroupDeal, pledge.deal_id).currency,
    feedback_opens=lambda pledge: pledge.state in states.FEEDBACK_OPEN,
    url=lambda pledge: ("deals.detail", {"deal_id": pledge.deal_id}),
    not_found="We could not find that pledge.",
    event_payload=steps.pledge_payload,
    record_history=steps.record_pledge_history,
    # Its money first (a payment in person), then what it means for the deal.
    after_step=(money.money_hook, steps.after_pledge_step),
    describe=describe_pledges,
    on_message=pledge_had_activity,
    feedback=PLEDGE_FEEDBACK,
    money=money.MONEY,
    # The member disputes a pledge paid or delivered (goods not received, not as described);
    # the organizer answers; a moderator divides what the member paid, or they agree.
    disputes=DisputeRules(
        opens={states.PAID: "report_problem", states.DELIVERED: "report_problem"},
        stake=money.dispute_stake,
        carry_out=money.decide_dispute,
        follow_up=money.follow_up,
        settles=frozenset({states.PAID, states.DELIVERED}),
    ),
    completed_count=lambda user_id: count_where(
        Pledge,
        Pledge.member_id == user_id,
        Pledge.state.in_((states.RECEIVED, states.RESOLVED)),
    ),
)


def init_app(app: Flask) -> None:
    """Make deals and pledges kinds of transaction, and tell payments about pledges' money."""
    register_kind(DEAL_KIND)
    register_kind(PLEDGE_KIND)
    money.init_app(app)
