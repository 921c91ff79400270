"""The loans' due job (services.run_due_jobs, scheduled in app/jobs/runner.py): what happens to
loans when time passes. Every part is idempotent: run twice, it does nothing the second time.

    expire        a request nobody answered in time (states: expire)
    lapse         an approved loan whose last day passed without a handover: cancelled,
                  the fee refunded and the deposit released
    remind        the borrower, LOAN_REMINDER_DAYS_BEFORE the due day, and each day it is late
                  (the lender too, on the first late day): loan.due_soon, loan.overdue
    auto_complete a return nobody claimed for within LOAN_CLAIM_WINDOW_DAYS: deposit back
    auto_accept   a claim the borrower did not answer within LOAN_CLAIM_ANSWER_DAYS: it stands
    move_holds    a deposit hold about to end on a loan still open (it came back late, or a
                  claim is open): the deposit moves to the borrower's saved card
    retry_money   the provider calls an outage left undone (securing an approved loan, charging
                  the kept part of a saved-card deposit)
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta

from flask import current_app
from sqlalchemy import and_, exists, or_, select

from app.errors import InvalidTransition
from app.extensions import db
from app.lending import money, states
from app.lending.conversation import KIND
from app.lending.models import DamageClaim, Loan
from app.lending.steps import claim_loan, event_payload, lock_loan
from app.payments import money as payments
from app.payments.models import Payment
from app.transactions.events import record_event
from app.transactions.machine import advance

logger = logging.getLogger(__name__)

# An approval (or a settlement) secures its money right away; the job only retries older ones,
# so it never asks the provider at the same moment as the request that is already asking.
RETRY_AFTER = timedelta(minutes=5)


def run(now: datetime) -> int:
    """Every part of the due job once; returns how many loans it handled."""
    handled = expire(now) + lapse(now) + remind(now) + auto_complete(now) + auto_accept(now)
    return handled + move_holds(now) + retry_money(now)


def _step_each(ids: list[int], action: str, now: datetime) -> int:
    done = 0
    for loan_id in ids:
        try:
            advance(KIND, loan_id, action, None, now=now)
        except InvalidTransition:  # a party acted meanwhile
            db.session.rollback()
            continue
        money.follow_up(loan_id)
        done += 1
    return done


def expire(now: datetime) -> int:
    """Requests whose time to answer ran out."""
    ids = db.session.scalars(
        select(Loan.id)
        .where(Loan.state == states.REQUESTED, Loan.expires_at <= now)
        .order_by(Loan.id)
    ).all()
    return _step_each(list(ids), "expire", now)


def lapse(now: datetime) -> int:
    """Approved loans whose last day is over and that nobody handed over."""
    ids = db.session.scalars(
        select(Loan.id)
        .where(Loan.state == states.APPROVED, Loan.ends_on < now.date())
        .order_by(Loan.id)
    ).all()
    return _step_each(list(ids), "lapse", now)


def move_holds(now: datetime) -> int:
    """Open loans whose deposit hold would end before the loan does (money.hold_runs_out)."""
    if payments.settles_in_person():
        return 0
    cutoff = now - timedelta(days=current_app.config["LOAN_HOLD_WINDOW_DAYS"])
    ids = db.session.scalars(
        select(Loan.id)
        .where(
            Loan.deposit_method == money.HOLD,
            Loan.state.in_(states.OPEN - {states.APPROVED}),
            Loan.approved_at <= cutoff,
        )
        .order_by(Loan.id)
    ).all()
    return sum(money.move_hold_to_saved_card(loan_id, now) for loan_id in ids)


def auto_complete(now: datetime) -> int:
    """Returns the lender neither confirmed nor claimed for within the claim window."""
    cutoff = now - timedelta(days=current_app.config["LOAN_CLAIM_WINDOW_DAYS"])
    ids = db.session.scalars(
        select(Loan.id)
        .where(Loan.state == states.RETURNED, Loan.returned_at <= cutoff)
        .order_by(Loan.id)
    ).all()
    return _step_each(list(ids), "auto_complete", now)


def auto_accept(now: datetime) -> int:
    """Claims the borrower did not answer within the answer window."""
    cutoff = now - timedelta(days=current_app.config["LOAN_CLAIM_ANSWER_DAYS"])
    ids = db.session.scalars(
        select(Loan.id)
        .where(Loan.state == states.DAMAGE_CLAIMED, Loan.claimed_at <= cutoff)
        .order_by(Loan.id)
    ).all()
    return _step_each(list(ids), "auto_accept", now)


def _day_start(day) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def reminder_due(loan: Loan, now: datetime) -> str | None:
    """Which reminder a loan out is due now, if any: "due_soon" once, from
    LOAN_REMINDER_DAYS_BEFORE days before the due day; "overdue" once a day after it."""
    today = now.date()
    if loan.state != states.ACTIVE:
        return None
    if today > loan.ends_on:
        if loan.reminded_at is None or loan.reminded_at < _day_start(today):
            return "overdue"
        return None
    window = loan.ends_on - timedelta(days=current_app.config["LOAN_REMINDER_DAYS_BEFORE"])
    if today >= window and (loan.reminded_at is None or loan.reminded_at < _day_start(window)):
        return "due_soon"
    return None


def remind(now: datetime) -> int:
    """Remind borrowers of things due back soon or late (recorded events: notifications)."""
    horizon = now.date() + timedelta(days=current_app.config["LOAN_REMINDER_DAYS_BEFORE"])
    candidates = db.session.scalars(
        select(Loan).where(Loan.state == states.ACTIVE, Loan.ends_on <= horizon).order_by(Loan.id)
    ).all()
    ids = [loan.id for loan in candidates if reminder_due(loan, now)]
    sent = 0
    for loan_id in ids:
        loan = lock_loan(loan_id)
        which = reminder_due(loan, now) if loan is not None else None
        if which is None:  # returned, or reminded by another run meanwhile
            db.session.rollback()
            continue
        try:
            claim_loan(loan_id, in_state=states.ACTIVE)
        except InvalidTransition:
            continue
        first_late = loan.reminded_at is None or loan.reminded_at < _day_start(
            loan.ends_on + timedelta(days=1)
        )
        loan.reminded_at = now
        record_event(
            f"{KIND}.{which}",
            subject_kind=KIND,
            subject_id=loan.id,
            actor_id=None,
            payload=event_payload(loan)
            | {
                "days_late": max(0, (now.date() - loan.ends_on).days),
                "first_late_reminder": which == "overdue" and first_late,
            },
            now=now,
        )
        db.session.commit()
        sent += 1
    return sent


def retry_money(now: datetime) -> int:
    """Secure approved loans an outage left unsecured, and charge the kept part of settled
    saved-card deposits that was never charged (card providers only)."""
    if payments.settles_in_person():
        return 0
    cutoff = now - RETRY_AFTER
    approved = db.session.scalars(
        select(Loan).where(Loan.state == states.APPROVED, Loan.approved_at <= cutoff)
    ).all()
    retried = 0
    for loan in approved:
        if not money.is_secured(loan):
            money.secure(loan.id)
            retried += 1
    kept_charged = select(Payment.id).where(
        Payment.subject_type == KIND,
        Payment.subject_id == Loan.id,
        Payment.operation_key.endswith(":kept"),
        Payment.status.not_in(("created", "processing")),
    )
    settled = db.session.scalars(
        select(Loan.id).where(
            Loan.state.in_(money.SETTLED),
            Loan.deposit_method == money.SAVED_CARD,
            or_(Loan.completed_at <= cutoff, Loan.resolved_at <= cutoff),
            or_(
                Loan.late_fee_cents > 0,
                exists().where(and_(DamageClaim.loan_id == Loan.id, DamageClaim.awarded_cents > 0)),
            ),
            ~kept_charged.exists(),
        )
    ).all()
    for loan_id in settled:
        loan = db.session.get(Loan, loan_id)
        if money.owes_kept_charge(loan):
            money.charge_kept(loan_id)
            retried += 1
    money.run_operations()
    return retried
