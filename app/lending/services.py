"""Lending: asking to borrow a listed thing, and moving the loan through its state machine
(app/lending/states.py, run by app/transactions/machine.py; loans register as a kind in
app/lending/kind.py). Pages and the API call these; the rules live here and nowhere else.

    request_loan(listing_id, borrower_id, starts_on, ends_on, message) -> Loan
    get_loan_for(loan_id, user_id) -> Loan
    act(loan_id, action, actor_id, *, note=None, code=None) -> Loan
    claim_damage(loan_id, lender_id, amount_cents, description, photos) -> Loan
    loans_of(user_id, role, *, state_group=None, page=1) -> Page
    needs_you(user_id) -> list[Loan]
    run_due_jobs(now=None) -> int
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.datastructures import FileStorage

from app import media
from app.accounts import throttle
from app.accounts.suspension import ensure_not_suspended
from app.db import utcnow
from app.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from app.extensions import db
from app.lending import calendar, due, money, states
from app.lending.conversation import KIND
from app.lending.models import DamageClaim, DamageClaimPhoto, Loan
from app.lending.steps import claim_loan, claimable_cents, event_payload, lock_loan
from app.listings import availability, pricing
from app.listings import calendar as listing_calendar
from app.listings.models import Listing, ListingStatus
from app.listings.services import PHOTO_SIZES, ensure_not_hidden
from app.money import format_money
from app.pagination import Page, page_number
from app.payments import money as payments
from app.transactions import machine
from app.transactions.events import record_event
from app.transactions.machine import advance
from app.transactions.registry import Stake, get_kind

logger = logging.getLogger(__name__)

ROLES = states.MACHINE.roles
MESSAGE_MAX = 1000
DESCRIPTION_MAX = 2000
CLAIM_PHOTOS_MAX = 8
HANDOVER_CODE_DIGITS = 6
# The budget of wrong handover codes per loan (config.py), whoever types them.
CODE_GUESSES = "HANDOVER_CODE_RATE_LIMIT"
# Groups of states for the "My loans" lists.
STATE_GROUPS: dict[str, frozenset[str]] = {
    "requested": frozenset({states.REQUESTED}),
    "upcoming": frozenset({states.APPROVED}),
    "on_loan": frozenset({states.ACTIVE}),
    "returned": frozenset({states.RETURNED, states.DAMAGE_CLAIMED, states.DISPUTED}),
    "open": frozenset(states.MACHINE.state_names) - states.OVER,
    "closed": states.OVER,
}


class CannotBorrowOwn(Conflict):
    code, default_message = "cannot_borrow_own", "You cannot borrow your own thing."


class NotLendable(Conflict):
    code, default_message = "not_lendable", "This is not offered for loan right now."


class DatesTaken(Conflict):
    code, default_message = "dates_taken", "Some of those days are not free."


class AlreadyRequested(Conflict):
    code, default_message = (
        "already_requested",
        "You have already asked to borrow this for some of those days.",
    )


class SavedCardRequired(Conflict):
    code, default_message = (
        "saved_card_required",
        "Save a card first: the fee is charged to it when the lender approves, and the deposit "
        "is held on it.",
    )


class WrongHandoverCode(ValidationFailed):
    code = "wrong_handover_code"
    default_message = "That is not the lender's code. Check it with them and try again."


class NothingToClaim(Conflict):
    code, default_message = "nothing_to_claim", "There is no deposit left to claim from."


class ClaimWindowClosed(Conflict):
    code, default_message = "claim_window_closed", "The time to claim for damage has passed."


class RequestExpired(Conflict):
    code, default_message = (
        "request_expired",
        "This request has expired: the borrower can send a new one.",
    )


# -- asking -----------------------------------------------------------------------------------


def request_loan(
    listing_id: int,
    borrower_id: int,
    starts_on: date,
    ends_on: date,
    message: str = "",
    *,
    now: datetime | None = None,
) -> Loan:
    """Ask to borrow a listing for whole days from `starts_on` to `ends_on` (both included),
    with a message to the lender. The terms are copied from the offer (pricing.quote). Raises
    NotFound, CannotBorrowOwn, NotLendable, ValidationFailed (dates, message), DatesTaken,
    AlreadyRequested, SavedCardRequired."""
    ensure_not_suspended(borrower_id)
    now = now or utcnow()
    listing = db.session.get(Listing, listing_id)
    if listing is None or listing.status == ListingStatus.DELETED:
        raise NotFound("This listing does not exist.")
    if listing.seller_id == borrower_id:
        raise CannotBorrowOwn()
    ensure_not_hidden(listing.id)
    offer = listing.loan_offer
    if not listing.is_lendable or offer is None:
        raise NotLendable()
    _check_dates(starts_on, ends_on, offer, today=now.date())
    message = _clean_text(message, "message", MESSAGE_MAX, required=False)
    clash = calendar.first_clash(listing.id, starts_on, ends_on)
    if clash is not None:
        raise DatesTaken(_clash_message(clash))
    if _has_open_request(listing.id, borrower_id, starts_on, ends_on):
        raise AlreadyRequested()
    quote = pricing.quote(offer, starts_on, ends_on)
    if money.needs_saved_card(quote.fee_cents, quote.deposit_cents) and not (
        payments.saved_card_of(borrower_id)
    ):
        raise SavedCardRequired()
    loan = Loan(
        listing_id=listing.id,
        lender_id=listing.seller_id,
        borrower_id=borrower_id,
        title=listing.title[:120],
        starts_on=starts_on,
        ends_on=ends_on,
        days=quote.days,
        fee_cents=quote.fee_cents,
        deposit_cents=quote.deposit_cents,
        late_fee_per_day_cents=quote.late_fee_per_day_cents,
        late_fee_cap_cents=quote.late_fee_cap_cents,
        currency=listing.currency,
        pickup_area=offer.pickup_area[:120],
        state=states.REQUESTED,
        request_message=message,
        deposit_method=money.deposit_method_at_request(quote.deposit_cents),
        handover_code=_new_handover_code(),
        expires_at=request_expires_at(starts_on, now),
        created_at=now,
        updated_at=now,
    )
    db.session.add(loan)
    db.session.flush()
    record_event(
        f"{KIND}.requested",
        subject_kind=KIND,
        subject_id=loan.id,
        actor_id=borrower_id,
        payload=event_payload(loan) | {"message": message[:200]},
        now=now,
    )
    db.session.commit()
    logger.info("loan %s requested on listing %s (%s days)", loan.id, listing.id, loan.days)
    return loan


def request_expires_at(starts_on: date, now: datetime) -> datetime:
    """When an unanswered request expires: after LOAN_REQUEST_EXPIRY_HOURS, or at the end of
    its first day if that comes sooner (nobody can hand it over for days already gone)."""
    hours = current_app.config["LOAN_REQUEST_EXPIRY_HOURS"]
    first_day_over = datetime.combine(starts_on + timedelta(days=1), time(), tzinfo=UTC)
    return min(now + timedelta(hours=hours), first_day_over)


def _check_dates(starts_on, ends_on, offer, *, today: date) -> None:
    """The listing's one check of a loan's days (app/listings/availability.py), with the API's
    and the service's field names."""
    availability.check_loan_dates(
        offer, starts_on, ends_on, on=today, fields=("starts_on", "ends_on")
    )


def _day(value: date) -> str:
    return f"{value:%b} {value.day}"


def _clash_message(clash: calendar.Clash) -> str:
    days = _day(clash.starts_on)
    if clash.ends_on != clash.starts_on:
        days += f" to {_day(clash.ends_on)}"
    if clash.reason == "blocked":
        return f"The lender is not lending it from {days}. Choose other days."
    return f"It is already lent from {days}. Choose other days."


def _has_open_request(listing_id: int, borrower_id: int, starts_on: date, ends_on: date) -> bool:
    return (
        db.session.scalar(
            select(Loan.id)
            .where(
                Loan.listing_id == listing_id,
                Loan.borrower_id == borrower_id,
                Loan.state.in_((states.REQUESTED, *states.BOOKED)),
                Loan.starts_on <= ends_on,
                Loan.ends_on >= starts_on,
            )
            .limit(1)
        )
        is not None
    )


def _new_handover_code() -> str:
    return f"{secrets.randbelow(10**HANDOVER_CODE_DIGITS):0{HANDOVER_CODE_DIGITS}d}"


def _clean_text(value, field: str, limit: int, *, required: bool) -> str:
    text = str(value or "").strip().replace("\r\n", "\n")
    if required and not text:
        raise _invalid({field: ["This cannot be empty."]})
    if len(text) > limit:
        raise _invalid({field: [f"Use at most {limit} characters (this has {len(text)})."]})
    return text


def _invalid(errors: dict[str, list[str]]) -> ValidationFailed:
    first = next(iter(errors.values()))[0]
    return ValidationFailed(
        first if len(errors) == 1 else "Some fields are not valid.", fields=errors
    )


# -- reading ----------------------------------------------------------------------------------


def get_loan_for(loan_id: int, user_id: int, *, for_page: bool = False) -> Loan:
    """The loan, if this user is its lender or borrower; NotFound otherwise (never a hint).
    `for_page`: with what the loan page shows (the parties, the listing and its photos, the
    history) in three statements rather than one each."""
    options = (
        [
            joinedload(Loan.lender),
            joinedload(Loan.borrower),
            joinedload(Loan.listing).selectinload(Listing.photos),
            selectinload(Loan.events),
            # Its damage claim, if any (the page, its money lines and steps.claim_of read it).
            joinedload(Loan.claim).selectinload(DamageClaim.photos),
        ]
        if for_page
        else []
    )
    loan = db.session.get(Loan, loan_id, options=options)
    if loan is None or loan.role_of(user_id) is None:
        raise NotFound(get_kind(KIND).not_found)
    return loan


def available_actions(loan: Loan, user_id: int | None) -> list[str]:
    """The actions this user may take on the loan now (buttons, the API's `actions`): the
    machine's, less a handover this party has confirmed already and a claim with nothing left
    to claim."""
    actions = machine.available_actions(KIND, loan, user_id)
    role = loan.role_of(user_id)
    confirmed = loan.lender_handover_at if role == "lender" else loan.borrower_handover_at
    if "confirm_handover" in actions and confirmed is not None:
        actions.remove("confirm_handover")
    if "claim_damage" in actions and claimable_cents(loan) <= 0:
        actions.remove("claim_damage")
    return actions


def loans_of(
    user_id: int,
    role: str | None = None,
    *,
    state_group: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page:
    """One page of the user's loans as lender ('lender'), as borrower ('borrower') or both
    (None), optionally of one group of states (STATE_GROUPS). Upcoming loans come by their
    first day, loans out by their due day, the others by latest activity."""
    if role not in (None, *ROLES):
        raise _invalid({"role": [f"Choose one of: {', '.join(ROLES)}."]})
    if state_group is not None and state_group not in STATE_GROUPS:
        raise _invalid({"state_group": [f"Choose one of: {', '.join(STATE_GROUPS)}."]})
    if role is None:
        query = select(Loan).where(or_(Loan.lender_id == user_id, Loan.borrower_id == user_id))
    else:
        column = Loan.lender_id if role == "lender" else Loan.borrower_id
        query = select(Loan).where(column == user_id)
    if state_group is not None:
        query = query.where(Loan.state.in_(STATE_GROUPS[state_group]))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = page_number(page)
    order = {
        "upcoming": (Loan.starts_on, Loan.id),
        "on_loan": (Loan.ends_on, Loan.id),
    }.get(state_group or "", (Loan.updated_at.desc(), Loan.id.desc()))
    items = list(
        db.session.scalars(
            query.options(joinedload(Loan.lender), joinedload(Loan.borrower))
            .order_by(*order)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    return Page(items=items, page=page, per_page=per_page, total=total)


def needs_you(user_id: int, *, now: datetime | None = None, limit: int = 50) -> list[Loan]:
    """The loans waiting on this user, most pressing first: requests to answer, handovers to
    confirm, things due back (today or late), returns to confirm, claims to answer."""
    today = (now or utcnow()).date()
    as_lender = and_(
        Loan.lender_id == user_id,
        or_(
            Loan.state == states.REQUESTED,
            and_(Loan.state == states.APPROVED, Loan.lender_handover_at.is_(None)),
            Loan.state == states.RETURNED,
        ),
    )
    as_borrower = and_(
        Loan.borrower_id == user_id,
        or_(
            and_(Loan.state == states.APPROVED, Loan.borrower_handover_at.is_(None)),
            and_(Loan.state == states.ACTIVE, Loan.ends_on <= today),
            Loan.state == states.DAMAGE_CLAIMED,
        ),
    )
    loans = db.session.scalars(
        select(Loan)
        .where(or_(as_lender, as_borrower))
        .options(joinedload(Loan.lender), joinedload(Loan.borrower))
        .order_by(Loan.id)
        .limit(limit)
    ).all()
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(loans, key=lambda loan: (due_at(loan) or far, loan.id))


def due_at(loan: Loan) -> datetime | None:
    """The loan's next deadline: when a request expires, the first day starts, the thing is due
    back (end of its last day), the claim window closes or a claim stands unanswered."""
    config = current_app.config
    if loan.state == states.REQUESTED:
        return loan.expires_at
    if loan.state == states.APPROVED:
        return datetime.combine(loan.starts_on, time(), tzinfo=UTC)
    if loan.state == states.ACTIVE:
        return datetime.combine(loan.ends_on + timedelta(days=1), time(), tzinfo=UTC)
    if loan.state == states.RETURNED and loan.returned_at is not None:
        return loan.returned_at + timedelta(days=config["LOAN_CLAIM_WINDOW_DAYS"])
    if loan.state == states.DAMAGE_CLAIMED and loan.claimed_at is not None:
        return loan.claimed_at + timedelta(days=config["LOAN_CLAIM_ANSWER_DAYS"])
    return None


def claim_photo_for(photo_id: int, user_id: int) -> DamageClaimPhoto:
    """A photo of a damage claim, for the loan's lender or borrower; NotFound otherwise."""
    photo = db.session.get(DamageClaimPhoto, photo_id)
    claim = db.session.get(DamageClaim, photo.claim_id) if photo is not None else None
    if claim is None or claim.loan.role_of(user_id) is None:
        raise NotFound("That photo does not exist.")
    return photo


# -- acting ----------------------------------------------------------------------------------


def act(
    loan_id: int,
    action: str,
    actor_id: int,
    *,
    note: str | None = None,
    code: str | None = None,
    now: datetime | None = None,
) -> Loan:
    """Take any of the machine's actions on a loan as one of its parties, through the shared
    engine, then do the provider's part (money.follow_up). `code`: the lender's handover code
    (confirm_with_code). Raises NotFound, Forbidden, InvalidTransition, ValidationFailed,
    DatesTaken, WrongHandoverCode, RequestExpired, Conflict."""
    now = now or utcnow()
    loan = db.session.get(Loan, loan_id)
    role = loan.role_of(actor_id) if loan is not None else None
    registered = get_kind(KIND)
    machine.decide(registered, loan.state if loan else "", action, role)  # words for refusals
    if action == "claim_damage":
        raise _invalid(
            {"amount": ["A claim needs an amount and a description: use the claim form."]}
        )
    if action in ("dispute_claim", "dispute_fee"):  # a dispute, its reason (the note), photos
        from app.disputes.services import open_dispute

        open_dispute(KIND, loan_id, actor_id, note or "", now=now)
        return db.session.get(Loan, loan_id, populate_existing=True)
    if action == "approve":
        _book(loan, now)
    elif action == "confirm_with_code":
        _check_code(loan, code)
    elif action == "confirm_handover":
        confirmed = loan.lender_handover_at if role == "lender" else loan.borrower_handover_at
        if confirmed is not None:
            other = "borrower" if role == "lender" else "lender"
            raise Conflict(f"You have already confirmed the handover; now the {other} confirms it.")
    try:
        advance(KIND, loan_id, action, actor_id, note=note, now=now)
    except Exception:
        db.session.rollback()
        raise
    money.follow_up(loan_id)
    return db.session.get(Loan, loan_id, populate_existing=True)


def _book(loan: Loan, now: datetime) -> None:
    """Before approving: take the listing's calendar (lock_calendar) and check the loan's days are
    still free of other booked loans and blocked-out days. The lock is held until the approval
    commits, so of two approvals (or an approval and a block-out) for the same day one waits
    for the other and then sees it."""
    if loan.expires_at is not None and now >= loan.expires_at:
        raise RequestExpired()
    offer = listing_calendar.lock_calendar(loan.listing_id)
    if offer is None or offer.listing.status == ListingStatus.DELETED:
        db.session.rollback()
        raise NotLendable("This is no longer offered for loan.")
    clash = calendar.first_clash(
        loan.listing_id, loan.starts_on, loan.ends_on, except_loan_id=loan.id
    )
    if clash is not None:
        db.session.rollback()
        raise DatesTaken(_clash_message(clash))


def _check_code(loan: Loan, code: str | None) -> None:
    typed = "".join(str(code or "").split())
    if not typed:
        raise _invalid({"code": ["Enter the code the lender shows you."]})
    throttle.before_guess(CODE_GUESSES, str(loan.id))
    if not hmac.compare_digest(typed.encode(), loan.handover_code.encode()):
        throttle.after_wrong_guess(CODE_GUESSES, str(loan.id))
        raise WrongHandoverCode(fields={"code": [WrongHandoverCode.default_message]})


def claim_damage(
    loan_id: int,
    lender_id: int,
    amount_cents: int,
    description: str,
    photos: Sequence[FileStorage] = (),
    *,
    now: datetime | None = None,
) -> Loan:
    """The lender claims part or all of the deposit for damage, within the claim window after
    the return: an amount (at most the deposit less the late fee), a description and photos
    (re-encoded like listing photos). Raises NotFound, Forbidden, InvalidTransition,
    ValidationFailed, NothingToClaim, ClaimWindowClosed."""
    now = now or utcnow()
    loan = db.session.get(Loan, loan_id)
    role = loan.role_of(lender_id) if loan is not None else None
    machine.decide(get_kind(KIND), loan.state if loan else "", "claim_damage", role)
    closes = due_at(loan)
    if closes is not None and now >= closes:
        raise ClaimWindowClosed(f"The time to claim for damage ended on {closes:%b} {closes.day}.")
    most = claimable_cents(loan)
    if most <= 0:
        raise NothingToClaim()
    errors: dict[str, list[str]] = {}
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents < 1:
        errors["amount"] = ["Enter the amount you claim."]
    elif amount_cents > most:
        errors["amount"] = [f"You can claim at most {format_money(most, loan.currency)}."]
    text = str(description or "").strip().replace("\r\n", "\n")
    if not text:
        errors["description"] = ["Describe the damage."]
    elif len(text) > DESCRIPTION_MAX:
        errors["description"] = [f"Use at most {DESCRIPTION_MAX} characters."]
    uploads = [f for f in (photos or ()) if f is not None and (f.filename or "").strip()]
    processed: list[list[media.Rendition]] = []
    if len(uploads) > CLAIM_PHOTOS_MAX:
        errors["photos"] = [f"Add at most {CLAIM_PHOTOS_MAX} photos."]
    else:
        processed, photo_errors = _process_photos(uploads)
        if photo_errors:
            errors["photos"] = photo_errors
    if errors:
        raise _invalid(errors)
    written: list[str] = []
    try:
        lock_loan(loan_id)
        claim_loan(loan_id, in_state=states.RETURNED)  # a second claim at once finds it taken
        claim = DamageClaim(loan=loan, amount_cents=amount_cents, description=text)
        for position, renditions in enumerate(processed):
            paths = media.store(current_app.config["UPLOAD_DIR"], f"claims/{loan_id}", renditions)
            written += paths.values()
            claim.photos.append(
                DamageClaimPhoto(
                    position=position,
                    image_path=paths["full"],
                    thumb_path=paths["thumb"],
                    width=renditions[0].width,
                    height=renditions[0].height,
                )
            )
        db.session.add(claim)
        advance(KIND, loan_id, "claim_damage", lender_id, now=now)
    except BaseException:
        db.session.rollback()
        media.delete_files(current_app.config["UPLOAD_DIR"], written)
        raise
    logger.info(
        "loan %s: damage claimed (%s cents, %s photos)", loan_id, amount_cents, len(written)
    )
    return db.session.get(Loan, loan_id, populate_existing=True)


def _process_photos(
    uploads: Iterable[FileStorage],
) -> tuple[list[list[media.Rendition]], list[str]]:
    processed, errors = [], []
    max_bytes = int(current_app.config["MAX_PHOTO_BYTES"])
    for upload in uploads:
        try:
            processed.append(media.process(upload, PHOTO_SIZES, max_bytes=max_bytes))
        except media.ImageRejected as rejected:
            errors.append(str(rejected))
    return processed, errors


def resolve_claim(
    loan_id: int, awarded_cents: int, *, note: str | None = None, now: datetime | None = None
) -> Loan:
    """A moderator's decision on a disputed claim, on its own (app/disputes decides through
    `decide_claim` in its own unit of work): commits, then does the provider's part.
    Raises NotFound, InvalidTransition, ValidationFailed."""
    loan = db.session.get(Loan, loan_id)
    if loan is not None and loan.state != states.DISPUTED:  # agreed amounts: app/disputes
        raise InvalidTransition(states.MACHINE.refusal_message(loan.state, "resolve"))
    try:
        decide_claim(loan_id, awarded_cents, note, now or utcnow())
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    money.follow_up(loan_id)
    return db.session.get(Loan, loan_id, populate_existing=True)


# The step that settles a claim at an amount: a moderator's decision on a disputed claim, or
# an amount both sides agreed on (app/disputes: a refund offer accepted).
SETTLING = {
    states.DISPUTED: "resolve",
    states.DAMAGE_CLAIMED: "settle_claim",
    states.COMPLETED: "settle_fee",
}


def disputes_claim(loan: Loan) -> bool:
    """Whether a dispute about the loan (or an agreement) divides its damage claim, rather than
    its fee: a claim is open (not settled yet)."""
    claim = db.session.scalar(select(DamageClaim).where(DamageClaim.loan_id == loan.id))
    return claim is not None and claim.awarded_cents is None


def decide_claim(loan_id: int, awarded_cents: int, note: str | None, now: datetime) -> None:
    """Settle a claim (disputed, or agreed on) without committing: the lender is awarded
    `awarded_cents` of the deposit (0 up to the amount claimed), the rest goes back; the step
    settles the loan's money (ledger entries, provider operations staged for after the commit).
    Raises NotFound, InvalidTransition, ValidationFailed."""
    if isinstance(awarded_cents, bool) or not isinstance(awarded_cents, int):
        raise _invalid({"awarded": ["Enter the amount awarded to the lender."]})
    loan = lock_loan(loan_id)
    if loan is None:
        raise NotFound(get_kind(KIND).not_found)
    action = SETTLING.get(loan.state)
    if action is None:
        raise InvalidTransition(states.MACHINE.refusal_message(loan.state, "resolve"))
    claim_loan(loan_id, in_state=loan.state)
    if loan.state == states.COMPLETED or not disputes_claim(loan):
        money.decide_fee(loan, awarded_cents, now)
        note = (note or "").strip()[: machine.MAX_NOTE_LENGTH] or None
        machine.step(get_kind(KIND), loan, action, None, note=note, now=now)
        return
    claim = db.session.scalar(select(DamageClaim).where(DamageClaim.loan_id == loan_id))
    most = claim.amount_cents if claim is not None else 0
    if not 0 <= awarded_cents <= most:
        raise _invalid(
            {
                "awarded": [
                    f"Award from nothing up to the {format_money(most, loan.currency)} claimed."
                ]
            }
        )
    claim.awarded_cents = awarded_cents
    note = (note or "").strip()[: machine.MAX_NOTE_LENGTH] or None
    machine.step(get_kind(KIND), loan, action, None, note=note, now=now)


def dispute_stake(loan: Loan) -> Stake:
    """What a dispute about a loan divides: the amount the lender claimed of the deposit while
    a claim is open; otherwise what the borrower paid and did not get back (the fee, and a
    part of the deposit taken: money.paid_held)."""
    if loan.state in money.FEE_DISPUTES or (
        loan.state == states.DISPUTED and not disputes_claim(loan)
    ):
        return Stake(
            amount_cents=money.paid_held(loan),
            currency=loan.currency,
            payer_role="borrower",
            payee_role="lender",
            what="what the borrower paid, released to the lender"
            if loan.completed_at is not None
            else "the fee held for the loan",
        )
    claim = loan.claim
    return Stake(
        amount_cents=claim.amount_cents if claim is not None else 0,
        currency=loan.currency,
        payer_role="borrower",
        payee_role="lender",
        what="the damage claim on the deposit",
    )


def run_due_jobs(now: datetime | None = None) -> int:
    """The loans' due job (app/jobs): expire unanswered requests, remind borrowers before the
    due day and each day late, complete returns nobody claimed for, let unanswered claims
    stand, and retry the provider calls an outage left undone. Returns how many it handled."""
    return due.run(now or utcnow())
