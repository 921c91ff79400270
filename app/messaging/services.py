"""Messages between the parties of an order."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import joinedload

from app.db import utcnow
from app.errors import ValidationFailed
from app.extensions import db
from app.messaging.models import Message
from app.orders.models import Order
from app.orders.services import event_payload, get_order_for
from app.transactions.events import record_event

logger = logging.getLogger(__name__)

MAX_BODY_LENGTH = 2000


@dataclass
class Conversation:
    """One row of the inbox: an order, its latest message and how many are unread."""

    order: Order
    last_message: Message
    unread: int


def send_message(order_id: int, sender_id: int, body: str) -> Message:
    """Send a message to the other party of an order. Raises NotFound, ValidationFailed."""
    order = get_order_for(order_id, sender_id)
    body = (body or "").strip()
    if not body:
        raise ValidationFailed("Write a message first.", fields={"body": ["Write a message."]})
    if len(body) > MAX_BODY_LENGTH:
        raise ValidationFailed(
            f"Messages can be at most {MAX_BODY_LENGTH} characters (this one has {len(body)}).",
            fields={"body": [f"At most {MAX_BODY_LENGTH} characters."]},
        )
    recipient_id = order.seller_id if sender_id == order.buyer_id else order.buyer_id
    now = utcnow()
    message = Message(
        order_id=order.id,
        sender_id=sender_id,
        recipient_id=recipient_id,
        body=body,
        created_at=now,
    )
    db.session.add(message)
    order.updated_at = now  # a new message is activity: the order rises in both lists
    db.session.flush()
    record_event(
        "message.sent",
        subject_kind="order",
        subject_id=order.id,
        actor_id=sender_id,
        payload=event_payload(order)
        | {"path": f"/orders/{order.id}#messages", "message_id": message.id}
        | {"recipient_id": recipient_id, "excerpt": body[:140]},
        now=now,
    )
    db.session.commit()
    logger.info("message %s on order %s", message.id, order.id)
    return message


def thread(order_id: int, viewer_id: int) -> list[Message]:
    """The order's messages, oldest first; marks those addressed to the viewer as read."""
    order = get_order_for(order_id, viewer_id)
    marked = db.session.execute(
        update(Message)
        .where(
            Message.order_id == order.id,
            Message.recipient_id == viewer_id,
            Message.read_at.is_(None),
        )
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if marked.rowcount:
        db.session.commit()
    return list(
        db.session.scalars(
            select(Message)
            .where(Message.order_id == order.id)
            .order_by(Message.created_at, Message.id)
            .execution_options(populate_existing=True)
        )
    )


def unread_count(user_id: int) -> int:
    """How many messages addressed to this user are still unread."""
    return (
        db.session.scalar(
            select(func.count(Message.id)).where(
                Message.recipient_id == user_id, Message.read_at.is_(None)
            )
        )
        or 0
    )


def unread_by_order(user_id: int, order_ids: list[int]) -> dict[int, int]:
    """Unread messages for this user per order, for the given orders ({order_id: n})."""
    if not order_ids:
        return {}
    rows = db.session.execute(
        select(Message.order_id, func.count(Message.id))
        .where(
            Message.recipient_id == user_id,
            Message.read_at.is_(None),
            Message.order_id.in_(order_ids),
        )
        .group_by(Message.order_id)
    )
    return {order_id: count for order_id, count in rows}


def inbox(user_id: int, limit: int = 100) -> list[Conversation]:
    """The user's conversations, one per order, the most recent message first."""
    latest = (
        select(func.max(Message.id).label("message_id"))
        .join(Order, Order.id == Message.order_id)
        .where(or_(Order.buyer_id == user_id, Order.seller_id == user_id))
        .group_by(Message.order_id)
        .subquery()
    )
    messages = list(
        db.session.scalars(
            select(Message)
            .where(Message.id.in_(select(latest.c.message_id)))
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(limit)
        )
    )
    orders = {
        order.id: order
        for order in db.session.scalars(
            select(Order)
            .where(Order.id.in_([m.order_id for m in messages]))
            .options(joinedload(Order.buyer), joinedload(Order.seller))
        )
    }
    unread = unread_by_order(user_id, list(orders))
    return [
        Conversation(order=orders[m.order_id], last_message=m, unread=unread.get(m.order_id, 0))
        for m in messages
    ]
