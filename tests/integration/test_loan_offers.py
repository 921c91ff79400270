"""Listings offered for sale, for loan or both: the loan terms and their rules, changing how a
listing is offered, and orders refusing what is only lent."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.errors import ValidationFailed
from app.extensions import db
from app.listings import offers, services
from app.listings.models import Listing, LoanOffer
from app.money import MAX_CENTS
from app.orders.services import NotForSale, place_order
from tests.factories import ListingFactory, UserFactory
from tests.integration.loan_offer_support import TERMS, lendable


def _create(seller_id: int, **overrides) -> Listing:
    fields = {
        "title": "Four-person tent",
        "description": "Dry and clean.",
        "category_slug": "sports-outdoors",
        "condition": "good",
        "for_sale": False,
        "loan_offer": dict(TERMS),
    }
    fields.update(overrides)
    return services.create_listing(seller_id, **fields)


# -- creating --------------------------------------------------------------------------------


def test_a_listing_only_for_loan_needs_no_price_and_stores_its_terms(app):
    seller = UserFactory()
    listing = _create(seller.id, price_cents=None, quantity=None)
    stored = db.session.get(Listing, listing.id)
    assert stored.for_sale is False and stored.is_lendable and not stored.is_buyable
    assert (stored.price_cents, stored.quantity) == (0, 1)
    offer = db.session.get(LoanOffer, listing.id)
    assert {name: getattr(offer, name) for name in TERMS} == TERMS
    assert offer.active


def test_a_listing_can_be_for_sale_and_for_loan(app):
    listing = _create(UserFactory().id, for_sale=True, price_cents=9000, quantity=1)
    assert listing.is_buyable and listing.is_lendable
    assert listing.price_cents == 9000


def test_a_listing_offered_neither_way_is_refused_and_nothing_is_saved(app):
    with pytest.raises(ValidationFailed) as caught:
        _create(UserFactory().id, for_sale=False, loan_offer=None)
    assert caught.value.fields == {"offer": [offers.NOT_OFFERED]}
    assert db.session.scalar(select(Listing)) is None


def test_a_listing_for_sale_still_needs_a_price(app):
    with pytest.raises(ValidationFailed) as caught:
        _create(UserFactory().id, for_sale=True, price_cents=None, quantity=1)
    assert caught.value.fields["price"] == ["Enter a price."]


def test_a_late_fee_without_a_cap_is_capped_at_the_deposit(app):
    listing = _create(UserFactory().id, loan_offer={**TERMS, "late_fee_cap_cents": None})
    assert listing.loan_offer.late_fee_cap_cents == TERMS["deposit_cents"]


def test_terms_left_out_take_their_defaults(app):
    listing = _create(UserFactory().id, loan_offer={"pickup_area": "Old town"})
    offer = listing.loan_offer
    assert (offer.fee_per_day_cents, offer.fee_per_week_cents, offer.deposit_cents) == (0, None, 0)
    assert (offer.min_days, offer.max_days, offer.late_fee_cap_cents) == (1, 14, 0)


@pytest.mark.parametrize(
    ("terms", "field", "words"),
    [
        (
            {"fee_per_week_cents": 2100},
            "fee_per_week",
            "less than 7 days at the daily fee ($21.00)",
        ),
        ({"fee_per_week_cents": 0}, "fee_per_week", "more than zero"),
        ({"fee_per_day_cents": 0}, "fee_per_week", "A free loan has no weekly rate"),
        ({"max_days": 6}, "fee_per_week", "a weekly rate would never apply"),
        (
            {"min_days": 5, "max_days": 3, "fee_per_week_cents": None},
            "max_days",
            "at least the shortest",
        ),
        ({"min_days": 0}, "min_days", "from 1 to 365"),
        ({"max_days": 366}, "max_days", "from 1 to 365"),
        ({"max_days": 2.5}, "max_days", "whole number"),
        ({"deposit_cents": -1}, "deposit", "zero or more"),
        ({"fee_per_day_cents": MAX_CENTS + 1}, "fee_per_day", "too large"),
        ({"fee_per_day_cents": True}, "fee_per_day", "zero or more"),
        ({"fee_per_day_cents": "300"}, "fee_per_day", "zero or more"),
        ({"deposit_cents": 0}, "late_fee_per_day", "ask for a deposit, or set no late fee"),
        ({"late_fee_cap_cents": 5001}, "late_fee_cap", "at most the deposit ($50.00)"),
        ({"late_fee_cap_cents": 400}, "late_fee_cap", "at least one day's late fee ($5.00)"),
        ({"late_fee_per_day_cents": 5001}, "late_fee_per_day", "at most the deposit ($50.00)"),
        ({"late_fee_per_day_cents": 0}, "late_fee_cap", "Set a late fee per day first"),
        ({"pickup_area": "   "}, "pickup_area", "Say where it is picked up"),
        ({"pickup_area": "x" * 121}, "pickup_area", "at most 120 characters"),
        ({"pickup_notes": "x" * 1001}, "pickup_notes", "at most 1000 characters"),
    ],
)
def test_loan_terms_are_checked_with_a_clear_error(app, terms, field, words):
    with pytest.raises(ValidationFailed) as caught:
        _create(UserFactory().id, loan_offer={**TERMS, **terms})
    assert any(words in message for message in caught.value.fields[field]), caught.value.fields
    assert db.session.scalar(select(Listing)) is None


def test_a_weekly_rate_just_below_seven_days_is_fine_and_priced_by_the_week(app):
    listing = _create(UserFactory().id, loan_offer={**TERMS, "fee_per_week_cents": 2099})
    assert listing.loan_offer.fee_per_week_cents == 2099


def test_unknown_terms_are_a_programming_error(app):
    with pytest.raises(ValueError, match="no terms"):
        offers.check_terms({"colour": "green"}, "USD")


# -- changing --------------------------------------------------------------------------------


def test_a_listing_for_sale_can_also_be_lent_and_then_stop_being_lent(app):
    listing = ListingFactory(price_cents=4000)
    services.update_listing(listing.id, listing.seller_id, loan_offer=dict(TERMS))
    assert db.session.get(Listing, listing.id).is_lendable
    services.update_listing(listing.id, listing.seller_id, loan_offer=None)
    stored = db.session.get(Listing, listing.id)
    assert not stored.is_lendable and stored.is_buyable
    assert stored.loan_offer.fee_per_day_cents == TERMS["fee_per_day_cents"]  # terms kept


def test_changing_some_terms_keeps_the_others(app):
    listing = lendable(deposit_cents=8000)
    services.update_listing(listing.id, listing.seller_id, loan_offer={"max_days": 21})
    offer = db.session.get(LoanOffer, listing.id)
    assert (offer.max_days, offer.deposit_cents) == (21, 8000)


def test_stopping_both_ways_of_offering_is_refused(app):
    listing = lendable()
    with pytest.raises(ValidationFailed) as caught:
        services.update_listing(listing.id, listing.seller_id, loan_offer=None)
    assert "offer" in caught.value.fields
    assert db.session.get(Listing, listing.id).is_lendable


def test_a_listing_only_for_sale_cannot_stop_being_for_sale(app):
    listing = ListingFactory()
    with pytest.raises(ValidationFailed) as caught:
        services.update_listing(listing.id, listing.seller_id, for_sale=False)
    assert "offer" in caught.value.fields


def test_putting_a_lent_thing_up_for_sale_needs_a_price(app):
    listing = lendable()
    with pytest.raises(ValidationFailed) as caught:
        services.update_listing(listing.id, listing.seller_id, for_sale=True)
    assert caught.value.fields["price"] == ["Enter a price to offer it for sale."]
    services.update_listing(listing.id, listing.seller_id, for_sale=True, price_cents=12000)
    stored = db.session.get(Listing, listing.id)
    assert stored.is_buyable and stored.price_cents == 12000


def test_a_listing_lent_only_keeps_its_old_price_out_of_sight(app):
    listing = lendable(for_sale=True, price_cents=4000)
    services.update_listing(listing.id, listing.seller_id, for_sale=False, price_cents=-5)
    stored = db.session.get(Listing, listing.id)
    assert (stored.for_sale, stored.price_cents, stored.is_buyable) == (False, 4000, False)


def test_only_the_owner_changes_the_terms(app):
    from app.errors import Forbidden

    listing = lendable()
    with pytest.raises(Forbidden):
        services.update_listing(listing.id, UserFactory().id, loan_offer={"max_days": 3})
    assert db.session.get(LoanOffer, listing.id).max_days == TERMS["max_days"]


# -- orders ----------------------------------------------------------------------------------


def test_an_order_for_a_listing_only_for_loan_is_refused_with_a_clear_message(app):
    listing = lendable()
    with pytest.raises(NotForSale) as caught:
        place_order(UserFactory().id, listing.id, 1)
    assert caught.value.code == "not_for_sale"
    assert "ask to borrow it instead" in caught.value.message


def test_buying_a_listing_only_for_loan_on_the_web_says_why(app, make_client):
    listing = lendable()
    client = make_client(UserFactory())
    response = client.post(f"/listings/{listing.id}/buy", data={"quantity": "1"})
    assert response.status_code == 303
    page = client.get(f"/listings/{listing.id}").get_data(as_text=True)
    assert "offered for loan only, not for sale" in page
    assert "Buy now" not in page
