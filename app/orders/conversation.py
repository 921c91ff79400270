"""An order as the subject of a conversation: its buyer and seller talk on the order page.

Part of the order kind's registry entry (app/orders/kind.py), so messaging never imports orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.util import identity_key

from app.extensions import db
from app.messaging.subjects import Subject
from app.orders.models import Order

KIND = "order"


def _subject(order: Order, viewer_id: int) -> Subject:
    is_buyer = viewer_id == order.buyer_id
    return Subject(
        kind=KIND,
        id=order.id,
        title=order.title,
        participant_ids=(order.buyer_id, order.seller_id),
        endpoint="orders.detail",
        url_values={"order_id": order.id},
        label="Purchase" if is_buyer else "Sale",
        state=order.state,
        counterpart=order.seller if is_buyer else order.buyer,
    )


def describe_orders(ids: Sequence[int], viewer_id: int) -> dict[int, Subject]:
    """The viewer's orders among `ids` as conversation subjects (one query, none for an order
    this unit of work has loaded already, as the order page has)."""
    if len(ids) == 1 and identity_key(Order, ids[0]) in db.session.identity_map:
        order = db.session.get(Order, ids[0])
        orders = [order] if order.role_of(viewer_id) else []
    else:
        orders = db.session.scalars(
            select(Order)
            .where(
                Order.id.in_(ids), or_(Order.buyer_id == viewer_id, Order.seller_id == viewer_id)
            )
            .options(joinedload(Order.buyer), joinedload(Order.seller))
        )
    return {order.id: _subject(order, viewer_id) for order in orders}


def order_had_activity(order_id: int, at: datetime) -> None:
    """A message is activity: the order rises in both parties' order lists."""
    order = db.session.get(Order, order_id)
    if order is not None:
        order.updated_at = at
