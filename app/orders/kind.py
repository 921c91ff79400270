"""Orders as a kind of transaction (app/transactions/registry.py): registered at app start, so
the platform (machine, events, messages, feedback, pages) reaches orders only through here."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import or_

from app.extensions import db
from app.orders import money, services, states
from app.orders.conversation import KIND, describe_orders, order_had_activity
from app.orders.feedback import FEEDBACK, SETTLED
from app.orders.models import Order
from app.orders.money import MONEY
from app.transactions.registry import (
    DisputeRules,
    TransactionKind,
    count_where,
    register_kind,
)


def _parties(order: Order) -> dict[int, str]:
    return {order.buyer_id: "buyer", order.seller_id: "seller"}


def _load(order_id: int, lock: bool) -> Order | None:
    return services.lock_order(order_id) if lock else db.session.get(Order, order_id)


ORDER_KIND = TransactionKind(
    name=KIND,
    model=Order,
    machine=states.MACHINE,
    load=_load,
    parties=_parties,
    amount=lambda order: order.total_cents,
    currency=lambda order: order.currency,
    feedback_opens=lambda order: order.state in SETTLED,
    url=lambda order: ("orders.detail", {"order_id": order.id}),
    not_found="We could not find that order.",
    event_payload=services.event_payload,
    record_history=services.record_history,
    after_step=(services.payment_hook,),
    on_enter={states.CANCELLED: (services.return_stock,)},
    describe=describe_orders,
    on_message=order_had_activity,
    feedback=FEEDBACK,
    money=MONEY,
    # Either side disputes while the money is held; a moderator divides what escrow holds.
    # After completion the buyer may still, for a while: the refund is taken back from the
    # seller (app/payments/money.take_back).
    disputes=DisputeRules(
        opens={states.PAID: "dispute", states.SHIPPED: "dispute", states.COMPLETED: "dispute"},
        stake=money.dispute_stake,
        carry_out=money.decide_dispute,
        follow_up=money.follow_up,
        settles=frozenset({states.PAID, states.SHIPPED, states.COMPLETED}),
        window_ends=money.refund_window_ends,
    ),
    completed_count=lambda user_id: count_where(
        Order,
        Order.state == states.COMPLETED,
        or_(Order.buyer_id == user_id, Order.seller_id == user_id),
    ),
)


def init_app(_app: Flask) -> None:
    """Make orders a kind of transaction: its machine, conversations, feedback and money."""
    register_kind(ORDER_KIND)
