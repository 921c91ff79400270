"""The order state machine, declared with the shared engine (app/transactions/machine.py):
which action moves an order from which state to which, who may trigger it, and the words people
read. Pure data and small pure helpers: no database, no Flask.

`app.transactions.machine.advance` is the only code that changes an order's state (through
`app.orders.services.transition`); it reads this table. The same table answers which buttons a
party sees (`actions_for`).
"""

from __future__ import annotations

from app.transactions.machine import SYSTEM, Machine, State, rule

PENDING_PAYMENT = "pending_payment"
PAID = "paid"
SHIPPED = "shipped"
DELIVERED = "delivered"
COMPLETED = "completed"
CANCELLED = "cancelled"
DISPUTED = "disputed"
RESOLVED = "resolved"

MACHINE = Machine(
    noun="order",
    roles=("buyer", "seller"),
    states=(
        State(PENDING_PAYMENT, "Awaiting payment", "waiting", None, "is still waiting for payment"),
        State(PAID, "Paid", "active", "paid_at", "has already been paid"),
        State(SHIPPED, "Shipped", "progress", "shipped_at", "has already shipped"),
        State(DELIVERED, "Delivered", "progress", "delivered_at", "has already been delivered"),
        State(COMPLETED, "Completed", "done", "completed_at", "is already completed"),
        State(CANCELLED, "Cancelled", "stopped", "cancelled_at", "has been cancelled"),
        State(DISPUTED, "Disputed", "waiting", "disputed_at", "is in dispute"),
        State(RESOLVED, "Resolved", "done", "resolved_at", "was resolved by a moderator"),
    ),
    rules={
        (PENDING_PAYMENT, "mark_paid"): rule(PAID, "seller"),
        # A card payment succeeded (app.payments): the system marks the order paid.
        (PENDING_PAYMENT, "payment_received"): rule(PAID, SYSTEM),
        # A free item (price 0): placing the order takes it past payment at once.
        (PENDING_PAYMENT, "nothing_to_pay"): rule(PAID, SYSTEM),
        (PENDING_PAYMENT, "cancel"): rule(CANCELLED, "buyer", "seller"),
        (PAID, "cancel"): rule(CANCELLED, "buyer", "seller"),
        (PAID, "ship"): rule(SHIPPED, "seller"),
        (SHIPPED, "confirm_delivery"): rule(DELIVERED, "buyer", then="complete"),
        (DELIVERED, "complete"): rule(COMPLETED, SYSTEM),
        (SHIPPED, "auto_complete"): rule(COMPLETED, SYSTEM),
        (DELIVERED, "auto_complete"): rule(COMPLETED, SYSTEM),
        # While the money is held, either side can open a dispute (app/disputes: with a
        # reason and photos); a moderator's decision resolves it and moves the money.
        (PAID, "dispute"): rule(DISPUTED, "buyer", "seller"),
        (SHIPPED, "dispute"): rule(DISPUTED, "buyer", "seller"),
        # After completion (the money released to the seller) the buyer may still dispute it
        # for REFUND_WINDOW_DAYS: the refund is taken back from the seller's payout.
        (COMPLETED, "dispute"): rule(DISPUTED, "buyer"),
        (DISPUTED, "resolve"): rule(RESOLVED, SYSTEM),
        # Or the two agree on a refund (app/disputes): carried out like a decision.
        (PAID, "settle"): rule(RESOLVED, SYSTEM),
        (SHIPPED, "settle"): rule(RESOLVED, SYSTEM),
        (COMPLETED, "settle"): rule(RESOLVED, SYSTEM),
    },
    # Completed is not final: a refund may still come within REFUND_WINDOW_DAYS.
    final=frozenset({CANCELLED, RESOLVED}),
    # Buttons a party can press, in the order they are shown, with their labels.
    action_labels={
        "mark_paid": "Mark as paid",
        "ship": "Mark as shipped",
        "confirm_delivery": "Confirm delivery",
        "cancel": "Cancel order",
        "dispute": "Open a dispute",
    },
    # What the timeline says for each recorded step.
    event_labels={
        "mark_paid": "Payment received",
        "payment_received": "Card payment received",
        "nothing_to_pay": "Free: no payment needed",
        "cancel": "Cancelled",
        "ship": "Shipped",
        "confirm_delivery": "Delivery confirmed",
        "complete": "Completed",
        "auto_complete": "Completed automatically",
        "dispute": "Disputed",
        "resolve": "Resolved by a moderator",
        "settle": "Settled by an agreed refund",
    },
    action_phrases={
        "mark_paid": "marked as paid",
        "payment_received": "paid",
        "nothing_to_pay": "passed on without payment",
        "cancel": "cancelled",
        "ship": "marked as shipped",
        "confirm_delivery": "confirmed as delivered",
        "complete": "completed",
        "auto_complete": "completed automatically",
        "dispute": "disputed",
        "resolve": "resolved",
        "settle": "settled by an agreed refund",
    },
    # Actions whose form offers an optional note (tracking number, reason for cancelling).
    actions_with_note=frozenset({"ship", "cancel"}),
    danger_actions=frozenset({"cancel"}),
    confirm_labels={"cancel": "Yes, cancel this order"},
    note_columns={"ship": "shipping_note"},
)

# The table's parts under the names the rest of the code uses.
STATES = MACHINE.state_names
FINAL_STATES = MACHINE.final
STATE_LABELS = MACHINE.labels
TRANSITIONS = MACHINE.rules
ACTIONS = MACHINE.actions
USER_ACTIONS = MACHINE.user_actions
TIMESTAMP_COLUMNS = MACHINE.timestamps
ACTION_LABELS = MACHINE.action_labels
ACTIONS_WITH_NOTE = MACHINE.actions_with_note
EVENT_LABELS = MACHINE.event_labels
rule_for = MACHINE.rule_for
is_allowed_actor = MACHINE.allows
actions_for = MACHINE.actions_for
refusal_message = MACHINE.refusal_message
actor_refusal = MACHINE.actor_refusal


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
        (DISPUTED, "buyer"): (
            "This order is in dispute. A moderator decides; the money stays held until then."
        ),
        (DISPUTED, "seller"): (
            "This order is in dispute. A moderator decides; the money stays held until then."
        ),
        (RESOLVED, "buyer"): "This order was settled (an agreed refund or a moderator's "
        "decision); the money has moved.",
        (RESOLVED, "seller"): "This order was settled (an agreed refund or a moderator's "
        "decision); the money has moved.",
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
