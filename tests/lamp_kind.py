"""A tiny second kind of transaction that exists only in the tests: a neighbour lends a lamp.
It proves a new kind needs only its model, its machine table and its registry entry: the engine
(app/transactions/machine.py) does the rest, with nothing copied from orders.

Its table lives in its own metadata (never in the app's migrations); `lamp_kind` creates it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.db import utcnow
from app.extensions import db
from app.transactions.machine import SYSTEM, Machine, State, rule
from app.transactions.registry import TransactionKind

REQUESTED, LENT, RETURNED, CLOSED, DECLINED = "requested", "lent", "returned", "closed", "declined"


class LampBase(DeclarativeBase):
    pass


class LampLoan(LampBase):
    __tablename__ = "test_lamp_loans"

    id: Mapped[int] = mapped_column(primary_key=True)
    lender_id: Mapped[int]
    borrower_id: Mapped[int]
    state: Mapped[str] = mapped_column(String(20), default=REQUESTED)
    lent_at: Mapped[datetime | None]
    returned_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    condition_note: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


LAMP_MACHINE = Machine(
    noun="lamp loan",
    roles=("lender", "borrower"),
    states=(
        State(REQUESTED, "Requested", "waiting", None, "is still only requested"),
        State(LENT, "Lent", "active", "lent_at", "has already been lent"),
        State(RETURNED, "Returned", "progress", "returned_at", "has already been returned"),
        State(CLOSED, "Closed", "done", "closed_at", "is closed"),
        State(DECLINED, "Declined", "stopped", None, "was declined"),
    ),
    rules={
        (REQUESTED, "lend"): rule(LENT, "lender"),
        (REQUESTED, "decline"): rule(DECLINED, "lender", "borrower"),
        (LENT, "bring_back"): rule(RETURNED, "borrower", then="close"),
        (RETURNED, "close"): rule(CLOSED, SYSTEM),
    },
    final=frozenset({CLOSED, DECLINED}),
    action_labels={"lend": "Lend it", "bring_back": "I brought it back", "decline": "Decline"},
    event_labels={
        "lend": "Lent",
        "decline": "Declined",
        "bring_back": "Brought back",
        "close": "Closed",
    },
    action_phrases={
        "lend": "lent",
        "decline": "declined",
        "bring_back": "brought back",
        "close": "closed",
    },
    actions_with_note=frozenset({"bring_back"}),
    danger_actions=frozenset({"decline"}),
    note_columns={"bring_back": "condition_note"},
)

# What the hooks saw, for the tests to read.
HISTORY: list[tuple[str, str, str, int | None, str | None]] = []
ENTERED: list[tuple[int, str]] = []


def _load(loan_id: int, lock: bool):
    return db.session.get(LampLoan, loan_id, with_for_update=lock, populate_existing=lock)


LAMP_KIND = TransactionKind(
    name="lamp",
    model=LampLoan,
    machine=LAMP_MACHINE,
    load=_load,
    parties=lambda loan: {loan.lender_id: "lender", loan.borrower_id: "borrower"},
    amount=lambda _loan: 0,
    currency=lambda _loan: "EUR",
    feedback_opens=lambda loan: loan.state == CLOSED,
    url=lambda loan: ("main.index", {}),
    not_found="We could not find that lamp loan.",
    event_payload=lambda loan: {"lender_id": loan.lender_id, "borrower_id": loan.borrower_id},
    record_history=lambda step: HISTORY.append(
        (step.action, step.from_state, step.to_state, step.actor_id, step.note)
    ),
    on_enter={CLOSED: (lambda step: ENTERED.append((step.instance.id, step.to_state)),)},
)
