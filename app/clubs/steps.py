"""What happens with the steps of deals and pledges besides their money (app/clubs/money.py):
the row locks a decision takes, the history (DealEvent), what every event carries, and the
hooks the engine runs after each step (app/clubs/kind.py registers them).

Every decision about a deal's total, or about one of its pledges, holds the deal's row first
(`hold_deal`: a guarded write, then SELECT ... FOR UPDATE), then the pledge's: one order for
everybody, so two decisions never wait for each other in a circle, and on SQLite the first
write takes the database's write lock before anything is read.

    pledge leaves the count (withdraw, drop, no-show)  deal total and pledge count go down
    pledge comes back (renew)                          they go up
    the total crosses the minimum while pledging       the deal tips / untips
    a closed deal's last pledge is settled             the deal settles (or fails: none paid)
    a settled deal's last pledge is delivered          the deal is fulfilled
    a fulfilled deal's last pledge is final            the deal completes (feedback opens)
    the deal fails or is cancelled                     every live pledge is released
    the deal closes                                    each pledge's price is fixed; in person:
                                                       billed for pickup
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from app.clubs import states, tiers
from app.clubs.models import IN_PERSON, SHIPPING, DealEvent, GroupDeal, Pledge
from app.db import utcnow
from app.extensions import db
from app.transactions.machine import Step, step
from app.transactions.registry import get_kind

DEAL, PLEDGE = "deal", "pledge"
# Pledges a deal no longer waits for: final, or withdrawn before the deadline.
DONE = states.PLEDGE_MACHINE.final | {states.WITHDRAWN}
# Paid pledges not yet delivered (a settled deal is fulfilled once none is left).
TO_DELIVER = frozenset({states.PAID, states.PAY_AT_PICKUP})
NOW_KEY = "clubs.step_now"  # the time a settlement run acts at (session.info)


# -- locks ------------------------------------------------------------------------------------


def claim_deal(deal_id: int) -> bool:
    """Write to the deal's row (the value it has): on PostgreSQL it takes the row lock, on
    SQLite the write lock, before anything is read for a decision. False: no such deal."""
    changed = db.session.execute(
        update(GroupDeal)
        .where(GroupDeal.id == deal_id)
        .values(updated_at=GroupDeal.updated_at)
        .execution_options(synchronize_session=False)
    )
    return changed.rowcount == 1


def lock_deal(deal_id: int) -> GroupDeal | None:
    """The deal read afresh, its row locked until the unit of work ends (PostgreSQL)."""
    return db.session.scalar(
        select(GroupDeal)
        .where(GroupDeal.id == deal_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def hold_deal(deal_id: int) -> GroupDeal | None:
    """Take the deal for a decision (claim, then read it afresh); None when it does not exist."""
    if not claim_deal(deal_id):
        return None
    return lock_deal(deal_id)


def hold_pledge(pledge_id: int) -> Pledge | None:
    """Take the pledge for a decision: its deal first (see the module's note), then the pledge,
    both read afresh. None when it does not exist."""
    deal_id = db.session.scalar(select(Pledge.deal_id).where(Pledge.id == pledge_id))
    if deal_id is None or hold_deal(deal_id) is None:
        return None
    return db.session.scalar(
        select(Pledge)
        .where(Pledge.id == pledge_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def step_now() -> datetime:
    """The time of the unit of work's steps taken from payment news (a settlement run sets it,
    so a run dated `now` in tests stamps its steps with it)."""
    return db.session.info.get(NOW_KEY) or utcnow()


# -- what events carry ----------------------------------------------------------------------


def member_ids(deal_id: int) -> list[int]:
    """The members whose pledges count in the deal's total (who hear of the deal's news)."""
    return list(
        db.session.scalars(
            select(Pledge.member_id)
            .where(Pledge.deal_id == deal_id, Pledge.state.in_(states.COUNTED))
            .order_by(Pledge.id)
        )
    )


def deal_payload(deal: GroupDeal) -> dict:
    """What every deal event carries: the parties, the members pledging, the terms reached."""
    return {
        "title": deal.title,
        "path": f"/deals/{deal.id}",
        "deal_id": deal.id,
        "club_id": deal.club_id,
        "organizer_id": deal.organizer_id,
        "supplier_id": deal.supplier_id,
        "member_ids": member_ids(deal.id),
        "unit": deal.unit,
        "currency": deal.currency,
        "min_quantity": deal.min_quantity,
        "cap_quantity": deal.cap_quantity,
        "pledged_quantity": deal.pledged_quantity,
        "pledge_count": deal.pledge_count,
        "deadline": deal.deadline.isoformat(),
        "final_unit_price_cents": deal.final_unit_price_cents,
    }


def pledge_payload(pledge: Pledge) -> dict:
    """What every pledge event carries: its three parties, the deal, what it pays and until
    when a failed card can be fixed."""
    deal = db.session.get(GroupDeal, pledge.deal_id)
    return {
        "title": deal.title,
        "path": f"/deals/{deal.id}",
        "deal_id": deal.id,
        "pledge_id": pledge.id,
        "member_id": pledge.member_id,
        "organizer_id": deal.organizer_id,
        "supplier_id": deal.supplier_id,
        "quantity": pledge.quantity,
        "unit": deal.unit,
        "currency": deal.currency,
        "payment_method": pledge.payment_method,
        "unit_price_cents": pledge.unit_price_cents,
        "amount_cents": pledge.amount_cents,
        "grace_until": pledge.grace_until.isoformat() if pledge.grace_until else None,
        "fulfilment": deal.fulfilment,
        "pickup_point": deal.pickup_point,
    }


def record_deal_history(done: Step) -> None:
    _history(done.instance.id, None, done)


def record_pledge_history(done: Step) -> None:
    _history(done.instance.deal_id, done.instance.id, done)


def _history(deal_id: int, pledge_id: int | None, done: Step) -> None:
    db.session.add(
        DealEvent(
            deal_id=deal_id,
            pledge_id=pledge_id,
            action=done.action,
            from_state=done.from_state,
            to_state=done.to_state,
            actor_id=done.actor_id,
            note=done.note,
            created_at=done.now,
        )
    )


# -- the deal follows its total and its pledges ------------------------------------------------


def count_pledges(deal_id: int, among: frozenset[str]) -> int:
    return (
        db.session.scalar(
            select(func.count(Pledge.id)).where(Pledge.deal_id == deal_id, Pledge.state.in_(among))
        )
        or 0
    )


def follow_total(deal: GroupDeal, now: datetime) -> None:
    """While pledging: tip when the total reaches the minimum, untip when it falls under."""
    if deal.state == states.OPEN and deal.pledged_quantity >= deal.min_quantity:
        step(get_kind(DEAL), deal, "tip", now=now)
    elif deal.state == states.TIPPED and deal.pledged_quantity < deal.min_quantity:
        step(get_kind(DEAL), deal, "untip", now=now)


def after_pledge_step(done: Step) -> None:
    """After every pledge step: the deal's total, then what the deal does next."""
    pledge: Pledge = done.instance
    deal = db.session.get(GroupDeal, pledge.deal_id)
    was, now_counted = done.from_state in states.COUNTED, done.to_state in states.COUNTED
    if was and not now_counted:
        deal.pledged_quantity -= pledge.quantity
        deal.pledge_count -= 1
    elif now_counted and not was:
        deal.pledged_quantity += pledge.quantity
        deal.pledge_count += 1
    if was != now_counted:
        db.session.flush()
        if deal.state in states.PLEDGING:
            follow_total(deal, done.now)
    follow_pledges(deal, done.now, actor_id=done.actor_id)


def follow_pledges(deal: GroupDeal, now: datetime, actor_id: int | None = None) -> None:
    """Move the deal on once its pledges allow it: a closed deal settles when none is left to
    charge (fails when nobody paid); a settled deal is fulfilled once every paid pledge was
    delivered; a fulfilled deal completes once every pledge is final."""
    db.session.flush()
    deal_kind = get_kind(DEAL)
    if deal.state == states.CLOSED and count_pledges(deal.id, states.UNSETTLED) == 0:
        paying = count_pledges(deal.id, states.PAID_STATES | {states.PAY_AT_PICKUP})
        step(deal_kind, deal, "settle" if paying else "fail", now=now)
    elif deal.state == states.SETTLED and count_pledges(deal.id, TO_DELIVER) == 0:
        if count_pledges(deal.id, states.PAID_STATES) and actor_id in (
            deal.organizer_id,
            deal.supplier_id,
        ):
            step(deal_kind, deal, "mark_fulfilled", actor_id, now=now)
    elif deal.state == states.FULFILLED:
        open_pledges = db.session.scalar(
            select(func.count(Pledge.id)).where(
                Pledge.deal_id == deal.id, Pledge.state.not_in(DONE)
            )
        )
        if not open_pledges:
            step(deal_kind, deal, "complete", now=now)


def on_deal_stopped(done: Step) -> None:
    """The deal failed or was cancelled: every pledge still pledged is released (nothing was
    charged: pledges hold no money before the deadline)."""
    pledge_kind = get_kind(PLEDGE)
    for pledge in _pledges(done.instance.id, states.PLEDGED):
        step(pledge_kind, pledge, "release", now=done.now)


def on_deal_closed(done: Step) -> None:
    """The deadline passed on a tipped deal: the price of the best tier reached is fixed (the
    settlement set it on the deal before this step) and each pledge learns what it pays.
    Pledges paid in person are billed for pickup; cards are charged by the settlement after
    this commits."""
    deal: GroupDeal = done.instance
    unit = deal.final_unit_price_cents
    if unit is None:
        unit = tiers.price_at(deal.tiers, deal.pledged_quantity)
        deal.final_unit_price_cents = unit
    shipping = deal.shipping_cents if deal.fulfilment == SHIPPING else 0
    from app.payments import money as payments

    in_person = payments.settles_in_person()
    pledge_kind = get_kind(PLEDGE)
    for pledge in _pledges(deal.id, states.PLEDGED):
        charge = tiers.charge_for(pledge.quantity, unit, deal.organizer_fee_bps, shipping)
        pledge.unit_price_cents = charge.unit_price_cents
        pledge.goods_cents = charge.goods_cents
        pledge.fee_cents = charge.fee_cents
        pledge.shipping_cents = charge.shipping_cents
        pledge.amount_cents = charge.amount_cents
        if in_person or pledge.payment_method == IN_PERSON:
            pledge.payment_method = IN_PERSON
            db.session.flush()
            step(pledge_kind, pledge, "bill_in_person", now=done.now)
    db.session.flush()


def on_deal_fulfilled(done: Step) -> None:
    follow_pledges(done.instance, done.now)


def _pledges(deal_id: int, state: str) -> list[Pledge]:
    return list(
        db.session.scalars(
            select(Pledge)
            .where(Pledge.deal_id == deal_id, Pledge.state == state)
            .order_by(Pledge.id)
            .execution_options(populate_existing=True)
        )
    )
