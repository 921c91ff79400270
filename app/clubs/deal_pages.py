"""What the group-deal pages say: the progress bar (total, current tier, units to the next),
the deal's rules in plain words, the line "what happens next" for this viewer, the buttons the
machines allow, and the read-only queries the pages need (a club's deals, open deals for the
home page). The services that change anything live in app/clubs/deals.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app import visibility
from app.accounts.models import User
from app.clubs import deals, states
from app.clubs import tiers as tier_math
from app.clubs.deal_forms import DealActionForm, percent_text
from app.clubs.models import PICKUP, PUBLIC, Club, DealEvent, GroupDeal, Pledge
from app.db import utcnow
from app.extensions import db
from app.form_drafts import refilled_form
from app.lending.pages import day, moment
from app.money import format_money
from app.payments.services import settles_in_person

DEAL = "deal"
PLEDGE = "pledge"
OPEN_STATES = (states.OPEN, states.TIPPED)
PAST_STATES = (
    states.CLOSED,
    states.SETTLED,
    states.FULFILLED,
    states.COMPLETED,
    states.FAILED,
    states.CANCELLED,
)

NOTE_LABELS = {
    "decline_terms": ("Why you decline (optional)", "The organizer sees this and can redraft."),
    "cancel": ("Reason (optional)", "Every member who pledged is told, with this reason."),
    "withdraw": ("Reason (optional)", "The organizer sees this in the deal's history."),
    "mark_no_show": ("Note (optional)", "The member sees this on the deal page."),
    "report_problem": (
        "What went wrong",
        "The organizer and the supplier read this; a moderator decides.",
    ),
}

__all__ = ["day", "moment"]


def _setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


def money(cents: int | None, deal: GroupDeal) -> str:
    return format_money(cents, deal.currency)


def plural(count: int, unit: str) -> str:
    """ "1 bag", "3 bags" (a unit that ends in s or is a measure stays as it is)."""
    if count == 1 or unit.endswith("s") or unit in ("kg", "g", "l", "ml", "lb", "oz"):
        return f"{count} {unit}"
    return f"{count} {unit}s"


# -- keys of the forms a failed post keeps (app.form_drafts) ------------------------------


def draft_form_key(club_id: int) -> str:
    return f"deal-new:{club_id}"


def edit_form_key(deal_id: int) -> str:
    return f"deal-edit:{deal_id}"


def pledge_form_key(deal_id: int) -> str:
    return f"deal-pledge:{deal_id}"


def message_form_key(kind: str, subject_id: int) -> str:
    return f"{kind}-message:{subject_id}"


def action_form_key(action: str, subject_id: int) -> str:
    return f"deal:{action}:{subject_id}"


# -- the progress bar ----------------------------------------------------------------------


@dataclass(frozen=True)
class Tick:
    tier: tier_math.Tier
    percent: float  # where on the bar it starts
    is_reached: bool
    is_current: bool


@dataclass(frozen=True)
class Progress:
    """How far a deal got: what the bar and the lines under it show."""

    total: int
    unit: str
    min_quantity: int
    cap: int | None
    scale: int  # the bar's full width in units
    percent: float
    min_percent: float
    current: tier_math.Tier | None
    next: tier_math.Tier | None
    units_to_next: int
    ticks: tuple[Tick, ...]

    @property
    def is_tipped(self) -> bool:
        return self.total >= self.min_quantity

    @property
    def units_to_tip(self) -> int:
        return max(self.min_quantity - self.total, 0)

    @property
    def units_left(self) -> int | None:
        return None if self.cap is None else max(self.cap - self.total, 0)


def progress(deal: GroupDeal) -> Progress:
    """The deal's total against its tiers, its minimum and its cap."""
    tiers = tier_math.ordered(deal.tiers)
    total = deal.pledged_quantity
    top = max([deal.min_quantity, total] + [tier.min_quantity for tier in tiers])
    scale = deal.cap_quantity or max(top + max(top // 5, 1), 1)
    scale = max(scale, total, 1)
    current = tier_math.current_tier(tiers, total)
    following = tier_math.next_tier(tiers, total)

    def at(units: int) -> float:
        return round(min(units / scale, 1) * 100, 2)

    return Progress(
        total=total,
        unit=deal.unit,
        min_quantity=deal.min_quantity,
        cap=deal.cap_quantity,
        scale=scale,
        percent=at(total),
        min_percent=at(deal.min_quantity),
        current=current,
        next=following[0] if following else None,
        units_to_next=following[1] if following else 0,
        ticks=tuple(
            Tick(tier, at(tier.min_quantity), tier.min_quantity <= total, tier == current)
            for tier in tiers
        ),
    )


def progress_lines(deal: GroupDeal, bar: Progress) -> list[str]:
    """The bar's words: the total, the price now, what tips it, what the next tier needs."""
    lines = [f"{plural(bar.total, deal.unit)} pledged by {_people(deal.pledge_count)}."]
    pledging = deal.state in OPEN_STATES
    tip_said = False
    if deal.final_unit_price_cents is not None:
        lines.append(
            f"Final price: {money(deal.final_unit_price_cents, deal)} per {deal.unit}, "
            "fixed at the deadline."
        )
    elif bar.current is None:
        first = tier_math.ordered(deal.tiers)[0]
        more = plural(first.min_quantity - bar.total, deal.unit)
        price = f"{money(first.unit_price_cents, deal)} per {deal.unit}"
        if first.min_quantity == deal.min_quantity and pledging:
            lines.append(f"{more} more tip the deal, at {price}.")
            tip_said = True
        else:
            lines.append(f"{more} more reach the first price, {price}.")
    else:
        lines.append(
            f"Price now: {money(bar.current.unit_price_cents, deal)} per {deal.unit} "
            f"(the tier from {bar.current.min_quantity})."
        )
    if not bar.is_tipped and pledging and not tip_said:
        lines.append(f"{plural(bar.units_to_tip, deal.unit)} more tip the deal.")
    if bar.next is not None and bar.current is not None and pledging:
        lines.append(
            f"{plural(bar.units_to_next, deal.unit)} more bring everyone's price down to "
            f"{money(bar.next.unit_price_cents, deal)}."
        )
    if bar.units_left is not None and pledging:
        lines.append(f"{plural(bar.units_left, deal.unit)} left under the cap of {bar.cap}.")
    return lines


def _people(count: int) -> str:
    return "1 member" if count == 1 else f"{count} members"


# -- a pledge's money ------------------------------------------------------------------------


@dataclass(frozen=True)
class PledgeCost:
    most: tier_math.Charge  # every unit at the first tier's price
    now: tier_math.Charge | None  # at today's price (None: no tier reached yet)
    final: tier_math.Charge | None  # what it was charged (after the deadline)


def shipping_of(deal: GroupDeal) -> int:
    return deal.shipping_cents if deal.fulfilment != PICKUP else 0


def pledge_cost(deal: GroupDeal, quantity: int, pledge: Pledge | None = None) -> PledgeCost:
    shipping = shipping_of(deal)
    price = tier_math.price_at(deal.tiers, deal.pledged_quantity)
    final = None
    if pledge is not None and pledge.unit_price_cents is not None:
        final = tier_math.Charge(
            pledge.unit_price_cents, pledge.goods_cents, pledge.fee_cents, pledge.shipping_cents
        )
    return PledgeCost(
        most=tier_math.most_cost(quantity, deal.tiers, deal.organizer_fee_bps, shipping),
        now=(
            tier_math.charge_for(quantity, price, deal.organizer_fee_bps, shipping)
            if price is not None
            else None
        ),
        final=final,
    )


# -- the rules in plain words --------------------------------------------------------------


def price_words(deal: GroupDeal) -> str:
    top = tier_math.highest_price(deal.tiers)
    return (
        "Everybody pays the price of the best tier the total reaches by the deadline, the "
        f"same price per {deal.unit} for all. A pledge never costs more than "
        f"{money(top, deal)} per {deal.unit}."
    )


def change_words(deal: GroupDeal) -> str:
    limit = (
        f" At most {plural(deal.member_limit, deal.unit)} per member." if deal.member_limit else ""
    )
    cap = (
        f" The deal stops at {plural(deal.cap_quantity, deal.unit)} in all."
        if deal.cap_quantity
        else ""
    )
    return (
        f"Change or withdraw your pledge until the deadline, {moment(deal.deadline)}; after it "
        f"your pledge is final.{limit}{cap}"
    )


def payment_words(deal: GroupDeal) -> str:
    if settles_in_person():
        return (
            "Nothing is paid online: you pay the final price in person at pickup, and the "
            "organizer or the supplier records it."
        )
    grace = _setting("DEAL_GRACE_HOURS", 48)
    return (
        "Pledging needs a saved card; nothing is held on it. At the deadline, if the deal "
        "tipped, your card is charged the final price. If it is declined you have "
        f"{grace} hours to fix your card (the charge is tried again); after that your pledge "
        "is dropped. The price stays the one fixed at the deadline, whoever drops out."
    )


def fail_words(deal: GroupDeal) -> str:
    return (
        f"If fewer than {plural(deal.min_quantity, deal.unit)} are pledged by the deadline, the "
        "deal does not tip: nobody is charged and everyone is told."
    )


def fee_words(deal: GroupDeal) -> str:
    if not deal.organizer_fee_bps:
        return "The organizer takes no fee."
    return (
        f"The organizer takes {percent_text(deal.organizer_fee_bps)} % of the goods for "
        "running the deal; it is included in what you pay."
    )


def fulfilment_words(deal: GroupDeal) -> str:
    days = _setting("DEAL_RECEIPT_DAYS", 7)
    if deal.fulfilment == PICKUP:
        where = deal.pickup_point or "the pickup point"
        when = f", {deal.pickup_times}" if deal.pickup_times else ""
        how = f"Collect it at {where}{when}."
    else:
        how = f"The supplier ships to each member ({money(deal.shipping_cents, deal)} per member)."
    return (
        f"{how} Confirm when you have it (it is confirmed for you after {days} days). A "
        "problem? Report it on this page: a moderator decides."
    )


def rules(deal: GroupDeal) -> list[tuple[str, str]]:
    """The deal's rules, for the page's "Rules of this deal" (and the API's `rules`)."""
    return [
        ("Price", price_words(deal)),
        ("Changing your pledge", change_words(deal)),
        ("Paying", payment_words(deal)),
        ("If it does not tip", fail_words(deal)),
        ("Organizer's fee", fee_words(deal)),
        ("Getting it", fulfilment_words(deal)),
    ]


# -- the viewer ------------------------------------------------------------------------------


def role_in(deal: GroupDeal, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    if deal.organizer_id == user_id:
        return "organizer"
    if deal.supplier_id == user_id:
        return "supplier"
    return None


def pledge_of(deal_id: int, user_id: int | None) -> Pledge | None:
    """The viewer's pledge to the deal, whatever its state (one row per member and deal)."""
    if user_id is None:
        return None
    return db.session.scalar(
        select(Pledge).where(Pledge.deal_id == deal_id, Pledge.member_id == user_id)
    )


def next_step(deal: GroupDeal, role: str | None, pledge: Pledge | None) -> str:
    """What happens next, for this viewer, in a sentence."""
    state = deal.state
    supplier, organizer = f"@{deal.supplier.handle}", f"@{deal.organizer.handle}"
    if state == states.DRAFT:
        if role == "organizer":
            return f"Check the terms, then send them to {supplier}, the supplier, to accept."
        return f"{organizer} is still drafting this deal."
    if state == states.PROPOSED:
        if role == "supplier":
            return (
                f"{organizer} asks you to supply this deal. Accept the terms to open it for "
                "pledges, or decline them with a reason."
            )
        return f"Waiting for {supplier} to accept the terms. Pledges open then."
    if state in OPEN_STATES:
        when = moment(deal.deadline)
        if role == "organizer":
            return f"Pledges are open until {when}. Tell your club about it."
        if role == "supplier":
            return f"Pledges are open until {when}. You are told when the deal closes."
        if pledge is not None and pledge.state == states.PLEDGED:
            return (
                f"You pledged {plural(pledge.quantity, deal.unit)}. You can change it until {when}."
            )
        return f"Pledge before {when}. You pay only if the deal tips."
    if state == states.CLOSED:
        if pledge is not None and pledge.state == states.PAYMENT_DUE:
            return (
                "Your card was declined. Fix it before "
                f"{moment(pledge.grace_until)} or your pledge is dropped."
            )
        return "The deadline passed and the price is fixed; the pledges are being paid."
    if state == states.SETTLED:
        if role in ("organizer", "supplier"):
            if _waiting_at_pickup(deal.id):
                return (
                    "The price is fixed. At pickup, record each member's payment, hand over, "
                    "then mark it delivered."
                )
            return "Every pledge is paid or dropped. Deliver, then mark it delivered."
        if pledge is not None and pledge.state == states.PAY_AT_PICKUP:
            return (
                f"The price is fixed: pay {money(pledge.amount_cents, deal)} in person when you "
                "collect it. The pickup details are below."
            )
        return "Settled. Wait for the delivery; the pickup details are below."
    if state == states.FULFILLED:
        if pledge is not None and pledge.state == states.DELIVERED:
            return "Delivered. Confirm that you received it, or report a problem."
        return "Delivered. The deal completes when every member has confirmed receipt."
    if state == states.COMPLETED:
        return "Completed. Thank you! Rate each other below."
    if state == states.FAILED:
        return "The deal did not tip by its deadline. Nobody was charged."
    if state == states.CANCELLED:
        return "This deal was cancelled. Nobody was charged."
    return ""


def _waiting_at_pickup(deal_id: int) -> bool:
    return (
        db.session.scalar(
            select(Pledge.id)
            .where(Pledge.deal_id == deal_id, Pledge.state == states.PAY_AT_PICKUP)
            .limit(1)
        )
        is not None
    )


# -- buttons ---------------------------------------------------------------------------------


def action_form(action: str, formdata=None) -> DealActionForm:
    form = DealActionForm(formdata=formdata, prefix=action)
    label, _ = NOTE_LABELS.get(action, ("Note (optional)", ""))
    form.note.label.text = label
    return form


def _buttons(actions: list[str], instance, machine, skip=()) -> list[dict]:
    found = []
    for action in actions:
        if action in skip:
            continue
        form = refilled_form(action_form_key(action, instance.id), partial(action_form, action))
        found.append(
            {
                "action": action,
                "label": machine.action_labels.get(action, action.replace("_", " ").capitalize()),
                "form": form,
                "has_note": action in machine.actions_with_note,
                "hint": NOTE_LABELS.get(action, ("", ""))[1],
                "is_danger": action in machine.danger_actions,
                "confirm_label": machine.confirm_labels.get(action, ""),
            }
        )
    return found


def deal_buttons(deal: GroupDeal, user_id: int) -> list[dict]:
    """The viewer's deal actions as the shared macro draws them (tx.actions)."""
    return _buttons(deal_actions(deal, user_id), deal, states.DEAL_MACHINE)


# The member's pledge changes have their own form (quantity); these stay buttons.
PLEDGE_OWN_FORMS = frozenset({"change_quantity", "renew"})


def pledge_buttons(pledge: Pledge, user_id: int) -> list[dict]:
    return _buttons(
        pledge_actions(pledge, user_id), pledge, states.PLEDGE_MACHINE, skip=PLEDGE_OWN_FORMS
    )


def pledge_actions(pledge: Pledge, user_id: int) -> list[str]:
    """The services' rule of what may be done to a pledge now (deadline and settlement
    included), so no button offers what the service would refuse."""
    return deals.pledge_actions(pledge, user_id)


def deal_actions(deal: GroupDeal, user_id: int) -> list[str]:
    return deals.deal_actions(deal, user_id)


def roster_actions(deal: GroupDeal, pledges: list[Pledge], user_id: int) -> dict[int, list[str]]:
    """What the deal's organizer or supplier may do to each of its pledges (pledge_actions for
    every row of the pledges table), decided from their role in the deal, which is their role
    in each pledge too: nothing is looked up per pledge."""
    role = role_in(deal, user_id)
    now = utcnow()
    return {
        pledge.id: deals.pledge_actions(
            pledge, user_id, now, deal=deal,
            actions=states.PLEDGE_MACHINE.actions_for(pledge.state, role) if role else [],
        )
        for pledge in pledges
    }  # fmt: skip


# -- read-only lists -------------------------------------------------------------------------


def club_deals(club_id: int, viewer_id: int | None) -> dict[str, list[GroupDeal]]:
    """A club's deals for its page: open ones (soonest deadline first), past ones (latest
    first), and for the club's organizers the drafts and those waiting for a supplier."""
    from app.clubs.membership import is_member, runs_club

    rows = list(
        db.session.scalars(
            select(GroupDeal)
            .where(GroupDeal.club_id == club_id)
            .options(joinedload(GroupDeal.supplier), joinedload(GroupDeal.organizer))
            .order_by(GroupDeal.deadline, GroupDeal.id)
        )
    )
    hidden = visibility.states("deal", [deal.id for deal in rows])
    if hidden and not is_member(club_id, viewer_id):  # members see them, with the notice
        rows = [
            deal
            for deal in rows
            if deal.id not in hidden or viewer_id in (deal.organizer_id, deal.supplier_id)
        ]
    shown = {
        "open": [deal for deal in rows if deal.state in OPEN_STATES],
        "past": sorted(
            (deal for deal in rows if deal.state in PAST_STATES),
            key=lambda deal: deal.deadline,
            reverse=True,
        )[:20],
        "drafts": [],
    }
    if viewer_id is not None:
        runs = runs_club(club_id, viewer_id)
        shown["drafts"] = [
            deal
            for deal in rows
            if deal.state in (states.DRAFT, states.PROPOSED)
            and (runs or viewer_id in (deal.organizer_id, deal.supplier_id))
        ]
    return shown


def open_public_deals(limit: int = 6) -> list[GroupDeal]:
    """Open deals of public clubs, closing soonest first (the home page); none a moderator
    hid or removed, nor any of a club hidden or removed."""
    return list(
        db.session.scalars(
            select(GroupDeal)
            .join(Club, Club.id == GroupDeal.club_id)
            .where(
                GroupDeal.state.in_(OPEN_STATES),
                Club.visibility == PUBLIC,
                GroupDeal.deadline > utcnow(),
                visibility.shown("deal", GroupDeal.id),
                visibility.shown("club", Club.id),
            )
            .options(joinedload(GroupDeal.club))
            .order_by(GroupDeal.deadline, GroupDeal.id)
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class EventLine:
    """One step of a history as the shared timeline macro draws it (tx.timeline)."""

    id: int
    action: str
    to_state: str
    actor: User | None
    note: str | None
    created_at: datetime


def _lines(events: list[DealEvent]) -> list[EventLine]:
    ids = {event.actor_id for event in events if event.actor_id is not None}
    people = (
        {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))}
        if ids
        else {}
    )
    return [
        EventLine(
            event.id,
            event.action,
            event.to_state,
            people.get(event.actor_id),
            event.note,
            event.created_at,
        )
        for event in events
    ]


def deal_events(deal_id: int) -> list[EventLine]:
    """The deal's own history (not its pledges'), oldest first, with the people."""
    return deals_events([deal_id])[deal_id]


def deals_events(deal_ids: list[int]) -> dict[int, list[EventLine]]:
    """deal_events of each of these deals ({deal id: lines}), in two statements for all."""
    if not deal_ids:
        return {}
    found = list(
        db.session.scalars(
            select(DealEvent)
            .where(
                DealEvent.deal_id.in_(deal_ids),
                DealEvent.pledge_id.is_(None),
                DealEvent.action != "create",  # the timeline opens with it already
            )
            .order_by(DealEvent.id)
        )
    )
    lines = dict(zip([event.id for event in found], _lines(found), strict=True))
    per_deal: dict[int, list[EventLine]] = {deal_id: [] for deal_id in deal_ids}
    for event in found:
        per_deal[event.deal_id].append(lines[event.id])
    return per_deal


def pledge_events(pledge_id: int) -> list[EventLine]:
    return _lines(
        list(
            db.session.scalars(
                select(DealEvent).where(DealEvent.pledge_id == pledge_id).order_by(DealEvent.id)
            )
        )
    )


def deal_pledges(deal_id: int) -> list[Pledge]:
    """Every pledge of the deal that counts or counted, with its member, by member handle."""
    return list(
        db.session.scalars(
            select(Pledge)
            .join(User, User.id == Pledge.member_id)
            .where(Pledge.deal_id == deal_id, Pledge.state != states.WITHDRAWN)
            .options(joinedload(Pledge.member))
            .order_by(User.handle)
        )
    )


def pledges_by_state(deal_id: int) -> dict[str, int]:
    return dict(
        db.session.execute(
            select(Pledge.state, func.count())
            .where(Pledge.deal_id == deal_id)
            .group_by(Pledge.state)
        ).all()
    )


def tier_rows(deal: GroupDeal, bar: Progress) -> list[dict]:
    """The tiers table: from, price, what a unit saves against the first tier, reached."""
    tiers = tier_math.ordered(deal.tiers)
    top = tiers[0].unit_price_cents if tiers else 0
    return [
        {
            "from": tier.min_quantity,
            "price": money(tier.unit_price_cents, deal),
            "saving": (
                f"{round((top - tier.unit_price_cents) * 100 / top)} % less"
                if top and tier.unit_price_cents < top
                else ""
            ),
            "reached": tier.min_quantity <= bar.total,
            "current": bar.current == tier,
        }
        for tier in tiers
    ]


# -- My deals --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NeedsYou:
    deal: GroupDeal
    line: str


def member_pledges(user_id: int) -> list[Pledge]:
    """The user's pledges (not withdrawn), deals closing soonest first, then the latest."""
    return list(
        db.session.scalars(
            select(Pledge)
            .join(GroupDeal, GroupDeal.id == Pledge.deal_id)
            .where(Pledge.member_id == user_id, Pledge.state != states.WITHDRAWN)
            .options(joinedload(Pledge.deal).joinedload(GroupDeal.club))
            .order_by(GroupDeal.deadline.desc(), Pledge.id.desc())
        )
    )


def deals_as(user_id: int, role: str) -> list[GroupDeal]:
    column = GroupDeal.organizer_id if role == "organizer" else GroupDeal.supplier_id
    query = select(GroupDeal).where(column == user_id)
    if role == "supplier":  # a draft is the organizer's until it is sent
        query = query.where(GroupDeal.state != states.DRAFT)
    return list(
        db.session.scalars(
            query.options(joinedload(GroupDeal.club)).order_by(
                GroupDeal.deadline.desc(), GroupDeal.id.desc()
            )
        )
    )


def needs_you(
    user_id: int, pledges: list[Pledge], organizing: list[GroupDeal], supplying: list[GroupDeal]
) -> list[NeedsYou]:
    """What waits for this user to act, one line per deal."""
    found: list[NeedsYou] = []
    for deal in organizing:
        if deal.state == states.DRAFT:
            found.append(NeedsYou(deal, "Finish the draft and send it to the supplier"))
    for deal in supplying:
        if deal.state == states.PROPOSED:
            found.append(NeedsYou(deal, f"Accept or decline @{deal.organizer.handle}'s terms"))
    for deal in {d.id: d for d in organizing + supplying}.values():
        if deal.state == states.SETTLED:
            found.append(NeedsYou(deal, "Deliver, then mark it delivered"))
    for pledge in pledges:
        if pledge.state == states.PAYMENT_DUE:
            found.append(
                NeedsYou(pledge.deal, "Your card was declined: fix it to keep your pledge")
            )
        elif pledge.state == states.DELIVERED:
            found.append(NeedsYou(pledge.deal, "Confirm you received it, or report a problem"))
    return found
