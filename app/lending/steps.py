"""What happens with a loan's steps besides its money (app/lending/money.py): the row lock for a
decision, the loan's own history, what every loan event carries, and the hooks the engine runs
after each step (app/lending/kind.py registers them).

    approve           the other requests for the same days are declined (they cannot be booked)
    confirm_handover  stamps the party's own confirmation; the second one starts the loan
    mark_returned     records the lateness: whole days past the due day and the late fee
    claim answers     the claim records the borrower's answer and what the lender is awarded
"""

from __future__ import annotations

from sqlalchemy import inspect, select, update

from app.errors import Conflict, InvalidTransition
from app.extensions import db
from app.lending import states
from app.lending.models import DamageClaim, Loan, LoanEvent
from app.listings import pricing
from app.transactions.machine import Step, step

DATES_TAKEN_NOTE = "Those days were lent to someone else."
# States in which a loan may have a damage claim.
CLAIM_STATES = frozenset(
    {states.DAMAGE_CLAIMED, states.DISPUTED, states.COMPLETED, states.RESOLVED}
)
# The claim's answer after each step that settles it (`awarded`: what the lender receives).
CLAIM_ANSWERS = {
    "accept_claim": "accepted",
    "auto_accept": "accepted",
    "dispute_claim": "disputed",
    "withdraw_claim": "withdrawn",
    "settle_claim": "agreed",
}


def lock_loan(loan_id: int) -> Loan | None:
    """The loan, read afresh for a decision about its state or money (never from what the
    session remembers). On PostgreSQL its row stays locked until the unit of work ends, so the
    decisions about one loan are taken one at a time; on SQLite follow it with `claim_loan`."""
    return db.session.scalar(
        select(Loan)
        .where(Loan.id == loan_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def claim_loan(loan_id: int, *, in_state: str | None = None) -> None:
    """Write to the loan row (the value it already has) before deciding about its money,
    guarded by the state the decision was checked against: it serializes the decision with
    every other one about this loan on each database (row lock on PostgreSQL, the write lock on
    SQLite). InvalidTransition when the loan moved on meanwhile."""
    query = update(Loan).where(Loan.id == loan_id)
    if in_state is not None:
        query = query.where(Loan.state == in_state)
    changed = db.session.execute(
        query.values(updated_at=Loan.updated_at).execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        db.session.rollback()
        raise InvalidTransition(states.MACHINE.changed_meanwhile)


def event_payload(loan: Loan) -> dict:
    """What every loan event carries: the parties, the thing, the days, the money, the
    lateness, the claim and its page, so the consumers (notifications, feedback, reputation)
    never read the loan."""
    late_days, late_fee = loan.late_days, loan.late_fee_cents
    if loan.returned_at is not None:
        # Read from the return itself: the return's own event is recorded before its hook
        # stores the lateness on the loan.
        late_days = pricing.late_days(loan.ends_on, loan.returned_at.date())
        late_fee = pricing.late_fee_cents(loan, late_days)
    payload = {
        "title": loan.title,
        "path": f"/loans/{loan.id}",
        "lender_id": loan.lender_id,
        "borrower_id": loan.borrower_id,
        "listing_id": loan.listing_id,
        "starts_on": loan.starts_on.isoformat(),
        "ends_on": loan.ends_on.isoformat(),
        "days": loan.days,
        "fee_cents": loan.fee_cents,
        "deposit_cents": loan.deposit_cents,
        "currency": loan.currency,
        "late_fee_per_day_cents": loan.late_fee_per_day_cents,
        "late_fee_cap_cents": loan.late_fee_cap_cents,
        "late_days": late_days,
        "late_fee_cents": late_fee,
        "lender_confirmed_handover": loan.lender_handover_at is not None,
        "borrower_confirmed_handover": loan.borrower_handover_at is not None,
    }
    if loan.state in CLAIM_STATES:
        claim = claim_of(loan)
        if claim is not None:
            payload["claim_cents"] = claim.amount_cents
            payload["claim_awarded_cents"] = claim.awarded_cents
    if loan.state in (states.DISPUTED, states.RESOLVED):
        # What its dispute (or agreed refund) divides: a damage claim, or the fee.
        claim = db.session.scalar(select(DamageClaim).where(DamageClaim.loan_id == loan.id))
        payload["dispute_about"] = (
            "claim" if claim is not None and claim.answer == "disputed" else "fee"
        )
    return payload


def record_history(done: Step) -> None:
    """The loan's own history: one LoanEvent per step (the page's timeline, the API)."""
    db.session.add(
        LoanEvent(
            loan_id=done.instance.id,
            actor_id=done.actor_id,
            action=done.action,
            from_state=done.from_state,
            to_state=done.to_state,
            note=done.note,
            created_at=done.now,
        )
    )


def claimable_cents(loan: Loan) -> int:
    """The most a damage claim can take: the deposit, less the late fee it already pays."""
    return max(0, loan.deposit_cents - loan.late_fee_cents)


def after_step(done: Step) -> None:
    """After every step: what it means for the loan besides money (see the module's table)."""
    action = done.action
    if action == "approve":
        _decline_the_overlapping_requests(done)
    elif action == "confirm_handover":
        _confirm_handover(done)
    elif action == "mark_returned":
        _record_lateness(done)
    if action in CLAIM_ANSWERS or action == "resolve":
        _answer_claim(done)


def _decline_the_overlapping_requests(done: Step) -> None:
    """The approved days are booked: the other requests for any of them are declined now (by
    the lender who approved, with a note saying why) rather than left waiting for an answer
    that can only be no."""
    loan: Loan = done.instance
    others = db.session.scalars(
        select(Loan.id)
        .where(
            Loan.listing_id == loan.listing_id,
            Loan.id != loan.id,
            Loan.state == states.REQUESTED,
            Loan.starts_on <= loan.ends_on,
            Loan.ends_on >= loan.starts_on,
        )
        .order_by(Loan.id)
    ).all()
    for other_id in others:
        other = lock_loan(other_id)
        if other is not None and other.state == states.REQUESTED:  # not withdrawn meanwhile
            step(done.kind, other, "decline", done.actor_id, note=DATES_TAKEN_NOTE, now=done.now)


def _confirm_handover(done: Step) -> None:
    """Stamp this party's confirmation; once both have confirmed, the loan starts."""
    loan: Loan = done.instance
    # Read both confirmations as stored now: the step's write holds the row (and SQLite's write
    # lock), so the other side's confirmation at the same moment is either seen here or sees
    # this one.
    db.session.refresh(loan, ["lender_handover_at", "borrower_handover_at"])
    column = "lender_handover_at" if done.actor_id == loan.lender_id else "borrower_handover_at"
    if getattr(loan, column) is not None:
        db.session.rollback()
        raise Conflict("You have already confirmed the handover; now the other side confirms it.")
    setattr(loan, column, done.now)
    if loan.lender_handover_at is not None and loan.borrower_handover_at is not None:
        step(done.kind, loan, "start", now=done.now)


def _record_lateness(done: Step) -> None:
    """Whole days past the due day and the late fee they cost (pricing: per day, capped, never
    more than the deposit), kept on the loan for its page, its money and reputation."""
    loan: Loan = done.instance
    loan.late_days = pricing.late_days(loan.ends_on, done.now.date())
    loan.late_fee_cents = pricing.late_fee_cents(loan, loan.late_days)


def _answer_claim(done: Step) -> None:
    """The claim records how it was answered and, once settled, what the lender receives."""
    claim = db.session.scalar(select(DamageClaim).where(DamageClaim.loan_id == done.instance.id))
    if claim is None:
        return
    if done.action in CLAIM_ANSWERS:
        claim.answer = CLAIM_ANSWERS[done.action]
        claim.answered_at = done.now
        if done.note is not None:
            claim.answer_note = done.note
    if done.action in ("accept_claim", "auto_accept"):
        claim.awarded_cents = claim.amount_cents
    elif done.action == "withdraw_claim":
        claim.awarded_cents = 0
    # "resolve", "settle_claim": the award was set with the decision or the agreement
    # (services.decide_claim).


def claim_of(loan: Loan) -> DamageClaim | None:
    """The loan's damage claim: the one the loan was loaded with (the loan page's), else one
    statement. A claim is only ever made with its loan set (services.claim_damage), so a
    loaded relationship is never behind the table."""
    if "claim" not in inspect(loan).unloaded:
        return loan.claim
    return db.session.scalar(select(DamageClaim).where(DamageClaim.loan_id == loan.id))


def kept_cents(loan: Loan) -> int:
    """What the lender keeps of the deposit once the loan is settled: the late fee and what a
    claim was awarded."""
    claim = claim_of(loan)
    awarded = (claim.awarded_cents or 0) if claim is not None else 0
    return loan.late_fee_cents + awarded
