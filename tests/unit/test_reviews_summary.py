"""The reputation arithmetic of app.reviews.summary, on plain tuples (no database)."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.reviews.summary import summarize_block, summarize_ratings, week_of

NOW = datetime(2025, 6, 18, 12, 0, tzinfo=UTC)  # a Wednesday
MONDAY = datetime(2025, 6, 16, 0, 0, tzinfo=UTC)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def test_no_ratings_give_zero_score_and_no_percent():
    assert summarize_block([], NOW) == {
        "feedback_score": 0,
        "percent_positive": None,
        "positive": 0,
        "neutral": 0,
        "negative": 0,
    }


def test_score_is_positives_minus_negatives_and_neutral_counts_zero():
    ratings = [
        (1, "positive", days_ago(1), "seller"),
        (2, "positive", days_ago(2), "seller"),
        (3, "neutral", days_ago(3), "seller"),
        (4, "negative", days_ago(4), "seller"),
    ]
    block = summarize_block(ratings, NOW)
    assert block["feedback_score"] == 1
    assert (block["positive"], block["neutral"], block["negative"]) == (2, 1, 1)


def test_percent_positive_ignores_neutral_and_rounds_to_one_decimal():
    ratings = [(n, "positive", days_ago(n), "seller") for n in range(1, 3)]
    ratings += [(10, "negative", days_ago(5), "seller"), (11, "neutral", days_ago(6), "seller")]
    assert summarize_block(ratings, NOW)["percent_positive"] == 66.7


def test_percent_positive_is_none_with_only_neutral_feedback():
    assert summarize_block([(1, "neutral", days_ago(1), "buyer")], NOW)["percent_positive"] is None


def test_same_rater_counts_once_per_week():
    # Wednesday, Thursday and Sunday of the same week: one point, not three.
    week = [MONDAY - timedelta(days=d) for d in (5, 4, 1)]
    ratings = [(7, "positive", moment, "seller") for moment in week]
    block = summarize_block(ratings, NOW)
    assert block["feedback_score"] == 1
    assert block["positive"] == 1


def test_same_rater_counts_again_in_another_week():
    ratings = [
        (7, "positive", MONDAY - timedelta(hours=1), "seller"),  # Sunday night
        (7, "positive", MONDAY + timedelta(hours=1), "seller"),  # Monday morning: a new week
    ]
    assert summarize_block(ratings, NOW)["feedback_score"] == 2


def test_mixed_ratings_from_one_rater_in_a_week_count_as_their_net_sign():
    ratings = [
        (7, "positive", MONDAY + timedelta(hours=1), "seller"),
        (7, "positive", MONDAY + timedelta(hours=2), "seller"),
        (7, "negative", MONDAY + timedelta(hours=3), "seller"),
        (8, "positive", MONDAY + timedelta(hours=1), "seller"),
        (8, "negative", MONDAY + timedelta(hours=2), "seller"),
    ]
    block = summarize_block(ratings, NOW)
    assert block["feedback_score"] == 1
    assert (block["positive"], block["neutral"], block["negative"]) == (1, 1, 0)


def test_different_raters_in_the_same_week_each_count():
    ratings = [(rater, "negative", MONDAY + timedelta(hours=1), "buyer") for rater in (1, 2, 3)]
    assert summarize_block(ratings, NOW)["feedback_score"] == -3


def test_percent_positive_only_looks_at_the_last_twelve_months():
    ratings = [
        (1, "negative", days_ago(400), "seller"),
        (2, "negative", days_ago(366), "seller"),
        (3, "positive", days_ago(364), "seller"),
        (4, "positive", days_ago(10), "seller"),
        (5, "negative", days_ago(10), "seller"),
    ]
    block = summarize_block(ratings, NOW)
    assert block["percent_positive"] == 66.7
    # The score and the counts are all-time.
    assert block["feedback_score"] == -1
    assert block["negative"] == 3


def test_summary_splits_by_role_and_overall_merges_them():
    ratings = [
        (1, "positive", days_ago(1), "seller"),
        (2, "positive", days_ago(1), "seller"),
        (3, "negative", days_ago(1), "buyer"),
    ]
    summary = summarize_ratings(ratings, NOW)
    assert summary["roles"]["seller"]["feedback_score"] == 2
    assert summary["roles"]["buyer"]["feedback_score"] == -1
    assert summary["roles"]["buyer"]["percent_positive"] == 0.0
    assert summary["overall"]["feedback_score"] == 1
    assert summary["overall"]["percent_positive"] == 66.7


def test_one_rater_in_both_roles_in_one_week_counts_once_overall():
    ratings = [
        (1, "positive", MONDAY + timedelta(hours=1), "seller"),
        (1, "positive", MONDAY + timedelta(hours=2), "buyer"),
    ]
    summary = summarize_ratings(ratings, NOW)
    assert summary["roles"]["seller"]["feedback_score"] == 1
    assert summary["roles"]["buyer"]["feedback_score"] == 1
    assert summary["overall"]["feedback_score"] == 1


def test_weeks_run_monday_to_monday_utc():
    assert week_of(MONDAY) == week_of(MONDAY + timedelta(days=6, hours=23))
    assert week_of(MONDAY) == week_of(MONDAY - timedelta(microseconds=1)) + 1


@pytest.mark.parametrize(
    "ratings",
    [
        [(1, "positive", days_ago(1), "seller")],
        [(1, "negative", days_ago(1), "seller")],
    ],
)
def test_percent_is_100_or_0_with_one_decided_rating(ratings):
    expected = 100.0 if ratings[0][1] == "positive" else 0.0
    assert summarize_block(ratings, NOW)["percent_positive"] == expected


rating_tuples = st.lists(
    st.tuples(
        st.integers(1, 6),
        st.sampled_from(["positive", "neutral", "negative"]),
        st.integers(0, 800).map(lambda d: days_ago(d)),
        st.sampled_from(["buyer", "seller"]),
    ),
    max_size=40,
)


@given(rating_tuples)
def test_score_never_moves_more_than_one_point_per_rater_per_week(ratings):
    block = summarize_block(ratings, NOW)
    units = {(rater, week_of(moment)) for rater, _r, moment, _role in ratings}
    assert abs(block["feedback_score"]) <= len(units)
    assert block["positive"] + block["neutral"] + block["negative"] == len(units)
    assert block["feedback_score"] == block["positive"] - block["negative"]
    if block["percent_positive"] is not None:
        assert 0.0 <= block["percent_positive"] <= 100.0
