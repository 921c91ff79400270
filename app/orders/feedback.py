"""Orders as a kind of transaction feedback is about: the buyer and the seller rate each other
once the order is completed. FEEDBACK is the `feedback` of the orders' entry in the kind
registry (app/orders/kind.py), so reviews never imports orders.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm.util import identity_key

from app.extensions import db
from app.orders import states
from app.orders.models import Order
from app.orders.services import event_payload
from app.transactions.registry import FeedbackRules, Rateable, RatingPair

KIND = "order"
PAIRS = (
    RatingPair(
        "buyer",
        "seller",
        (
            ("described", "Item as described"),
            ("communication", "Communication"),
            ("speed", "Shipping speed"),
        ),
    ),
    RatingPair("seller", "buyer", (("communication", "Communication"), ("speed", "Payment speed"))),
)


SETTLED = frozenset({states.COMPLETED, states.RESOLVED})


def _rateable(order: Order) -> Rateable:
    # Completed, or resolved by a moderator's decision on a dispute: either way it is over.
    settled_at = order.completed_at if order.state == states.COMPLETED else order.resolved_at
    is_complete = order.state in SETTLED and settled_at is not None
    return Rateable(
        kind=KIND,
        id=order.id,
        parties={order.buyer_id: "buyer", order.seller_id: "seller"},
        title=order.title,
        amount_cents=order.total_cents,
        currency=order.currency,
        opens_at=settled_at if is_complete else None,
        path=f"/orders/{order.id}",
        form_path=f"/orders/{order.id}/feedback",
        payload=event_payload(order),
    )


def load_orders(ids: Sequence[int], lock: bool) -> dict[int, Rateable]:
    """The orders among `ids` as feedback sees them; `lock` takes their rows FOR UPDATE (no
    query for one order this unit of work has loaded already, as the order page has)."""
    if not lock and len(ids) == 1 and identity_key(Order, ids[0]) in db.session.identity_map:
        orders = [db.session.get(Order, ids[0])]
    else:
        query = select(Order).where(Order.id.in_(list(ids)))
        orders = db.session.scalars(query.with_for_update() if lock else query)
    return {order.id: _rateable(order) for order in orders}


FEEDBACK = FeedbackRules(
    load=load_orders,
    pairs=PAIRS,
    roles={"seller": "seller", "buyer": "buyer"},
    noun="order",
    not_open="You can leave feedback once the order is completed.",
    not_found="Order not found.",
    opens_on=("order.complete", "order.auto_complete", "order.resolve", "order.settle"),
)
