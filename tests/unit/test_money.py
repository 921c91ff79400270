"""Money parsing and formatting: integer minor units, never floats."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.money import format_money, parse_money


@pytest.mark.parametrize(
    ("text", "cents"),
    [("12", 1200), ("12.5", 1250), ("$1,234.56", 123456), (" 0.99 ", 99), ("0", 0)],
)
def test_parse_money_reads_common_prices(text, cents):
    assert parse_money(text) == cents


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter a price"),
        ("abc", "as a number"),
        ("-3", "negative"),
        ("1.234", "decimal"),
        ("1e400", "too large"),
        ("nan", "as a number"),
    ],
)
def test_parse_money_explains_bad_input(text, message):
    with pytest.raises(ValueError, match=message):
        parse_money(text)


def test_parse_money_yen_has_no_decimals():
    assert parse_money("1500", "JPY") == 1500
    with pytest.raises(ValueError):
        parse_money("15.5", "JPY")


@pytest.mark.parametrize(
    ("cents", "currency", "text"),
    [
        (123450, "USD", "$1,234.50"),
        (-5, "EUR", "-€0.05"),
        (1500, "JPY", "¥1,500"),
        (100, "SEK", "1.00 SEK"),
    ],
)
def test_format_money(cents, currency, text):
    assert format_money(cents, currency) == text


@given(st.integers(min_value=0, max_value=10**10))
def test_format_then_parse_round_trips(cents):
    assert parse_money(format_money(cents, "USD")) == cents
