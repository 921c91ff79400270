"""Reviews: two-way, double-blind feedback after a completed order, and reputation summaries.

Double-blind: a feedback stays hidden (revealed_at NULL) until both parties have rated, or the
order's feedback window has closed. Until then only its author may see it; the person rated
learns nothing about it, not even that it exists.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.accounts.models import User
from app.db import utcnow
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.orders.models import Order
from app.reviews import reputation
from app.reviews.models import RATINGS, Feedback
from app.transactions.events import DomainEvent, record_event

logger = logging.getLogger(__name__)

COMMENT_MAX = 1000
REPLY_MAX = 500
DETAIL_RANGE = range(1, 6)
# Which detailed ratings apply, by the role of the person rated: (argument, label).
DETAILS_BY_SUBJECT_ROLE: dict[str, tuple[tuple[str, str], ...]] = {
    "seller": (
        ("described", "Item as described"),
        ("communication", "Communication"),
        ("speed", "Shipping speed"),
    ),
    "buyer": (
        ("communication", "Communication"),
        ("speed", "Payment speed"),
    ),
}
ALREADY_LEFT = "You have already left feedback for this order."
ALREADY_REPLIED = "You have already replied to this feedback."


@dataclass
class OrderFeedbackView:
    """What one party of an order may see and do about its feedback."""

    can_leave: bool
    mine: Feedback | None
    theirs: Feedback | None  # None until revealed
    is_waiting_for_other: bool
    window_closes_at: datetime | None
    other: User | None = None  # the other party
    viewer_role: str | None = None
    can_reply: bool = False  # the viewer may reply to `theirs`

    @property
    def subject_role(self) -> str | None:
        """The role of the party the viewer rates: the other side of the order."""
        return {"buyer": "seller", "seller": "buyer"}.get(self.viewer_role or "")

    @property
    def detail_fields(self) -> tuple[tuple[str, str], ...]:
        """(argument, label) of the detailed ratings the viewer may give."""
        return DETAILS_BY_SUBJECT_ROLE.get(self.subject_role or "", ())


def feedback_window_closes_at(order: Order) -> datetime | None:
    """When the feedback window of this order closes (None before it is completed)."""
    if order.completed_at is None:
        return None
    return order.completed_at + timedelta(days=current_app.config["FEEDBACK_WINDOW_DAYS"])


def _clean_details(
    subject_role: str, described: int | None, communication: int | None, speed: int | None
) -> dict[str, int | None]:
    given = {"described": described, "communication": communication, "speed": speed}
    allowed = {name for name, _label in DETAILS_BY_SUBJECT_ROLE.get(subject_role, ())}
    errors: dict[str, list[str]] = {}
    for name, value in given.items():
        if value is None:
            continue
        if name not in allowed:
            errors[name] = [f"This rating does not apply to a {subject_role}."]
        elif isinstance(value, bool) or not isinstance(value, int) or value not in DETAIL_RANGE:
            errors[name] = ["Choose a rating from 1 to 5, or skip it."]
    if errors:
        raise ValidationFailed("Detailed ratings go from 1 to 5.", fields=errors)
    return given


def _clean_feedback(rating: str, comment: str | None) -> tuple[str, str]:
    comment = (comment or "").strip()
    errors: dict[str, list[str]] = {}
    if rating not in RATINGS:
        errors["rating"] = ["Choose positive, neutral or negative."]
    elif rating != "positive" and not comment:
        errors["comment"] = ["Please say in a few words what went wrong."]
    if len(comment) > COMMENT_MAX:
        errors["comment"] = [f"Keep the comment to {COMMENT_MAX} characters or fewer."]
    if errors:
        message = next(iter(errors.values()))[0]
        raise ValidationFailed(message, fields=errors)
    return rating, comment


def _lock_order(order_id: int) -> Order | None:
    # FOR UPDATE serialises the two parties rating at once on PostgreSQL, so the second one
    # always sees the first and reveals both; SQLite serialises writers anyway.
    return db.session.scalar(select(Order).where(Order.id == order_id).with_for_update())


def _feedback_by(order_id: int, author_id: int) -> Feedback | None:
    return db.session.scalar(
        select(Feedback).where(Feedback.order_id == order_id, Feedback.author_id == author_id)
    )


def leave_feedback(
    order_id: int,
    author_id: int,
    rating: str,
    comment: str = "",
    described: int | None = None,
    communication: int | None = None,
    speed: int | None = None,
    *,
    now: datetime | None = None,
) -> Feedback:
    """Rate the other party of a completed order, once, within the feedback window (`now`: when
    it is written, for seeding a history; default the present).

    Raises NotFound (not a party), Conflict (not completed, window closed, already rated),
    ValidationFailed (bad rating, comment or details).
    """
    order = _lock_order(order_id)
    author_role = order.role_of(author_id) if order is not None else None
    if order is None or author_role is None:
        raise NotFound("Order not found.")
    if order.state != "completed" or order.completed_at is None:
        raise Conflict("You can leave feedback once the order is completed.")
    now = now or utcnow()
    closes_at = feedback_window_closes_at(order)
    if now >= closes_at:
        raise Conflict(f"The feedback window for this order closed on {closes_at:%b %-d, %Y}.")
    if _feedback_by(order.id, author_id) is not None:
        raise Conflict(ALREADY_LEFT)
    subject_role = "seller" if author_role == "buyer" else "buyer"
    rating, comment = _clean_feedback(rating, comment)
    details = _clean_details(subject_role, described, communication, speed)

    feedback = Feedback(
        order_id=order.id,
        author_id=author_id,
        subject_id=order.seller_id if author_role == "buyer" else order.buyer_id,
        author_role=author_role,
        subject_role=subject_role,
        rating=rating,
        comment=comment,
        detail_described=details["described"],
        detail_communication=details["communication"],
        detail_speed=details["speed"],
        amount_cents=order.total_cents,
        created_at=now,
    )
    try:
        db.session.add(feedback)
        db.session.flush()
        other = _feedback_by(order.id, feedback.subject_id)
        if other is not None:
            # The second rating of the pair lifts the blind for both, in this unit of work.
            feedback.revealed_at = now
            if other.revealed_at is None:
                other.revealed_at = now
            _record_reveals([order], now)
        db.session.commit()
    except IntegrityError:
        # Two submissions from the same author raced past the check: the UNIQUE constraint won.
        db.session.rollback()
        raise Conflict(ALREADY_LEFT) from None
    logger.info(
        "feedback %s left on order %s by user %s (revealed=%s)",
        feedback.id,
        order.id,
        author_id,
        feedback.is_revealed,
    )
    if feedback.is_revealed:
        # Both ratings of the order count from now on: the two parties' scores move at once.
        reputation.refresh_after_reveal([feedback.author_id, feedback.subject_id])
    return feedback


def reply_to_feedback(feedback_id: int, author_id: int, text: str) -> Feedback:
    """The person rated answers a revealed feedback, once.

    Raises NotFound (missing, or hidden from this user), Forbidden (not the person rated),
    Conflict (already replied), ValidationFailed (empty or too long).
    """
    feedback = db.session.get(Feedback, feedback_id)
    if feedback is None or (not feedback.is_revealed and author_id != feedback.author_id):
        raise NotFound("Feedback not found.")
    if author_id != feedback.subject_id:
        raise Forbidden("Only the person who was rated can reply.")
    if feedback.reply is not None:
        raise Conflict(ALREADY_REPLIED)
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("Write a reply first.", fields={"reply": ["Write a reply first."]})
    if len(text) > REPLY_MAX:
        message = f"Keep the reply to {REPLY_MAX} characters or fewer."
        raise ValidationFailed(message, fields={"reply": [message]})
    # Conditional update: of two replies sent at once, only one finds reply still NULL.
    result = db.session.execute(
        update(Feedback)
        .where(Feedback.id == feedback.id, Feedback.reply.is_(None))
        .values(reply=text, reply_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise Conflict(ALREADY_REPLIED)
    db.session.commit()
    db.session.refresh(feedback)
    return feedback


def order_feedback_view(order: Order, viewer_id: int | None) -> OrderFeedbackView:
    """What `viewer_id` may see and do about the feedback of `order` (nothing if not a party)."""
    role = order.role_of(viewer_id) if viewer_id is not None else None
    closes_at = feedback_window_closes_at(order)
    if role is None:
        return OrderFeedbackView(False, None, None, False, closes_at)
    other_id = order.seller_id if role == "buyer" else order.buyer_id
    written = {
        feedback.author_id: feedback
        for feedback in db.session.scalars(
            select(Feedback).where(
                Feedback.order_id == order.id, Feedback.author_id.in_((viewer_id, other_id))
            )
        )
    }
    mine, hidden_or_theirs = written.get(viewer_id), written.get(other_id)
    theirs = hidden_or_theirs if hidden_or_theirs and hidden_or_theirs.is_revealed else None
    is_open = order.state == "completed" and closes_at is not None and utcnow() < closes_at
    return OrderFeedbackView(
        can_leave=is_open and mine is None,
        mine=mine,
        theirs=theirs,
        is_waiting_for_other=mine is not None and not mine.is_revealed,
        window_closes_at=closes_at,
        other=db.session.get(User, other_id),
        viewer_role=role,
        can_reply=theirs is not None and theirs.reply is None,
    )


def received_feedback(user_id: int, role: str | None = None, limit: int = 20) -> list[Feedback]:
    """Revealed feedback about this user (optionally only as buyer or seller), newest first."""
    query = select(Feedback).where(
        Feedback.subject_id == user_id, Feedback.revealed_at.is_not(None)
    )
    if role is not None:
        query = query.where(Feedback.subject_role == role)
    query = query.order_by(Feedback.created_at.desc(), Feedback.id.desc()).limit(limit)
    return list(
        db.session.scalars(
            query.options(selectinload(Feedback.author), selectinload(Feedback.order))
        )
    )


def reputation_summary(user_id: int) -> dict:
    """The engine's scores of a user: {"overall": block, "roles": {role: block}}.

    A block has feedback_score, percent_positive (12 months, None without data), positive,
    neutral, negative, trust (0..1, None when never rated), confidence (0..1), flags and
    explanation ([{"name", "impact", "description"}]). Seller and buyer are always present;
    other roles appear once the user has been rated in them.
    """
    return reputation.summary(user_id)


def reveal_expired(now: datetime) -> int:
    """Reveal every hidden feedback whose order's window has closed; returns how many."""
    cutoff = now - timedelta(days=current_app.config["FEEDBACK_WINDOW_DAYS"])
    closed_orders = select(Order.id).where(Order.completed_at <= cutoff)
    result = db.session.execute(
        update(Feedback)
        .where(Feedback.revealed_at.is_(None), Feedback.order_id.in_(closed_orders))
        .values(revealed_at=now)
        .execution_options(synchronize_session=False)
    )
    revealed = result.rowcount
    if revealed:
        orders = select(Order).where(
            Order.id.in_(select(Feedback.order_id).where(Feedback.revealed_at == now))
        )
        _record_reveals(db.session.scalars(orders.order_by(Order.id)), now)
    db.session.commit()
    if revealed:
        logger.info("revealed %s feedback after their window closed", revealed)
        parties = db.session.execute(
            select(Feedback.author_id, Feedback.subject_id).where(Feedback.revealed_at == now)
        )
        reputation.refresh_after_reveal({user_id for pair in parties for user_id in pair}, now)
    return revealed


def _record_reveals(orders, now: datetime) -> None:
    """Record `feedback.revealed` for each order whose feedback both parties may now see."""
    from app.orders.services import event_payload

    for order in orders:
        record_event(
            "feedback.revealed",
            subject_kind="order",
            subject_id=order.id,
            actor_id=None,
            payload=event_payload(order) | {"path": f"/orders/{order.id}#feedback"},
            now=now,
        )


def open_feedback_window(event: DomainEvent) -> None:
    """Event consumer (order.complete, order.auto_complete): the feedback window of a completed
    order opens; record `feedback.due` for both parties, with when it closes."""
    days = current_app.config["FEEDBACK_WINDOW_DAYS"]
    record_event(
        "feedback.due",
        subject_kind=event.subject_kind,
        subject_id=event.subject_id,
        actor_id=None,
        payload=event.payload
        | {
            "path": f"/orders/{event.subject_id}#feedback",
            "closes_at": (event.created_at + timedelta(days=days)).isoformat(),
        },
    )
