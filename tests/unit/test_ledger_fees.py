"""The platform fee: basis points rounded half up once, plus a fixed part, within the amount."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.payments.fees import platform_fee_cents


@pytest.mark.parametrize(
    ("amount", "bps", "fixed", "fee"),
    [
        (10_000, 500, 0, 500),  # 5 % of 100.00
        (4_000, 500, 30, 230),
        (10, 500, 0, 1),  # 0.5 cent rounds half up to 1
        (9, 500, 0, 0),  # 0.45 cent rounds down
        (1, 0, 30, 1),  # never more than the amount
        (0, 500, 30, 0),
        (-100, 500, 30, 0),
    ],
)
def test_platform_fee_examples(amount, bps, fixed, fee):
    assert platform_fee_cents(amount, bps, fixed) == fee


@given(
    st.integers(min_value=1, max_value=10**12),
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=0, max_value=10_000),
)
def test_platform_fee_is_decimal_half_up_once_and_bounded(amount, bps, fixed):
    fee = platform_fee_cents(amount, bps, fixed)
    exact = (Decimal(amount) * bps / 10_000).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert fee == min(amount, int(exact) + fixed)
    assert 0 <= fee <= amount
    assert isinstance(fee, int)
