"""Property tests (Hypothesis) of the invariants the issue lists."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reputation import RatingEvent, ReputationEngine, compute

from .conftest import DAY, T0, established

USERS = [f"p{i}" for i in range(6)]
NOW = T0 + DAY

pair_st = st.tuples(st.sampled_from(USERS), st.sampled_from(USERS)).filter(lambda p: p[0] != p[1])
event_st = st.builds(
    lambda pair, **kw: RatingEvent(rater=pair[0], ratee=pair[1], **kw),
    pair_st,
    value=st.sampled_from([-1.0, -0.5, 0.0, 0.1, 0.5, 1.0]),
    time=st.floats(T0 - 500 * DAY, T0, allow_nan=False),
    ratee_role=st.sampled_from([None, "buyer", "seller"]),
    amount_cents=st.sampled_from([None, 0, 300, 20_000]),
    transaction=st.sampled_from([None, "a", "b"]),
)
events_st = st.lists(event_st, max_size=25)
FAST = settings(max_examples=50, deadline=None)


@FAST
@given(events_st)
def test_scores_stay_in_range(events):
    table = compute(events, now=NOW)
    for user in USERS:
        for role in (None, "buyer", "seller"):
            score = table.get(user, role)
            assert 0.0 <= score.trust <= 1.0
            assert 0.0 <= score.confidence < 1.0
            assert score.percent_positive is None or 0.0 <= score.percent_positive <= 100.0
            assert score.positive + score.neutral + score.negative >= abs(score.feedback_score)


@FAST
@given(events_st, st.sampled_from(USERS), st.sampled_from([None, 2_000, 50_000]))
def test_a_positive_from_a_credible_rater_never_lowers_a_score(events, ratee, amount):
    # The credible rater is an established account that has not dealt with the ratee before.
    base = [*established(), *events]
    before = compute(base, now=NOW).get(ratee).trust
    praise = RatingEvent("u0", ratee, 1.0, T0, amount_cents=amount)
    after = compute([*base, praise], now=NOW).get(ratee).trust
    assert after >= before - 1e-12


@FAST
@given(events_st)
def test_batch_and_incremental_agree(events):
    engine = ReputationEngine(events=events)
    table = compute(events, now=NOW)
    for user in USERS:
        for role in (None, "seller"):
            live, batch = engine.score(user, role, now=NOW), table.get(user, role)
            assert live.feedback == batch.feedback
            assert live.trust == pytest.approx(batch.trust, abs=1e-9)


@FAST
@given(events_st, st.randoms(use_true_random=False))
def test_event_order_does_not_change_the_batch_result(events, rnd):
    shuffled = list(events)
    rnd.shuffle(shuffled)
    a, b = compute(events, now=NOW), compute(shuffled, now=NOW)
    for user in USERS:
        sa, sb = a.get(user), b.get(user)
        assert sa.trust == pytest.approx(sb.trust, abs=1e-9)
        assert sa.confidence == pytest.approx(sb.confidence, abs=1e-9)
        assert sa.feedback == sb.feedback
        assert sa.flags == sb.flags
