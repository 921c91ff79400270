"""Kinds of transaction: what the platform (state machine, events, messages, feedback, money,
pages) needs to know about each kind, registered once at app start by the kind itself, in the
manner of the payment-provider registry (app/payments/providers/). The platform never imports
a kind: it asks this registry. One entry per kind holds everything:

    register_kind(TransactionKind(
        name="order", model=Order, machine=ORDER_MACHINE, load=..., parties=..., ...,
        describe=describe_orders,                      # conversations (app/messaging)
        feedback=FeedbackRules(load=load_orders, pairs=(RatingPair("buyer", "seller"), ...),
                               roles=..., noun="order", not_open=..., opens_on=(...)),
        money=MoneyRules(lock=..., on_payment_succeeded=..., holding="escrow"),
    ))

Orders register in app/orders/kind.py. Everything that takes an instance takes the kind's own
model object (an Order, later a Loan).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.errors import NotFound

if TYPE_CHECKING:
    from app.payments.models import Payment
    from app.transactions.machine import Machine, Step

Hook = Callable[["Step"], None]

# The 1-5 detail ratings a feedback row can hold (app/reviews/models.py); a pair names the ones
# it uses and what they are called for that pair.
DETAIL_SLOTS = ("described", "communication", "speed")
# The consumer that opens a kind's feedback window when one of its `opens_on` events is recorded.
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


@dataclass(frozen=True)
class FeedbackRules:
    """How the parties of a kind rate each other (app/reviews).

    `load(ids, lock)` answers {id: Rateable} for the transactions among `ids` that exist (one
    query for all of them), taking a row lock when `lock` is true. The window opens when the
    Rateable says (`opens_at`) and closes FEEDBACK_WINDOW_DAYS later. `pairs` says which role
    rates which and the detail ratings of each pair; `roles` how pages name each role ("club
    member"); `opens_on` the recorded events after which the parties are asked for feedback.
    """

    load: Callable[[Sequence[int], bool], dict[int, Rateable]]
    pairs: tuple[RatingPair, ...]
    roles: Mapping[str, str]
    noun: str  # "order"
    not_open: str  # why nobody can rate yet
    not_found: str = ""
    opens_on: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for pair in self.pairs:
            unknown = [slot for slot, _label in pair.details if slot not in DETAIL_SLOTS]
            if unknown or {pair.author_role, pair.subject_role} - set(self.roles):
                raise ValueError(f"bad rating pair {pair} (detail slots: {DETAIL_SLOTS})")

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


@dataclass(frozen=True)
class MoneyRules:
    """What payments need of a kind (app/payments/money.py).

    `lock(id)` serializes a decision about the instance's money with the kind's own steps (row
    lock and guarded write); it answers False when the instance does not exist.
    `on_payment_succeeded(payment)` runs in the unit of work that records a card payment's
    success. `holding` names the ledger account that holds the kind's money (escrow for orders,
    deposits for loans, pledges for group deals).
    """

    lock: Callable[[int], bool] | None = None
    on_payment_succeeded: Callable[[Payment], None] | None = None
    holding: str = "escrow"


@dataclass(frozen=True)
class Stake:
    """What a dispute about one transaction divides: `amount_cents` the payer paid (or put up)
    that is still held, which a decision splits between the payee (`awarded`) and the payer
    (the rest back). `what` names it in a sentence ("the deposit")."""

    amount_cents: int
    currency: str
    payer_role: str  # who gets back what is not awarded: buyer, borrower, member
    payee_role: str  # who is awarded: seller, lender
    what: str


@dataclass(frozen=True)
class DisputeRules:
    """What disputes need of a kind (app/disputes).

    `opens` maps a state to the machine action that puts the transaction in dispute from it:
    who may open one is who the machine lets take that action. `stake(instance)` is the money
    a decision divides. `carry_out(id, awarded_cents, note, now)` applies a moderator's decision
    in the caller's unit of work, without committing: the kind's resolving step (through its
    machine) with its ledger entries and provider operations staged; `follow_up(id)` runs the
    provider's part once that unit of work committed (idempotent, retried by the due jobs).
    """

    opens: Mapping[str, str]
    stake: Callable[[Any], Stake]
    carry_out: Callable[[int, int, str | None, datetime], None]
    follow_up: Callable[[int], None] = lambda _id: None
    # Whether a card network's chargeback on the kind's payment opens a dispute (its stake is
    # that payment's money): True from every state of `opens`, or only from the states named
    # (a loan: while its stake is the fee, not during a damage claim); False: never, the
    # payment stays flagged for a person to look at. The part of a chargeback's dispute that
    # goes back to the payer is returned by the card issuer, never refunded as well
    # (app/payments/money.py: a charged-back payment books it to chargebacks returned).
    chargebacks: bool | frozenset[str] = True
    # States in which the parties may agree on a refund between themselves (app/disputes:
    # refund offers); `carry_out` then settles it from that state, as it does a decision.
    settles: frozenset[str] = frozenset()
    # (instance) -> until when its parties may open a dispute or propose a refund in its
    # current state (an order after completion: REFUND_WINDOW_DAYS); None: no limit.
    window_ends: Callable[[Any], datetime | None] = lambda _instance: None


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
    feedback: FeedbackRules | None = None  # None: its parties do not rate each other
    money: MoneyRules | None = None  # None: no money moves for it
    disputes: DisputeRules | None = None  # None: its parties cannot open a dispute
    # (user_id) -> a scalar subquery counting the user's completed instances, in any role (trust
    # levels count them, app/trust/levels.py). None: the kind does not count.
    completed_count: Callable[[int], Any] | None = None

    def role_of(self, instance, user_id: int | None) -> str | None:
        """The user's role in the instance, None for someone who takes no part."""
        if instance is None or user_id is None:
            return None
        return self.parties(instance).get(user_id)


_KINDS: dict[str, TransactionKind] = {}


def register_kind(kind: TransactionKind) -> None:
    """Make a kind known (registering a name again replaces it), with the events that open its
    feedback window."""
    from app.transactions.events import register_consumer

    unregister_kind(kind.name)
    _KINDS[kind.name] = kind
    for event_name in kind.feedback.opens_on if kind.feedback else ():
        register_consumer(event_name, OPEN_FEEDBACK)


def unregister_kind(name: str) -> None:
    """Forget a kind (tests register kinds of their own)."""
    from app.transactions.events import unregister_consumer

    kind = _KINDS.pop(name, None)
    for event_name in kind.feedback.opens_on if kind and kind.feedback else ():
        unregister_consumer(event_name, OPEN_FEEDBACK)


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


def count_where(model: type, *conditions) -> Any:
    """A scalar subquery counting `model` rows that meet `conditions` (for completed_count)."""
    from sqlalchemy import func, select

    return select(func.count()).select_from(model).where(*conditions).scalar_subquery()


def page_url(name: str, instance) -> str:
    """The instance's page (inside a request or an app context with SERVER_NAME)."""
    from flask import url_for

    endpoint, values = get_kind(name).url(instance)
    return url_for(endpoint, **values)
