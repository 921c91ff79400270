"""Kinds of transaction: what the platform (state machine, events, messages, feedback, money,
pages) needs to know about each kind, registered once at app start by the kind itself, in the
manner of the payment-provider registry (app/payments/providers/). The platform never imports
a kind: it asks this registry.

Orders register in app/orders/kind.py:

    register_kind(TransactionKind(name="order", model=Order, machine=ORDER_MACHINE, ...))

Everything that takes an instance takes the kind's own model object (an Order, later a Loan).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.errors import NotFound

if TYPE_CHECKING:
    from app.transactions.machine import Machine, Step

Hook = Callable[["Step"], None]


@dataclass(frozen=True)
class TransactionKind:
    """One kind of transaction. `model` is its table: it has `id`, `state` and `updated_at`
    columns (the machine writes them) plus one column per timestamp the machine names."""

    name: str  # "order": events are "order.<action>", conversations are about ("order", id)
    model: type
    machine: Machine
    # (id, lock) -> the instance or None. lock=True reads it afresh for a decision about its
    # state or money and, on PostgreSQL, keeps its row locked until the unit of work ends.
    load: Callable[[int, bool], Any]
    parties: Callable[[Any], dict[int, str]]  # {user_id: role}, two or more
    amount: Callable[[Any], int]  # in cents
    currency: Callable[[Any], str]
    feedback_opens: Callable[[Any], bool]  # whether the parties may now rate each other
    url: Callable[[Any], tuple[str, dict[str, Any]]]  # (endpoint, values) of its page
    # Which role rates which: {"buyer": {"seller"}, "seller": {"buyer"}}.
    rates: Mapping[str, frozenset[str]] = field(default_factory=dict)
    not_found: str = "We could not find that."
    # What every event about an instance carries besides the step (parties, title, amount, path).
    event_payload: Callable[[Any], dict] = lambda _instance: {}
    # Keeps the kind's own history of steps (orders: an OrderEvent row per step).
    record_history: Hook | None = None
    after_step: tuple[Hook, ...] = ()  # run after every step (orders: payment side effects)
    on_enter: Mapping[str, tuple[Hook, ...]] = field(default_factory=dict)  # per state entered
    # Conversations (app/messaging): describe(ids, viewer_id) -> {id: Subject} for the viewer's
    # instances among ids; on_message(id, at): a message is activity on the instance.
    describe: Callable[[Sequence[int], int], dict] | None = None
    on_message: Callable[[int, datetime], None] | None = None

    def role_of(self, instance, user_id: int | None) -> str | None:
        """The user's role in the instance, None for someone who takes no part."""
        if instance is None or user_id is None:
            return None
        return self.parties(instance).get(user_id)

    def rated_by(self, instance, user_id: int) -> list[int]:
        """Whom this party rates in the instance: the parties whose role theirs rates."""
        parties = self.parties(instance)
        rated_roles = self.rates.get(parties.get(user_id), frozenset())
        return [other for other, role in parties.items() if role in rated_roles]


_KINDS: dict[str, TransactionKind] = {}


def register_kind(kind: TransactionKind) -> None:
    """Make a kind known (registering a name again replaces it)."""
    _KINDS[kind.name] = kind


def unregister_kind(name: str) -> None:
    _KINDS.pop(name, None)


def get_kind(name: str) -> TransactionKind:
    """The registered kind; NotFound for a name nobody registered."""
    kind = _KINDS.get(name)
    if kind is None:
        raise NotFound("We could not find that.")
    return kind


def find_kind(name: str) -> TransactionKind | None:
    return _KINDS.get(name)


def kinds() -> Iterable[TransactionKind]:
    """Every registered kind, in the order they registered."""
    return tuple(_KINDS.values())


def load(name: str, instance_id: int, *, lock: bool = False):
    """An instance of a kind, or None (see TransactionKind.load)."""
    return get_kind(name).load(instance_id, lock)


def page_url(name: str, instance) -> str:
    """The instance's page (inside a request or an app context with SERVER_NAME)."""
    from flask import url_for

    endpoint, values = get_kind(name).url(instance)
    return url_for(endpoint, **values)
