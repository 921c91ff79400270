"""Every registered state machine, exhaustively: every action (and one no machine knows) from
every state by every role, strangers and the system included, gives either the rule's result or
the documented refusal. The tiny lamp-loan kind (tests/lamp_kind.py) runs through the same test
with nothing copied from orders."""

from __future__ import annotations

import itertools
import re
import tempfile
from pathlib import Path

import pytest

from app import create_app
from app.errors import Forbidden, InvalidTransition, NotFound
from app.transactions import registry
from app.transactions.machine import SYSTEM, Machine, State, decide, rule
from config import TestConfig
from tests.lamp_kind import LAMP_KIND

# The kinds the app registers at start, plus the one only the tests know.
create_app(TestConfig, SQLALCHEMY_DATABASE_URI="sqlite://", UPLOAD_DIR=tempfile.mkdtemp())
KINDS = {kind.name: kind for kind in (*registry.kinds(), LAMP_KIND)}
STRANGER = None


def _cases():
    for kind in KINDS.values():
        machine = kind.machine
        roles = (*machine.roles, SYSTEM, STRANGER)
        actions = (*machine.actions, "teleport")
        for state, action, role in itertools.product(machine.state_names, actions, roles):
            yield pytest.param(
                kind.name, state, action, role, id=f"{kind.name}-{state}-{action}-{role}"
            )


def test_orders_are_a_registered_kind():
    assert "order" in {kind.name for kind in registry.kinds()}


@pytest.mark.parametrize(("kind_name", "state", "action", "role"), list(_cases()))
def test_every_action_from_every_state_by_every_role_is_the_rule_or_its_refusal(
    kind_name, state, action, role
):
    kind = KINDS[kind_name]
    machine = kind.machine
    expected = machine.rules.get((state, action))
    if role is STRANGER:
        with pytest.raises(NotFound) as refused:
            decide(kind, state, action, role)
        assert refused.value.message == kind.not_found
    elif action not in machine.actions:
        with pytest.raises(NotFound) as refused:
            decide(kind, state, action, role)
        assert re.fullmatch(
            rf"That is not something you can do with an? {machine.noun}\.", refused.value.message
        )
    elif expected is None:
        with pytest.raises(InvalidTransition) as refused:
            decide(kind, state, action, role)
        message = refused.value.message
        assert message.startswith(f"This {machine.noun} {machine.state(state).phrase}, so it ")
        assert message.endswith(f"be {machine.action_phrases[action]} yet.") or message.endswith(
            f"no longer be {machine.action_phrases[action]}."
        )
        if state in machine.final:
            assert "no longer" in message
    elif role not in expected.roles:
        with pytest.raises(Forbidden) as refused:
            decide(kind, state, action, role)
        message = refused.value.message
        if expected.roles == {SYSTEM}:
            assert message == "That step happens automatically; nobody can trigger it by hand."
        else:
            named = re.fullmatch(r"Only (the \w+(?: or the \w+)*) can do that\.", message)
            assert named is not None
            assert set(named.group(1).replace("the ", "").split(" or ")) == expected.roles
    else:
        assert decide(kind, state, action, role) is expected


@pytest.mark.parametrize("kind_name", sorted(KINDS))
def test_every_machine_is_complete_in_its_words(kind_name):
    machine = KINDS[kind_name].machine
    assert set(machine.action_labels) == set(machine.user_actions)
    assert set(machine.actions) <= set(machine.event_labels)
    assert set(machine.actions) <= set(machine.action_phrases)
    for state in machine.states:
        assert state.label and state.phrase and state.tone
    for (from_state, _action), found in machine.rules.items():
        assert from_state not in machine.final, "a final state has no way out"
        if found.then:
            assert machine.rules[(found.to, found.then)].roles == {SYSTEM}


@pytest.mark.parametrize("kind_name", sorted(KINDS))
def test_available_buttons_are_the_actions_the_role_may_take(kind_name):
    machine = KINDS[kind_name].machine
    for state, role in itertools.product(machine.state_names, machine.roles):
        for action in machine.actions_for(state, role):
            assert decide(KINDS[kind_name], state, action, role) is machine.rules[(state, action)]
        assert not set(machine.actions_for(state, role)) & (
            set(machine.actions) - set(machine.user_actions)
        )


def test_actor_refusals_name_the_allowed_roles_in_the_machine_order():
    machine = KINDS["order"].machine
    assert machine.actor_refusal(rule("paid", "seller", "buyer")) == (
        "Only the buyer or the seller can do that."
    )
    assert machine.actor_refusal(rule("paid", "seller")) == "Only the seller can do that."


@pytest.mark.parametrize(
    "rules",
    [
        {("a", "go"): rule("nowhere", "x")},  # unknown state
        {("a", "go"): rule("b", "stranger")},  # unknown role
        {("a", "go"): rule("b", "x", then="close")},  # a follow-on with no rule
        {("a", "go"): rule("b")},  # nobody may take it
    ],
)
def test_a_machine_with_a_broken_table_is_refused_when_declared(rules):
    with pytest.raises(ValueError):
        Machine(
            noun="thing",
            roles=("x",),
            states=(State("a", "A"), State("b", "B")),
            rules=rules,
            final=frozenset({"b"}),
        )


SITE_CSS = (Path(__file__).resolve().parents[2] / "app" / "static" / "css" / "site.css").read_text()


@pytest.mark.parametrize("kind_name", sorted(KINDS))
def test_every_state_of_every_machine_has_a_badge_colour_for_its_tone(kind_name):
    tones = {state.tone for state in KINDS[kind_name].machine.states}
    missing = sorted(tone for tone in tones if f".badge-tone-{tone} {{" not in SITE_CSS)
    assert not missing, f"{kind_name}: no .badge-tone-* rule in site.css for {missing}"
