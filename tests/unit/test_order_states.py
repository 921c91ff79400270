"""The order state machine table, without a database."""

import itertools

import pytest

from app.orders import states
from app.orders.states import TRANSITIONS
from app.transactions.machine import rule as make_rule

EITHER = {"buyer", "seller"}
ALLOWED = {
    ("pending_payment", "mark_paid"): ("paid", {"seller"}),
    ("pending_payment", "payment_received"): ("paid", {"system"}),  # card payments (app.payments)
    ("pending_payment", "nothing_to_pay"): ("paid", {"system"}),  # free items skip payment
    ("pending_payment", "cancel"): ("cancelled", EITHER),
    ("paid", "cancel"): ("cancelled", EITHER),
    ("paid", "ship"): ("shipped", {"seller"}),
    ("shipped", "confirm_delivery"): ("delivered", {"buyer"}),
    ("delivered", "complete"): ("completed", {"system"}),
    ("shipped", "auto_complete"): ("completed", {"system"}),
    ("delivered", "auto_complete"): ("completed", {"system"}),
    ("paid", "dispute"): ("disputed", EITHER),  # a dispute (app/disputes) while money is held
    ("shipped", "dispute"): ("disputed", EITHER),
    ("disputed", "resolve"): ("resolved", {"system"}),  # a moderator's decision
    ("paid", "settle"): ("resolved", {"system"}),  # a refund both sides agreed on
    ("shipped", "settle"): ("resolved", {"system"}),
    # After completion, within REFUND_WINDOW_DAYS: the buyer disputes, or a refund is agreed.
    ("completed", "dispute"): ("disputed", {"buyer"}),
    ("completed", "settle"): ("resolved", {"system"}),
}

FORBIDDEN = sorted(set(itertools.product(states.STATES, states.ACTIONS)) - set(ALLOWED))


@pytest.mark.parametrize(("key", "expected"), sorted(ALLOWED.items(), key=lambda item: item[0]))
def test_table_allows_exactly_the_designed_transitions(key, expected):
    rule = states.rule_for(*key)
    assert rule is not None
    assert (rule.to, rule.roles) == expected


def test_table_has_no_transition_beyond_the_design():
    assert set(TRANSITIONS) == set(ALLOWED)


@pytest.mark.parametrize(("state", "action"), FORBIDDEN)
def test_every_other_state_and_action_pair_is_refused_with_a_sentence(state, action):
    assert states.rule_for(state, action) is None
    message = states.refusal_message(state, action)
    assert message.startswith("This order ")
    assert message.endswith(".")


def test_final_states_have_no_way_out():
    for state in states.FINAL_STATES:
        assert not [key for key in TRANSITIONS if key[0] == state]


def test_every_rule_leads_to_a_known_state_and_names_a_known_actor():
    for rule in TRANSITIONS.values():
        assert rule.to in states.STATES
        assert rule.roles <= {"buyer", "seller", "system"}
        if rule.then:
            assert (rule.to, rule.then) in TRANSITIONS


def test_confirm_delivery_is_followed_by_a_system_completion():
    rule = states.rule_for("shipped", "confirm_delivery")
    assert rule.then == "complete"
    follow_up = states.rule_for(rule.to, rule.then)
    assert (follow_up.to, follow_up.roles) == ("completed", {"system"})


def test_cancelling_a_shipped_order_explains_why_not():
    assert (
        states.refusal_message("shipped", "cancel")
        == "This order has already shipped, so it can no longer be cancelled."
    )


def test_shipping_before_payment_says_not_yet():
    assert (
        states.refusal_message("pending_payment", "ship")
        == "This order is still waiting for payment, so it cannot be marked as shipped yet."
    )


def test_paying_a_cancelled_order_says_no_longer():
    assert "can no longer be marked as paid" in states.refusal_message("cancelled", "mark_paid")


@pytest.mark.parametrize(
    ("actor", "role", "allowed"),
    [
        (("buyer",), "buyer", True),
        (("buyer",), "seller", False),
        (("buyer",), "system", False),
        (("seller",), "seller", True),
        (("seller",), "buyer", False),
        (("seller",), "system", False),
        (("buyer", "seller"), "buyer", True),
        (("buyer", "seller"), "seller", True),
        (("buyer", "seller"), "system", False),
        (("buyer", "seller"), None, False),
        (("system",), "system", True),
        (("system",), "buyer", False),
        (("system",), "seller", False),
        (("seller",), None, False),
    ],
)
def test_actor_check(actor, role, allowed):
    assert states.is_allowed_actor(make_rule("paid", *actor), role) is allowed


@pytest.mark.parametrize(
    ("state", "role", "expected"),
    [
        ("pending_payment", "seller", ["mark_paid", "cancel"]),
        ("pending_payment", "buyer", ["cancel"]),
        ("paid", "seller", ["cancel", "ship", "dispute"]),
        ("paid", "buyer", ["cancel", "dispute"]),
        ("shipped", "buyer", ["confirm_delivery", "dispute"]),
        ("shipped", "seller", ["dispute"]),
        ("delivered", "buyer", []),
        ("completed", "buyer", ["dispute"]),
        ("completed", "seller", []),
        ("cancelled", "seller", []),
        ("pending_payment", None, []),
        ("shipped", "system", ["auto_complete", "settle"]),
    ],
)
def test_actions_for_gives_each_party_its_buttons(state, role, expected):
    assert states.actions_for(state, role) == expected


def test_every_user_action_has_a_button_label():
    user_actions = {a for (_, a), r in TRANSITIONS.items() if r.roles != {"system"}}
    assert user_actions == set(states.ACTION_LABELS)


def test_every_action_has_a_timeline_label():
    assert set(states.ACTIONS) <= set(states.EVENT_LABELS)


@pytest.mark.parametrize("state", states.STATES)
@pytest.mark.parametrize("role", ["buyer", "seller"])
def test_every_state_tells_each_party_what_happens_next(state, role):
    assert states.next_step(state, role)


def test_state_with_a_timestamp_column_for_every_state_but_the_first():
    assert set(states.TIMESTAMP_COLUMNS) == set(states.STATES) - {"pending_payment"}
