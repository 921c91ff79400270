"""A pledge's money, built on the subject-neutral operations of app/payments/money.py, for both
providers. Each pledge is a subject of its own, ("pledge", id); its money waits in the
`pledges_held` account until its deal settles, then goes to what the supplier (goods and
shipping, less the platform fee on card payments) and the organizer (the fee) are owed.

  stripe (the member saved a card before pledging; nothing is held before the deadline)
    deal closes     each pledge charged off-session at the final tier price
                    (charge_saved_card, key pledge:<id>:charge:<attempt>) -> pledges held;
                    the success steps the pledge to paid in the same unit of work
    card declined   payment_due: retried on each settlement run and when the card changes,
                    until grace_until; then dropped (nothing taken)
    deal settles    pledges held -> payable: supplier and organizer (release_split)
  manual provider (the default: paid in person at pickup)
    deal closes     each pledge billed: pay_at_pickup
    record_payment  received in person (record_in_person) -> pledges held -> payable at once
  both
    a payment that lands for a pledge dropped or released meanwhile is refunded in full
    a dispute or an agreed refund between the member and the organizer, once the deal's money
                    was released: taken back from supplier and organizer (their payouts not
                    sent yet, or transfer reversals), then refunded (payments.take_back)

Registered at app start (`init_app`): the invariant `flask ledger verify` checks (pledges held
against the deals' states) and the statement's words.
"""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from sqlalchemy import select

from app.clubs import states
from app.clubs.models import GroupDeal, Pledge
from app.clubs.steps import PLEDGE, hold_pledge, step_now
from app.errors import InvalidTransition, NotFound, ValidationFailed
from app.extensions import db
from app.money import format_money
from app.payments import ledger, operations
from app.payments import money as payments
from app.payments.models import Payment
from app.payments.statement import Seen, register_statement_label
from app.transactions.machine import Step, step
from app.transactions.registry import MoneyRules, Stake, get_kind

# The deal states in which its paid pledges' money has been released to supplier and organizer.
RELEASED_DEALS = frozenset({states.SETTLED, states.FULFILLED, states.COMPLETED})


def charge_key(pledge_id: int, attempt: int) -> str:
    return f"{PLEDGE}:{pledge_id}:charge:{attempt}"


def pledge_payments(pledge_id: int, status: str | None = "succeeded") -> list[Payment]:
    return payments.subject_payments((PLEDGE, pledge_id), status)


# -- the steps' money ---------------------------------------------------------------------------


def money_hook(done: Step) -> None:
    """After every pledge step: paid in person is recorded, and released at once when its deal
    has settled already."""
    pledge: Pledge = done.instance
    if done.action == "record_payment":
        deal = db.session.get(GroupDeal, pledge.deal_id)
        payments.record_in_person(
            (PLEDGE, pledge.id),
            payer_id=pledge.member_id,
            payee_id=deal.supplier_id,
            amount_cents=pledge.amount_cents,
            currency=deal.currency,
            at=done.now,
        )
        if deal.state in RELEASED_DEALS:
            release(pledge, deal, at=done.now)


def on_deal_settled(done: Step) -> None:
    """The deal settled: every paid pledge's money goes to what the supplier and the organizer
    are owed."""
    deal: GroupDeal = done.instance
    paid = db.session.scalars(select_paid(deal.id).execution_options(populate_existing=True)).all()
    for pledge in paid:
        release(pledge, deal, at=done.now)


def select_paid(deal_id: int):
    return (
        select(Pledge)
        .where(Pledge.deal_id == deal_id, Pledge.state.in_(states.PAID_STATES))
        .order_by(Pledge.id)
    )


def release(pledge: Pledge, deal: GroupDeal, *, at=None) -> None:
    """pledges held -> payable: goods and shipping to the supplier (less the platform fee of a
    card payment), the organizer's fee to the organizer."""
    for payment in pledge_payments(pledge.id):
        held = payment.held_cents
        if held <= 0 or payment.transferred_cents or payment.fee_cents:
            continue
        organizer_share = min(pledge.fee_cents, held)
        payments.release_split(
            payment,
            [(deal.supplier_id, held - organizer_share), (deal.organizer_id, organizer_share)],
            ledger_kind="pledge_released",
            description=f"Group deal #{deal.id}: pledge #{pledge.id} settled",
            at=at,
        )


def run_operations() -> None:
    """Run the provider operations committed by this session (payouts)."""
    while operations.run_ready():
        pass


# -- disputes and agreed refunds (app/disputes, through the pledges' registry entry) ------------

# The pledge states from which its money can be divided (the member disputes or they agree).
DIVIDABLE = frozenset({states.PAID, states.DELIVERED, states.DISPUTED})


def payee_role(deal: GroupDeal) -> str:
    """Who answers a member's dispute: the organizer (the supplier when they are one person,
    as the pledge's parties name them then)."""
    return "supplier" if deal.organizer_id == deal.supplier_id else "organizer"


def dispute_stake(pledge: Pledge) -> Stake:
    """What a dispute about a pledge divides: what the member paid and did not get back, once
    the deal's money was released (while the deal is still being charged, nothing yet)."""
    deal = db.session.get(GroupDeal, pledge.deal_id)
    held = sum(p.held_cents for p in pledge_payments(pledge.id))
    released = pledge.state in DIVIDABLE and deal.state in RELEASED_DEALS
    return Stake(
        amount_cents=held if released else 0,
        currency=deal.currency,
        payer_role="member",
        payee_role=payee_role(deal),
        what="the member's payment for the pledge",
    )


def decide_dispute(pledge_id: int, awarded_cents: int, note: str | None, now: datetime) -> None:
    """Carry out a moderator's decision (or a refund the member and the organizer agreed on)
    without committing: what is not awarded is taken back from what the pledge paid supplier
    and organizer and refunded to the member (payments.take_back; operations staged), and the
    pledge is resolved. Raises NotFound, InvalidTransition, ValidationFailed."""
    from app.transactions.machine import MAX_NOTE_LENGTH

    pledge = hold_pledge(pledge_id)
    if pledge is None:
        raise NotFound("We could not find that pledge.")
    action = {
        states.DISPUTED: "resolve",
        states.PAID: "settle",
        states.DELIVERED: "settle",
    }.get(pledge.state)
    if action is None:
        raise InvalidTransition(states.PLEDGE_MACHINE.refusal_message(pledge.state, "resolve"))
    deal = db.session.get(GroupDeal, pledge.deal_id)
    if deal.state not in RELEASED_DEALS:
        raise InvalidTransition("The deal is still being charged: decide once it has settled.")
    held_by = [p for p in pledge_payments(pledge.id) if p.held_cents > 0]
    held = sum(p.held_cents for p in held_by)
    if isinstance(awarded_cents, bool) or not isinstance(awarded_cents, int):
        raise ValidationFailed(fields={"awarded": ["Enter the amount for the organizer."]})
    if not 0 <= awarded_cents <= held:
        message = f"From nothing up to the {format_money(held, deal.currency)} paid."
        raise ValidationFailed(message, fields={"awarded": [message]})
    payments.give_back(
        held_by,
        held - awarded_cents,
        reason="Pledge refund",
        reason_released="Pledge refund",
        at=now,
    )
    note = (note or "").strip()[:MAX_NOTE_LENGTH] or None
    step(get_kind(PLEDGE), pledge, action, None, note=note, now=now)


def follow_up(_pledge_id: int) -> None:
    """After a decision commits: run the reversals and refunds it decided (a provider outage
    leaves them to the due job)."""
    run_operations()


# -- a card payment's news (MoneyRules) ----------------------------------------------------------


def _lock_for_money(pledge_id: int) -> bool:
    return hold_pledge(pledge_id) is not None


def _payment_succeeded(payment: Payment) -> None:
    """A card payment for a pledge went through. Still to be charged: the pledge is paid (and
    its deal may settle), in the same unit of work as the payment. Dropped or released
    meanwhile: the money goes straight back."""
    pledge = hold_pledge(payment.subject_id)
    if pledge is None:
        return
    payments.post_funding(payment)  # once: a charge's own call posted it already
    if pledge.state in states.UNSETTLED:
        pledge.charge_attempts += 1
        db.session.flush()
        step(get_kind(PLEDGE), pledge, "charge", now=step_now())
    elif (
        pledge.state not in states.PAID_STATES
        and payment.held_cents > 0
        and payments.is_funded(payment)
    ):
        payments.decide_refund(
            payment, payment.held_cents, reason="Paid after the pledge was dropped"
        )


MONEY = MoneyRules(
    lock=_lock_for_money, on_payment_succeeded=_payment_succeeded, holding=ledger.PLEDGES_HELD
)


# -- what `flask ledger verify` checks for pledges ------------------------------------------------


def pledges_held() -> dict[int, int]:
    """{pledge id: what pledges held must hold for it}: a paid pledge of a deal still closed
    (being charged) holds what it paid; once its deal settled, nothing (it went to supplier
    and organizer); a pledge that was never paid, or whose money went back, nothing."""
    expected: dict[int, int] = {}
    rows = db.session.execute(select_paid_amounts().where(GroupDeal.state == states.CLOSED)).all()
    for pledge_id, amount in rows:
        expected[pledge_id] = int(amount)
    return expected


def select_paid_amounts():
    return (
        select(Pledge.id, Pledge.amount_cents)
        .join(GroupDeal, GroupDeal.id == Pledge.deal_id)
        .where(Pledge.state.in_(states.PAID_STATES))
    )


# -- what a pledge shows about its money ----------------------------------------------------------


def pledge_money(pledge: Pledge) -> dict:
    """A pledge's money for its page and the API: attempts, the last card answer, paid."""
    made = pledge_payments(pledge.id, status=None)
    paid = [p for p in made if p.status == "succeeded"]
    return {
        "paid_cents": sum(p.captured_cents for p in paid),
        "refunded_cents": sum(p.refunded_cents for p in paid),
        "in_person": any(p.provider == "manual" for p in paid)
        or pledge.payment_method == "in_person",
        "attempts": len([p for p in made if p.kind == "charge"]),
        "last_failure": next(
            (p.failure_message for p in reversed(made) if p.status == "failed"), None
        ),
    }


# -- the statement's words ------------------------------------------------------------------------


def _funded_words(seen: Seen) -> tuple[str, int]:
    payment, moved = seen.payment, seen.moved_cents
    if payment is None:
        return seen.txn.description, seen.own_cents
    amount = format_money(moved, seen.txn.currency)
    if payment.payer_id == seen.user_id:
        if payment.provider == "manual":
            return "You paid your group-deal pledge in person", -moved
        return "Your group-deal pledge was charged to your card", -moved
    if payment.provider == "manual":
        return f"A member paid their pledge of {amount} in person", 0
    return f"A member's pledge of {amount} was charged to their card", 0


def _released_words(seen: Seen) -> tuple[str, int]:
    return "Group deal: your share of a settled pledge", seen.own_cents


def init_app(app: Flask) -> None:
    """Tell payments about pledges: the invariant of pledges held and the statement's words."""
    ledger.register_invariant(
        ledger.PLEDGES_HELD, PLEDGE, pledges_held, describe="paid pledge of a deal being charged"
    )
    register_statement_label("pledge_funded", _funded_words, for_parties=True)
    register_statement_label("pledge_released", _released_words)
