"""Browse and search by how things are offered: to buy, to borrow, and free on chosen days."""

from __future__ import annotations

import pytest

from app.errors import ValidationFailed
from app.extensions import db
from app.listings import services
from tests.factories import ListingFactory
from tests.integration.loan_offer_support import block, day, lend, lendable


@pytest.fixture
def market(app):
    """A drill for sale, a tent to borrow, a ladder for both, a paused saw to borrow, a kayak
    whose lender stopped lending it, and a sold-out bike that is still lent."""
    drill = ListingFactory(title="Cordless drill", price_cents=6000)
    tent = lendable(title="Family tent", fee_per_day_cents=400, fee_per_week_cents=None)
    ladder = lendable(
        title="Aluminium ladder",
        for_sale=True,
        price_cents=9000,
        fee_per_day_cents=200,
        fee_per_week_cents=None,
    )
    saw = lendable(title="Circular saw")
    saw.status = "paused"
    kayak = lendable(title="Sea kayak")
    kayak.loan_offer.active = False
    bike = lendable(title="Cargo bike", for_sale=True, quantity=0, fee_per_day_cents=0,
                    fee_per_week_cents=None)  # fmt: skip
    db.session.commit()
    return {"drill": drill, "tent": tent, "ladder": ladder, "saw": saw, "kayak": kayak,
            "bike": bike}  # fmt: skip


def _titles(**filters) -> set[str]:
    return {listing.title for listing in services.search_listings(**filters).items}


def test_everything_on_offer_shows_by_default(market):
    assert _titles() == {"Cordless drill", "Family tent", "Aluminium ladder", "Cargo bike"}


def test_to_buy_shows_what_can_be_bought_now(market):
    assert _titles(offer="buy") == {"Cordless drill", "Aluminium ladder"}


def test_to_borrow_shows_what_can_be_borrowed_now(market):
    assert _titles(offer="borrow") == {"Family tent", "Aluminium ladder", "Cargo bike"}


def test_a_price_range_means_the_sale_price_and_in_borrow_mode_the_fee_per_day(market):
    assert _titles(max_price_cents=8000) == {"Cordless drill"}  # lent-only things have no price
    assert _titles(offer="borrow", min_price_cents=100, max_price_cents=300) == {"Aluminium ladder"}
    assert _titles(offer="borrow", max_price_cents=0) == {"Cargo bike"}


def test_price_sorts_put_things_without_a_price_last_and_sort_fees_when_borrowing(market):
    order = [item.title for item in services.search_listings(sort="price_desc").items]
    assert order[:2] == ["Aluminium ladder", "Cordless drill"]
    assert set(order[2:]) == {"Family tent", "Cargo bike"}
    order = [
        item.title for item in services.search_listings(offer="borrow", sort="price_asc").items
    ]
    assert order == ["Cargo bike", "Aluminium ladder", "Family tent"]


def test_available_days_leave_out_things_blocked_or_booked_on_any_of_them(market, bookings):
    block(market["tent"], day(5), day(7))
    bookings.book(market["ladder"], day(9), day(9))
    assert _titles(available_from=day(1), available_to=day(4)) == {
        "Family tent",
        "Aluminium ladder",
        "Cargo bike",
    }
    assert _titles(available_from=day(4), available_to=day(5)) == {"Aluminium ladder", "Cargo bike"}
    assert _titles(available_from=day(8), available_to=day(9)) == {"Family tent", "Cargo bike"}
    assert _titles(available_from=day(7)) == {"Aluminium ladder", "Cargo bike"}  # one day


def test_available_days_also_mean_a_loan_that_long_is_offered(market):
    lend(market["tent"], min_days=3, max_days=5, fee_per_week_cents=None)
    assert "Family tent" not in _titles(available_from=day(1), available_to=day(2))
    assert "Family tent" in _titles(available_from=day(1), available_to=day(3))
    assert "Family tent" not in _titles(available_from=day(1), available_to=day(6))


def test_available_days_imply_borrowing(market):
    assert "Cordless drill" not in _titles(offer="buy", available_from=day(1))


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [(-1, 2, "available_from"), (4, 3, "available_to"), (1, 731, "available_to")],
)
def test_unusable_days_are_refused(market, start, end, field):
    with pytest.raises(ValidationFailed) as caught:
        services.search_listings(available_from=day(start), available_to=day(end))
    assert field in caught.value.fields


def test_an_unknown_offer_is_refused(app):
    with pytest.raises(ValidationFailed) as caught:
        services.search_listings(offer="rent")
    assert "offer" in caught.value.fields


def test_words_and_borrowing_combine(market):
    assert _titles(q="tent", offer="borrow") == {"Family tent"}
    assert _titles(q="tent", offer="buy") == set()


# -- the browse page -------------------------------------------------------------------------


def test_the_browse_page_filters_to_borrow_and_shows_the_fee_on_each_card(client, market):
    page = client.get("/listings?offer=borrow").get_data(as_text=True)
    assert "<h1>Things to borrow</h1>" in page
    assert "For loan · $4.00/day" in page  # the tent, lent only
    assert "Or borrow · $2.00/day" in page  # the ladder, also for sale at $90.00
    assert "$90.00" in page
    assert "Cordless drill" not in page
    assert "Fee per day (USD)" in page


def test_the_browse_page_filters_by_free_days(client, market):
    block(market["tent"], day(2), day(3))
    page = client.get(
        f"/listings?available_from={day(1).isoformat()}&available_to={day(2).isoformat()}"
    ).get_data(as_text=True)
    assert "Family tent" not in page and "Aluminium ladder" in page
    assert "Cordless drill" not in page


def test_the_browse_page_explains_unusable_days_and_still_shows_results(client, market):
    response = client.get(f"/listings?available_from={day(-3).isoformat()}&available_to=soon")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<strong>Available to:</strong> Enter a date like 2026-12-04." in page
    assert "Cordless drill" in page  # the dates were left out, the rest searched
    response = client.get(f"/listings?available_from={day(-3).isoformat()}")
    assert "Pick a day from today on." in response.get_data(as_text=True)
