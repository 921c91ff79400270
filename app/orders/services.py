"""Orders: placing an order and moving it through its state machine (app/orders/states.py,
run by app/transactions/machine.py; orders register as a kind in app/orders/kind.py)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import joinedload, selectinload

from app.accounts.suspension import ensure_not_suspended
from app.db import utcnow
from app.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from app.extensions import db
from app.listings.models import Listing, ListingStatus
from app.listings.services import ensure_not_hidden
from app.orders import states
from app.orders.conversation import KIND
from app.orders.models import Order, OrderEvent
from app.transactions import machine
from app.transactions.events import record_event
from app.transactions.machine import Step, advance, step
from app.transactions.registry import get_kind

logger = logging.getLogger(__name__)

MAX_NOTE_LENGTH = machine.MAX_NOTE_LENGTH
ROLES = states.MACHINE.roles


class CannotBuyOwnListing(Conflict):
    code, default_message = "cannot_buy_own_listing", "You cannot buy your own listing."


class OutOfStock(Conflict):
    code, default_message = "out_of_stock", "This item is sold out."


class NotForSale(Conflict):
    code, default_message = (
        "not_for_sale",
        "This is offered for loan only, not for sale: ask to borrow it instead.",
    )


def place_order(buyer_id: int, listing_id: int, quantity: int) -> Order:
    """Reserve `quantity` of a listing for the buyer and open an order awaiting payment."""
    ensure_not_suspended(buyer_id)
    listing = db.session.scalar(
        select(Listing)
        .where(Listing.id == listing_id)
        .with_for_update()  # PostgreSQL: one buyer at a time per listing
        .execution_options(populate_existing=True)
    )
    if listing is None or listing.status == ListingStatus.DELETED:
        raise NotFound("This listing does not exist.")
    if listing.seller_id == buyer_id:
        raise CannotBuyOwnListing()
    ensure_not_hidden(listing.id)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise ValidationFailed(
            "Choose a quantity of at least 1.", fields={"quantity": ["Choose at least 1."]}
        )
    if not listing.for_sale:
        raise NotForSale()
    if not listing.is_buyable:
        raise OutOfStock("This item is no longer available.")
    if quantity > listing.quantity:
        raise OutOfStock(_only_left(listing.quantity))

    # The conditional UPDATE is what makes overselling impossible on every database: it only
    # takes stock that is still there at the moment of writing.
    taken = db.session.execute(
        update(Listing)
        .where(
            Listing.id == listing_id,
            Listing.quantity >= quantity,
            Listing.status == ListingStatus.ACTIVE.value,
        )
        .values(quantity=Listing.quantity - quantity)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        db.session.rollback()
        left = db.session.scalar(select(Listing.quantity).where(Listing.id == listing_id)) or 0
        raise OutOfStock(_only_left(left) if left else "This item has just sold out.")
    db.session.expire(listing, ["quantity"])

    order = Order(
        listing_id=listing.id,
        buyer_id=buyer_id,
        seller_id=listing.seller_id,
        title=listing.title[:120],
        quantity=quantity,
        unit_price_cents=listing.price_cents,
        total_cents=listing.price_cents * quantity,
        currency=listing.currency,
        state=states.PENDING_PAYMENT,
    )
    db.session.add(order)
    db.session.flush()
    _record(order, "placed", buyer_id)
    if order.is_free:
        # A giveaway: nothing to pay, so the system takes it past payment in the same unit of
        # work. No payment, no provider call, no ledger entry (see app.orders.money).
        step(get_kind(KIND), order, "nothing_to_pay", now=utcnow())
    db.session.commit()
    logger.info("order %s placed on listing %s (quantity %s)", order.id, listing_id, quantity)
    return order


def _only_left(left: int) -> str:
    return f"Only {left} left." if left > 0 else "This item has just sold out."


def transition(
    order_id: int,
    action: str,
    actor_id: int | None,
    note: str | None = None,
    *,
    now: datetime | None = None,
) -> Order:
    """Take `action` on an order as `actor_id` (None: the system) and record it, through the
    shared engine (app/transactions/machine.py). Raises NotFound, Forbidden, InvalidTransition,
    ValidationFailed."""
    if action == "dispute" and actor_id is not None:  # a dispute, with its reason (the note)
        from app.disputes.services import open_dispute

        open_dispute(KIND, order_id, actor_id, note or "", now=now)
        return db.session.get(Order, order_id, populate_existing=True)
    return advance(KIND, order_id, action, actor_id, note=note, now=now)


def lock_order(order_id: int) -> Order | None:
    """The order, read afresh for a decision about its state or money (never from what the
    session remembers). On PostgreSQL its row stays locked until the unit of work ends, so the
    decisions about one order (a step, a refund, a payment arriving) are taken one at a time.
    SQLite takes no row locks: there each decision must also end in a guarded UPDATE of the
    order row (`claim_order`, or the state change itself), which takes the database's one write
    lock; everything read after it is current until the commit."""
    return db.session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def claim_order(order_id: int, *, in_state: str | None = None) -> None:
    """Write to the order row before deciding about its money, guarded by the state the decision
    was checked against (`in_state`): if the order moved on meanwhile, nothing is decided and
    InvalidTransition says so. The write serializes the decision with every other one about
    this order on each database (row lock on PostgreSQL, the write lock on SQLite): read the
    order again after it (`lock_order`) for values no other decision can change any more."""
    query = update(Order).where(Order.id == order_id)
    if in_state is not None:
        query = query.where(Order.state == in_state)
    # Writes the value it already has: a lock, not a change anyone sees.
    changed = db.session.execute(
        query.values(updated_at=Order.updated_at).execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        db.session.rollback()
        raise InvalidTransition(
            "This order changed in the meantime. Reload the page and try again."
        )


def record_history(step: Step) -> None:
    """The order's own history: one OrderEvent per step (the page's timeline, the API)."""
    db.session.add(
        OrderEvent(
            order_id=step.instance.id,
            actor_id=step.actor_id,
            action=step.action,
            from_state=step.from_state,
            to_state=step.to_state,
            note=step.note,
            created_at=step.now,
        )
    )


def payment_hook(step: Step) -> None:
    """After every step: the money side of it (app.payments)."""
    _payment_side_effects(step.instance, step.action, step.from_state, step.now)


def _record(order: Order, what: str, actor_id: int | None, now=None, **details) -> None:
    """Record `order.<what>` with what its followers need, so none of them reads the order."""
    record_event(
        f"order.{what}",
        subject_kind="order",
        subject_id=order.id,
        actor_id=actor_id,
        payload=event_payload(order) | details,
        now=now,
    )


def event_payload(order: Order) -> dict:
    """What every order event carries: the parties, the title, the amount and its page."""
    return {
        "title": order.title,
        "path": f"/orders/{order.id}",
        "buyer_id": order.buyer_id,
        "seller_id": order.seller_id,
        "quantity": order.quantity,
        "total_cents": order.total_cents,
        "currency": order.currency,
    }


def _payment_side_effects(order: Order, action: str, from_state: str, now: datetime) -> None:
    """Where money moves with a step: funded into escrow on paid, given back on cancel, released
    to the seller on completion (app/orders/money.py)."""
    from app.orders.money import on_order_transition

    on_order_transition(order, action, from_state, now=now)


def return_stock(step: Step) -> None:
    """On entering cancelled: the quantity goes back to the listing."""
    order = step.instance
    db.session.execute(
        update(Listing)
        .where(Listing.id == order.listing_id)
        .values(quantity=Listing.quantity + order.quantity)
        .execution_options(synchronize_session=False)
    )
    listing = db.session.get(Listing, order.listing_id)
    if listing is not None:
        db.session.expire(listing, ["quantity"])


def available_actions(order: Order, user_id: int | None) -> list[str]:
    """The actions this user may take on the order now (for buttons and the API)."""
    actions = machine.available_actions(KIND, order, user_id)
    if "mark_paid" in actions:
        from app.payments.services import settles_in_person

        # With a card provider the money arrives by card: the order is paid when it succeeds.
        # A free order has nothing to pay by card (one placed before free orders skipped
        # payment still waits for it): the seller moves it on.
        if not settles_in_person() and not order.is_free:
            actions.remove("mark_paid")
    if "dispute" in actions and order.is_free:
        actions.remove("dispute")  # nothing was paid: nothing to divide (report a member instead)
    if "dispute" in actions and order.state == "completed":
        from app.orders.money import refund_window_ends

        ends = refund_window_ends(order)
        if ends is not None and utcnow() > ends:
            actions.remove("dispute")  # too long after completion (REFUND_WINDOW_DAYS)
    return actions


def get_order_for(order_id: int, user_id: int, *, for_page: bool = False) -> Order:
    """The order, if this user is its buyer or seller; NotFound otherwise (never a hint).
    `for_page`: with what the order page shows (the parties, the listing and its photos, the
    history), in three statements rather than one each."""
    options = (
        [
            joinedload(Order.buyer),
            joinedload(Order.seller),
            joinedload(Order.listing).selectinload(Listing.photos),
            selectinload(Order.events),
        ]
        if for_page
        else []
    )
    order = db.session.get(Order, order_id, options=options)
    if order is None or order.role_of(user_id) is None:
        raise NotFound("We could not find that order.")
    return order


def orders_for(
    user_id: int,
    role: str | None = "buyer",
    state: str | None = None,
    page: int = 1,
    per_page: int = 20,
    *,
    with_events: bool = False,
    total: int | None = None,
):
    """One page of the user's purchases (role 'buyer'), sales ('seller') or both (None), latest
    activity first, optionally in one state, parties loaded (and the history, with_events).
    `total`: how many there are, when the caller counted them already (order_counts).
    Returns app.pagination.Page."""
    from app.pagination import Page, page_number

    if role is None:
        where = or_(Order.buyer_id == user_id, Order.seller_id == user_id)
    else:
        where = (Order.seller_id if role == "seller" else Order.buyer_id) == user_id
    if state in states.STATES:
        where = and_(where, Order.state == state)
    if total is None:
        total = db.session.scalar(select(func.count(Order.id)).where(where)) or 0
    page = page_number(page)
    newest_first = (Order.updated_at.desc(), Order.id.desc())
    # The page's ids are sorted on two narrow columns, then only those rows are read whole: a
    # seller with 10,000 sales sorts 20-byte rows, not whole orders with their parties.
    page_ids = (
        select(Order.id)
        .where(where)
        .order_by(*newest_first)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    loads = [joinedload(Order.buyer), joinedload(Order.seller)]
    if with_events:
        loads.append(selectinload(Order.events).selectinload(OrderEvent.actor))
    items = list(
        db.session.scalars(
            select(Order).where(Order.id.in_(page_ids)).options(*loads).order_by(*newest_first)
        )
    )
    return Page(items=items, page=page, per_page=per_page, total=total)


def order_counts(user_id: int) -> dict[str, int]:
    """How many purchases and sales the user has: {'buyer': n, 'seller': n}."""
    bought, sold = db.session.execute(
        select(
            func.count(Order.id).filter(Order.buyer_id == user_id),
            func.count(Order.id).filter(Order.seller_id == user_id),
        ).where(or_(Order.buyer_id == user_id, Order.seller_id == user_id))
    ).one()
    return {"buyer": bought or 0, "seller": sold or 0}


def auto_complete_at(order: Order) -> datetime | None:
    """When a shipped order completes by itself if the buyer does not confirm delivery."""
    if order.state not in (states.SHIPPED, states.DELIVERED) or order.shipped_at is None:
        return None
    return order.shipped_at + timedelta(days=current_app.config["ORDER_AUTO_COMPLETE_DAYS"])


def auto_complete_due(now: datetime) -> int:
    """Complete orders shipped more than ORDER_AUTO_COMPLETE_DAYS ago (a due job; idempotent).
    Returns how many it completed."""
    cutoff = now - timedelta(days=current_app.config["ORDER_AUTO_COMPLETE_DAYS"])
    due = list(
        db.session.scalars(
            select(Order.id)
            .where(
                Order.state.in_((states.SHIPPED, states.DELIVERED)),
                Order.shipped_at <= cutoff,
            )
            .order_by(Order.id)
        )
    )
    completed = 0
    for order_id in due:
        try:
            transition(order_id, "auto_complete", None, now=now)
        except InvalidTransition:  # the buyer confirmed meanwhile
            db.session.rollback()
            continue
        completed += 1
    return completed
