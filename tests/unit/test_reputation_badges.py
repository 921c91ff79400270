"""Badge rules, confidence words and the trust chart layout: pure functions, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from app.reviews.badges import (
    BADGE_RULES,
    NEW_MEMBER_DAYS,
    RoleStanding,
    confidence_level,
    earned_badges,
    trust_chart,
)

TOP_SELLER = RoleStanding(ratings_12m=5, percent_positive=98.0, trust=0.65, confidence=0.3)
TRUSTED_BUYER = RoleStanding(ratings_12m=5, percent_positive=98.0, trust=0.65, confidence=0.3)
OLD = NEW_MEMBER_DAYS + 1


def keys(badges) -> list[str]:
    return [badge.key for badge in badges]


@pytest.mark.parametrize(
    ("confidence", "level"),
    [
        (0.0, "low"),
        (0.28, "low"),
        (2 / 7, "medium"),  # 2 full ratings of evidence
        (0.61, "medium"),
        (8 / 13, "high"),  # 8 full ratings
        (0.99, "high"),
    ],
)
def test_confidence_level_words(confidence, level):
    assert confidence_level(confidence) == level


def test_a_seller_meeting_every_threshold_is_top_rated():
    assert keys(earned_badges({"seller": TOP_SELLER}, OLD)) == ["top_rated_seller"]


def test_both_role_badges_can_be_earned_together():
    roles = {"seller": TOP_SELLER, "buyer": TRUSTED_BUYER}
    assert keys(earned_badges(roles, OLD)) == ["top_rated_seller", "trusted_buyer"]


@pytest.mark.parametrize(
    "change",
    [
        {"ratings_12m": 4},
        {"percent_positive": 97.9},
        {"percent_positive": None},
        {"trust": 0.64},
        {"confidence": 0.28},
        {"flags": frozenset({"sybil_suspect"})},
        {"flags": frozenset({"praised_by_sybils"})},
        {"flags": frozenset({"collusion_ring"})},
    ],
    ids=[
        "ratings",
        "percent",
        "no-percent",
        "trust",
        "confidence",
        "sybil",
        "sybil-praise",
        "ring",
    ],
)
def test_missing_any_threshold_or_a_warning_flag_loses_the_badge(change):
    assert earned_badges({"seller": replace(TOP_SELLER, **change)}, OLD) == []


def test_a_new_account_flag_alone_does_not_take_a_badge_away():
    standing = replace(TOP_SELLER, flags=frozenset({"new_account"}))
    assert keys(earned_badges({"seller": standing}, OLD)) == ["top_rated_seller"]


def test_a_role_badge_needs_standing_in_its_own_role():
    assert keys(earned_badges({"buyer": TOP_SELLER}, OLD)) == ["trusted_buyer"]


@pytest.mark.parametrize(("age", "is_new"), [(0, True), (29.9, True), (30, False), (400, False)])
def test_new_member_badge_for_accounts_younger_than_30_days(age, is_new):
    assert ("new_member" in keys(earned_badges({}, age))) is is_new


def test_rule_text_states_every_threshold():
    seller = next(rule for rule in BADGE_RULES if rule.key == "top_rated_seller")
    text = seller.rule_text
    for part in ("at least 5 ratings as a seller", "98% positive", "at least 65 out of 100"):
        assert part in text
    assert "medium confidence" in text


def test_the_chart_needs_two_days():
    assert trust_chart([]) is None
    assert trust_chart([(date(2025, 1, 1), 0.6)]) is None


def test_the_chart_spans_the_plot_from_first_to_last_day():
    start = date(2025, 1, 1)
    history = [(start, 0.5), (start + timedelta(days=5), 1.0), (start + timedelta(days=10), 0.0)]
    chart = trust_chart(history, width=320, height=120)
    coords = [tuple(map(float, p.split(","))) for p in chart.points.split()]
    assert coords[0][0] == chart.left
    assert coords[-1][0] == chart.left + chart.plot_width == chart.last_x
    assert coords[1][1] == chart.top  # trust 1.0 at the top
    assert coords[2][1] == chart.top + chart.plot_height  # trust 0.0 at the bottom
    assert (chart.first_value, chart.last_value, chart.low_value, chart.high_value) == (
        50,
        0,
        0,
        100,
    )
    assert chart.days == 10
    assert chart.area.startswith("M") and chart.area.endswith("Z")


def test_the_chart_clamps_values_outside_zero_to_one():
    start = date(2025, 1, 1)
    chart = trust_chart([(start, -0.2), (start + timedelta(days=1), 1.3)])
    ys = [float(p.split(",")[1]) for p in chart.points.split()]
    assert min(ys) >= chart.top and max(ys) <= chart.top + chart.plot_height
