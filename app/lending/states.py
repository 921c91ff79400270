"""The loan state machine, declared with the shared engine (app/transactions/machine.py): which
action moves a loan from which state to which, who may take it, and the words people read.
Pure data: no database, no Flask. `app.transactions.machine.advance` is the only code that
changes a loan's state; the same table answers which buttons a party sees.

    requested -> approved (dates booked, fee and deposit secured) -> on loan (handed over)
      -> returned -> completed (deposit released, fee paid to the lender)
    requested -> declined | cancelled (withdrawn) | expired (unanswered)
    approved -> cancelled (before the handover; what is refunded: app/lending/money.py; by the
                system when its last day passed and nobody confirmed the handover)
    returned -> damage claimed -> completed (claim accepted or withdrawn)
                               -> disputed -> resolved (a moderator decides)
    returned | completed (within REFUND_WINDOW_DAYS) -> disputed (the fee: the borrower, or a
                chargeback) -> resolved; completed -> resolved (a fee refund agreed)

Lateness is not a state: a loan on loan past its due day is overdue (reminders; `late_days`
and the late fee are recorded when it comes back).
"""

from __future__ import annotations

from app.transactions.machine import SYSTEM, Machine, State, rule

REQUESTED = "requested"
APPROVED = "approved"
ACTIVE = "active"
RETURNED = "returned"
DAMAGE_CLAIMED = "damage_claimed"
DISPUTED = "disputed"
COMPLETED = "completed"
RESOLVED = "resolved"
DECLINED = "declined"
CANCELLED = "cancelled"
EXPIRED = "expired"

# States whose loan holds its dates in the listing's calendar (nobody else can book them).
BOOKED = frozenset({APPROVED, ACTIVE})
# States before the thing changed hands: the dates are still only asked for or agreed.
BEFORE_HANDOVER = frozenset({REQUESTED, APPROVED})
# States in which money of the loan may still be held (deposit, fee): `flask ledger verify`.
OPEN = frozenset({APPROVED, ACTIVE, RETURNED, DAMAGE_CLAIMED, DISPUTED})

# States of loans that are over (the "closed" list): the final ones and completed.
OVER = frozenset({COMPLETED, RESOLVED, DECLINED, CANCELLED, EXPIRED})

MACHINE = Machine(
    noun="loan",
    roles=("lender", "borrower"),
    states=(
        State(REQUESTED, "Requested", "waiting", None, "is still only requested"),
        State(APPROVED, "Approved", "active", "approved_at", "is already approved"),
        State(ACTIVE, "On loan", "progress", "handed_over_at", "has already been handed over"),
        State(RETURNED, "Returned", "progress", "returned_at", "has already been returned"),
        State(DAMAGE_CLAIMED, "Damage claimed", "waiting", "claimed_at", "has a damage claim open"),
        State(DISPUTED, "Disputed", "waiting", "disputed_at", "is in dispute"),
        State(COMPLETED, "Completed", "done", "completed_at", "is already completed"),
        State(RESOLVED, "Resolved", "done", "resolved_at", "was resolved by a moderator"),
        State(DECLINED, "Declined", "stopped", "declined_at", "was declined"),
        State(CANCELLED, "Cancelled", "stopped", "cancelled_at", "has been cancelled"),
        State(EXPIRED, "Expired", "stopped", "expired_at", "expired unanswered"),
    ),
    rules={
        (REQUESTED, "approve"): rule(APPROVED, "lender"),
        (REQUESTED, "decline"): rule(DECLINED, "lender"),
        (REQUESTED, "cancel"): rule(CANCELLED, "borrower"),
        (REQUESTED, "expire"): rule(EXPIRED, SYSTEM),
        # Securing the fee or the deposit failed after approval (a declined card).
        (APPROVED, "payment_failed"): rule(CANCELLED, SYSTEM),
        (APPROVED, "cancel"): rule(CANCELLED, "lender", "borrower"),
        # Its last day passed and nobody confirmed a handover: the booking lapses, the fee is
        # refunded and the deposit released, as for a cancellation.
        (APPROVED, "lapse"): rule(CANCELLED, SYSTEM),
        # Each party confirms the handover; the second confirmation starts the loan (`start`).
        (APPROVED, "confirm_handover"): rule(APPROVED, "lender", "borrower"),
        (APPROVED, "start"): rule(ACTIVE, SYSTEM),
        # Or the borrower alone, typing the code the lender shows them.
        (APPROVED, "confirm_with_code"): rule(ACTIVE, "borrower"),
        (ACTIVE, "mark_returned"): rule(RETURNED, "borrower", "lender"),
        (RETURNED, "confirm_return"): rule(COMPLETED, "lender"),
        (RETURNED, "claim_damage"): rule(DAMAGE_CLAIMED, "lender"),
        # Nothing claimed within the claim window: the deposit goes back.
        (RETURNED, "auto_complete"): rule(COMPLETED, SYSTEM),
        (DAMAGE_CLAIMED, "accept_claim"): rule(COMPLETED, "borrower"),
        (DAMAGE_CLAIMED, "withdraw_claim"): rule(COMPLETED, "lender"),
        # The borrower did not answer within the answer window: the claim stands.
        (DAMAGE_CLAIMED, "auto_accept"): rule(COMPLETED, SYSTEM),
        (DAMAGE_CLAIMED, "dispute_claim"): rule(DISPUTED, "borrower"),
        # The two agree on another amount (a counter-offer accepted, app/disputes).
        (DAMAGE_CLAIMED, "settle_claim"): rule(COMPLETED, SYSTEM),
        # The fee disputed: by the borrower once the thing is back, or after completion within
        # REFUND_WINDOW_DAYS (taken back from the lender), or by the borrower's card issuer (a
        # chargeback, app/disputes); the deposit stays held as it is until the decision.
        (RETURNED, "dispute_fee"): rule(DISPUTED, "borrower"),
        (COMPLETED, "dispute_fee"): rule(DISPUTED, "borrower"),
        # A refund of the fee the two agree on after completion (app/disputes).
        (COMPLETED, "settle_fee"): rule(RESOLVED, SYSTEM),
        # A moderator's decision on the deposit or the fee (app/disputes).
        (DISPUTED, "resolve"): rule(RESOLVED, SYSTEM),
    },
    # Completed is not final: its fee may still be disputed or refunded within
    # REFUND_WINDOW_DAYS (OVER below counts it among the loans that are over).
    final=frozenset({RESOLVED, DECLINED, CANCELLED, EXPIRED}),
    action_labels={
        "approve": "Approve request",
        "decline": "Decline",
        "confirm_handover": "Confirm handover",
        "confirm_with_code": "Confirm with the lender's code",
        "mark_returned": "Mark as returned",
        "confirm_return": "Returned in good condition",
        "claim_damage": "Claim for damage",
        "accept_claim": "Accept the claim",
        "dispute_claim": "Dispute the claim",
        "dispute_fee": "Dispute the fee",
        "withdraw_claim": "Withdraw the claim",
        "cancel": "Cancel loan",
    },
    event_labels={
        "approve": "Approved",
        "decline": "Declined",
        "cancel": "Cancelled",
        "expire": "Expired without an answer",
        "payment_failed": "Cancelled: the payment did not go through",
        "lapse": "Cancelled: never handed over by its last day",
        "confirm_handover": "Handover confirmed",
        "start": "Handed over",
        "confirm_with_code": "Handed over (confirmed with the lender's code)",
        "mark_returned": "Returned",
        "confirm_return": "Return confirmed in good condition",
        "claim_damage": "Damage claimed",
        "auto_complete": "Completed: no claim within the claim window",
        "accept_claim": "Claim accepted",
        "withdraw_claim": "Claim withdrawn",
        "auto_accept": "Claim accepted: no answer within the answer window",
        "dispute_claim": "Claim disputed",
        "dispute_fee": "Fee disputed",
        "settle_fee": "Fee refund agreed",
        "resolve": "Resolved by a moderator",
        "settle_claim": "Claim settled at an agreed amount",
    },
    action_phrases={
        "approve": "approved",
        "decline": "declined",
        "cancel": "cancelled",
        "expire": "expired",
        "payment_failed": "cancelled for a failed payment",
        "lapse": "cancelled for never being handed over",
        "confirm_handover": "confirmed as handed over",
        "start": "started",
        "confirm_with_code": "confirmed as handed over",
        "mark_returned": "marked as returned",
        "confirm_return": "confirmed as returned",
        "claim_damage": "claimed for damage",
        "auto_complete": "completed automatically",
        "accept_claim": "settled by accepting the claim",
        "withdraw_claim": "settled by withdrawing the claim",
        "auto_accept": "settled automatically",
        "dispute_claim": "disputed",
        "dispute_fee": "disputed",
        "settle_fee": "settled with a fee refund",
        "resolve": "resolved",
        "settle_claim": "settled at an agreed amount",
    },
    actions_with_note=frozenset(
        {"decline", "cancel", "mark_returned", "dispute_claim", "dispute_fee"}
    ),
    danger_actions=frozenset({"decline", "cancel"}),
    confirm_labels={"decline": "Yes, decline", "cancel": "Yes, cancel this loan"},
    note_columns={
        "decline": "decline_note",
        "cancel": "cancel_note",
        "payment_failed": "cancel_note",  # why: the card's answer
        "mark_returned": "return_note",
    },
)
