from reputation import RatingEvent, ReputationEngine, compute

from .conftest import ev


def test_same_rater_counts_once_per_week():
    events = [ev("a", "s", 1.0, 0), ev("a", "s", 1.0, 1), ev("a", "s", 1.0, 2)]
    score = compute(events).get("s")
    assert score.feedback_score == 1
    assert score.positive == 1


def test_same_rater_counts_again_the_next_week():
    events = [ev("a", "s", 1.0, 0), ev("a", "s", 1.0, 7), ev("b", "s", -1.0, 7)]
    score = compute(events).get("s")
    assert (score.positive, score.negative, score.feedback_score) == (2, 1, 1)


def test_weeks_start_on_monday_utc():
    # T0 is a Monday noon: Sunday (day 6) is the same week, the next Monday (day 7) is not.
    assert compute([ev("a", "s", 1, 0), ev("a", "s", 1, 6)]).get("s").positive == 1
    assert compute([ev("a", "s", 1, 6), ev("a", "s", 1, 7)]).get("s").positive == 2


def test_mixed_week_counts_its_net_sign():
    events = [ev("a", "s", 1.0, 0), ev("a", "s", -1.0, 1), ev("a", "s", -1.0, 2)]
    assert compute(events).get("s").feedback_score == -1
    tied = compute(events[:2]).get("s")
    assert (tied.neutral, tied.feedback_score) == (1, 0)


def test_percent_positive_excludes_neutrals_and_old_ratings():
    events = [
        ev("a", "s", 1.0, 400),
        ev("b", "s", 1.0, 400),
        ev("c", "s", 1.0, 390),
        ev("d", "s", -1.0, 380),
        ev("e", "s", 0.0, 395),
        ev("f", "s", -1.0, 0),  # more than 12 months before day 400
    ]
    score = compute(events).get("s")
    assert score.percent_positive == 75.0
    assert score.feedback_score == 1
    assert [(c.months, c.positive, c.neutral, c.negative) for c in score.counts] == [
        (1, 3, 1, 1),
        (6, 3, 1, 1),
        (12, 3, 1, 1),
    ]


def test_window_counts_over_one_six_and_twelve_months():
    events = [ev("a", "s", 1.0, 400), ev("b", "s", 1.0, 300), ev("c", "s", -1.0, 100)]
    counts = compute(events).get("s").counts
    assert [c.positive for c in counts] == [1, 2, 2]
    assert [c.negative for c in counts] == [0, 0, 1]


def test_no_ratings_means_no_percent():
    table = compute([ev("a", "s", 1.0)])
    assert table.get("a").percent_positive is None
    assert table.get("nobody").percent_positive is None
    assert table.get("nobody").feedback_score == 0


def test_roles_are_counted_separately_and_overall():
    events = [
        ev("a", "s", 1.0, 0, ratee_role="seller"),
        ev("b", "s", -1.0, 0, ratee_role="buyer"),
        ev("c", "s", 1.0, 0, ratee_role="seller"),
    ]
    table = compute(events)
    assert table.get("s", "seller").feedback_score == 2
    assert table.get("s", "buyer").feedback_score == -1
    assert table.get("s").feedback_score == 1
    assert table.get("s", "lender").feedback_score == 0


def test_role_and_overall_deduplicate_per_week_independently():
    events = [
        ev("a", "s", 1.0, 0, ratee_role="seller"),
        ev("a", "s", 1.0, 1, ratee_role="lender"),
    ]
    table = compute(events)
    assert table.get("s").positive == 1
    assert table.get("s", "seller").positive == 1
    assert table.get("s", "lender").positive == 1


def test_revised_rating_of_a_transaction_replaces_the_first():
    events = [
        ev("a", "s", -1.0, 0, transaction="t1"),
        ev("a", "s", 1.0, 10, transaction="t1"),
    ]
    batch = compute(events).get("s")
    assert (batch.positive, batch.negative) == (1, 0)
    engine = ReputationEngine(events=reversed(events))
    assert engine.feedback("s").positive == 1
    assert engine.feedback("s").negative == 0


def test_incremental_feedback_updates_at_once():
    engine = ReputationEngine()
    engine.add(ev("a", "s", 1.0, 0))
    assert engine.feedback("s").feedback_score == 1
    engine.add(ev("b", "s", -1.0, 0))
    engine.add(RatingEvent.from_label("negative", "c", "s", ev("a", "s").time))
    assert engine.feedback("s").feedback_score == -1
    assert engine.score("s").feedback_score == -1
