"""The platform fee: the one place it is computed and rounded."""

from __future__ import annotations


def platform_fee_cents(amount_cents: int, fee_bps: int, fixed_cents: int) -> int:
    """The fee on an amount: `fee_bps` basis points rounded half up once, plus a fixed part,
    never more than the amount itself and never negative."""
    if amount_cents <= 0:
        return 0
    # Integer half-up rounding: (a * bps + 5000) // 10000, no float ever.
    percent_part = (amount_cents * max(fee_bps, 0) + 5_000) // 10_000
    return max(0, min(amount_cents, percent_part + max(fixed_cents, 0)))
