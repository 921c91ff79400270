"""The loan page and what it says: the line for this viewer, the loan's rules in plain words,
the money, and every form on it (action notes, the handover code, the claim, messages). A failed
post to any of them comes back here (303) and finds what was typed and its errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial

from flask import current_app, render_template
from flask_login import current_user
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from app.db import utcnow
from app.disputes.refunds import can_offer
from app.disputes.services import can_open, dispute_about
from app.extensions import db
from app.form_drafts import refilled_form
from app.lending import services, states
from app.lending.forms import (
    NOTE_LABELS,
    ClaimForm,
    ConfirmedActionForm,
    HandoverCodeForm,
    LoanActionForm,
)
from app.lending.models import DamageClaim, Loan, LoanEvent
from app.lending.money import loan_money
from app.lending.steps import claimable_cents
from app.messaging.forms import MessageForm
from app.messaging.services import thread
from app.money import format_money
from app.payments.services import settles_in_person
from app.transactions.registry import get_kind

KIND = "loan"
# Actions with a form of their own on the page instead of a plain button.
# States in which a loan may have a dispute to link to (a claim disputed, then decided).
DISPUTE_STATES = frozenset({states.DISPUTED, states.RESOLVED})
# Actions with forms of their own (disputes: app/disputes, with reasons and photos).
OWN_FORMS = {"claim_damage", "confirm_with_code", "dispute_claim", "dispute_fee"}
OTHER = {"lender": "borrower", "borrower": "lender"}


def day(value: date | datetime | None) -> str:
    """A calendar day as people read it: "Fri, Dec 4" (with the year when it is not this
    year's: "Mon, Jan 4, 2027")."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(UTC).date()
    if value.year == utcnow().year:
        return value.strftime("%a, %b %-d")
    return value.strftime("%a, %b %-d, %Y")


def moment(value: datetime | None) -> str:
    """A deadline to the minute: "Fri, Dec 4 at 18:00 UTC"."""
    if value is None:
        return ""
    return f"{day(value)} at {value.astimezone(UTC):%H:%M} UTC"


def _money(cents: int, loan: Loan) -> str:
    return format_money(cents, loan.currency)


# -- keys of the forms a failed post keeps (app.form_drafts) --------------------------------


def action_form_key(action: str, loan_id: int) -> str:
    return f"loan:{action}:{loan_id}"


def message_form_key(loan_id: int) -> str:
    return f"loan-message:{loan_id}"


def claim_form_key(loan_id: int) -> str:
    return f"loan-claim:{loan_id}"


def code_form_key(loan_id: int) -> str:
    return f"loan-code:{loan_id}"


def request_form_key(listing_id: int) -> str:
    return f"borrow:{listing_id}"


# -- what the loan means for this viewer ------------------------------------------------------


def needs_in_person_confirmation(loan: Loan, action: str, role: str | None) -> bool:
    """Whether the web button records money changing hands in person, so the person ticks a
    box first: the lender's handover (fee and deposit received) and return (deposit given
    back), when payments are settled in person and there is money to settle."""
    if role != "lender" or not settles_in_person():
        return False
    if action == "confirm_handover":
        return loan.fee_cents + loan.deposit_cents > 0
    if action == "confirm_return":
        return loan.deposit_cents > 0
    return False


def in_person_label(loan: Loan, action: str) -> str:
    """What the lender confirms by ticking the box."""
    borrower = f"@{loan.borrower.handle}"
    if action == "confirm_handover":
        parts = []
        if loan.fee_cents:
            parts.append(f"the fee of {_money(loan.fee_cents, loan)}")
        if loan.deposit_cents:
            parts.append(f"the deposit of {_money(loan.deposit_cents, loan)}")
        return f"I have handed it over and received {' and '.join(parts)} from {borrower}."
    kept = loan.late_fee_cents if loan.late_days else 0
    back = loan.deposit_cents - kept
    if kept:
        return (
            f"I have given {_money(back, loan)} of the deposit back to {borrower} "
            f"(the late fee of {_money(kept, loan)} is kept)."
        )
    return f"I have given the deposit of {_money(back, loan)} back to {borrower}."


def action_form(action: str, loan: Loan | None = None, role: str | None = None, formdata=None):
    """The form behind one action button; its fields are prefixed with the action name."""
    confirmed = loan is not None and needs_in_person_confirmation(loan, action, role)
    form_class = ConfirmedActionForm if confirmed else LoanActionForm
    form = form_class(formdata=formdata, prefix=action)
    label, _ = NOTE_LABELS.get(action, ("Note (optional)", ""))
    form.note.label.text = label
    if confirmed:
        form.confirm.label.text = in_person_label(loan, action)
    return form


def action_buttons(loan: Loan, user_id: int) -> list[dict]:
    """The viewer's plain actions as the shared macro draws them (tx.actions)."""
    role = loan.role_of(user_id)
    buttons = []
    for action in services.available_actions(loan, user_id):
        if action in OWN_FORMS:
            continue
        form = refilled_form(
            action_form_key(action, loan.id),
            partial(action_form, action, loan, role),
        )
        buttons.append(
            {
                "action": action,
                "label": _button_label(loan, action, role),
                "form": form,
                "has_note": action in states.MACHINE.actions_with_note,
                "hint": NOTE_LABELS.get(action, ("", ""))[1],
                "is_danger": action in states.MACHINE.danger_actions,
                "confirm_label": states.MACHINE.confirm_labels.get(action, ""),
            }
        )
    return buttons


def _button_label(loan: Loan, action: str, role: str | None) -> str:
    if action == "cancel" and loan.state == states.REQUESTED:
        return "Withdraw request"
    return states.MACHINE.action_labels[action]


def _confirmed_by(loan: Loan, role: str | None) -> bool:
    """Whether this party has confirmed the handover already (waiting for the other)."""
    if role == "lender":
        return loan.lender_handover_at is not None
    if role == "borrower":
        return loan.borrower_handover_at is not None
    return False


def is_overdue(loan: Loan, today: date | None = None) -> bool:
    """On loan past its last day."""
    today = today or utcnow().date()
    return loan.state == states.ACTIVE and today > loan.ends_on


def days_overdue(loan: Loan, today: date | None = None) -> int:
    today = today or utcnow().date()
    return max(0, (today - loan.ends_on).days) if loan.state == states.ACTIVE else 0


def next_step(loan: Loan, role: str | None, today: date | None = None) -> str:
    """One line telling a party where the loan is and what happens next."""
    today = today or utcnow().date()
    lender, borrower = f"@{loan.lender.handle}", f"@{loan.borrower.handle}"
    start, end = day(loan.starts_on), day(loan.ends_on)
    state = loan.state
    is_lender = role == "lender"
    if state == states.REQUESTED:
        expires = f" on {moment(loan.expires_at)}" if loan.expires_at else ""
        if is_lender:
            return (
                f"{borrower} asks to borrow it from {start} to {end}. Approve to book these days "
                f"for them, or decline. Unanswered, the request expires{expires}."
            )
        return (
            f"Waiting for {lender} to approve or decline. Unanswered, the request expires"
            f"{expires}; until then you can withdraw it. Nothing is charged before approval."
        )
    if state == states.APPROVED:
        mine = _confirmed_by(loan, role)
        theirs = _confirmed_by(loan, OTHER.get(role or "", ""))
        other = borrower if is_lender else lender
        if mine:
            return f"You confirmed the handover. Waiting for {other} to confirm it too."
        if theirs:
            return f"{other} confirmed the handover. Confirm it too to start the loan."
        if is_lender:
            return (
                f"Approved: the days are booked for {borrower}. Hand it over on {start}, then "
                f"both confirm the handover (or {borrower} types the code below)."
            )
        return (
            f"Approved: the days are booked for you. Pick it up from {lender} on {start}, then "
            "both confirm the handover (or type the code the lender shows you)."
        )
    if state == states.ACTIVE:
        late = days_overdue(loan, today)
        if late:
            when = f"{late} day{'s' if late != 1 else ''} overdue"
            if is_lender:
                return (
                    f"{when.capitalize()}: it was due back on {end}. {borrower} has been "
                    "reminded. Once it is back, either of you marks it as returned."
                )
            return (
                f"{when.capitalize()}: it was due back on {end}. Bring it back as soon as you "
                "can, then mark it as returned."
            )
        if is_lender:
            return (
                f"On loan to {borrower} until {end}. Once it is back, either of you marks it "
                "as returned."
            )
        return (
            f"It's yours until {end}. Bring it back by the end of that day and mark it as returned."
        )
    if state == states.RETURNED:
        closes = claim_window_closes_at(loan)
        if is_lender:
            return (
                "Returned. Check it: confirm it came back in good condition, or claim for "
                f"damage by {moment(closes)}. Without a claim it completes by itself then."
            )
        return (
            f"Returned. {lender} has until {moment(closes)} to check it; then the loan completes "
            "and your deposit comes back."
        )
    if state == states.DAMAGE_CLAIMED:
        claim = loan.claim
        amount = _money(claim.amount_cents, loan) if claim else ""
        due = claim_answer_due_at(loan)
        if is_lender:
            return (
                f"You claimed {amount} of the deposit. Waiting for {borrower} to accept or "
                f"dispute it by {moment(due)}; unanswered, the claim stands."
            )
        return (
            f"{lender} claims {amount} of your deposit for damage. Accept it, or dispute it "
            f"and a moderator decides. Unanswered by {moment(due)}, the claim is accepted."
        )
    if state == states.DISPUTED and not services.disputes_claim(loan):
        return (
            "The fee is disputed: a moderator decides how much of it goes back. You can both "
            "still write in the messages below."
        )
    if state == states.DISPUTED:
        return (
            "Disputed: a moderator decides how the deposit is split. The deposit stays held "
            "until then; you can both still write in the messages below."
        )
    if state == states.COMPLETED:
        other = borrower if is_lender else lender
        return f"This loan is complete. Tell others how it went with {other}."
    if state == states.RESOLVED and (loan.claim is None or loan.claim.answer != "disputed"):
        return "This loan's fee was settled by a decision or an agreed refund."
    if state == states.RESOLVED:
        return "A moderator decided this loan's claim. The deposit has been settled."
    if state == states.DECLINED:
        if is_lender:
            return "You declined this request."
        return f"{lender} declined this request. Nothing was charged."
    if state == states.CANCELLED:
        return "This loan was cancelled before the handover: " + _refund_words(loan)
    if state == states.EXPIRED:
        return "The request expired without an answer. Nothing was charged."
    return ""


def _refund_words(loan: Loan) -> str:
    if loan.approved_at is None:
        return "nothing was charged."
    if settles_in_person():
        return "no money changed hands."
    return "the fee was refunded in full and the deposit released."


# -- the loan's rules, as the page states them ------------------------------------------------


def _setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


def claim_window_closes_at(loan: Loan) -> datetime | None:
    """Returned: until when the lender may claim for damage."""
    return services.due_at(loan) if loan.state == states.RETURNED else None


def claim_answer_due_at(loan: Loan) -> datetime | None:
    """Claimed: until when the borrower may answer (after that the claim stands)."""
    return services.due_at(loan) if loan.state == states.DAMAGE_CLAIMED else None


def deposit_words(loan: Loan) -> str:
    """How the deposit is secured and when it comes back."""
    if not loan.deposit_cents:
        return "No deposit."
    amount = _money(loan.deposit_cents, loan)
    method = loan.deposit_method
    if method == "saved_card" and loan.state == states.REQUESTED:
        method = "card"  # hold or saved card: decided on approval (money.hold_fits)
    words = {
        "in_person": (
            f"{amount}, handed to the lender in person at the handover and given back when "
            "the loan completes."
        ),
        "hold": (
            f"{amount}, held on the borrower's card (not charged) from approval, and released "
            "when the loan completes."
        ),
        "saved_card": (
            f"{amount}: nothing is taken. The borrower's saved card is charged only if a late "
            "fee or a damage claim is upheld, and never more than the deposit."
        ),
        "card": (
            f"{amount}, secured on approval by the borrower's saved card: held on it (not "
            f"charged) when the loan ends within {_setting('LOAN_HOLD_WINDOW_DAYS', 6)} days "
            "of the approval, claim window included; otherwise nothing is taken and the card "
            "is charged only if a late fee or a claim is upheld."
        ),
    }
    return words.get(method, f"{amount}, given back when the loan completes.")


def late_fee_words(loan: Loan) -> str:
    if not loan.late_fee_per_day_cents or not loan.deposit_cents:
        return "No late fee."
    per_day = _money(loan.late_fee_per_day_cents, loan)
    cap = _money(min(loan.late_fee_cap_cents, loan.deposit_cents), loan)
    return f"{per_day} per day late, at most {cap}, kept from the deposit."


def cancel_words(loan: Loan) -> str:
    return (
        "Before the handover: the borrower can withdraw a request; once approved, either of "
        "you can cancel. The borrower gets the fee back in full and the deposit is released."
    )


def claim_words(loan: Loan) -> str:
    window = _setting("LOAN_CLAIM_WINDOW_DAYS", 3)
    answer = _setting("LOAN_CLAIM_ANSWER_DAYS", 7)
    if not loan.deposit_cents:
        return (
            f"Without a deposit there is nothing to claim: the loan completes {window} days "
            "after the return, or when the lender confirms it came back in good condition."
        )
    return (
        f"After the return, the lender has {window} days to claim for damage, up to the "
        "deposit (less any late fee), with a description and photos. The borrower then has "
        f"{answer} days to accept or dispute it; a disputed claim is decided by a moderator."
    )


def rules(loan: Loan) -> list[tuple[str, str]]:
    """The loan's rules in plain words, for the page's "Rules of this loan"."""
    return [
        ("Cancelling", cancel_words(loan)),
        ("Deposit", deposit_words(loan)),
        ("Late return", late_fee_words(loan)),
        ("Damage", claim_words(loan)),
    ]


# -- the money panel ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MoneyLine:
    label: str
    amount: str
    note: str = ""


def money_lines(loan: Loan, role: str | None, money: dict | None = None) -> list[MoneyLine]:
    """The fee, the deposit, the late fee and the claim, as this loan stands now (`money`:
    money.loan_money(loan), what the ledger recorded)."""
    money = money if money is not None else loan_money(loan)
    lines = [
        MoneyLine(
            f"Fee for {loan.days} day{'s' if loan.days != 1 else ''}",
            _money(loan.fee_cents, loan) if loan.fee_cents else "Free",
            _fee_now(loan, role, money) if loan.fee_cents else "",
        )
    ]
    if loan.deposit_cents:
        lines.append(
            MoneyLine("Deposit (refundable)", _money(loan.deposit_cents, loan), _deposit_now(loan))
        )
    if loan.late_days:
        lines.append(
            MoneyLine(
                "Late fee",
                _money(loan.late_fee_cents, loan),
                f"Returned {loan.late_days} day{'s' if loan.late_days != 1 else ''} late.",
            )
        )
    claim = loan.claim
    if claim is not None:
        lines.append(
            MoneyLine("Damage claimed", _money(claim.amount_cents, loan), _claim_now(loan))
        )
    if loan.state in (states.COMPLETED, states.RESOLVED) and loan.deposit_cents:
        kept = money["kept_cents"]
        who = "you" if role == "borrower" else f"@{loan.borrower.handle}"
        lines.append(
            MoneyLine(f"Deposit given back to {who}", _money(loan.deposit_cents - kept, loan))
        )
        if kept:
            lines.append(
                MoneyLine(
                    "Kept by the lender" if role == "borrower" else "You keep",
                    _money(kept, loan),
                    "The late fee and the damage claim, from the deposit.",
                )
            )
    return lines


def _fee_now(loan: Loan, role: str | None, money: dict) -> str:
    in_person = money["in_person"]
    if money["fee_refunded_cents"]:
        return f"Refunded: {_money(money['fee_refunded_cents'], loan)}."
    if loan.state in (states.DECLINED, states.EXPIRED, states.CANCELLED):
        return "Never charged." if not money["fee_paid_cents"] else ""
    if in_person:
        if money["fee_paid_cents"]:
            return "Paid in person at the handover."
        return "Paid to the lender in person at the handover."
    if not money["fee_paid_cents"]:
        return "Charged to the borrower's card when the lender approves."
    if role == "lender" and money["platform_fee_cents"]:
        net = money["fee_paid_cents"] - money["platform_fee_cents"]
        return (
            f"Charged to the card. You receive {_money(net, loan)} after the "
            f"{_money(money['platform_fee_cents'], loan)} platform fee when the loan completes."
        )
    return "Charged to the card."


def _deposit_now(loan: Loan) -> str:
    state = loan.state
    if state == states.REQUESTED:
        if loan.deposit_method == "in_person":
            return "Handed to the lender in person at the handover."
        return "Secured on the borrower's saved card when the lender approves."
    if state in (states.DECLINED, states.EXPIRED):
        return "Never taken."
    if state == states.CANCELLED:
        return "Released: nothing kept."
    if state == states.APPROVED:
        return {
            "hold": "Held on the card, not charged.",
            "saved_card": "Not taken: the saved card is charged only if needed.",
            "in_person": "Handed over in person at the handover.",
        }.get(loan.deposit_method, "")
    if state in (states.ACTIVE, states.RETURNED, states.DAMAGE_CLAIMED, states.DISPUTED):
        return {
            "hold": "Held on the card until the loan completes.",
            "saved_card": "Not taken: the saved card is charged only if needed.",
            "in_person": "Held by the lender until the loan completes.",
        }.get(loan.deposit_method, "Held until the loan completes.")
    return "Settled."


def _claim_now(loan: Loan) -> str:
    claim = loan.claim
    if claim.answer == "accepted" or (loan.state == states.COMPLETED and claim.awarded_cents):
        return f"Accepted: {_money(claim.awarded_cents or claim.amount_cents, loan)} kept."
    if claim.answer == "disputed" or loan.state == states.DISPUTED:
        return "Disputed: a moderator decides."
    if loan.state == states.COMPLETED:
        return "Withdrawn by the lender."
    if loan.state == states.RESOLVED:
        return f"Decided by a moderator: {_money(claim.awarded_cents or 0, loan)} kept."
    return "Waiting for the borrower's answer."


# -- the timeline -------------------------------------------------------------------------------


def timeline_labels(loan: Loan) -> dict[int, str]:
    """Event id -> a label of its own where the machine's is not enough (a late return)."""
    labels = {}
    if loan.late_days:
        late = f"Returned {loan.late_days} day{'s' if loan.late_days != 1 else ''} late"
        for event in loan.events:
            if event.action == "mark_returned":
                labels[event.id] = late
    return labels


# -- My loans ------------------------------------------------------------------------------------

DUE_NEXT = 5


def due_next(user_id: int, limit: int = DUE_NEXT) -> list[Loan]:
    """The user's next handovers (approved loans, by their first day) and returns (loans out,
    by their last day), as lender or borrower, soonest first: one statement."""
    due = case((Loan.state == states.APPROVED, Loan.starts_on), else_=Loan.ends_on)
    return list(
        db.session.scalars(
            select(Loan)
            .where(
                or_(Loan.lender_id == user_id, Loan.borrower_id == user_id),
                Loan.state.in_(states.BOOKED),
            )
            .options(joinedload(Loan.lender), joinedload(Loan.borrower))
            .order_by(due, Loan.id)
            .limit(limit)
        )
    )


def needs_line(loan: Loan, user_id: int, today: date | None = None) -> str:
    """What a loan in "Needs you" waits for this user to do, in a few words."""
    today = today or utcnow().date()
    other = f"@{(loan.borrower if loan.lender_id == user_id else loan.lender).handle}"
    if loan.lender_id == user_id:
        return {
            states.REQUESTED: f"Approve or decline {other}'s request",
            states.APPROVED: f"Hand it over to {other} on {day(loan.starts_on)} and confirm",
            states.RETURNED: "Check it: confirm the return, or claim for damage",
        }.get(loan.state, "")
    if loan.state == states.APPROVED:
        return f"Pick it up from {other} on {day(loan.starts_on)} and confirm"
    if loan.state == states.ACTIVE:
        late = (today - loan.ends_on).days
        if late > 0:
            return f"Bring it back to {other}: {late} day{'s' if late != 1 else ''} late"
        return f"Bring it back to {other} today"
    if loan.state == states.DAMAGE_CLAIMED:
        return f"Accept or dispute {other}'s damage claim"
    return ""


def with_details(loans: list[Loan]) -> list[Loan]:
    """The same loans with their history (and its people) and their claim (and its photos)
    loaded in three statements for all of them, for lists that show those (the API's)."""
    if loans:
        db.session.scalars(
            select(Loan)
            .where(Loan.id.in_([loan.id for loan in loans]))
            .options(
                selectinload(Loan.events).joinedload(LoanEvent.actor),
                selectinload(Loan.claim).selectinload(DamageClaim.photos),
            )
        ).all()
    return loans


def loan_counts(user_id: int) -> dict[str, int]:
    """How many loans the user has as borrower and as lender (the tabs' numbers)."""
    lender, borrower = db.session.execute(
        select(
            func.count(case((Loan.lender_id == user_id, 1))),
            func.count(case((Loan.borrower_id == user_id, 1))),
        ).where(or_(Loan.lender_id == user_id, Loan.borrower_id == user_id))
    ).one()
    return {"lender": lender, "borrower": borrower}


# -- the page ------------------------------------------------------------------------------------


def render_loan_page(loan_id: int):
    """The loan page for the signed-in party (NotFound for anyone else), its forms refilled
    with what a failed post kept."""
    loan = services.get_loan_for(loan_id, current_user.id, for_page=True)
    role = loan.role_of(current_user.id)
    actions = services.available_actions(loan, current_user.id)
    money = loan_money(loan)
    # A dispute about the claim, or about the fee (disputed once back, or after completion).
    dispute = dispute_about(KIND, loan.id) if loan.state in DISPUTE_STATES else None
    feedback = None
    if get_kind(KIND).feedback_opens(loan):
        from app.reviews.services import feedback_view

        feedback = feedback_view(loan.id, current_user.id, kind=KIND)
    return render_template(
        "lending/detail.html",
        loan=loan,
        role=role,
        other=loan.borrower if role == "lender" else loan.lender,
        machine=states.MACHINE,
        next_step=next_step(loan, role),
        overdue=is_overdue(loan),
        rules=rules(loan),
        money=money,
        money_lines=money_lines(loan, role, money),
        buttons=action_buttons(loan, current_user.id),
        can_confirm_with_code="confirm_with_code" in actions,
        code_form=refilled_form(
            code_form_key(loan.id), lambda data: HandoverCodeForm(formdata=data)
        ),
        can_claim="claim_damage" in actions,
        can_dispute="dispute_claim" in actions and can_open(KIND, loan, current_user.id),
        can_dispute_fee="dispute_fee" in actions and can_open(KIND, loan, current_user.id),
        can_offer_refund=can_offer(KIND, loan, current_user.id),
        refund_window_ends=get_kind(KIND).disputes.window_ends(loan),
        dispute=dispute,
        fee_dispute=dispute
        if dispute is not None and not (loan.claim and loan.claim.answer == "disputed")
        else None,
        claim_form=refilled_form(claim_form_key(loan.id), lambda data: ClaimForm(formdata=data)),
        claim_limit_cents=claimable_cents(loan),
        claim_closes_at=claim_window_closes_at(loan),
        timeline_labels=timeline_labels(loan),
        messages=thread(KIND, loan.id, current_user.id),
        message_form=refilled_form(
            message_form_key(loan.id), lambda data: MessageForm(formdata=data)
        ),
        feedback=feedback,
    )
