"""The group deal and pledge state machines, declared with the shared engine
(app/transactions/machine.py). Pure data: no database, no Flask.

A deal:

    draft -> proposed (sent to the supplier) -> open (the supplier accepted the terms)
      -> tipped (the pledged total reached the minimum; still open for pledges)
      -> closed (the deadline passed: price fixed, pledges being charged)
      -> settled (every pledge paid or dropped) -> fulfilled (delivered) -> completed
    proposed -> draft (the supplier declined, or the organizer takes it back to edit)
    tipped -> open (withdrawals took the total under the minimum before the deadline)
    open -> failed (the deadline passed under the minimum: nobody is charged)
    closed -> failed (every pledge was dropped: nobody paid)
    draft, proposed, open, tipped -> cancelled (before the deadline; nobody is charged)

A pledge (one member's part of a deal):

    pledged -> withdrawn (before the deadline) -> pledged (pledged again)
    pledged -> paid (charged at settlement) | payment_due (the card failed: grace period)
    payment_due -> paid (the card was fixed and the charge went through) | dropped (grace over)
    pledged -> pay_at_pickup (manual provider: pays in person) -> paid | dropped (no-show)
    pledged -> released (the deal failed or was cancelled: nothing charged)
    paid -> delivered -> received (the member confirms, or after DEAL_RECEIPT_DAYS)
    paid, delivered -> disputed (the member reports a problem) -> resolved (a moderator)
"""

from __future__ import annotations

from app.transactions.machine import SYSTEM, Machine, State, rule

# -- deals ----------------------------------------------------------------------------------

DRAFT = "draft"
PROPOSED = "proposed"
OPEN = "open"
TIPPED = "tipped"
CLOSED = "closed"
SETTLED = "settled"
FULFILLED = "fulfilled"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"

# Deals members can pledge to (before the deadline).
PLEDGING = frozenset({OPEN, TIPPED})
# Deals the organizer may still edit (the supplier has not accepted these terms).
EDITABLE = frozenset({DRAFT})
# Deals whose money may still be moving or held: `flask ledger verify`.
DEAL_OPEN_MONEY = frozenset({CLOSED, SETTLED, FULFILLED})

DEAL_MACHINE = Machine(
    noun="deal",
    roles=("organizer", "supplier"),
    states=(
        State(DRAFT, "Draft", "neutral", None, "is still a draft"),
        State(
            PROPOSED,
            "Waiting for the supplier",
            "waiting",
            "proposed_at",
            "is waiting for the supplier",
        ),
        State(OPEN, "Open for pledges", "active", "opened_at", "is already open"),
        State(TIPPED, "Tipped", "active", "tipped_at", "has already tipped"),
        State(CLOSED, "Closed: charging", "progress", "closed_at", "has already closed"),
        State(SETTLED, "Settled", "progress", "settled_at", "is already settled"),
        State(FULFILLED, "Delivered", "progress", "fulfilled_at", "is already delivered"),
        State(COMPLETED, "Completed", "done", "completed_at", "is already completed"),
        State(FAILED, "Did not tip", "stopped", "failed_at", "did not tip"),
        State(CANCELLED, "Cancelled", "stopped", "cancelled_at", "has been cancelled"),
    ),
    rules={
        (DRAFT, "propose"): rule(PROPOSED, "organizer"),
        (PROPOSED, "accept_terms"): rule(OPEN, "supplier"),
        (PROPOSED, "decline_terms"): rule(DRAFT, "supplier"),
        (PROPOSED, "retract"): rule(DRAFT, "organizer"),
        (OPEN, "tip"): rule(TIPPED, SYSTEM),
        (TIPPED, "untip"): rule(OPEN, SYSTEM),
        (OPEN, "fail"): rule(FAILED, SYSTEM),
        (TIPPED, "close"): rule(CLOSED, SYSTEM),
        (CLOSED, "settle"): rule(SETTLED, SYSTEM),
        (CLOSED, "fail"): rule(FAILED, SYSTEM),
        (SETTLED, "mark_fulfilled"): rule(FULFILLED, "supplier", "organizer"),
        (FULFILLED, "complete"): rule(COMPLETED, SYSTEM),
        (DRAFT, "cancel"): rule(CANCELLED, "organizer"),
        (PROPOSED, "cancel"): rule(CANCELLED, "organizer"),
        (OPEN, "cancel"): rule(CANCELLED, "organizer", "supplier"),
        (TIPPED, "cancel"): rule(CANCELLED, "organizer", "supplier"),
    },
    final=frozenset({COMPLETED, FAILED, CANCELLED}),
    action_labels={
        "propose": "Send to the supplier",
        "accept_terms": "Accept the terms",
        "decline_terms": "Decline the terms",
        "retract": "Take back to edit",
        "mark_fulfilled": "Mark as delivered",
        "cancel": "Cancel deal",
    },
    event_labels={
        "propose": "Sent to the supplier",
        "accept_terms": "Terms accepted: open for pledges",
        "decline_terms": "Terms declined by the supplier",
        "retract": "Taken back to edit",
        "tip": "Tipped: the minimum was reached",
        "untip": "Back under the minimum",
        "fail": "Did not tip: nobody is charged",
        "close": "Closed at the deadline: price fixed",
        "settle": "Settled: every pledge paid or dropped",
        "mark_fulfilled": "Delivered",
        "complete": "Completed",
        "cancel": "Cancelled",
    },
    action_phrases={
        "propose": "sent to the supplier",
        "accept_terms": "accepted",
        "decline_terms": "declined",
        "retract": "taken back",
        "tip": "tipped",
        "untip": "moved back under the minimum",
        "fail": "failed",
        "close": "closed",
        "settle": "settled",
        "mark_fulfilled": "marked as delivered",
        "complete": "completed",
        "cancel": "cancelled",
    },
    actions_with_note=frozenset({"decline_terms", "cancel"}),
    danger_actions=frozenset({"cancel", "decline_terms"}),
    confirm_labels={"cancel": "Yes, cancel this deal", "decline_terms": "Yes, decline"},
    note_columns={"decline_terms": "supplier_note", "cancel": "cancel_note"},
)

# -- pledges --------------------------------------------------------------------------------

PLEDGED = "pledged"
WITHDRAWN = "withdrawn"
PAYMENT_DUE = "payment_due"
PAY_AT_PICKUP = "pay_at_pickup"
PAID = "paid"
DELIVERED = "delivered"
RECEIVED = "received"
DROPPED = "dropped"
RELEASED = "released"
DISPUTED = "disputed"
RESOLVED = "resolved"

# Pledges whose quantity counts in GroupDeal.pledged_quantity (a failed deal's released pledges
# keep counting: the deal shows how far it got).
COUNTED = frozenset(
    {PLEDGED, PAYMENT_DUE, PAY_AT_PICKUP, PAID, DELIVERED, RECEIVED, DISPUTED, RESOLVED, RELEASED}
)
# Pledges still to be charged or paid after the deal closed.
UNSETTLED = frozenset({PLEDGED, PAYMENT_DUE})
# Pledges whose member paid (card or in person).
PAID_STATES = frozenset({PAID, DELIVERED, RECEIVED, DISPUTED, RESOLVED})
# The pledge's parties may rate each other once it reaches one of these.
FEEDBACK_OPEN = frozenset({RECEIVED, RESOLVED, DROPPED})

PLEDGE_MACHINE = Machine(
    noun="pledge",
    roles=("member", "organizer", "supplier"),
    states=(
        State(PLEDGED, "Pledged", "active", "pledged_at", "is already pledged"),
        State(WITHDRAWN, "Withdrawn", "stopped", "withdrawn_at", "was withdrawn"),
        State(
            PAYMENT_DUE,
            "Payment failed",
            "waiting",
            "payment_due_at",
            "is waiting for a working card",
        ),
        State(PAY_AT_PICKUP, "To pay at pickup", "waiting", None, "is to be paid at pickup"),
        State(PAID, "Paid", "progress", "paid_at", "is already paid"),
        State(DELIVERED, "Delivered", "progress", "delivered_at", "is already delivered"),
        State(RECEIVED, "Received", "done", "received_at", "is already received"),
        State(DROPPED, "Dropped", "stopped", "dropped_at", "was dropped"),
        State(RELEASED, "Released", "stopped", "released_at", "was released"),
        State(DISPUTED, "Disputed", "waiting", "disputed_at", "is in dispute"),
        State(RESOLVED, "Resolved", "done", "resolved_at", "was resolved by a moderator"),
    ),
    rules={
        (PLEDGED, "change_quantity"): rule(PLEDGED, "member"),
        (PLEDGED, "withdraw"): rule(WITHDRAWN, "member"),
        (WITHDRAWN, "renew"): rule(PLEDGED, "member"),
        (PLEDGED, "charge"): rule(PAID, SYSTEM),
        (PLEDGED, "charge_failed"): rule(PAYMENT_DUE, SYSTEM),
        (PAYMENT_DUE, "charge"): rule(PAID, SYSTEM),
        (PAYMENT_DUE, "charge_failed"): rule(PAYMENT_DUE, SYSTEM),
        (PAYMENT_DUE, "drop"): rule(DROPPED, SYSTEM),
        (PLEDGED, "bill_in_person"): rule(PAY_AT_PICKUP, SYSTEM),
        (PAY_AT_PICKUP, "record_payment"): rule(PAID, "organizer", "supplier"),
        (PAY_AT_PICKUP, "mark_no_show"): rule(DROPPED, "organizer", "supplier"),
        (PLEDGED, "release"): rule(RELEASED, SYSTEM),
        (PAID, "mark_delivered"): rule(DELIVERED, "supplier", "organizer"),
        (DELIVERED, "confirm_receipt"): rule(RECEIVED, "member"),
        (DELIVERED, "auto_confirm"): rule(RECEIVED, SYSTEM),
        (PAID, "report_problem"): rule(DISPUTED, "member"),
        (DELIVERED, "report_problem"): rule(DISPUTED, "member"),
        (DISPUTED, "resolve"): rule(RESOLVED, SYSTEM),
        # Or the member and the organizer agree on a refund (app/disputes): carried out like a
        # decision, from the money released to supplier and organizer (a transfer reversal).
        (PAID, "settle"): rule(RESOLVED, SYSTEM),
        (DELIVERED, "settle"): rule(RESOLVED, SYSTEM),
    },
    final=frozenset({RECEIVED, DROPPED, RELEASED, RESOLVED}),
    action_labels={
        "change_quantity": "Change quantity",
        "withdraw": "Withdraw pledge",
        "renew": "Pledge again",
        "record_payment": "Paid in person",
        "mark_no_show": "Did not pay",
        "mark_delivered": "Mark as delivered",
        "confirm_receipt": "I received it",
        "report_problem": "Report a problem",
    },
    event_labels={
        "change_quantity": "Quantity changed",
        "withdraw": "Withdrawn",
        "renew": "Pledged again",
        "charge": "Charged",
        "charge_failed": "The card was declined",
        "drop": "Dropped: not paid within the grace period",
        "bill_in_person": "To pay in person at pickup",
        "record_payment": "Paid in person",
        "mark_no_show": "Dropped: did not pay at pickup",
        "release": "Released: nothing charged",
        "mark_delivered": "Delivered",
        "confirm_receipt": "Receipt confirmed",
        "auto_confirm": "Receipt confirmed automatically",
        "report_problem": "Problem reported",
        "resolve": "Resolved by a moderator",
        "settle": "Settled by an agreed refund",
    },
    action_phrases={
        "change_quantity": "changed",
        "withdraw": "withdrawn",
        "renew": "pledged again",
        "charge": "charged",
        "charge_failed": "marked as failed",
        "drop": "dropped",
        "bill_in_person": "billed in person",
        "record_payment": "marked as paid",
        "mark_no_show": "dropped",
        "release": "released",
        "mark_delivered": "marked as delivered",
        "confirm_receipt": "confirmed as received",
        "auto_confirm": "confirmed as received",
        "report_problem": "reported",
        "resolve": "resolved",
        "settle": "settled by an agreed refund",
    },
    actions_with_note=frozenset({"withdraw", "mark_no_show", "report_problem"}),
    danger_actions=frozenset({"withdraw", "mark_no_show"}),
    confirm_labels={"withdraw": "Yes, withdraw", "mark_no_show": "Yes, drop this pledge"},
    note_columns={
        "withdraw": "withdraw_note",
        "charge_failed": "failure_note",
        "mark_no_show": "failure_note",
        "report_problem": "problem_note",
    },
)
