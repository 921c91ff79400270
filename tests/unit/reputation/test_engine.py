import random

import pytest

from reputation import ReputationEngine, compute

from .conftest import T0, established, ev


def _mixed_events():
    events = list(established())
    rng = random.Random(7)
    users = [f"u{i}" for i in range(6)] + ["s", "t", "new1", "new2"]
    roles = [None, "buyer", "seller", "lender"]
    for k in range(60):
        a, b = rng.sample(users, 2)
        events.append(
            ev(
                a,
                b,
                rng.choice([1.0, 1.0, 0.0, -1.0, 0.5]),
                -rng.uniform(0, 200),
                ratee_role=rng.choice(roles),
                amount_cents=rng.choice([None, 100, 5_000, 90_000]),
                transaction=rng.choice([None, f"tx{k % 20}"]),
            )
        )
    return events


def assert_same(a, b):
    assert a.user == b.user and a.role == b.role
    assert a.trust == pytest.approx(b.trust, abs=1e-9)
    assert a.confidence == pytest.approx(b.confidence, abs=1e-9)
    assert a.feedback == b.feedback
    assert a.flags == b.flags


def test_incremental_and_batch_agree_for_users_and_roles():
    events = _mixed_events()
    engine = ReputationEngine()
    for event in events:
        engine.add(event)
    table = compute(events)
    for user in ["u0", "u3", "s", "t", "new1", "nobody"]:
        assert_same(engine.score(user), table.get(user))
        for role in ["buyer", "seller", "lender", "member"]:
            assert_same(engine.score(user, role), table.get(user, role))


def test_live_feedback_matches_batch_with_an_explicit_now():
    events = _mixed_events()
    engine = ReputationEngine(events=events)
    now = T0 + 10 * 86_400
    table = compute(events, now=now)
    for user in ["u1", "s", "t"]:
        assert engine.feedback(user, now=now) == table.get(user).feedback


def test_scores_are_cached_until_the_next_add(community):
    engine = ReputationEngine(events=community)
    first = engine.scores()
    assert engine.scores() is first
    engine.add(ev("u0", "s", 1.0, 0))
    assert engine.scores() is not first
    assert engine.score("s").positive == 1
    assert len(engine) == len(community) + 1


def test_iterating_a_table_yields_every_user(community):
    table = compute(community)
    assert sorted(s.user for s in table) == [f"u{i}" for i in range(6)]
    assert len(table) == 6
