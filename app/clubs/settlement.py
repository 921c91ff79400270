"""The deals' due job (`run`, scheduled in app/jobs/runner.py as "clubs.deals_due"): what happens
to deals and pledges when time passes. Every part is idempotent: run twice, it does nothing
the second time; a deadline that passed while no worker ran is handled on the next run.

    remind      members, DEAL_REMINDER_HOURS_BEFORE the deadline (deal.deadline_soon, once)
    close       past the deadline: an open deal fails (pledges released, nobody charged); a
                tipped deal closes at the price of the best tier reached, fixed for everybody
    charge      each card pledge of a closed deal, off-session, once per attempt key; a
                declined card gets DEAL_GRACE_HOURS (payment_due), retried on each run at most
                every RETRY_EVERY and at once on the next run after the member's card changes
    drop        payment_due pledges whose grace is over (the price stays as fixed)
    settle      a closed deal with nothing left to charge settles (fails if nobody paid)
    receipt     delivered pledges the member did not confirm within DEAL_RECEIPT_DAYS

Crash safety of the charges: the payment record (with its idempotency key) is committed before
the provider is asked; the provider's success, the ledger posting and the pledge's step to paid
commit together (app/clubs/money.py `_payment_succeeded`). A run that dies in between finds the
payment still "created" and asks again under the same key: the provider answers the same
PaymentIntent, so nobody is charged twice; every pledge still pledged is tried, so nobody is
skipped.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import exists, or_, select

from app.clubs import money, states, tiers
from app.clubs.models import CARD, GroupDeal, Pledge
from app.clubs.steps import (
    DEAL,
    NOW_KEY,
    PLEDGE,
    deal_payload,
    follow_pledges,
    hold_deal,
    hold_pledge,
)
from app.db import utcnow
from app.errors import Conflict, InvalidTransition
from app.extensions import db
from app.payments import money as payments
from app.payments.models import PaymentProfile
from app.payments.providers.base import PaymentDeclined, ProviderUnavailable
from app.transactions.events import DomainEvent, record_event
from app.transactions.machine import advance, step
from app.transactions.registry import get_kind

logger = logging.getLogger(__name__)

RETRY_EVERY = timedelta(hours=1)
NO_CARD_NOTE = "There is no saved card to charge."
ACTION_NEEDED_NOTE = "Your bank asks you to confirm this payment: pay again from the deal page."


def run(now: datetime | None = None) -> int:
    """Every part of the due job once; returns how many deals and pledges it handled."""
    now = now or utcnow()
    handled = remind(now) + close_due(now)
    handled += charge_due(now) + drop_due(now) + settle_due(now) + confirm_due(now)
    money.run_operations()
    return handled


# -- before the deadline ----------------------------------------------------------------------


def remind(now: datetime) -> int:
    """Tell the members of deals closing within DEAL_REMINDER_HOURS_BEFORE (once per deal)."""
    horizon = now + timedelta(hours=current_app.config["DEAL_REMINDER_HOURS_BEFORE"])
    reminded = exists().where(
        DomainEvent.subject_kind == DEAL,
        DomainEvent.subject_id == GroupDeal.id,
        DomainEvent.name == f"{DEAL}.deadline_soon",
    )
    ids = db.session.scalars(
        select(GroupDeal.id)
        .where(
            GroupDeal.state.in_(states.PLEDGING),
            GroupDeal.deadline > now,
            GroupDeal.deadline <= horizon,
            ~reminded,
        )
        .order_by(GroupDeal.id)
    ).all()
    sent = 0
    for deal_id in ids:
        deal = hold_deal(deal_id)
        already = db.session.scalar(
            select(DomainEvent.id).where(
                DomainEvent.subject_kind == DEAL,
                DomainEvent.subject_id == deal_id,
                DomainEvent.name == f"{DEAL}.deadline_soon",
            )
        )
        if deal is None or already or deal.state not in states.PLEDGING:
            db.session.rollback()
            continue
        record_event(f"{DEAL}.deadline_soon", subject_kind=DEAL, subject_id=deal_id,
                     actor_id=None, payload=deal_payload(deal), now=now)  # fmt: skip
        db.session.commit()
        sent += 1
    return sent


# -- at the deadline --------------------------------------------------------------------------


def close_due(now: datetime) -> int:
    """Deals whose deadline passed: an open one fails, a tipped one closes at its final price."""
    ids = db.session.scalars(
        select(GroupDeal.id)
        .where(GroupDeal.state.in_(states.PLEDGING), GroupDeal.deadline <= now)
        .order_by(GroupDeal.deadline, GroupDeal.id)
    ).all()
    done = 0
    for deal_id in ids:
        deal = hold_deal(deal_id)
        if deal is None or deal.state not in states.PLEDGING or deal.deadline > now:
            db.session.rollback()
            continue
        if deal.state == states.OPEN:
            step(get_kind(DEAL), deal, "fail", now=now)
        else:
            # Fixed before the step, so the "close" event tells everybody the price.
            deal.final_unit_price_cents = tiers.price_at(deal.tiers, deal.pledged_quantity)
            db.session.flush()
            step(get_kind(DEAL), deal, "close", now=now)
        db.session.commit()
        logger.info("deal %s: deadline passed -> %s", deal_id, deal.state)
        done += 1
    return done


def charge_due(now: datetime) -> int:
    """Charge the card pledges of closed deals not charged yet, and retry declined ones (see
    the module's table)."""
    fresh = (
        select(Pledge.id)
        .join(GroupDeal, GroupDeal.id == Pledge.deal_id)
        .where(
            GroupDeal.state == states.CLOSED,
            Pledge.state == states.PLEDGED,
            Pledge.payment_method == CARD,
        )
    )
    card_changed = exists().where(
        PaymentProfile.user_id == Pledge.member_id,
        PaymentProfile.updated_at > Pledge.updated_at,
    )
    retry = (
        select(Pledge.id)
        .join(GroupDeal, GroupDeal.id == Pledge.deal_id)
        .where(
            GroupDeal.state == states.CLOSED,
            Pledge.state == states.PAYMENT_DUE,
            Pledge.grace_until > now,
            or_(Pledge.updated_at <= now - RETRY_EVERY, card_changed),
        )
    )
    ids = sorted(set(db.session.scalars(fresh)) | set(db.session.scalars(retry)))
    return sum(1 for pledge_id in ids if charge_pledge(pledge_id, now) != "skipped")


def charge_pledge(pledge_id: int, now: datetime | None = None) -> str:
    """Charge one pledge's saved card for what it owes (idempotent, see the module's note).
    Answers "paid", "declined", "unavailable" or "skipped" (nothing to charge)."""
    now = now or utcnow()
    found = db.session.get(Pledge, pledge_id, populate_existing=True)
    deal = db.session.get(GroupDeal, found.deal_id) if found is not None else None
    if found is None or found.state not in states.UNSETTLED or deal.state != states.CLOSED:
        return "skipped"
    made = money.pledge_payments(pledge_id, status=None)
    latest = made[-1] if made else None
    if latest is not None and latest.status == "failed" and found.state == states.PLEDGED:
        # The card said no and the run stopped before the pledge heard of it.
        return _failed(pledge_id, latest.failure_message or NO_CARD_NOTE, now)
    if latest is not None and latest.status in ("created", "processing", "succeeded"):
        key = latest.operation_key  # never answered (or answered and lost): ask again, same key
    else:
        key = money.charge_key(pledge_id, len(made) + 1)
    db.session.info[NOW_KEY] = now
    try:
        payment = payments.charge_saved_card(
            (PLEDGE, pledge_id),
            payer_id=found.member_id,
            payee_id=deal.supplier_id,
            amount_cents=found.amount_cents,
            currency=deal.currency,
            key=key,
        )
    except ProviderUnavailable:
        db.session.rollback()
        logger.warning("pledge %s: the card provider did not answer; retried later", pledge_id)
        return "unavailable"
    except PaymentDeclined as declined:
        db.session.rollback()
        return _failed(pledge_id, f"Your card was declined ({declined.message.rstrip('.')}).", now)
    except Conflict:  # no saved card
        db.session.rollback()
        return _failed(pledge_id, NO_CARD_NOTE, now)
    finally:
        db.session.info.pop(NOW_KEY, None)
    if payment.status == "succeeded":
        found = db.session.get(Pledge, pledge_id, populate_existing=True)
        if found.state in states.UNSETTLED:  # the success was recorded by an earlier run
            _paid_late(pledge_id, now)
        return "paid"
    if payment.status == "processing":
        return "unavailable"
    return _failed(pledge_id, ACTION_NEEDED_NOTE, now)


def _paid_late(pledge_id: int, now: datetime) -> None:
    pledge = hold_pledge(pledge_id)
    if pledge is not None and pledge.state in states.UNSETTLED:
        pledge.charge_attempts += 1
        db.session.flush()
        step(get_kind(PLEDGE), pledge, "charge", now=now)
    db.session.commit()


def _failed(pledge_id: int, note: str, now: datetime) -> str:
    """The card did not pay: payment_due, with DEAL_GRACE_HOURS from the first failure."""
    pledge = hold_pledge(pledge_id)
    if pledge is None or pledge.state not in states.UNSETTLED:
        db.session.rollback()
        return "skipped"
    if pledge.grace_until is None:
        pledge.grace_until = now + timedelta(hours=current_app.config["DEAL_GRACE_HOURS"])
    pledge.charge_attempts += 1
    db.session.flush()
    step(get_kind(PLEDGE), pledge, "charge_failed", note=note[:500], now=now)
    db.session.commit()
    logger.info("pledge %s: charge failed (attempt %s)", pledge_id, pledge.charge_attempts)
    return "declined"


# -- after the deadline ----------------------------------------------------------------------


def _advance_each(ids, action: str, now: datetime) -> int:
    done = 0
    for pledge_id in ids:
        try:
            advance(PLEDGE, pledge_id, action, None, now=now)
        except InvalidTransition:  # moved on meanwhile (paid just in time)
            db.session.rollback()
            continue
        done += 1
    return done


def drop_due(now: datetime) -> int:
    """Pledges whose grace period is over: dropped (nothing taken; the price stays as fixed)."""
    ids = db.session.scalars(
        select(Pledge.id)
        .where(Pledge.state == states.PAYMENT_DUE, Pledge.grace_until <= now)
        .order_by(Pledge.id)
    ).all()
    return _advance_each(ids, "drop", now)


def settle_due(now: datetime) -> int:
    """Closed deals with nothing left to charge, and fulfilled deals with every pledge final,
    that no step moved on (a crash between two units of work)."""
    ids = db.session.scalars(
        select(GroupDeal.id)
        .where(GroupDeal.state.in_((states.CLOSED, states.FULFILLED)))
        .order_by(GroupDeal.id)
    ).all()
    moved = 0
    for deal_id in ids:
        deal = hold_deal(deal_id)
        before = deal.state if deal is not None else None
        if deal is not None:
            follow_pledges(deal, now)
        db.session.commit()
        if deal is not None and deal.state != before:
            moved += 1
    return moved


def confirm_due(now: datetime) -> int:
    """Delivered pledges the member did not confirm within DEAL_RECEIPT_DAYS."""
    cutoff = now - timedelta(days=current_app.config["DEAL_RECEIPT_DAYS"])
    ids = db.session.scalars(
        select(Pledge.id)
        .where(Pledge.state == states.DELIVERED, Pledge.delivered_at <= cutoff)
        .order_by(Pledge.id)
    ).all()
    return _advance_each(ids, "auto_confirm", now)
