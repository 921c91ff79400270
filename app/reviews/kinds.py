"""What feedback needs to know about each kind of transaction, so reviews never imports a kind.

A kind (orders today; loans and group deals next) registers once at app start (see
app/orders/feedback.py); this seam should fold into the kind registry
(app/transactions/registry.py) once that exists:

    register_feedback_kind(
        "order",
        load=load_orders,                      # ids, lock -> {id: Rateable}
        pairs=(RatingPair("buyer", "seller", (("described", "Item as described"), ...)),
               RatingPair("seller", "buyer", (...))),
        roles={"seller": "seller", "buyer": "buyer"},
        noun="order",
        not_open="You can leave feedback once the order is completed.",
        opens_on=("order.complete", "order.auto_complete"),
    )

`load(ids, lock)` answers {id: Rateable} for the transactions among `ids` that exist (one query
for all of them), taking a row lock when `lock` is true. A Rateable says who the parties are and
in which role, what the transaction was, and when its feedback window opened (None: not yet).
The window closes FEEDBACK_WINDOW_DAYS after it opened. `pairs` says which role rates which and
the optional 1-5 detail ratings of each pair; `opens_on` names the recorded events after which
the parties are asked for feedback (`feedback.due`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.errors import NotFound

# The detail slots a feedback row has (app/reviews/models.py); a pair names the ones it uses.
DETAIL_SLOTS = ("described", "communication", "speed")
OPEN_FEEDBACK = "app.reviews.services:open_feedback_window"


@dataclass(frozen=True)
class RatingPair:
    """`author_role` rates `subject_role`, with these optional details: ((slot, label), ...)."""

    author_role: str
    subject_role: str
    details: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Rateable:
    """One transaction as feedback sees it."""

    kind: str
    id: int
    parties: dict[int, str]  # user id -> role
    title: str
    amount_cents: int
    currency: str
    opens_at: datetime | None  # when the feedback window opened; None while it is not open
    path: str  # its page, e.g. "/orders/12"
    form_path: str = ""  # where its feedback form posts, when not /feedback/<kind>/<id>
    payload: dict[str, Any] = field(default_factory=dict)  # what its recorded events carry


Load = Callable[[Sequence[int], bool], dict[int, Rateable]]


@dataclass(frozen=True)
class FeedbackKind:
    kind: str
    load: Load
    pairs: tuple[RatingPair, ...]
    roles: dict[str, str]  # role -> how a page names it ("seller")
    noun: str  # "order"
    not_open: str  # why nobody can rate yet
    not_found: str

    def pair(self, author_role: str, subject_role: str) -> RatingPair | None:
        for pair in self.pairs:
            if (pair.author_role, pair.subject_role) == (author_role, subject_role):
                return pair
        return None

    def rated_by(self, rateable: Rateable, author_id: int) -> list[tuple[int, RatingPair]]:
        """(person, pair) of everybody `author_id` rates in this transaction, in party order."""
        author_role = rateable.parties.get(author_id)
        return [
            (user_id, pair)
            for user_id, role in rateable.parties.items()
            if user_id != author_id and (pair := self.pair(author_role or "", role)) is not None
        ]


_KINDS: dict[str, FeedbackKind] = {}


def register_feedback_kind(
    kind: str,
    *,
    load: Load,
    pairs: Sequence[RatingPair],
    roles: dict[str, str],
    noun: str,
    not_open: str,
    not_found: str | None = None,
    opens_on: Sequence[str] = (),
) -> FeedbackKind:
    """Let the parties of transactions of `kind` rate each other (registering again replaces)."""
    from app.transactions.events import register_consumer

    for pair in pairs:
        unknown = [slot for slot, _label in pair.details if slot not in DETAIL_SLOTS]
        if unknown or {pair.author_role, pair.subject_role} - set(roles):
            raise ValueError(f"{kind}: bad rating pair {pair} (detail slots: {DETAIL_SLOTS})")
    registered = FeedbackKind(
        kind=kind,
        load=load,
        pairs=tuple(pairs),
        roles=dict(roles),
        noun=noun,
        not_open=not_open,
        not_found=not_found or f"{noun.capitalize()} not found.",
    )
    _KINDS[kind] = registered
    for event_name in opens_on:
        register_consumer(event_name, OPEN_FEEDBACK)
    return registered


def unregister_feedback_kind(kind: str, opens_on: Sequence[str] = ()) -> None:
    """Forget a kind (tests register kinds of their own)."""
    from app.transactions.events import unregister_consumer

    _KINDS.pop(kind, None)
    for event_name in opens_on:
        unregister_consumer(event_name, OPEN_FEEDBACK)


def feedback_kind(kind: str) -> FeedbackKind:
    """The registered kind; NotFound for a kind nobody registered."""
    registered = _KINDS.get(kind)
    if registered is None:
        raise NotFound("We could not find that transaction.")
    return registered


def registered_kinds() -> list[FeedbackKind]:
    return list(_KINDS.values())


def role_label(role: str) -> str:
    """How pages name a role, as its kind says ("seller"); the role itself when unknown."""
    for registered in _KINDS.values():
        if role in registered.roles:
            return registered.roles[role]
    return role


def details_for(kind: str, author_role: str, subject_role: str) -> tuple[tuple[str, str], ...]:
    """(slot, label) of the detail ratings `author_role` gives `subject_role` in `kind`."""
    registered = _KINDS.get(kind)
    pair = registered.pair(author_role, subject_role) if registered is not None else None
    return pair.details if pair is not None else ()
