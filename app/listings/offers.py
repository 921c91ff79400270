"""Loan offers: the terms on which a listing is lent, checked before they are stored.

A listing is offered for sale, for loan, or both (Listing.for_sale, Listing.loan_offer). The
terms are money in the listing's currency (integer minor units) and whole days:

    values, errors = check_terms({"fee_per_day_cents": 300, "deposit_cents": 5000, ...}, "USD")

Errors are keyed by the web form's field names (fee_per_day, deposit, ...); the API renames them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.listings.models import Listing, LoanOffer
from app.money import MAX_CENTS, format_money

MAX_LOAN_DAYS = 365  # the longest loan a lender may offer
PICKUP_AREA_MAX = 120
PICKUP_NOTES_MAX = 1000
NOT_OFFERED = "Offer it for sale, for loan, or both."

# Terms a LoanOffer stores, with the value a new offer takes when a term is not given. A missing
# late-fee cap means "up to the whole deposit" when there is a late fee.
TERMS = {
    "fee_per_day_cents": 0,
    "fee_per_week_cents": None,
    "deposit_cents": 0,
    "min_days": 1,
    "max_days": 14,
    "pickup_area": "",
    "pickup_notes": "",
    "late_fee_per_day_cents": 0,
    "late_fee_cap_cents": None,
}
# The web form's name of each term (the service's errors use them).
FIELD_OF = {
    "fee_per_day_cents": "fee_per_day",
    "fee_per_week_cents": "fee_per_week",
    "deposit_cents": "deposit",
    "min_days": "min_days",
    "max_days": "max_days",
    "pickup_area": "pickup_area",
    "pickup_notes": "pickup_notes",
    "late_fee_per_day_cents": "late_fee_per_day",
    "late_fee_cap_cents": "late_fee_cap",
}


def current_terms(offer: LoanOffer | None) -> dict[str, Any]:
    """The terms of an existing offer (the defaults when there is none)."""
    if offer is None:
        return dict(TERMS)
    return {name: getattr(offer, name) for name in TERMS}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_terms(
    given: Mapping[str, Any], currency: str, *, base: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The terms `given` over `base` (an offer's current terms, or the defaults), checked.

    Returns (values for a LoanOffer, errors by form field name)."""
    unknown = set(given) - set(TERMS)
    if unknown:
        raise ValueError(f"loan offers have no terms {sorted(unknown)}")
    terms = {**(dict(base) if base is not None else dict(TERMS)), **given}
    errors: dict[str, list[str]] = {}

    def say(term: str, message: str) -> None:
        errors.setdefault(FIELD_OF[term], []).append(message)

    def money(cents: int) -> str:
        return format_money(cents, currency)

    for term in ("fee_per_day_cents", "deposit_cents", "late_fee_per_day_cents"):
        value = terms[term]
        if value is None:
            terms[term] = 0
        elif not _is_int(value) or value < 0:
            say(term, "Enter an amount of zero or more.")
        elif value > MAX_CENTS:
            say(term, "That amount is too large.")
    for term in ("fee_per_week_cents", "late_fee_cap_cents"):
        value = terms[term]
        if value is not None and (not _is_int(value) or value < 0):
            say(term, "Enter an amount of zero or more, or leave it empty.")
        elif value is not None and value > MAX_CENTS:
            say(term, "That amount is too large.")
    for term in ("min_days", "max_days"):
        value = terms[term]
        if not _is_int(value) or not 1 <= value <= MAX_LOAN_DAYS:
            say(term, f"Enter a whole number of days from 1 to {MAX_LOAN_DAYS}.")
    for term, limit in (("pickup_area", PICKUP_AREA_MAX), ("pickup_notes", PICKUP_NOTES_MAX)):
        value = terms[term]
        if value is not None and not isinstance(value, str):
            say(term, "Enter text.")
            continue
        text = (value or "").strip().replace("\r\n", "\n")
        if term == "pickup_area":
            text = " ".join(text.split())
        if len(text) > limit:
            say(term, f"Use at most {limit} characters (this has {len(text)}).")
        terms[term] = text
    if errors:  # the rules between terms need each term to be a number first
        return terms, errors

    daily, weekly = terms["fee_per_day_cents"], terms["fee_per_week_cents"]
    deposit, late = terms["deposit_cents"], terms["late_fee_per_day_cents"]
    if not terms["pickup_area"]:
        say("pickup_area", "Say where it is picked up, e.g. a neighbourhood or a station.")
    if terms["max_days"] < terms["min_days"]:
        say("max_days", f"Make it at least the shortest loan ({terms['min_days']} days).")
    if weekly is not None:
        if daily == 0:
            say("fee_per_week_cents", "A free loan has no weekly rate: leave it empty.")
        elif weekly == 0 or weekly >= 7 * daily:
            say(
                "fee_per_week_cents",
                f"Make it less than 7 days at the daily fee ({money(7 * daily)}) and more "
                "than zero, or leave it empty.",
            )
        elif terms["max_days"] < 7:
            say(
                "fee_per_week_cents",
                f"Loans last at most {terms['max_days']} days, so a weekly rate would never "
                "apply: leave it empty or allow 7 days or more.",
            )
    cap = terms["late_fee_cap_cents"]
    if late and not deposit:
        say(
            "late_fee_per_day_cents",
            "A late fee is kept from the deposit: ask for a deposit, or set no late fee.",
        )
    elif late > deposit:
        say(
            "late_fee_per_day_cents",
            f"Make it at most the deposit ({money(deposit)}): the late fee is kept from it.",
        )
    elif late:
        if cap is None:
            terms["late_fee_cap_cents"] = cap = deposit
        if cap > deposit:
            say(
                "late_fee_cap_cents",
                f"Make it at most the deposit ({money(deposit)}): the late fee is kept from it.",
            )
        elif cap < late:
            say("late_fee_cap_cents", f"Make it at least one day's late fee ({money(late)}).")
    else:
        if cap:
            say("late_fee_cap_cents", "Set a late fee per day first, or leave the cap empty.")
        terms["late_fee_cap_cents"] = 0
    return terms, errors


def lend(listing: Listing, terms: Mapping[str, Any]) -> LoanOffer:
    """Offer the listing for loan on checked `terms` (a new offer, or the old one switched on)."""
    offer = listing.loan_offer
    if offer is None:
        offer = LoanOffer(**terms, active=True)
        listing.loan_offer = offer
    else:
        for name, value in terms.items():
            setattr(offer, name, value)
        offer.active = True
    return offer


def stop_lending(listing: Listing) -> None:
    """Stop offering the listing for loan; loans already agreed go on, the terms are kept."""
    if listing.loan_offer is not None:
        listing.loan_offer.active = False
