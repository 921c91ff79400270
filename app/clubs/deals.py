"""Group deals: drafting a deal with a supplier, pledging, changing and withdrawing pledges,
and every step after the deadline that a person takes (payment in person, delivery, receipt,
a problem). The deal and pledge machines are in app/clubs/states.py, run by
app/transactions/machine.py; the settlement at the deadline is app/clubs/settlement.py.
Pages and the API call these; the rules live here and nowhere else.

    create_deal(club_id, organizer_id, *, supplier_id, title, ...) -> GroupDeal   (draft)
    update_deal(deal_id, editor_id, **fields) -> GroupDeal                       (draft only)
    deal_action(deal_id, action, actor_id, note="") -> GroupDeal
    pledge(deal_id, member_id, quantity) -> Pledge
    change_pledge(pledge_id, member_id, quantity) -> Pledge
    withdraw_pledge(pledge_id, member_id, note="") -> Pledge
    pledge_action(pledge_id, action, actor_id, note="") -> Pledge
    deliver_all(deal_id, actor_id) -> int
    retry_charge(pledge_id, member_id) -> Pledge
    get_deal(deal_id, viewer_id) -> GroupDeal
    deal_view(deal, viewer_id) -> DealView
    my_deals(user_id) -> {"member", "organizer", "supplier", "needs_you"}
    roster(deal_id, viewer_id) -> list[RosterRow]

Every pledge, change and withdrawal holds the deal's row (steps.hold_deal) and keeps
GroupDeal.pledged_quantity and pledge_count in the same unit of work, so the cap is decided on
the true total even when many members pledge at the same moment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import visibility
from app.accounts.models import User
from app.accounts.suspension import ensure_not_suspended
from app.clubs import membership, states, tiers
from app.clubs.models import (
    CARD,
    FULFILMENTS,
    IN_PERSON,
    PICKUP,
    SHIPPING,
    DealEvent,
    DealTier,
    GroupDeal,
    Pledge,
)
from app.clubs.steps import (
    DEAL,
    PLEDGE,
    follow_total,
    hold_deal,
    hold_pledge,
    pledge_payload,
)
from app.db import utcnow
from app.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from app.extensions import db
from app.money import format_money
from app.payments import money as payments
from app.transactions import machine
from app.transactions.events import record_event
from app.transactions.machine import advance, decide, step
from app.transactions.registry import get_kind
from app.trust import levels as trust

logger = logging.getLogger(__name__)

TITLE_MAX, DESCRIPTION_MAX, UNIT_MAX = 120, 2000, 30
PICKUP_MAX = 200
QUANTITY_MAX = 1_000_000
PRICE_MAX_CENTS = 10_000_000  # 100,000.00 a unit
SHIPPING_MAX_CENTS = 100_000
DEADLINE_MIN = timedelta(hours=1)  # a deal is open for pledges at least this long
DEADLINE_MAX = timedelta(days=90)
DEAL_ACTIONS = ("propose", "accept_terms", "decline_terms", "retract", "cancel", "mark_fulfilled")
PLEDGE_ACTIONS = (
    "record_payment",
    "mark_no_show",
    "mark_delivered",
    "confirm_receipt",
    "report_problem",
)
NOT_FOUND = "We could not find that deal."

RULES_TEXT = (
    "Pledge a quantity before the deadline; you can change or withdraw it until then. "
    "Nothing is charged now. At the deadline, if the total reached the minimum, everybody pays "
    "the price of the best tier reached, so you never pay more than the price shown as the "
    "most it can cost. If the minimum is not reached, nobody is charged."
)
CARD_RULE = (
    "Your saved card is charged off-session at the deadline. If it is declined you have "
    "{hours} hours to fix it at /me/card; after that your pledge is dropped. The price stays "
    "the one fixed at the deadline for everybody."
)
IN_PERSON_RULE = "You pay in person at pickup; the organizer records your payment."


# -- errors (stable codes) ------------------------------------------------------------------


class CapReached(Conflict):
    code, default_message = "cap_reached", "This deal is full."


class OverMemberLimit(Conflict):
    code, default_message = "over_member_limit", "That is more than one member may pledge."


class DeadlinePassed(Conflict):
    code, default_message = "deadline_passed", "The deadline of this deal has passed."


class NotPledging(Conflict):
    code, default_message = "not_pledging", "This deal is not open for pledges."


class OwnDeal(Conflict):
    code, default_message = (
        "own_deal",
        "The organizer and the supplier of a deal cannot pledge to it.",
    )


class SavedCardRequired(Conflict):
    code, default_message = (
        "saved_card_required",
        "Save a card first: it is charged at the deadline if the deal tips (nothing is held "
        "before).",
    )


class DealHidden(Conflict):
    code, default_message = (
        "deal_hidden",
        "A moderator hid this deal: no new pledges until a moderator has looked at it again.",
    )


class AlreadyPledged(Conflict):
    code, default_message = (
        "already_pledged",
        "You have pledged to this deal already: change your pledge instead.",
    )


# -- drafting ---------------------------------------------------------------------------------


def create_deal(
    club_id: int,
    organizer_id: int,
    *,
    supplier_id: int,
    title: str,
    description: str = "",
    unit: str = "item",
    currency: str | None = None,
    tiers: list[tuple[int, int]],
    min_quantity: int,
    cap_quantity: int | None = None,
    member_limit: int | None = None,
    deadline: datetime,
    fulfilment: str = PICKUP,
    pickup_point: str = "",
    pickup_times: str = "",
    shipping_cents: int = 0,
    organizer_fee_bps: int = 0,
    now: datetime | None = None,
) -> GroupDeal:
    """Draft a deal in a club (its organizer or a co-organizer) with a supplier. Raises
    NotFound, NotAMember, NotAnOrganizer, ValidationFailed."""
    ensure_not_suspended(organizer_id)
    now = now or utcnow()
    membership.get_club(club_id)
    membership.require_organizer(club_id, organizer_id)
    if trust.gates_enabled():
        trust.require_level(
            organizer_id, trust.ORGANIZE_DEAL_LEVEL, "Organizing a group deal", field="title"
        )
    values = _clean_terms(
        organizer_id,
        dict(
            supplier_id=supplier_id,
            title=title,
            description=description,
            unit=unit,
            currency=currency or current_app.config["SITE_CURRENCY"],
            tiers=tiers,
            min_quantity=min_quantity,
            cap_quantity=cap_quantity,
            member_limit=member_limit,
            deadline=deadline,
            fulfilment=fulfilment,
            pickup_point=pickup_point,
            pickup_times=pickup_times,
            shipping_cents=shipping_cents,
            organizer_fee_bps=organizer_fee_bps,
        ),
        now,
    )
    tier_rows = values.pop("tiers")
    deal = GroupDeal(
        club_id=club_id,
        organizer_id=organizer_id,
        state=states.DRAFT,
        created_at=now,
        updated_at=now,
        **values,
    )
    deal.tiers = [DealTier(min_quantity=t.min_quantity, unit_price_cents=t.unit_price_cents)
                  for t in tier_rows]  # fmt: skip
    db.session.add(deal)
    db.session.flush()
    db.session.add(
        DealEvent(
            deal_id=deal.id, action="create", to_state=states.DRAFT, actor_id=organizer_id,
            created_at=now,
        )
    )  # fmt: skip
    db.session.commit()
    logger.info("deal %s drafted in club %s", deal.id, club_id)
    return deal


def update_deal(deal_id: int, editor_id: int, *, now: datetime | None = None, **fields):
    """Change a draft's terms (the deal's organizer, or another organizer of its club); any
    field of create_deal. Raises NotFound, NotAnOrganizer, InvalidTransition (not a draft any
    more: cancel and draft again), ValidationFailed."""
    now = now or utcnow()
    unknown = set(fields) - set(TERMS)
    if unknown:
        raise _invalid({name: ["This cannot be changed."] for name in sorted(unknown)})
    deal = hold_deal(deal_id)
    if deal is None or not membership.can_see(deal.club, editor_id):
        db.session.rollback()
        raise NotFound(NOT_FOUND)
    if editor_id != deal.organizer_id and not membership.runs_club(deal.club_id, editor_id):
        db.session.rollback()
        raise membership.NotAnOrganizer()
    if deal.state not in states.EDITABLE:
        db.session.rollback()
        raise InvalidTransition(
            f"This deal {states.DEAL_MACHINE.state(deal.state).phrase}, so its terms can no "
            "longer be changed: cancel it and draft a new one."
        )
    current = {name: getattr(deal, name) for name in TERMS if name != "tiers"}
    current["tiers"] = [(t.min_quantity, t.unit_price_cents) for t in deal.tiers]
    try:
        values = _clean_terms(deal.organizer_id, current | fields, now)
    except DomainError:
        db.session.rollback()
        raise
    tier_rows = values.pop("tiers")
    for name, value in values.items():
        setattr(deal, name, value)
    deal.tiers.clear()
    db.session.flush()  # the old tiers go before the new ones (one price per quantity)
    deal.tiers = [DealTier(min_quantity=t.min_quantity, unit_price_cents=t.unit_price_cents)
                  for t in tier_rows]  # fmt: skip
    deal.updated_at = now
    db.session.commit()
    return deal


TERMS = (
    "supplier_id", "title", "description", "unit", "currency", "tiers", "min_quantity",
    "cap_quantity", "member_limit", "deadline", "fulfilment", "pickup_point", "pickup_times",
    "shipping_cents", "organizer_fee_bps",
)  # fmt: skip


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _clean_terms(organizer_id: int, raw: dict, now: datetime) -> dict:
    """The terms, checked and tidied; ValidationFailed with every field that is wrong."""
    errors: dict[str, list[str]] = {}
    out: dict = {}

    def text(name: str, limit: int, *, required: bool) -> None:
        value = str(raw.get(name) or "").strip().replace("\r\n", "\n")
        if required and not value:
            errors[name] = ["This cannot be empty."]
        elif len(value) > limit:
            errors[name] = [f"Use at most {limit} characters (this has {len(value)})."]
        out[name] = value

    text("title", TITLE_MAX, required=True)
    text("description", DESCRIPTION_MAX, required=False)
    text("unit", UNIT_MAX, required=True)
    text("pickup_point", PICKUP_MAX, required=False)
    text("pickup_times", PICKUP_MAX, required=False)

    currency = str(raw.get("currency") or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        errors["currency"] = ["Use a three-letter currency code, e.g. USD."]
    out["currency"] = currency

    supplier_id = raw.get("supplier_id")
    supplier = db.session.get(User, supplier_id) if _is_int(supplier_id) else None
    if supplier is None or supplier.is_suspended:
        errors["supplier_id"] = ["Choose the supplier: a member of this site."]
    elif supplier.id == organizer_id:
        errors["supplier_id"] = ["The supplier must be someone other than the organizer."]
    out["supplier_id"] = supplier_id

    def whole(name: str, *, low: int, high: int, optional: bool = False) -> int | None:
        value = raw.get(name)
        if value is None and optional:
            return None
        if not _is_int(value) or not low <= value <= high:
            errors[name] = [f"Enter a whole number from {low:,} to {high:,}."]
            return None
        return value

    out["min_quantity"] = whole("min_quantity", low=1, high=QUANTITY_MAX)
    out["cap_quantity"] = whole("cap_quantity", low=1, high=QUANTITY_MAX, optional=True)
    out["member_limit"] = whole("member_limit", low=1, high=QUANTITY_MAX, optional=True)
    out["shipping_cents"] = whole("shipping_cents", low=0, high=SHIPPING_MAX_CENTS) or 0
    out["organizer_fee_bps"] = whole("organizer_fee_bps", low=0, high=tiers.MAX_FEE_BPS) or 0
    low, cap = out["min_quantity"], out["cap_quantity"]
    if low is not None and cap is not None and cap < low:
        errors["cap_quantity"] = ["The cap cannot be under the minimum that tips the deal."]
    limit = out["member_limit"]
    if limit is not None and cap is not None and limit > cap:
        errors["member_limit"] = ["One member cannot pledge more than the cap."]

    fulfilment = raw.get("fulfilment")
    if fulfilment not in FULFILMENTS:
        errors["fulfilment"] = ["Choose pickup or shipping."]
    elif fulfilment == PICKUP and not out["pickup_point"]:
        errors["pickup_point"] = ["Say where members pick up their goods."]
    if fulfilment == PICKUP:
        out["shipping_cents"] = 0
    out["fulfilment"] = fulfilment

    deadline = raw.get("deadline")
    if not isinstance(deadline, datetime) or deadline.tzinfo is None:
        errors["deadline"] = ["Choose the deadline (a date and time)."]
    elif deadline < now + DEADLINE_MIN:
        errors["deadline"] = ["Leave members at least an hour to pledge."]
    elif deadline > now + DEADLINE_MAX:
        errors["deadline"] = [f"Choose a deadline within {DEADLINE_MAX.days} days."]
    out["deadline"] = deadline

    pairs = raw.get("tiers") or []
    parsed: list[tiers.Tier] = []
    for pair in pairs:
        try:
            quantity, price = pair
        except (TypeError, ValueError):
            errors["tiers"] = ["Each tier is a quantity and a unit price."]
            break
        if not (_is_int(quantity) and _is_int(price)) or not (
            1 <= quantity <= QUANTITY_MAX and 1 <= price <= PRICE_MAX_CENTS
        ):
            errors["tiers"] = ["Each tier needs a whole quantity and a price above zero."]
            break
        parsed.append(tiers.Tier(quantity, price))
    if "tiers" not in errors and low is not None:
        found = tiers.tier_errors(parsed, low, cap)
        if found:
            errors["tiers"] = found
    out["tiers"] = tiers.ordered(parsed)
    if errors:
        raise _invalid(errors)
    return out


def _invalid(errors: dict[str, list[str]]) -> ValidationFailed:
    first = next(iter(errors.values()))[0]
    return ValidationFailed(
        first if len(errors) == 1 else "Some fields are not valid.", fields=errors
    )


# -- the deal's steps -------------------------------------------------------------------------


def deal_action(
    deal_id: int, action: str, actor_id: int, note: str = "", now: datetime | None = None
) -> GroupDeal:
    """Take one of the deal's steps by hand: propose (organizer), accept_terms or
    decline_terms (supplier), retract (organizer), cancel (organizer; supplier once open; never
    after the deadline), mark_fulfilled (supplier or organizer). Raises NotFound, Forbidden,
    InvalidTransition, DeadlinePassed, ValidationFailed (note)."""
    now = now or utcnow()
    deal = db.session.get(GroupDeal, deal_id)
    registered = get_kind(DEAL)
    role = registered.role_of(deal, actor_id)
    if action not in DEAL_ACTIONS:
        raise NotFound(states.DEAL_MACHINE.unknown_action)
    decide(registered, deal.state if deal else "", action, role)
    if action in ("propose", "accept_terms") and deal.deadline <= now + DEADLINE_MIN:
        raise DeadlinePassed(
            "The deadline is too close (or passed): take the deal back and set a later one."
        )
    if action == "cancel" and deal.state in states.PLEDGING and deal.deadline <= now:
        raise DeadlinePassed(
            "The deadline has passed: the deal is being settled and can no longer be cancelled."
        )
    try:
        advance(DEAL, deal_id, action, actor_id, note=note, now=now)
    except Exception:
        db.session.rollback()
        raise
    return db.session.get(GroupDeal, deal_id, populate_existing=True)


# -- pledging ---------------------------------------------------------------------------------


def _check_quantity(deal: GroupDeal, quantity, *, others: int) -> None:
    """The quantity a member may pledge, given `others` (the total without this pledge)."""
    if not _is_int(quantity) or not 1 <= quantity <= QUANTITY_MAX:
        raise _invalid({"quantity": ["Enter a whole number of units, at least 1."]})
    if deal.member_limit is not None and quantity > deal.member_limit:
        raise OverMemberLimit(
            f"One member may pledge at most {_units(deal.member_limit, deal.unit)}."
        )
    if deal.cap_quantity is not None and others + quantity > deal.cap_quantity:
        left = max(0, deal.cap_quantity - others)
        raise CapReached(
            f"Only {_units(left, deal.unit)} left." if left else "This deal is full: no units left."
        )


def _units(count: int, unit: str) -> str:
    return f"{count:,} {unit}" if count == 1 or unit.endswith("s") else f"{count:,} {unit}s"


def _check_open(deal: GroupDeal, now: datetime) -> None:
    if deal.state not in states.PLEDGING:
        raise NotPledging(f"This deal {states.DEAL_MACHINE.state(deal.state).phrase}: "
                          "it is not open for pledges.")  # fmt: skip
    if deal.deadline <= now:
        raise DeadlinePassed("The deadline has passed: pledges cannot change any more.")


def pledge(deal_id: int, member_id: int, quantity: int, now: datetime | None = None) -> Pledge:
    """Pledge `quantity` units (or pledge again after withdrawing). Raises NotFound, OwnDeal,
    NotAMember, DealHidden, NotPledging, DeadlinePassed, ValidationFailed, OverMemberLimit,
    CapReached, SavedCardRequired, AlreadyPledged."""
    ensure_not_suspended(member_id)
    now = now or utcnow()
    # What does not depend on the deal's total is checked before taking its row, so the
    # pledges of many members wait for each other as briefly as possible.
    seen = db.session.get(GroupDeal, deal_id)
    if seen is None or not _may_see(seen, member_id):
        raise NotFound(NOT_FOUND)
    if member_id in (seen.organizer_id, seen.supplier_id):
        raise OwnDeal()
    membership.require_member(seen.club_id, member_id)
    if visibility.state("deal", deal_id) != visibility.VISIBLE:
        raise DealHidden()
    in_person = payments.settles_in_person()
    if not in_person and payments.saved_card_of(member_id) is None:
        raise SavedCardRequired()
    deal = hold_deal(deal_id)
    try:
        _check_open(deal, now)
        existing = db.session.scalar(
            select(Pledge)
            .where(Pledge.deal_id == deal_id, Pledge.member_id == member_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if existing is not None and existing.state != states.WITHDRAWN:
            raise AlreadyPledged()
        _check_quantity(deal, quantity, others=deal.pledged_quantity)
    except DomainError:
        db.session.rollback()
        raise
    method = IN_PERSON if in_person else CARD
    if existing is None:
        made = Pledge(
            deal_id=deal_id, member_id=member_id, quantity=quantity, state=states.PLEDGED,
            payment_method=method, pledged_at=now, created_at=now, updated_at=now,
        )  # fmt: skip
        db.session.add(made)
        deal.pledged_quantity += quantity
        deal.pledge_count += 1
        deal.updated_at = now
        db.session.flush()
        db.session.add(
            DealEvent(deal_id=deal_id, pledge_id=made.id, action="pledge",
                      to_state=states.PLEDGED, actor_id=member_id, created_at=now)
        )  # fmt: skip
        record_event(
            f"{PLEDGE}.placed", subject_kind=PLEDGE, subject_id=made.id, actor_id=member_id,
            payload=pledge_payload(made), now=now,
        )  # fmt: skip
        follow_total(deal, now)
    else:
        made = existing
        made.quantity, made.payment_method = quantity, method
        made.withdraw_note = None
        db.session.flush()
        step(get_kind(PLEDGE), made, "renew", member_id, now=now)  # the hook counts it again
    db.session.commit()
    logger.info("pledge %s: %s units to deal %s", made.id, quantity, deal_id)
    return made


def _hold_own_pledge(pledge_id: int, member_id: int) -> tuple[Pledge, GroupDeal]:
    found = hold_pledge(pledge_id)
    if found is None or found.member_id != member_id:
        db.session.rollback()
        raise NotFound("We could not find that pledge.")
    return found, db.session.get(GroupDeal, found.deal_id)


def change_pledge(
    pledge_id: int, member_id: int, quantity: int, now: datetime | None = None
) -> Pledge:
    """Change the quantity of a pledge before the deadline. Raises NotFound, InvalidTransition,
    NotPledging, DeadlinePassed, ValidationFailed, OverMemberLimit, CapReached."""
    ensure_not_suspended(member_id)
    now = now or utcnow()
    found, deal = _hold_own_pledge(pledge_id, member_id)
    try:
        decide(get_kind(PLEDGE), found.state, "change_quantity", "member")
        _check_open(deal, now)
        _check_quantity(deal, quantity, others=deal.pledged_quantity - found.quantity)
    except DomainError:
        db.session.rollback()
        raise
    note = f"{found.quantity} -> {quantity}"
    deal.pledged_quantity += quantity - found.quantity
    deal.updated_at = now
    found.quantity = quantity
    db.session.flush()
    step(get_kind(PLEDGE), found, "change_quantity", member_id, note=note, now=now)
    follow_total(deal, now)
    db.session.commit()
    return found


def withdraw_pledge(
    pledge_id: int, member_id: int, note: str = "", now: datetime | None = None
) -> Pledge:
    """Withdraw a pledge before the deadline (the total goes down; the deal may untip). Raises
    NotFound, InvalidTransition, NotPledging, DeadlinePassed, ValidationFailed (note)."""
    now = now or utcnow()
    found, deal = _hold_own_pledge(pledge_id, member_id)
    note = (note or "").strip()
    try:
        decide(get_kind(PLEDGE), found.state, "withdraw", "member")
        _check_open(deal, now)
        if len(note) > machine.MAX_NOTE_LENGTH:
            raise _invalid({"note": [f"At most {machine.MAX_NOTE_LENGTH} characters."]})
    except DomainError:
        db.session.rollback()
        raise
    step(get_kind(PLEDGE), found, "withdraw", member_id, note=note or None, now=now)
    db.session.commit()
    return found


def pledge_action(
    pledge_id: int, action: str, actor_id: int, note: str = "", now: datetime | None = None
) -> Pledge:
    """A step of a pledge after the deadline, by one of its parties: record_payment or
    mark_no_show (organizer or supplier, paid in person at pickup), mark_delivered (supplier or
    organizer, once the deal settled), confirm_receipt or report_problem (the member; a
    moderator decides a problem). withdraw is withdraw_pledge. Raises NotFound, Forbidden,
    InvalidTransition, ValidationFailed."""
    now = now or utcnow()
    if action == "withdraw":
        return withdraw_pledge(pledge_id, actor_id, note, now=now)
    if action == "report_problem":  # a dispute with its reason (the note): app/disputes
        from app.disputes.services import open_dispute

        open_dispute(PLEDGE, pledge_id, actor_id, note or "", now=now)
        return db.session.get(Pledge, pledge_id, populate_existing=True)
    found = db.session.get(Pledge, pledge_id)
    registered = get_kind(PLEDGE)
    if action not in PLEDGE_ACTIONS:
        if found is None or registered.role_of(found, actor_id) is None:
            raise NotFound("We could not find that pledge.")
        raise NotFound(states.PLEDGE_MACHINE.unknown_action)
    decide(registered, found.state if found else "", action, registered.role_of(found, actor_id))
    deal = db.session.get(GroupDeal, found.deal_id)
    if action == "mark_delivered" and deal.state not in (states.SETTLED, states.FULFILLED):
        raise InvalidTransition(
            "The deal is still being charged: deliver once every pledge is paid or dropped."
        )
    try:
        advance(PLEDGE, pledge_id, action, actor_id, note=note, now=now)
    except Exception:
        db.session.rollback()
        raise
    from app.clubs.money import run_operations

    run_operations()
    return db.session.get(Pledge, pledge_id, populate_existing=True)


def deliver_all(deal_id: int, actor_id: int, now: datetime | None = None) -> int:
    """The goods reached the pickup point (or every member): every paid pledge is marked
    delivered and the deal fulfilled, in one unit of work. Returns how many pledges were
    marked. Raises NotFound, Forbidden, InvalidTransition."""
    now = now or utcnow()
    deal = hold_deal(deal_id)
    role = get_kind(DEAL).role_of(deal, actor_id)
    try:
        if deal is None or role is None:
            raise NotFound(NOT_FOUND)
        if deal.state not in (states.SETTLED, states.FULFILLED):
            raise InvalidTransition(
                states.DEAL_MACHINE.refusal_message(deal.state, "mark_fulfilled")
            )
    except DomainError:
        db.session.rollback()
        raise
    pledge_kind = get_kind(PLEDGE)
    paid = db.session.scalars(
        select(Pledge)
        .where(Pledge.deal_id == deal_id, Pledge.state == states.PAID)
        .order_by(Pledge.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    for each in paid:
        step(pledge_kind, each, "mark_delivered", actor_id, now=now)
    db.session.refresh(deal)
    if deal.state == states.SETTLED:
        step(get_kind(DEAL), deal, "mark_fulfilled", actor_id, now=now)
    db.session.commit()
    return len(paid)


def retry_charge(pledge_id: int, member_id: int, now: datetime | None = None) -> Pledge:
    """Charge the saved card again after a decline (the member fixed it at /me/card). The
    answer is on the pledge: paid, or still payment_due with the card's words in
    failure_note. Raises NotFound, InvalidTransition (nothing due, or the grace period is
    over), SavedCardRequired."""
    from app.clubs import settlement

    now = now or utcnow()
    found = db.session.get(Pledge, pledge_id, populate_existing=True)
    if found is None or found.member_id != member_id:
        raise NotFound("We could not find that pledge.")
    if found.state != states.PAYMENT_DUE:
        raise InvalidTransition(f"This pledge {states.PLEDGE_MACHINE.state(found.state).phrase}: "
                                "there is nothing to pay again.")  # fmt: skip
    if found.grace_until is not None and found.grace_until <= now:
        raise InvalidTransition("The time to fix the card is over: this pledge is dropped.")
    if payments.saved_card_of(member_id) is None:
        raise SavedCardRequired("Save a working card first, then pay again.")
    settlement.charge_pledge(pledge_id, now)
    return db.session.get(Pledge, pledge_id, populate_existing=True)


# -- reading ----------------------------------------------------------------------------------


def _may_see(deal: GroupDeal, viewer_id: int | None) -> bool:
    if viewer_id is not None and viewer_id in (deal.organizer_id, deal.supplier_id):
        return True
    if deal.state in (states.DRAFT, states.PROPOSED):
        return membership.runs_club(deal.club_id, viewer_id)
    if visibility.state("deal", deal.id) != visibility.VISIBLE:
        # Hidden or removed by a moderator: its club's members (they see the notice), those who
        # pledged and moderators only.
        if membership.is_member(deal.club_id, viewer_id) or visibility.is_moderator(viewer_id):
            return True
    elif membership.can_see(deal.club, viewer_id):
        return True
    return (
        viewer_id is not None
        and db.session.scalar(
            select(Pledge.id).where(Pledge.deal_id == deal.id, Pledge.member_id == viewer_id)
        )
        is not None
    )


def get_deal(deal_id: int, viewer_id: int | None, *, for_page: bool = False) -> GroupDeal:
    """The deal, if the viewer may see it: anyone who sees its club once the supplier accepted
    it; a draft only its organizers and supplier. NotFound otherwise (never a hint).
    `for_page`: with its club, organizer and supplier in the same statement."""
    options = (
        [
            joinedload(GroupDeal.club),
            joinedload(GroupDeal.organizer),
            joinedload(GroupDeal.supplier),
        ]
        if for_page
        else []
    )
    deal = db.session.get(GroupDeal, deal_id, options=options)
    if deal is None or not _may_see(deal, viewer_id):
        raise NotFound(NOT_FOUND)
    return deal


@dataclass
class DealView:
    """What a deal's page shows one viewer."""

    deal: GroupDeal
    total: int
    current_tier: tiers.Tier | None
    next_tier: tiers.Tier | None
    units_to_next: int | None
    price_now_cents: int | None  # the unit price if the deadline were now (None: under tier 1)
    highest_price_cents: int
    units_left: int | None  # under the cap (None: no cap)
    progress_percent: int  # of the minimum (capped at 100)
    role: str | None  # organizer, supplier, member (has a pledge), or None
    pledge: Pledge | None
    most_cost: tiers.Charge | None  # the most the viewer's pledge (or 1 unit) can cost
    cost_now: tiers.Charge | None  # what it costs at the current price
    can_pledge: bool
    why_not: str | None
    deadline_passed: bool
    rules: list[str] = field(default_factory=list)


def viewer_pledges(deal_ids: list[int], viewer_id: int | None) -> dict[int, Pledge]:
    """{deal id: the viewer's pledge} among these deals, whatever its state (one statement)."""
    if viewer_id is None or not deal_ids:
        return {}
    return {
        pledge.deal_id: pledge
        for pledge in db.session.scalars(
            select(Pledge).where(Pledge.deal_id.in_(deal_ids), Pledge.member_id == viewer_id)
        )
    }


def deal_view(
    deal: GroupDeal, viewer_id: int | None, now: datetime | None = None, *, pledges=None
) -> DealView:
    """The deal's progress and the viewer's place in it (see DealView). `pledges`: the
    viewer's pledges already read for a list of deals ({deal id: pledge}; viewer_pledges)."""
    now = now or utcnow()
    total = deal.pledged_quantity
    current = tiers.current_tier(deal.tiers, total)
    upcoming = tiers.next_tier(deal.tiers, total)
    mine = None
    if pledges is not None:
        mine = pledges.get(deal.id)
    elif viewer_id is not None:
        mine = db.session.scalar(
            select(Pledge).where(Pledge.deal_id == deal.id, Pledge.member_id == viewer_id)
        )
    role = get_kind(DEAL).role_of(deal, viewer_id) or ("member" if mine else None)
    shipping = deal.shipping_cents if deal.fulfilment == SHIPPING else 0
    quantity = mine.quantity if mine is not None and mine.state != states.WITHDRAWN else 1
    most = tiers.most_cost(quantity, deal.tiers, deal.organizer_fee_bps, shipping)
    price = deal.final_unit_price_cents or tiers.price_at(deal.tiers, total)
    now_cost = (
        tiers.charge_for(quantity, price, deal.organizer_fee_bps, shipping) if price else None
    )
    why = _why_not(deal, viewer_id, mine, now)
    in_person = payments.settles_in_person()
    rules = [RULES_TEXT]
    rules.append(
        IN_PERSON_RULE
        if in_person
        else CARD_RULE.format(hours=current_app.config["DEAL_GRACE_HOURS"])
    )
    if deal.cap_quantity is not None:
        rules.append(f"At most {_units(deal.cap_quantity, deal.unit)} in all.")
    if deal.member_limit is not None:
        rules.append(f"At most {_units(deal.member_limit, deal.unit)} per member.")
    if deal.organizer_fee_bps:
        rules.append(f"The organizer's fee: {deal.organizer_fee_bps / 100:g} % of the goods.")
    return DealView(
        deal=deal,
        total=total,
        current_tier=current,
        next_tier=upcoming[0] if upcoming else None,
        units_to_next=upcoming[1] if upcoming else None,
        price_now_cents=price,
        highest_price_cents=tiers.highest_price(deal.tiers),
        units_left=None if deal.cap_quantity is None else max(0, deal.cap_quantity - total),
        progress_percent=min(100, total * 100 // deal.min_quantity),
        role=role,
        pledge=mine,
        most_cost=most,
        cost_now=now_cost,
        can_pledge=why is None,
        why_not=why,
        deadline_passed=deal.deadline <= now,
        rules=rules,
    )


def _why_not(deal: GroupDeal, viewer_id: int | None, mine: Pledge | None, now) -> str | None:
    """Why the viewer cannot pledge now (None: they can, or can change their pledge)."""
    if viewer_id is None:
        return "Sign in and join the club to pledge."
    if viewer_id in (deal.organizer_id, deal.supplier_id):
        return OwnDeal.default_message
    if deal.state not in states.PLEDGING:
        return "This deal is not open for pledges."
    if deal.deadline <= now:
        return "The deadline has passed."
    if not membership.is_member(deal.club_id, viewer_id):
        return "Join the club to pledge."
    if visibility.state("deal", deal.id) != visibility.VISIBLE:
        return DealHidden.default_message
    if mine is not None and mine.state != states.WITHDRAWN:
        return "You have pledged: change or withdraw your pledge."
    if deal.cap_quantity is not None and deal.pledged_quantity >= deal.cap_quantity:
        return "This deal is full: no units left."
    if not payments.settles_in_person() and payments.saved_card_of(viewer_id) is None:
        return "Save a card first at /me/card (it is charged only if the deal tips)."
    return None


@dataclass(frozen=True)
class NeedsYou:
    deal: GroupDeal
    reason: str
    pledge: Pledge | None = None


def my_deals(user_id: int, limit: int = 100) -> dict[str, list]:
    """The user's deals as member (pledged, withdrawn excepted), organizer and supplier, newest
    first, and what needs them now (NeedsYou rows: the deal and the reason)."""
    newest = (GroupDeal.updated_at.desc(), GroupDeal.id.desc())
    as_member = db.session.execute(
        select(GroupDeal, Pledge)
        .join(Pledge, Pledge.deal_id == GroupDeal.id)
        .where(Pledge.member_id == user_id, Pledge.state != states.WITHDRAWN)
        .order_by(*newest)
        .limit(limit)
    ).all()
    organizing = db.session.scalars(
        select(GroupDeal).where(GroupDeal.organizer_id == user_id).order_by(*newest).limit(limit)
    ).all()
    supplying = db.session.scalars(
        select(GroupDeal)
        .where(GroupDeal.supplier_id == user_id, GroupDeal.state != states.DRAFT)
        .order_by(*newest)
        .limit(limit)
    ).all()
    needs: list[NeedsYou] = []
    for deal, mine in as_member:
        if mine.state == states.PAYMENT_DUE:
            needs.append(NeedsYou(deal, "Your card was declined: fix it and pay again.", mine))
        elif mine.state == states.DELIVERED:
            needs.append(NeedsYou(deal, "Confirm you received your goods.", mine))
    for deal in organizing:
        if deal.state == states.DRAFT:
            needs.append(NeedsYou(deal, "Send the draft to the supplier."))
    for deal in {d.id: d for d in (*organizing, *supplying)}.values():
        if deal.state == states.PROPOSED and deal.supplier_id == user_id:
            needs.append(NeedsYou(deal, "Accept or decline the terms."))
        elif deal.state in (states.SETTLED, states.FULFILLED) and db.session.scalar(
            select(Pledge.id)
            .where(Pledge.deal_id == deal.id, Pledge.state.in_((states.PAID, states.PAY_AT_PICKUP)))
            .limit(1)
        ):
            needs.append(NeedsYou(deal, "Deliver the goods and record payments at pickup."))
    return {
        "member": [deal for deal, _pledge in as_member],
        "organizer": list(organizing),
        "supplier": list(supplying),
        "needs_you": needs,
    }


@dataclass(frozen=True)
class RosterRow:
    member: User
    quantity: int
    amount_cents: int
    paid: bool
    collected: bool
    state: str
    pledge_id: int
    payment_method: str


def roster(deal_id: int, viewer_id: int) -> list[RosterRow]:
    """The pickup list (organizer, co-organizers and supplier): every member whose pledge
    counts, what they owe or paid, and whether they collected. Raises NotFound, Forbidden."""
    deal = get_deal(deal_id, viewer_id)
    if viewer_id not in (deal.organizer_id, deal.supplier_id) and not membership.runs_club(
        deal.club_id, viewer_id
    ):
        raise Forbidden("Only the organizers and the supplier see the pickup list.")
    rows = db.session.scalars(
        select(Pledge)
        .where(Pledge.deal_id == deal_id, Pledge.state.in_(states.COUNTED | {states.DROPPED}))
        .options(joinedload(Pledge.member))
        .join(User, User.id == Pledge.member_id)
        .order_by(User.handle)
    ).all()
    collected = {states.DELIVERED, states.RECEIVED}
    return [
        RosterRow(
            member=row.member,
            quantity=row.quantity,
            amount_cents=row.amount_cents,
            paid=row.state in states.PAID_STATES,
            collected=row.state in collected
            or (row.state in (states.DISPUTED, states.RESOLVED) and row.delivered_at is not None),
            state=row.state,
            pledge_id=row.id,
            payment_method=row.payment_method,
        )
        for row in rows
    ]


def price_words(deal: GroupDeal) -> str:
    """The tiers as people read them: "10+ at $9.00, 25+ at $8.00"."""
    return ", ".join(
        f"{t.min_quantity}+ at {format_money(t.unit_price_cents, deal.currency)}"
        for t in tiers.ordered(deal.tiers)
    )


def deals_of_club(club_id: int, viewer_id: int | None) -> dict[str, list[GroupDeal]]:
    """A club's deals the viewer may see: open (pledging) and past ones, newest first."""
    deals = db.session.scalars(
        select(GroupDeal)
        .where(GroupDeal.club_id == club_id)
        .order_by(GroupDeal.deadline.desc(), GroupDeal.id.desc())
    ).all()
    seen = [deal for deal in deals if _may_see(deal, viewer_id)]
    return {
        "open": [d for d in seen if d.state in states.PLEDGING],
        "past": [d for d in seen if d.state not in states.PLEDGING],
    }


# -- what each person may do now (buttons, the API's "actions") ------------------------------


def deal_actions(deal: GroupDeal, user_id: int | None, now: datetime | None = None) -> list[str]:
    """The deal's steps this user may take now: the machine's, less those the deadline rules
    out (sending or accepting terms too close to it, cancelling once it passed)."""
    now = now or utcnow()
    actions = machine.available_actions(DEAL, deal, user_id)
    if deal.deadline <= now + DEADLINE_MIN:
        actions = [a for a in actions if a not in ("propose", "accept_terms")]
    if deal.deadline <= now and deal.state in states.PLEDGING:
        actions = [a for a in actions if a != "cancel"]
    return actions


def pledge_actions(
    pledge: Pledge,
    user_id: int | None,
    now: datetime | None = None,
    *,
    deal: GroupDeal | None = None,
    actions: list[str] | None = None,
) -> list[str]:
    """The pledge's steps this user may take now: the machine's (or `actions`, the machine's
    already found), less changing, withdrawing or pledging again once the deal stopped taking
    pledges, and delivery before it settled."""
    now = now or utcnow()
    deal = deal or db.session.get(GroupDeal, pledge.deal_id)
    if actions is None:
        actions = machine.available_actions(PLEDGE, pledge, user_id)
    if deal.state not in states.PLEDGING or deal.deadline <= now:
        actions = [a for a in actions if a not in ("change_quantity", "withdraw", "renew")]
    if deal.state not in (states.SETTLED, states.FULFILLED):
        actions = [a for a in actions if a != "mark_delivered"]
    return actions


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    label: str
    actor_id: int | None
    note: str | None
    pledge_id: int | None
    to_state: str


OWN_LABELS = {"create": "Drafted", "pledge": "Pledged"}


def timeline(deal: GroupDeal, viewer_id: int | None) -> list[TimelineEntry]:
    """The deal's history for this viewer, oldest first: the deal's own steps for everyone who
    sees it; every pledge's steps for its organizers and supplier, a member's own otherwise."""
    query = select(DealEvent).where(DealEvent.deal_id == deal.id)
    sees_all = viewer_id in (deal.organizer_id, deal.supplier_id) or membership.runs_club(
        deal.club_id, viewer_id
    )
    if not sees_all:
        own = select(Pledge.id).where(Pledge.deal_id == deal.id, Pledge.member_id == viewer_id)
        query = query.where(
            (DealEvent.pledge_id.is_(None)) | (DealEvent.pledge_id.in_(own.scalar_subquery()))
        )
    entries = []
    for event in db.session.scalars(query.order_by(DealEvent.id)):
        table = states.DEAL_MACHINE if event.pledge_id is None else states.PLEDGE_MACHINE
        label = OWN_LABELS.get(event.action) or table.event_labels.get(
            event.action, event.action.replace("_", " ").capitalize()
        )
        entries.append(
            TimelineEntry(event.created_at, label, event.actor_id, event.note, event.pledge_id,
                          event.to_state)
        )  # fmt: skip
    return entries
