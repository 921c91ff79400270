"""A loan's money: the fee, the deposit and what the lender keeps of it, built on the
subject-neutral operations of app/payments/money.py, for both providers. Registered at app start
(`init_app`): the hooks through which a card payment's news reaches its loan (MONEY, in the
loan kind's registry entry), the invariants `flask ledger verify` checks for loans and the
statement's words for a loan's money.

Where the money is (every movement is one balanced ledger transaction):

  manual provider (the default: nothing moves by card; the two people settle in person)
    handover    the fee received in person -> deposits held      (record_in_person)
                the deposit handed over      -> holds authorized  (hold_in_person)
  stripe (the borrower saved a card before asking)
    approval    the fee charged off-session  -> deposits held      (charge_saved_card)
                the deposit: a card hold     -> holds authorized  (hold_saved_card) when the
                  loan's last day plus the claim window fall within LOAN_HOLD_WINDOW_DAYS of
                  the approval; otherwise nothing is taken: deposit_method "saved_card"
                a declined card              -> system step payment_failed (cancelled)
  both
    completion  the fee -> payable to the lender, minus the platform fee (release_to)
                the deposit: nothing kept -> given back / hold released (release_hold)
                  kept (late fee + claim awarded) -> captured in part, the captured part paid
                  to the lender (no platform fee: it is compensation), the rest given back;
                  "saved_card": the kept part charged off-session after the step commits
    cancelled   (before the handover) the fee refunded in full, the hold released
    disputed    the deposit stays held until a moderator decides (resolve)

Provider calls run after the step commits (`follow_up`), each under a key of its own so that
doing it again does it once; the due job (app/lending/due.py) retries what a provider outage
left undone.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import select

from app.errors import Conflict, InvalidTransition
from app.extensions import db
from app.lending import states
from app.lending.conversation import KIND
from app.lending.models import Loan
from app.lending.steps import event_payload, kept_cents, lock_loan
from app.money import format_money
from app.payments import ledger, operations
from app.payments import money as payments
from app.payments.models import Payment
from app.payments.providers import get_provider
from app.payments.providers.base import PaymentDeclined, ProviderUnavailable
from app.payments.statement import Seen, register_statement_label
from app.transactions.events import record_event
from app.transactions.machine import Step
from app.transactions.registry import MoneyRules

logger = logging.getLogger(__name__)

SETTLED = frozenset({states.COMPLETED, states.RESOLVED})
GIVEN_UP = frozenset({states.CANCELLED, states.DECLINED, states.EXPIRED})
# deposit_method: how the deposit is secured (app/lending/models.py)
HOLD, SAVED_CARD, IN_PERSON, NONE = "hold", "saved_card", "in_person", "none"


# -- the keys: one payment per part of a loan's money ------------------------------------------


def fee_key(loan_id: int) -> str:
    return f"{KIND}:{loan_id}:fee"


def fee_in_person_key(loan_id: int) -> str:
    return f"{KIND}:{loan_id}:in-person"  # payments.record_in_person's own key


def deposit_key(loan_id: int) -> str:
    return f"{KIND}:{loan_id}:deposit"


def deposit_in_person_key(loan_id: int) -> str:
    return f"{KIND}:{loan_id}:deposit-in-person"


def kept_key(loan_id: int) -> str:
    return f"{KIND}:{loan_id}:kept"


def part_of(payment: Payment) -> str:
    """Which part of a loan's money a payment is: "fee", "deposit" or "kept"."""
    tail = payment.operation_key.rsplit(":", 1)[-1]
    return {"fee": "fee", "in-person": "fee", "kept": "kept"}.get(tail, "deposit")


def _payments(loan_id: int, status: str | None = "succeeded") -> list[Payment]:
    return payments.subject_payments((KIND, loan_id), status)


# -- rules decided with the request and the approval -------------------------------------------


def deposit_method_at_request(deposit_cents: int) -> str:
    """How the deposit will be secured, as the borrower is told before asking."""
    if deposit_cents <= 0:
        return NONE
    return IN_PERSON if payments.settles_in_person() else SAVED_CARD


def needs_saved_card(fee_cents: int, deposit_cents: int) -> bool:
    """Whether the borrower must have a saved card to ask: a card provider, and money to take."""
    return not payments.settles_in_person() and (fee_cents > 0 or deposit_cents > 0)


def hold_fits(ends_on: date, approved_on: date) -> bool:
    """Whether a card hold lasts long enough: the loan's last day plus the claim window fall
    within LOAN_HOLD_WINDOW_DAYS of the approval."""
    config = current_app.config
    last = ends_on + timedelta(days=config["LOAN_CLAIM_WINDOW_DAYS"])
    return last <= approved_on + timedelta(days=config["LOAN_HOLD_WINDOW_DAYS"])


# -- the loan's steps --------------------------------------------------------------------------


def money_hook(done: Step) -> None:
    """After every step: the money that goes with it, in the step's unit of work, dated with
    the step. Provider calls run after its commit (`follow_up`)."""
    loan: Loan = done.instance
    if done.action == "approve":
        _choose_deposit_method(loan, done.now)
    elif done.to_state == states.ACTIVE and done.from_state != states.ACTIVE:
        _handover(loan, at=done.now)
    elif done.to_state == states.CANCELLED:
        _give_back(loan, reason="Loan cancelled: the fee refunded in full", at=done.now)
    elif done.to_state in SETTLED:
        _settle(loan, at=done.now)


def _choose_deposit_method(loan: Loan, now: datetime) -> None:
    if loan.deposit_cents <= 0:
        loan.deposit_method = NONE
    elif payments.settles_in_person():
        loan.deposit_method = IN_PERSON
    else:
        loan.deposit_method = HOLD if hold_fits(loan.ends_on, now.date()) else SAVED_CARD


def _handover(loan: Loan, *, at: datetime) -> None:
    """In person: the lender received the fee and holds the deposit. By card both were secured
    on approval: nothing moves."""
    if not payments.settles_in_person():
        return
    if loan.fee_cents > 0:
        payments.record_in_person(
            (KIND, loan.id),
            payer_id=loan.borrower_id,
            payee_id=loan.lender_id,
            amount_cents=loan.fee_cents,
            currency=loan.currency,
            at=at,
        )
    if loan.deposit_cents > 0:
        payments.hold_in_person(
            (KIND, loan.id),
            payer_id=loan.borrower_id,
            payee_id=loan.lender_id,
            amount_cents=loan.deposit_cents,
            currency=loan.currency,
            key=deposit_in_person_key(loan.id),
            at=at,
        )


def _give_back(loan: Loan, *, reason: str, at: datetime) -> None:
    """Cancelled before the handover: the fee back in full, the deposit hold released, and any
    card payment not made yet abandoned."""
    for payment in _payments(loan.id):
        if payment.held_cents > 0 and payments.is_funded(payment):
            payments.decide_refund(payment, payment.held_cents, reason=reason, at=at)
    for payment in _payments(loan.id, status="authorized"):
        payments.release_hold(payment.id, at=at)
    payments.cancel_unpaid((KIND, loan.id))


def _settle(loan: Loan, *, at: datetime) -> None:
    """Completed (or resolved): the fee to the lender minus the platform fee; of the deposit,
    what the lender keeps (late fee, claim) is taken and the rest given back."""
    kept = kept_cents(loan)
    for payment in _payments(loan.id):
        if part_of(payment) == "fee" and not payments.is_released(payment):
            # (resolved after completion: the fee was released then)
            payments.release_to(
                payment,
                loan.lender_id,
                ledger_kind="loan_released",
                description=f"Loan fee: loan #{loan.id}",
                at=at,
            )
    for payment in _payments(loan.id, status="authorized"):
        if kept <= 0:
            payments.release_hold(payment.id, at=at)
        else:
            payments.capture(payment.id, min(kept, payment.amount_cents), at=at)
    # deposit_method "saved_card": the kept part is charged off-session once this commits.


# -- disputes and agreed refunds of the fee (app/disputes, through the loan kind) ---------------

# States from which a dispute (or an agreed refund) divides the fee rather than a claim.
FEE_DISPUTES = frozenset({states.RETURNED, states.COMPLETED})


def paid_held(loan: Loan) -> int:
    """What the borrower paid and did not get back: the fee (held until the loan completes,
    then released to the lender) and any part of the deposit taken for the lender (a captured
    hold, a kept charge); takeable back within REFUND_WINDOW_DAYS after completion. A deposit
    only held on the card (not taken) is not paid: it goes back as the loan settles."""
    return sum(p.held_cents for p in _payments(loan.id))


def refund_window_ends(loan: Loan) -> datetime | None:
    """Until when a completed loan's fee may still be disputed or refunded (REFUND_WINDOW_DAYS
    after it completed); None in any other state."""
    if loan.state != states.COMPLETED or loan.completed_at is None:
        return None
    return loan.completed_at + timedelta(days=current_app.config["REFUND_WINDOW_DAYS"])


def decide_fee(loan: Loan, awarded_cents: int, now: datetime) -> None:
    """Divide what the borrower paid (`paid_held`: the fee, and a deposit part taken) by a
    moderator's decision or an agreed refund, without committing:
    `awarded_cents` stays with the lender, the rest goes back to the borrower: refunded while
    it is held, taken back from the lender once it was released (payments.take_back: from the
    payout not sent yet, or by a transfer reversal). A fee its payer's card issuer charged back
    is given back by the issuer: booked to chargebacks returned, never refunded as well. The
    settling step then releases what is left to the lender. Raises ValidationFailed."""
    from app.errors import ValidationFailed

    # A charged-back payment first: its issuer gave back its money already.
    held_by = sorted(
        (p for p in _payments(loan.id) if p.held_cents > 0),
        key=lambda p: (not p.is_disputed, p.id),
    )
    held = sum(p.held_cents for p in held_by)
    if not 0 <= awarded_cents <= held:
        message = f"Award from nothing up to the {format_money(held, loan.currency)} paid."
        raise ValidationFailed(message, fields={"awarded": [message]})
    payments.give_back(
        held_by,
        held - awarded_cents,
        reason="Loan fee refund decided",
        reason_released="Loan fee refunded after completion",
        at=now,
    )


# -- after the step commits: the provider's part ------------------------------------------------


def follow_up(loan_id: int) -> None:
    """Do the provider calls the loan's state asks for and that are not done yet: secure the fee
    and deposit of an approved loan, charge the kept part of a settled loan's deposit to the
    saved card, then run the operations decided (captures, releases, refunds, payouts).
    Idempotent; a provider outage leaves it for the due job."""
    loan = db.session.get(Loan, loan_id, populate_existing=True)
    if loan is not None and not payments.settles_in_person():
        if loan.state == states.APPROVED and not is_secured(loan):
            secure(loan.id)
        elif loan.state in SETTLED and owes_kept_charge(loan):
            charge_kept(loan.id)
    run_operations()


def run_operations() -> None:
    """Run the provider operations committed by this session, and those their settling
    decided in turn (a capture pays the kept part out)."""
    while operations.run_ready():
        pass


def is_secured(loan: Loan) -> bool:
    """Whether an approved loan's fee and deposit are secured at the card provider as its
    deposit method asks."""
    made = {part_of(p): p.status for p in _payments(loan.id, status=None)}
    fee_ok = loan.fee_cents <= 0 or made.get("fee") == "succeeded"
    deposit_ok = loan.deposit_method != HOLD or made.get("deposit") == "authorized"
    return fee_ok and deposit_ok


def hold_runs_out(loan: Loan, now: datetime) -> bool:
    """Whether an open loan's deposit hold is about to end at the card provider (a hold lasts
    about 7 days; LOAN_HOLD_WINDOW_DAYS after the approval the loan is moved off it)."""
    window = timedelta(days=current_app.config["LOAN_HOLD_WINDOW_DAYS"])
    return (
        loan.deposit_method == HOLD
        and loan.state in states.OPEN
        and loan.state != states.APPROVED
        and loan.approved_at is not None
        and loan.approved_at + window <= now
    )


def move_hold_to_saved_card(loan_id: int, now: datetime) -> bool:
    """A loan that runs past its deposit hold (it came back late, or a claim is still open):
    the hold is released before the provider drops it, and the deposit is kept on the
    borrower's saved card instead, charged off-session only for what the lender keeps, as for
    a long loan. Returns whether it moved the loan (idempotent)."""
    loan = lock_loan(loan_id)
    if loan is None or not hold_runs_out(loan, now):
        db.session.rollback()
        return False
    for payment in _payments(loan.id, status="authorized"):
        payments.release_hold(payment.id, at=now)
    loan.deposit_method = SAVED_CARD
    loan.updated_at = now
    record_event(
        f"{KIND}.deposit_moved",
        subject_kind=KIND,
        subject_id=loan.id,
        actor_id=None,
        payload=event_payload(loan),
        now=now,
    )
    db.session.commit()
    run_operations()
    return True


def owes_kept_charge(loan: Loan) -> bool:
    """Whether a settled loan with a saved-card deposit still has its kept part to charge (not
    after a charge the card declined: that waits for the people, see `charge_kept`)."""
    if loan.deposit_method != SAVED_CARD or kept_cents(loan) <= 0:
        return False
    made = [p for p in _payments(loan.id, status=None) if part_of(p) == "kept"]
    return not made or made[-1].status in ("created", "processing")


def secure(loan_id: int) -> None:
    """An approved loan, by card: charge the fee off-session and hold the deposit on the saved
    card (deposit_method "hold"). A card that says no cancels the loan (payment_failed), and
    both are told; an outage leaves it approved for the due job to try again."""
    from app.transactions.machine import advance

    loan = db.session.get(Loan, loan_id, populate_existing=True)
    if loan is None or loan.state != states.APPROVED:
        return
    subject = (KIND, loan.id)
    parties = {"payer_id": loan.borrower_id, "payee_id": loan.lender_id}
    try:
        if loan.fee_cents > 0:
            payments.charge_saved_card(
                subject,
                **parties,
                amount_cents=loan.fee_cents,
                currency=loan.currency,
                key=fee_key(loan.id),
            )
        if loan.deposit_method == HOLD and loan.deposit_cents > 0:
            payments.hold_saved_card(
                subject,
                **parties,
                amount_cents=loan.deposit_cents,
                currency=loan.currency,
                key=deposit_key(loan.id),
            )
    except ProviderUnavailable:
        db.session.rollback()
        logger.warning("loan %s: the card provider did not answer; retried later", loan_id)
        return
    except InvalidTransition:  # the loan moved on meanwhile (cancelled): nothing to secure
        db.session.rollback()
        return
    except (PaymentDeclined, Conflict) as refused:
        db.session.rollback()
        note = _refusal_note(refused)
        try:
            advance(KIND, loan_id, "payment_failed", None, note=note)
        except InvalidTransition:  # cancelled meanwhile: its money went back with it
            db.session.rollback()
        logger.info("loan %s: payment failed on approval (%s)", loan_id, refused.code)


def _refusal_note(refused: Exception) -> str:
    if isinstance(refused, PaymentDeclined):
        return f"The borrower's card was declined ({refused.message.rstrip('.')})."
    return "The borrower has no saved card to pay with."


def charge_kept(loan_id: int) -> None:
    """A settled loan whose deposit is the saved card: charge what the lender keeps
    (late fee, claim) off-session; the payment's hook pays it to the lender at once. A declined
    card is recorded (loan.kept_charge_failed: both are told; the lender's claim then goes
    through the moderators); an outage leaves it for the due job."""
    loan = db.session.get(Loan, loan_id, populate_existing=True)
    if loan is None or loan.state not in SETTLED:
        return
    kept = kept_cents(loan)
    try:
        payments.charge_saved_card(
            (KIND, loan.id),
            payer_id=loan.borrower_id,
            payee_id=loan.lender_id,
            amount_cents=kept,
            currency=loan.currency,
            key=kept_key(loan.id),
        )
    except ProviderUnavailable:
        db.session.rollback()
        logger.warning("loan %s: the card provider did not answer; retried later", loan_id)
    except (PaymentDeclined, Conflict) as refused:
        db.session.rollback()
        loan = db.session.get(Loan, loan_id)
        record_event(
            f"{KIND}.kept_charge_failed",
            subject_kind=KIND,
            subject_id=loan.id,
            actor_id=None,
            payload=event_payload(loan) | {"amount_cents": kept, "note": _refusal_note(refused)},
        )
        db.session.commit()


# -- a card payment's news (MoneyRules) ----------------------------------------------------------


def _lock_for_money(loan_id: int) -> bool:
    """Payments' `lock` hook: hold the loan while a card payment's news is applied."""
    from app.lending.steps import claim_loan

    if lock_loan(loan_id) is None:
        return False
    claim_loan(loan_id)
    return True


def _payment_succeeded(payment: Payment) -> None:
    """A payment of the loan went through (a charge, or a captured hold). Settled loan: the
    deposit's kept part goes to the lender. Loan given up meanwhile (cancelled while its fee
    was charged): the money goes straight back. Otherwise it is held until the loan ends."""
    loan = lock_loan(payment.subject_id)
    if loan is None:
        return
    if loan.state in GIVEN_UP:
        if payment.held_cents > 0 and payments.is_funded(payment):
            payments.decide_refund(
                payment, payment.held_cents, reason="Paid after the loan was cancelled"
            )
    elif loan.state in SETTLED:
        is_fee = part_of(payment) == "fee"
        payments.release_to(
            payment,
            loan.lender_id,
            ledger_kind="loan_released" if is_fee else "loan_deposit_kept",
            description=(
                f"Loan fee: loan #{loan.id}"
                if is_fee
                else f"Kept from the deposit: loan #{loan.id}"
            ),
            with_fee=is_fee,
        )


MONEY = MoneyRules(
    lock=_lock_for_money, on_payment_succeeded=_payment_succeeded, holding=ledger.DEPOSITS_HELD
)


# -- what the loan page shows about money ----------------------------------------------------


def loan_money(loan: Loan) -> dict:
    """The loan's money as its page and the API show it: the fee paid and refunded, the deposit
    and how it is secured, what the lender keeps, and whether it is settled in person."""
    made = _payments(loan.id, status=None)
    by_part: dict[str, list[Payment]] = {}
    for payment in made:
        by_part.setdefault(part_of(payment), []).append(payment)
    fees = [p for p in by_part.get("fee", []) if p.status == "succeeded"]
    deposits = by_part.get("deposit", [])
    kept_charges = by_part.get("kept", [])
    deposit = deposits[-1] if deposits else None
    return {
        "provider": get_provider().name,
        # Settled between the two people (the manual provider): judged by the loan's own
        # payments once there are any.
        "in_person": all(p.provider == "manual" for p in made)
        if made
        else payments.settles_in_person(),
        "deposit_method": loan.deposit_method,
        "fee_paid_cents": sum(p.captured_cents for p in fees),
        "fee_refunded_cents": sum(p.refunded_cents for p in fees),
        "platform_fee_cents": sum(p.fee_cents for p in fees),
        "deposit_status": deposit.status if deposit else None,
        "deposit_held_cents": deposit.amount_cents
        if deposit and deposit.status in ("authorized", "capturing")
        else 0,
        "kept_cents": kept_cents(loan) if loan.state in SETTLED else 0,
        "kept_charge_status": kept_charges[-1].status if kept_charges else None,
        "kept_charge_failure": kept_charges[-1].failure_message if kept_charges else None,
        "payments": made,
    }


# -- what `flask ledger verify` checks for loans -------------------------------------------------


def loans_authorized() -> dict[int, int]:
    """{loan id: what holds authorized must hold for it}: the deposit holds of open loans, and
    the holds of any loan whose capture is on its way to the provider."""
    expected: dict[int, int] = {}
    for loan_id, amount, status, state in db.session.execute(
        select(Payment.subject_id, Payment.amount_cents, Payment.status, Loan.state)
        .join(Loan, Loan.id == Payment.subject_id)
        .where(
            Payment.subject_type == KIND,
            Payment.kind == "hold",
            Payment.status.in_(("authorized", "capturing")),
        )
    ):
        if status == "capturing" or state in states.OPEN:
            expected[loan_id] = expected.get(loan_id, 0) + amount
    return expected


def loans_held() -> dict[int, int]:
    """{loan id: what deposits held must hold for it}: the money paid for open loans (fee and
    any deposit taken) less what went back; nothing for a loan that is over."""
    expected: dict[int, int] = {}
    for loan_id, captured, refunded, transferred, fee in db.session.execute(
        select(
            Payment.subject_id,
            Payment.captured_cents,
            Payment.refunded_cents,
            Payment.transferred_cents,
            Payment.fee_cents,
        )
        .join(Loan, Loan.id == Payment.subject_id)
        .where(
            Payment.subject_type == KIND,
            Payment.status == "succeeded",
            Loan.state.in_(states.OPEN),
        )
    ):
        expected[loan_id] = expected.get(loan_id, 0) + captured - refunded - transferred - fee
    return expected


# -- the statement's words for a loan's money ------------------------------------------------


def _amount(cents: int, seen: Seen) -> str:
    return format_money(cents, seen.txn.currency)


def _funded_words(seen: Seen) -> tuple[str, int]:
    payment, moved = seen.payment, seen.moved_cents
    if payment is None:
        return seen.txn.description, seen.own_cents
    in_person, is_fee = payment.provider == "manual", part_of(payment) == "fee"
    if payment.payer_id == seen.user_id:
        if not is_fee:
            return "Charged to your card: kept from the deposit", -moved
        return (
            "You paid the loan fee in person" if in_person else "You paid the loan fee by card"
        ), -moved
    if in_person:
        return "Loan fee received in person", moved
    if not is_fee:
        return f"{_amount(moved, seen)} charged to the borrower's card, kept from the deposit", 0
    site = current_app.config["SITE_NAME"]
    return (
        f"The borrower paid the {_amount(moved, seen)} loan fee by card, held by {site} "
        "until the loan ends",
        0,
    )


def _hold_placed_words(seen: Seen) -> tuple[str, int]:
    payment, moved = seen.payment, seen.moved_cents
    if payment is None:
        return seen.txn.description, seen.own_cents
    in_person = payment.provider == "manual"
    if payment.payer_id == seen.user_id:
        if in_person:
            return "You handed over the deposit in person", -moved
        return f"Deposit of {_amount(moved, seen)} held on your card (not charged)", 0
    if in_person:
        return "Deposit received in person", moved
    return f"The borrower's card holds the {_amount(moved, seen)} deposit", 0


def _hold_captured_words(seen: Seen) -> tuple[str, int]:
    payment, moved = seen.payment, seen.moved_cents
    if payment is None:
        return seen.txn.description, seen.own_cents
    kept, given_back = payment.captured_cents, moved - payment.captured_cents
    in_person = payment.provider == "manual"
    if payment.payer_id == seen.user_id:
        if in_person:
            return f"Deposit given back in person, {_amount(kept, seen)} kept", given_back
        return f"{_amount(kept, seen)} kept from your deposit, the rest of the hold released", -kept
    if in_person:
        return f"You gave back the deposit in person, keeping {_amount(kept, seen)}", -given_back
    return f"{_amount(kept, seen)} of the borrower's deposit taken for you", 0


def _hold_released_words(seen: Seen) -> tuple[str, int]:
    payment, moved = seen.payment, seen.moved_cents
    if payment is None:
        return seen.txn.description, seen.own_cents
    in_person = payment.provider == "manual"
    if payment.payer_id == seen.user_id:
        if in_person:
            return "Deposit given back to you in person", moved
        return "Deposit hold released: nothing was charged", 0
    if in_person:
        return "You gave back the deposit in person", -moved
    return "The borrower's deposit hold was released", 0


def _refund_words(seen: Seen) -> tuple[str, int]:
    payment, moved = seen.payment, seen.moved_cents
    if payment is None:
        return seen.txn.description, seen.own_cents
    in_person = payment.provider == "manual"
    if payment.payer_id == seen.user_id:
        return (
            "Given back to you in person" if in_person else "Loan fee refunded to your card"
        ), moved
    if in_person:
        return "You gave back in person", -moved
    return f"{_amount(moved, seen)} refunded to the borrower's card", 0


def _released_words(seen: Seen) -> tuple[str, int]:
    fee = seen.payment.fee_cents if seen.payment is not None else 0
    if fee:
        return f"Loan fee, after the {_amount(fee, seen)} platform fee", seen.own_cents
    return "Loan fee", seen.own_cents


def _kept_words(seen: Seen) -> tuple[str, int]:
    return "Kept from the borrower's deposit (late fee or damage)", seen.own_cents


def init_app(app: Flask) -> None:
    """Tell payments about loans: the invariants of the deposits and fees held, the statement's
    words, and the loan page's money panel (the hooks are in MONEY)."""
    ledger.register_invariant(
        ledger.AUTHORIZED, KIND, loans_authorized, describe="deposit held on a card or in person"
    )
    ledger.register_invariant(
        ledger.DEPOSITS_HELD, KIND, loans_held, describe="open loan's fee and deposit taken"
    )
    register_statement_label("loan_funded", _funded_words, for_parties=True)
    register_statement_label("hold_placed", _hold_placed_words, subject_type=KIND, for_parties=True)
    register_statement_label(
        "hold_captured", _hold_captured_words, subject_type=KIND, for_parties=True
    )
    register_statement_label(
        "hold_released", _hold_released_words, subject_type=KIND, for_parties=True
    )
    register_statement_label("refund_paid", _refund_words, subject_type=KIND, for_parties=True)
    register_statement_label("loan_released", _released_words)
    register_statement_label("loan_deposit_kept", _kept_words)
    app.context_processor(lambda: {"loan_money": loan_money})
