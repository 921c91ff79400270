from datetime import UTC, datetime, timedelta, timezone

import pytest

from reputation import RatingEvent, parse_value, to_unix


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("positive", 1.0), ("Neutral", 0.0), (" negative ", -1.0), ("0.5", 0.5), (-1, -1.0)],
)
def test_parse_value_accepts_labels_and_unit_numbers(raw, expected):
    assert parse_value(raw) == expected


def test_parse_value_maps_a_stated_scale_onto_minus_one_one():
    assert [parse_value(x, (1, 5)) for x in (1, 3, 5)] == [-1.0, 0.0, 1.0]
    assert parse_value("-10", (-10, 10)) == -1.0


@pytest.mark.parametrize("raw", ["great", "1.5", float("nan")])
def test_parse_value_rejects_out_of_range_or_unknown(raw):
    with pytest.raises(ValueError):
        parse_value(raw)


def test_parse_value_rejects_value_outside_scale():
    with pytest.raises(ValueError):
        parse_value(6, (1, 5))


def test_event_time_is_stored_as_unix_seconds():
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    event = RatingEvent("a", "b", 1.0, moment)
    assert event.time == moment.timestamp()
    other = datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    assert RatingEvent("a", "b", 1.0, other).time == event.time


def test_event_refuses_naive_datetimes_and_self_ratings():
    with pytest.raises(ValueError):
        RatingEvent("a", "b", 1.0, datetime(2024, 1, 1))
    with pytest.raises(ValueError):
        RatingEvent("a", "a", 1.0, 0.0)


def test_event_from_label_and_sign():
    event = RatingEvent.from_label("negative", 1, 2, 10.0, ratee_role="seller")
    assert (event.value, event.sign, event.ratee_role) == (-1.0, -1, "seller")
    assert RatingEvent.from_label("neutral", 1, 2, 10.0).sign == 0


def test_to_unix_reads_iso_and_numbers():
    assert to_unix("1970-01-02T00:00:00Z") == 86_400.0
    assert to_unix("1970-01-02T00:00:00") == 86_400.0
    assert to_unix("86400") == 86_400.0
