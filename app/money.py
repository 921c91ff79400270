"""Money is integer minor units plus an ISO currency code. Parsing and formatting live here."""

from __future__ import annotations

import re
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    InvalidOperation,
    Overflow,
    Underflow,
    localcontext,
)

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$", "JPY": "¥", "CHF": "CHF "}
ZERO_DECIMAL = {"JPY", "KRW"}
MAX_CENTS = 100_000_000_00  # 100 million in major units: a sanity bound for one price


def minor_per_major(currency: str) -> int:
    """How many minor units make one major unit (100 cents in a dollar, 1 for yen)."""
    return 1 if currency.upper() in ZERO_DECIMAL else 100


def format_money(cents: int | None, currency: str = "USD") -> str:
    """'$1,234.50' for (123450, 'USD')."""
    if cents is None:
        return ""
    currency = currency.upper()
    per = minor_per_major(currency)
    sign = "-" if cents < 0 else ""
    major, minor = divmod(abs(cents), per)
    text = f"{major:,}" if per == 1 else f"{major:,}.{minor:02d}"
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


MAX_MONEY_CHARS = 32  # "$100,000,000.00" is 15; longer text is not a price somebody typed
_MONEY_CONTEXT = Context(prec=60, Emax=99, Emin=-99, traps=[InvalidOperation, Overflow, Underflow])


def format_price(cents: int | None, currency: str = "USD") -> str:
    """What something costs, as a buyer reads it: 'Free' for a giveaway, else format_money."""
    if cents == 0:
        return "Free"
    return format_money(cents, currency)


def parse_money(text: str, currency: str = "USD") -> int:
    """Parse '12', '12.5', '$1,234.56' into minor units. Raises ValueError with a clear message.

    Bounded before any arithmetic: at most MAX_MONEY_CHARS characters, a magnitude checked on
    the parsed exponent, and exact arithmetic in a context too wide to round or overflow."""
    cleaned = re.sub(r"[\s,]", "", str(text or ""))
    cleaned = cleaned.lstrip("$€£¥")
    if not cleaned:
        raise ValueError("Enter a price.")
    if len(cleaned) > MAX_MONEY_CHARS:
        raise ValueError("Enter a price as a number, like 12.50.")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError("Enter a price as a number, like 12.50.") from None
    if not amount.is_finite():
        raise ValueError("Enter a price as a number, like 12.50.")
    if amount < 0:
        raise ValueError("The price cannot be negative.")
    per = minor_per_major(currency)
    places = 0 if per == 1 else 2
    if amount and amount.adjusted() > len(str(MAX_CENTS)):
        raise ValueError("That price is too large.")
    if amount.as_tuple().exponent < -MAX_MONEY_CHARS:  # 1e-999999999
        raise ValueError(f"Use at most {places} decimal places.")
    with localcontext(_MONEY_CONTEXT):
        cents = amount * per
        if cents > MAX_CENTS:
            raise ValueError("That price is too large.")
        if cents != cents.to_integral_value():
            raise ValueError(f"Use at most {places} decimal places.")
        return int(cents.quantize(Decimal(1), rounding=ROUND_HALF_UP))
