"""The order state machine as a table: which action moves an order from which state to which,
and who may trigger it. Pure data and small pure helpers: no database, no Flask.

`app.orders.services.transition` is the only code that changes an order's state; it reads this
table. The same table answers which buttons a party sees (`actions_for`).
"""

from __future__ import annotations

from dataclasses import dataclass

PENDING_PAYMENT = "pending_payment"
PAID = "paid"
SHIPPED = "shipped"
DELIVERED = "delivered"
COMPLETED = "completed"
CANCELLED = "cancelled"

STATES = (PENDING_PAYMENT, PAID, SHIPPED, DELIVERED, COMPLETED, CANCELLED)
FINAL_STATES = frozenset({COMPLETED, CANCELLED})

STATE_LABELS = {
    PENDING_PAYMENT: "Awaiting payment",
    PAID: "Paid",
    SHIPPED: "Shipped",
    DELIVERED: "Delivered",
    COMPLETED: "Completed",
    CANCELLED: "Cancelled",
}

# Who may trigger a rule: one party, either party, or the system (a due job, or a follow-up step).
ACTORS = ("buyer", "seller", "either", "system")


@dataclass(frozen=True)
class Rule:
    to: str
    actor: str
    # A system step that runs at once in the same unit of work (confirm_delivery -> complete).
    then: str | None = None


TRANSITIONS: dict[tuple[str, str], Rule] = {
    (PENDING_PAYMENT, "mark_paid"): Rule(to=PAID, actor="seller"),
    # A card payment succeeded (app.payments): the system marks the order paid.
    (PENDING_PAYMENT, "payment_received"): Rule(to=PAID, actor="system"),
    # A free item (price 0): placing the order takes it past payment at once.
    (PENDING_PAYMENT, "nothing_to_pay"): Rule(to=PAID, actor="system"),
    (PENDING_PAYMENT, "cancel"): Rule(to=CANCELLED, actor="either"),
    (PAID, "cancel"): Rule(to=CANCELLED, actor="either"),
    (PAID, "ship"): Rule(to=SHIPPED, actor="seller"),
    (SHIPPED, "confirm_delivery"): Rule(to=DELIVERED, actor="buyer", then="complete"),
    (DELIVERED, "complete"): Rule(to=COMPLETED, actor="system"),
    (SHIPPED, "auto_complete"): Rule(to=COMPLETED, actor="system"),
    (DELIVERED, "auto_complete"): Rule(to=COMPLETED, actor="system"),
}

ACTIONS = tuple(dict.fromkeys(action for _, action in TRANSITIONS))

# The column stamped when an order enters a state.
TIMESTAMP_COLUMNS = {
    PAID: "paid_at",
    SHIPPED: "shipped_at",
    DELIVERED: "delivered_at",
    COMPLETED: "completed_at",
    CANCELLED: "cancelled_at",
}

# Buttons a party can press, in the order they are shown, with their labels.
ACTION_LABELS = {
    "mark_paid": "Mark as paid",
    "ship": "Mark as shipped",
    "confirm_delivery": "Confirm delivery",
    "cancel": "Cancel order",
}

# Actions whose form offers an optional note (tracking number, reason for cancelling).
ACTIONS_WITH_NOTE = frozenset({"ship", "cancel"})

# What the timeline says for each recorded step.
EVENT_LABELS = {
    "mark_paid": "Payment received",
    "payment_received": "Card payment received",
    "nothing_to_pay": "Free: no payment needed",
    "cancel": "Cancelled",
    "ship": "Shipped",
    "confirm_delivery": "Delivery confirmed",
    "complete": "Completed",
    "auto_complete": "Completed automatically",
}

_STATE_PHRASES = {
    PENDING_PAYMENT: "is still waiting for payment",
    PAID: "has already been paid",
    SHIPPED: "has already shipped",
    DELIVERED: "has already been delivered",
    COMPLETED: "is already completed",
    CANCELLED: "has been cancelled",
}

_ACTION_PHRASES = {
    "mark_paid": "marked as paid",
    "payment_received": "paid",
    "nothing_to_pay": "passed on without payment",
    "cancel": "cancelled",
    "ship": "marked as shipped",
    "confirm_delivery": "confirmed as delivered",
    "complete": "completed",
    "auto_complete": "completed automatically",
}

_ACTOR_REFUSALS = {
    "buyer": "Only the buyer can do that.",
    "seller": "Only the seller can do that.",
    "either": "Only the buyer or the seller can do that.",
    "system": "That step happens automatically; nobody can trigger it by hand.",
}

_PROGRESS = {state: rank for rank, state in enumerate(STATES)}


def rule_for(state: str, action: str) -> Rule | None:
    """The rule for taking `action` in `state`, or None when the table does not allow it."""
    return TRANSITIONS.get((state, action))


def is_allowed_actor(rule: Rule, role: str | None) -> bool:
    """Whether someone in `role` ('buyer', 'seller', 'system' or None) may trigger `rule`."""
    if role is None:
        return False
    if rule.actor == "either":
        return role in ("buyer", "seller")
    return rule.actor == role


def actions_for(state: str, role: str | None) -> list[str]:
    """The actions someone in `role` may take on an order in `state`, in table order."""
    return [
        action
        for (from_state, action), rule in TRANSITIONS.items()
        if from_state == state and is_allowed_actor(rule, role)
    ]


def refusal_message(state: str, action: str) -> str:
    """Why `action` is not possible in `state`, in words a person understands."""
    what = _ACTION_PHRASES.get(action)
    if what is None:
        return "That is not something you can do with an order."
    where = _STATE_PHRASES.get(state, f"is {state}")
    earliest = min(
        (_PROGRESS[from_state] for from_state, a in TRANSITIONS if a == action),
        default=len(STATES),
    )
    if state not in FINAL_STATES and _PROGRESS.get(state, 0) < earliest:
        return f"This order {where}, so it cannot be {what} yet."
    return f"This order {where}, so it can no longer be {what}."


def actor_refusal(rule: Rule) -> str:
    """Why the current user may not trigger `rule`."""
    return _ACTOR_REFUSALS[rule.actor]


def next_step(
    state: str,
    role: str | None,
    *,
    settles_in_person: bool = True,
    site_name: str = "Mutual",
    is_free: bool = False,
) -> str:
    """One line telling a party what happens next with their order. `settles_in_person`: the
    two people settle payment themselves (the manual provider); otherwise the buyer pays by card
    and the site holds the money until delivery is confirmed. `is_free`: a giveaway, nobody
    pays anything."""
    if is_free:
        line = _FREE_NEXT_STEPS.get((state, role))
        if line:
            return line
    elif not settles_in_person:
        line = _card_next_step(state, role, site_name)
        if line:
            return line
    lines = {
        (PENDING_PAYMENT, "buyer"): (
            "Waiting for the seller to confirm your payment. "
            "Arrange how to pay with them in the messages below."
        ),
        (PENDING_PAYMENT, "seller"): (
            "Waiting for the buyer's payment. Mark the order as paid once you have received it."
        ),
        (PAID, "buyer"): "Your payment is confirmed. Waiting for the seller to ship your item.",
        (PAID, "seller"): "Payment received. Ship or hand over the item, then mark it as shipped.",
        (SHIPPED, "buyer"): "Your item is on its way. Confirm delivery once it has arrived.",
        (SHIPPED, "seller"): "Shipped. Waiting for the buyer to confirm delivery.",
        (DELIVERED, "buyer"): "Delivered. The order completes in a moment.",
        (DELIVERED, "seller"): "Delivered. The order completes in a moment.",
        (COMPLETED, "buyer"): "This order is complete. Tell others how it went with the seller.",
        (COMPLETED, "seller"): "This order is complete. Tell others how it went with the buyer.",
        (CANCELLED, "buyer"): "This order was cancelled.",
        (CANCELLED, "seller"): (
            "This order was cancelled. Its quantity went back to your listing."
        ),
    }
    return lines.get((state, role), "")


_FREE_NEXT_STEPS = {
    (PENDING_PAYMENT, "buyer"): (
        "This item is free: there is nothing to pay. Waiting for the seller to confirm it."
    ),
    (PENDING_PAYMENT, "seller"): (
        "This item is free: there is no payment to wait for. Mark the order as paid to move it "
        "on, then ship or hand it over."
    ),
    (
        PAID,
        "buyer",
    ): "This item is free: no payment needed. Waiting for the seller to hand it over.",
    (PAID, "seller"): (
        "This item is free: no payment needed. Ship or hand over the item, then mark it as shipped."
    ),
}


def _card_next_step(state: str, role: str | None, site_name: str) -> str:
    """The lines that differ when the buyer pays by card and the site holds the money."""
    lines = {
        (PENDING_PAYMENT, "buyer"): (
            f"Pay by card to confirm your order; the money is held by {site_name} until you "
            "confirm delivery."
        ),
        (PENDING_PAYMENT, "seller"): (
            "Waiting for the buyer to pay by card. The order is marked as paid as soon as the "
            "payment succeeds; ship it after that."
        ),
        (PAID, "buyer"): (
            f"Your payment is held by {site_name}. Waiting for the seller to ship your item."
        ),
        (PAID, "seller"): (
            f"Paid by card; {site_name} holds the money until the buyer confirms delivery. "
            "Ship or hand over the item, then mark it as shipped."
        ),
        (SHIPPED, "buyer"): (
            "Your item is on its way. Confirm delivery once it has arrived: that releases "
            "the payment to the seller."
        ),
        (SHIPPED, "seller"): (
            "Shipped. You are paid once the buyer confirms delivery (or automatically after "
            "a few days)."
        ),
    }
    return lines.get((state, role), "")
