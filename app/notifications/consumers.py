"""The event consumer: who hears of each recorded event, and in which words.

Everything comes from the event's payload (parties, title, amount, page), written when the
event was recorded, so notifications never read the order (or any other kind) itself.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from app.accounts.models import User
from app.extensions import db
from app.money import format_money
from app.notifications import services
from app.transactions.events import DomainEvent

# A rule gets the event's payload, the actor's id and a handle lookup, and returns
# [(user_id, kind, text)].
Recipients = list[tuple[int, str, str]]
Rule = Callable[[dict, "int | None", Callable[[int | None], str]], Recipients]


def _other(payload: dict, actor_id: int | None) -> list[int]:
    """The parties who did not act (both, when the system acted)."""
    parties = [payload["buyer_id"], payload["seller_id"]]
    return [user_id for user_id in parties if user_id != actor_id]


def _amount(payload: dict, key: str = "total_cents") -> str:
    return format_money(payload[key], payload["currency"])


def _cancelled(p: dict, actor: int | None, handle) -> Recipients:
    who = f"{handle(actor)} cancelled" if actor else "The system cancelled"
    text = f"{who} the order for “{p['title']}”."
    return [(user_id, "order_cancelled", text) for user_id in _other(p, actor)]


def _pairs(p: dict, key: str) -> list[list[int]]:
    """[[author, person rated], ...] of a feedback event (events recorded before the payload
    named them were about an order: its buyer and seller rate each other)."""
    if key in p:
        return p[key]
    return [[p["buyer_id"], p["seller_id"]], [p["seller_id"], p["buyer_id"]]]


def _grouped(pairs: list[list[int]], by: int) -> dict[int, list[int]]:
    """{person: the others they are paired with}, in order (one notice per person and event)."""
    grouped: dict[int, list[int]] = {}
    for pair in pairs:
        grouped.setdefault(pair[by], []).append(pair[1 - by])
    return grouped


def _names(user_ids: list[int], handle) -> str:
    names = [handle(user_id) for user_id in user_ids]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _feedback_due(p: dict, actor: int | None, handle) -> Recipients:
    return [
        (author, "feedback_due",
         f"“{p['title']}” is complete. How did it go with {_names(rated, handle)}? "
         "Leave feedback.")
        for author, rated in _grouped(_pairs(p, "raters"), 0).items()
    ]  # fmt: skip


def _feedback_revealed(p: dict, actor: int | None, handle) -> Recipients:
    return [
        (rated, "feedback_received",
         f"{handle(authors[0])}'s feedback about you on “{p['title']}” is visible now."
         if len(authors) == 1 else
         f"Feedback from {_names(authors, handle)} about you on “{p['title']}” is visible now.")
        for rated, authors in _grouped(_pairs(p, "revealed"), 1).items()
    ]  # fmt: skip


RULES: dict[str, Rule] = {
    "order.placed": lambda p, actor, handle: [
        (p["seller_id"], "order_placed",
         f"{handle(p['buyer_id'])} ordered “{p['title']}” ({_amount(p)}). "
         "Arrange payment with them."),
    ],
    "order.mark_paid": lambda p, actor, handle: [
        (p["buyer_id"], "order_paid",
         f"{handle(p['seller_id'])} confirmed your payment for “{p['title']}”."),
    ],
    "order.payment_received": lambda p, actor, handle: [
        (p["seller_id"], "order_paid",
         f"{handle(p['buyer_id'])} paid {_amount(p)} for “{p['title']}”. Ship it now."),
    ],
    "order.ship": lambda p, actor, handle: [
        (p["buyer_id"], "order_shipped",
         f"{handle(p['seller_id'])} shipped “{p['title']}”. "
         "Confirm delivery once it has arrived."),
    ],
    "order.confirm_delivery": lambda p, actor, handle: [
        (p["seller_id"], "order_delivered",
         f"{handle(p['buyer_id'])} confirmed delivery of “{p['title']}”."),
    ],
    "order.cancel": _cancelled,
    "order.refunded": lambda p, actor, handle: [
        (p["buyer_id"], "order_refunded",
         f"{handle(p['seller_id'])} refunded {_amount(p, 'amount_cents')} "
         f"for “{p['title']}”."),
    ],
    "message.sent": lambda p, actor, handle: [
        (user_id, "message", f"{handle(actor)} wrote about “{p['title']}”: {p['excerpt']}")
        for user_id in p["recipient_ids"]
    ],
    "feedback.due": _feedback_due,
    "feedback.revealed": _feedback_revealed,
}  # fmt: skip


def notify(event: DomainEvent) -> None:
    """Consumer of every event in RULES: notify the people who must act or should know."""
    rule = RULES.get(event.name)
    if rule is None:
        return
    payload = event.payload
    people = {payload.get("buyer_id"), payload.get("seller_id"), event.actor_id} - {None}
    people |= {
        user_id
        for key in ("raters", "revealed")
        for pair in payload.get(key, ())
        for user_id in pair
    }
    handles = dict(
        db.session.execute(select(User.id, User.handle).where(User.id.in_(people))).all()
    )

    def handle(user_id: int | None) -> str:
        return f"@{handles.get(user_id, 'someone')}"

    services.notify(
        rule(payload, event.actor_id, handle),
        event_id=event.id,
        event_name=event.name,
        subject_kind=event.subject_kind,
        subject_id=event.subject_id,
        link=payload.get("path", "/"),
        now=event.created_at,
    )
