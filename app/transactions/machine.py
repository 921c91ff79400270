"""The state-machine engine every kind of transaction shares.

A `Machine` is pure data: the states (label, badge tone, timestamp column), the rules
(from state, action) -> Rule(to, roles allowed, then), the words people read (button and
timeline labels, refusals). `advance()` is the only code that changes a transaction's state,
for every kind: row lock, role lookup through the kind's parties, the rule check with its
refusal, the guarded UPDATE, the history row, the domain event, the kind's hooks, and the
follow-on system steps, in one unit of work.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import update

from app.db import utcnow
from app.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from app.extensions import db
from app.transactions.events import record_event
from app.transactions.registry import TransactionKind, get_kind

logger = logging.getLogger(__name__)

SYSTEM = "system"  # the role of a due job or a follow-on step: nobody triggers it by hand
MAX_NOTE_LENGTH = 500


@dataclass(frozen=True)
class State:
    name: str
    label: str
    tone: str = "neutral"  # a badge tone: neutral, waiting, active, progress, done, stopped
    timestamp: str | None = None  # the column stamped when a transaction enters this state
    phrase: str = ""  # "has already shipped": finishes "This order ..." in a refusal


@dataclass(frozen=True)
class Rule:
    to: str
    roles: frozenset[str]  # who may trigger it: party roles, or {SYSTEM}
    then: str | None = None  # a system step that runs at once in the same unit of work


def rule(to: str, *roles: str, then: str | None = None) -> Rule:
    """Rule(to, frozenset(roles), then): `rule(PAID, "seller")`."""
    return Rule(to=to, roles=frozenset(roles), then=then)


@dataclass(frozen=True)
class Machine:
    noun: str  # "order": "This order has already shipped, ..."
    roles: tuple[str, ...]  # the party roles, in the order refusals name them
    states: tuple[State, ...]  # in the order a transaction progresses
    rules: Mapping[tuple[str, str], Rule]
    final: frozenset[str]
    action_labels: Mapping[str, str] = field(default_factory=dict)  # buttons, in display order
    event_labels: Mapping[str, str] = field(default_factory=dict)  # timeline lines
    action_phrases: Mapping[str, str] = field(default_factory=dict)  # "... cannot be <phrase>"
    actions_with_note: frozenset[str] = frozenset()  # their form offers an optional note
    danger_actions: frozenset[str] = frozenset()  # shown behind a confirmation (cancel)
    confirm_labels: Mapping[str, str] = field(default_factory=dict)  # their confirming button
    note_columns: Mapping[str, str] = field(default_factory=dict)  # action -> column for note

    def __post_init__(self) -> None:
        names = [state.name for state in self.states]
        for (from_state, action), target in self.rules.items():
            if from_state not in names or target.to not in names:
                raise ValueError(f"{self.noun}: rule {from_state}/{action} names unknown state")
            if not target.roles or not target.roles <= {*self.roles, SYSTEM}:
                raise ValueError(f"{self.noun}: rule {from_state}/{action} has unknown roles")
            if target.then and (target.to, target.then) not in self.rules:
                raise ValueError(f"{self.noun}: follow-on {target.then} has no rule")
        if not self.final <= set(names):
            raise ValueError(f"{self.noun}: unknown final state")

    # -- the table ------------------------------------------------------------------------

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(state.name for state in self.states)

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(action for _, action in self.rules))

    @property
    def user_actions(self) -> tuple[str, ...]:
        """The actions a party can take by hand (a button, an API call)."""
        return tuple(
            dict.fromkeys(
                action for (_, action), rule in self.rules.items() if rule.roles - {SYSTEM}
            )
        )

    def state(self, name: str) -> State:
        for state in self.states:
            if state.name == name:
                return state
        return State(name=name, label=name.replace("_", " ").capitalize())

    @property
    def labels(self) -> dict[str, str]:
        return {state.name: state.label for state in self.states}

    @property
    def timestamps(self) -> dict[str, str]:
        return {state.name: state.timestamp for state in self.states if state.timestamp}

    def tone(self, name: str) -> str:
        return self.state(name).tone

    def rule_for(self, state: str, action: str) -> Rule | None:
        """The rule for taking `action` in `state`, or None when the table does not allow it."""
        return self.rules.get((state, action))

    @staticmethod
    def allows(rule: Rule, role: str | None) -> bool:
        """Whether someone in `role` (a party role, SYSTEM, or None) may trigger `rule`."""
        return role is not None and role in rule.roles

    def actions_for(self, state: str, role: str | None) -> list[str]:
        """The actions someone in `role` may take in `state`, in table order."""
        return [
            action
            for (from_state, action), rule in self.rules.items()
            if from_state == state and self.allows(rule, role)
        ]

    # -- the words ------------------------------------------------------------------------

    @property
    def unknown_action(self) -> str:
        article = "an" if self.noun[:1] in "aeiou" else "a"
        return f"That is not something you can do with {article} {self.noun}."

    @property
    def changed_meanwhile(self) -> str:
        return f"This {self.noun} changed in the meantime. Reload the page and try again."

    def refusal_message(self, state: str, action: str) -> str:
        """Why `action` is not possible in `state`: "not yet" before the first state that
        allows it, "no longer" after it and in a final state."""
        what = self.action_phrases.get(action)
        if what is None:
            return self.unknown_action
        where = self.state(state).phrase or f"is {state}"
        progress = {name: rank for rank, name in enumerate(self.state_names)}
        earliest = min(
            (progress[from_state] for from_state, a in self.rules if a == action),
            default=len(self.states),
        )
        if state not in self.final and progress.get(state, 0) < earliest:
            return f"This {self.noun} {where}, so it cannot be {what} yet."
        return f"This {self.noun} {where}, so it can no longer be {what}."

    def actor_refusal(self, rule: Rule) -> str:
        """Why someone whose role the rule does not allow may not trigger it."""
        if rule.roles == {SYSTEM}:
            return "That step happens automatically; nobody can trigger it by hand."
        named = [f"the {role}" for role in self.roles if role in rule.roles]
        return f"Only {' or '.join(named)} can do that."


@dataclass(frozen=True)
class Step:
    """One step as the kind's hooks see it (the instance already shows the new state)."""

    kind: TransactionKind
    instance: Any
    action: str
    from_state: str
    to_state: str
    actor_id: int | None
    note: str | None
    now: datetime


def advance(
    kind: str,
    subject_id: int,
    action: str,
    actor_id: int | None,
    *,
    note: str | None = None,
    now: datetime | None = None,
):
    """Take `action` on a transaction of `kind` as `actor_id` (None: the system), run its
    follow-on steps and commit. Returns the instance. Raises NotFound (no such instance, not a
    party, an action the machine does not know), InvalidTransition (not in this state, or it
    changed meanwhile), Forbidden (a role the rule does not allow), ValidationFailed (the note).
    """
    registered = get_kind(kind)
    now = now or utcnow()
    instance = registered.load(subject_id, True)
    role = SYSTEM if actor_id is None else registered.role_of(instance, actor_id)
    if instance is None:
        raise NotFound(registered.not_found)
    decide(registered, instance.state, action, role)
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE_LENGTH:
        raise ValidationFailed(
            f"Keep the note under {MAX_NOTE_LENGTH} characters.",
            fields={"note": [f"At most {MAX_NOTE_LENGTH} characters."]},
        )
    step(registered, instance, action, actor_id, note=note, now=now)
    db.session.commit()
    logger.info("%s %s: %s by %s -> %s", kind, subject_id, action, role, instance.state)
    return instance


def decide(registered: TransactionKind, state: str, action: str, role: str | None) -> Rule:
    """The rule someone in `role` (a party role, SYSTEM, None for a stranger) follows taking
    `action` in `state`, or the refusal they read: NotFound for a stranger (never a hint) or an
    action the machine does not know, InvalidTransition ("not yet", "no longer") when the state
    does not allow it, Forbidden for a role the rule does not allow."""
    machine = registered.machine
    if role is None:
        raise NotFound(registered.not_found)
    if action not in machine.actions:
        raise NotFound(machine.unknown_action)
    found = machine.rule_for(state, action)
    if found is None:
        raise InvalidTransition(machine.refusal_message(state, action))
    if not machine.allows(found, role):
        raise Forbidden(machine.actor_refusal(found))
    return found


def available_actions(kind: str, instance, user_id: int | None) -> list[str]:
    """The actions this user may take on the instance now, from its machine (buttons, the
    API's `actions`); [] for a stranger."""
    registered = get_kind(kind)
    role = registered.role_of(instance, user_id)
    return registered.machine.actions_for(instance.state, role) if role else []


def step(
    registered: TransactionKind,
    instance,
    action: str,
    actor_id: int | None = None,
    *,
    note: str | None = None,
    now: datetime | None = None,
) -> None:
    """Apply one allowed step and its follow-on system steps, without committing. For a caller
    that has decided already (`advance`), or a system step inside a unit of work that created
    the instance (a free order skips payment as it is placed)."""
    now = now or utcnow()
    machine = registered.machine
    found = machine.rules[(instance.state, action)]
    _apply(registered, instance, action, found, actor_id, note, now)
    while found.then is not None:
        action = found.then
        found = machine.rules[(instance.state, action)]
        _apply(registered, instance, action, found, None, None, now)


def _apply(registered: TransactionKind, instance, action, found: Rule, actor_id, note, now):
    """Move the instance one step: guarded state change, timestamp, history, event, hooks."""
    machine, model = registered.machine, registered.model
    from_state = instance.state
    values: dict[str, Any] = {"state": found.to, "updated_at": now}
    column = machine.state(found.to).timestamp
    if column and found.to != from_state:  # a step that stays (a first confirmation) stamps none
        values[column] = now
    if note and action in machine.note_columns:
        values[machine.note_columns[action]] = note
    # Guarded by the state we read, so two simultaneous clicks cannot both succeed (SQLite takes
    # no row locks; the loser sees rowcount 0).
    changed = db.session.execute(
        update(model)
        .where(model.id == instance.id, model.state == from_state)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        db.session.rollback()
        raise InvalidTransition(machine.changed_meanwhile)
    # Reload the changed columns from the row instead of writing them a second time.
    db.session.expire(instance, list(values))
    done = Step(registered, instance, action, from_state, found.to, actor_id, note, now)
    if registered.record_history is not None:
        registered.record_history(done)
    record_event(
        f"{registered.name}.{action}",
        subject_kind=registered.name,
        subject_id=instance.id,
        actor_id=actor_id,
        payload=registered.event_payload(instance)
        | {"from_state": from_state, "to_state": found.to, "note": note},
        now=now,
    )
    for hook in registered.after_step:
        hook(done)
    for hook in registered.on_enter.get(found.to, ()):
        hook(done)
