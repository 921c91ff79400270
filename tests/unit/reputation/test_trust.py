"""One test per rule of the trust score (issue 4, point 2)."""

from dataclasses import replace

import pytest

from reputation import (
    FLAG_NEW,
    FLAG_RING,
    FLAG_SYBIL,
    FLAG_SYBIL_PRAISE,
    EngineConfig,
    compute,
)

from .conftest import T0, established, ev


def test_trust_and_confidence_are_in_range_and_grow_with_evidence(community):
    few = compute([*community, ev("u0", "s", 1.0, 0)]).get("s")
    many = compute([*community, *(ev(f"u{i}", "s", 1.0, 0) for i in range(6))]).get("s")
    assert 0.5 < few.trust < many.trust <= 1.0
    assert 0.0 < few.confidence < many.confidence < 1.0


def test_unrated_user_gets_cautious_newcomer_trust(community):
    table = compute(community)
    nobody = table.get("nobody")
    assert nobody.trust == pytest.approx(0.5)
    assert nobody.confidence == 0.0
    assert FLAG_NEW in nobody.flags


def test_negative_ratings_lower_trust(community):
    table = compute([*community, *(ev(f"u{i}", "s", -1.0, 0) for i in range(4))])
    assert table.get("s").trust < 0.3


def test_a_old_ratings_count_less_than_recent_ones(community):
    old_bad = [ev(f"u{i}", "s", -1.0, -700) for i in range(3)] + [
        ev(f"u{i}", "s", 1.0, 0) for i in range(3, 6)
    ]
    recent_bad = [ev(f"u{i}", "s", -1.0, 0) for i in range(3)] + [
        ev(f"u{i}", "s", 1.0, -700) for i in range(3, 6)
    ]
    assert compute([*community, *old_bad]).get("s").trust > 0.5
    assert compute([*community, *recent_bad]).get("s").trust < 0.4


def test_a_an_old_fraud_still_warns_through_the_lifetime_half(community):
    panned = [ev(f"u{i}", "t", -1.0, -365) for i in range(3)]
    table = compute([*community, *panned], now=T0)
    t = table.get("t")
    # No recent ratings: the recent half rests at 50, the lifetime half still says "fraud".
    assert t.trust < 0.4
    lifetime = table.overall.t_life[table.user_index["t"]]
    assert t.trust == pytest.approx(0.5 + 0.5 * (lifetime - 0.5), abs=0.005)


def test_a_a_good_month_after_a_fraud_does_not_wash_it_out(community):
    panned = [ev(f"u{i}", "t", -1.0, -365) for i in range(3)]
    good_month = [ev(f"u{i}", "t", 1.0, -10) for i in range(3, 6)]
    t = compute([*community, *panned, *good_month], now=T0).get("t")
    fresh = compute([*community, *good_month], now=T0).get("t")
    assert t.trust < fresh.trust - 0.1


def test_a_half_life_is_configurable(community):
    events = [*community, *(ev(f"u{i}", "s", 1.0, -365) for i in range(6)), ev("x", "y", 1, 0)]
    short = compute(events, EngineConfig(half_life_days=30)).get("s")
    long = compute(events, EngineConfig(half_life_days=3650)).get("s")
    # Confidence is the lifetime evidence; the half-life only says how recent "recent" is.
    assert short.confidence == pytest.approx(long.confidence)
    assert short.trust < long.trust


def test_b_unfair_rater_counts_less_than_a_fair_one():
    honest = established()
    # u1..u5 praise three sellers; u0 pans them all, then u0 and u1 disagree about s.
    sellers = [ev(f"u{i}", f"t{j}", 1.0, -10) for i in range(1, 6) for j in range(3)]
    unfair = [ev("u0", f"t{j}", -1.0, -10) for j in range(3)]
    table = compute([*honest, *sellers, *unfair, ev("u0", "s", -1.0, 0), ev("u1", "s", 1.0, 0)])
    assert table.fairness[table.user_index["u0"]] < table.fairness[table.user_index["u1"]]
    assert table.credibility[table.user_index["u0"]] < table.credibility[table.user_index["u1"]]
    assert table.get("s").trust > 0.5


def test_b_rater_praised_by_credible_accounts_has_more_credibility():
    table = compute([*established(), ev("u0", "w", 1.0, -300), ev("z", "x", 1.0, -300)])
    assert table.standing[table.user_index["w"]] > table.standing[table.user_index["z"]]


def test_c_many_tiny_transactions_weigh_less_than_one_big_one(community):
    tiny = [ev(f"u{i}", "s", 1.0, 0, amount_cents=50) for i in range(6)]
    big = [ev(f"u{i}", "t", 1.0, 0, amount_cents=50_000) for i in range(2)]
    table = compute([*community, *tiny, *big])
    assert table.get("s").confidence < table.get("t").confidence


def test_c_one_rater_repeating_praise_counts_as_one_pair(community):
    repeat = [ev("u0", "s", 1.0, -d) for d in range(0, 60, 7)]
    once = [ev("u0", "t", 1.0, 0)]
    table = compute([*community, *repeat, *once])
    assert table.get("s").trust == pytest.approx(table.get("t").trust, abs=1e-3)
    assert table.get("s").feedback_score == 9


def test_d_reciprocal_praise_is_discounted(community):
    mutual = [ev("u0", "s", 1.0, 0), ev("s", "u0", 1.0, 0)]
    one_way = [ev("u1", "t", 1.0, 0)]
    # Off by default (two-way feedback is normal); a marketplace can switch it on.
    table = compute([*community, *mutual, *one_way], EngineConfig(reciprocal_discount=0.5))
    assert table.get("s").confidence < table.get("t").confidence


def test_d_dense_mutual_praise_cluster_is_flagged_and_discounted(community):
    ring = [f"r{i}" for i in range(6)]
    # An aged ring praising each other, vouched for by one honest user.
    events = [*community, ev("u0", "r0", 1.0, -200)]
    events += [ev(a, b, 1.0, -150) for a in ring for b in ring if a != b]
    table = compute(events)
    score = table.get("r1")
    assert FLAG_RING in score.flags
    plain = compute(events, EngineConfig(cluster_penalty=0.0, reciprocal_discount=1.0))
    assert score.confidence < plain.get("r1").confidence


def test_d_retaliation_is_discounted(community):
    events = [*community, ev("u0", "s", -1.0, -5), ev("s", "u0", -1.0, -4)]
    first = compute(events).get("u0")
    no_rule = compute(events, EngineConfig(retaliation_discount=1.0)).get("u0")
    assert first.trust > no_rule.trust


def test_e_new_accounts_cannot_stuff_a_ballot(community):
    target = [ev("u0", "s", -1.0, -100), ev("u1", "s", -1.0, -90)]
    before = compute([*community, *target], now=T0).get("s")
    sybils = [f"sybil{i}" for i in range(30)]
    stuffing = [ev(x, "s", 1.0, 0) for x in sybils]
    stuffing += [ev(a, b, 1.0, 0) for a in sybils for b in sybils if a != b]
    table = compute([*community, *target, *stuffing], now=T0)
    after = table.get("s")
    assert after.trust == pytest.approx(before.trust, abs=0.01)
    assert after.feedback_score > 20  # the plain eBay score is fooled, trust is not
    assert FLAG_SYBIL in table.get("sybil3").flags
    assert FLAG_SYBIL_PRAISE in after.flags


def test_e_a_farm_of_month_old_accounts_cannot_lift_a_scammer(community):
    # Accounts three to four weeks old are nearly mature, but they only ever dealt with each
    # other: suspected Sybils, so their praise carries no weight.
    target = [ev("u0", "s", -1.0, -100), ev("u1", "s", -1.0, -90)]
    before = compute([*community, *target], now=T0).get("s")
    farm = [f"farm{i}" for i in range(20)]
    praise = [ev(a, b, 1.0, -25 + k % 5) for k, a in enumerate(farm) for b in farm[k + 1 : k + 6]]
    praise += [ev(a, "s", 1.0, -2) for a in farm]
    table = compute([*community, *target, *praise], now=T0)
    assert FLAG_SYBIL in table.get("farm3").flags
    assert table.get("s").trust == pytest.approx(before.trust, abs=0.01)


def test_e_new_accounts_cannot_bad_mouth(community):
    good = [ev(f"u{i}", "s", 1.0, -50) for i in range(6)]
    before = compute([*community, *good], now=T0).get("s")
    mouth = [ev(f"new{i}", "s", -1.0, 0) for i in range(30)]
    after = compute([*community, *good, *mouth], now=T0).get("s")
    assert after.trust == pytest.approx(before.trust, abs=0.01)


def test_e_accounts_mature_over_time(community):
    events = [*community, *(ev("fresh", x, 1.0, 0) for x in ("s", "t", "w"))]
    young = compute(events).get("s")
    older = compute(events, now=events[-1].time + 40 * 86_400).get("s")
    assert young.trust == pytest.approx(0.5, abs=0.01)
    assert older.trust > young.trust + 0.03


def test_explanation_lists_the_main_factors(community):
    score = compute([*community, *(ev(f"u{i}", "s", 1.0, 0) for i in range(3))]).get("s")
    names = [f.name for f in score.explanation]
    steps = ["ratings received", "who rated", "amount of evidence", "recent conduct"]
    assert names[:4] == steps
    impacts = sum(f.impact for f in score.explanation)
    assert 0.5 + impacts == pytest.approx(score.trust)
    assert all(f.description for f in score.explanation)


def test_explanation_quotes_the_running_score_at_each_step_in_points(community):
    score = compute([*community, *(ev(f"u{i}", "s", 1.0, 0) for i in range(3))]).get("s")
    running = 0.5
    for factor in score.explanation[:4]:
        running += factor.impact
        assert f"{round(running * 100)} out of 100" in factor.description
    assert "3 ratings received (3 positive)" in score.explanation[0].description
    assert "plain average" not in " ".join(f.description for f in score.explanation)
    # Unanimous praise: weighing the raters moves nothing, and the text says so.
    who = score.explanation[1]
    assert round(who.impact * 100) == 0 and "the ratings agree" in who.description


def test_role_trust_uses_only_ratings_in_that_role(community):
    events = [
        *community,
        *(ev(f"u{i}", "s", 1.0, 0, ratee_role="seller") for i in range(4)),
        *(ev(f"u{i}", "s", -1.0, 0, ratee_role="buyer") for i in range(4, 6)),
    ]
    table = compute(events)
    assert table.get("s", "seller").trust > table.get("s").trust > table.get("s", "buyer").trust
    assert table.get("s", "lender").trust == pytest.approx(0.5)


def test_events_after_now_are_ignored(community):
    late = ev("u0", "s", -1.0, 10)
    table = compute([*community, ev("u1", "s", 1.0, 0), late], now=late.time - 86_400)
    assert table.get("s").negative == 0


def test_config_rejects_nonsense():
    with pytest.raises(ValueError):
        EngineConfig(half_life_days=0)
    with pytest.raises(ValueError):
        replace(EngineConfig(), prior_goodness=2.0)
