"""The pages of lending on a listing: the sell/edit form with loan terms, the listing page's
terms, calendar and quote, the lender's calendar with block-outs, and who may see what."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.listings.models import Listing, LoanBlockout, LoanOffer
from tests.factories import ListingFactory, UserFactory
from tests.integration.loan_offer_support import block, day, lendable

FORM = {
    "offer": "loan",
    "title": "Four-person tent",
    "description": "Dry and clean.",
    "category": "sports-outdoors",
    "condition": "good",
    "price": "",
    "quantity": "",
    "pricing": "fee",
    "fee_per_day": "4.00",
    "fee_per_week": "20",
    "deposit": "60",
    "min_days": "2",
    "max_days": "14",
    "late_fee_per_day": "5",
    "late_fee_cap": "",
    "pickup_area": "Northside",
    "pickup_notes": "Evenings.",
}


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def errors_in(response) -> list[str]:
    return re.findall(r'<p class="error" id="[^"]+">([^<]+)</p>', text_of(response))


# -- the form --------------------------------------------------------------------------------


def test_the_sell_form_lends_a_tent_with_no_price(app, make_client):
    seller = UserFactory()
    response = make_client(seller).post("/sell", data=FORM)
    assert response.status_code == 303, errors_in(response)
    listing = db.session.scalar(select(Listing))
    offer = db.session.get(LoanOffer, listing.id)
    assert (listing.for_sale, listing.price_cents) == (False, 0)
    assert (offer.fee_per_day_cents, offer.fee_per_week_cents, offer.deposit_cents) == (
        400,
        2000,
        6000,
    )
    assert (offer.min_days, offer.max_days, offer.pickup_area) == (2, 14, "Northside")
    assert (offer.late_fee_per_day_cents, offer.late_fee_cap_cents) == (500, 6000)


def test_free_to_borrow_ignores_the_fee_fields(app, make_client):
    data = dict(FORM, pricing="free", fee_per_day="nonsense", fee_per_week="9")
    response = make_client(UserFactory()).post("/sell", data=data)
    assert response.status_code == 303, errors_in(response)
    offer = db.session.scalar(select(LoanOffer))
    assert (offer.fee_per_day_cents, offer.fee_per_week_cents) == (0, None)


def test_selling_only_ignores_the_loan_fields(app, make_client):
    data = dict(FORM, offer="sale", price="12.50", quantity="1", late_fee_per_day="x")
    response = make_client(UserFactory()).post("/sell", data=data)
    assert response.status_code == 303, errors_in(response)
    listing = db.session.scalar(select(Listing))
    assert listing.for_sale and listing.price_cents == 1250 and listing.loan_offer is None


def test_an_old_sell_form_without_the_offer_field_still_sells(app, make_client):
    data = {k: v for k, v in FORM.items() if k not in ("offer", "pricing")}
    data.update(price="12.50", quantity="1")
    response = make_client(UserFactory()).post("/sell", data=data)
    assert response.status_code == 303, errors_in(response)
    assert db.session.scalar(select(Listing)).for_sale


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"fee_per_day": ""}, "Enter the fee per day."),
        ({"fee_per_day": "four"}, "Enter an amount as a number, like 12.50."),
        ({"fee_per_day": "1.234"}, "Use at most 2 decimal places."),
        ({"fee_per_week": "28"}, "Make it less than 7 days at the daily fee ($28.00)"),
        ({"max_days": "1"}, "Make it at least the shortest loan (2 days)."),
        ({"min_days": "two"}, "Enter a whole number of days, like 3."),
        ({"late_fee_cap": "61"}, "Make it at most the deposit ($60.00)"),
        ({"deposit": "", "late_fee_cap": ""}, "A late fee is kept from the deposit"),
        ({"pickup_area": ""}, "Say where it is picked up"),
        ({"offer": "both"}, "Enter a price."),
        ({"offer": "rent"}, "Choose to sell it, lend it, or both."),
    ],
)
def test_the_sell_form_explains_bad_loan_terms_under_their_fields(
    app, make_client, changes, message
):
    response = make_client(UserFactory()).post("/sell", data=dict(FORM, **changes))
    assert response.status_code == 422
    assert any(message in error for error in errors_in(response)), errors_in(response)
    assert db.session.scalar(select(Listing)) is None


def test_the_edit_form_shows_the_terms_and_can_stop_lending(app, make_client):
    listing = lendable(
        for_sale=True, price_cents=4500, fee_per_day_cents=350, fee_per_week_cents=None
    )
    client = make_client(listing.seller)
    page = text_of(client.get(f"/listings/{listing.id}/edit"))
    assert re.search(r'<input checked[^>]*value="both"', page)
    assert 'value="3.50"' in page and 'value="45.00"' in page
    assert "Open the calendar" in page
    data = dict(FORM, offer="sale", price="45.00", quantity="1", title=listing.title)
    response = client.post(f"/listings/{listing.id}/edit", data=data)
    assert response.status_code == 303, errors_in(response)
    assert not db.session.get(Listing, listing.id).is_lendable


def test_the_edit_form_of_a_lent_only_listing_leaves_the_price_empty(app, make_client):
    listing = lendable()
    page = text_of(make_client(listing.seller).get(f"/listings/{listing.id}/edit"))
    assert re.search(r'id="price"[^>]*value=""', page) or 'name="price" placeholder' in page
    assert re.search(r'<input checked[^>]*value="loan"', page)


# -- the listing page ------------------------------------------------------------------------


def test_the_listing_page_shows_the_terms_and_which_days_are_taken(app, client):
    listing = lendable(fee_per_day_cents=300, fee_per_week_cents=1500, deposit_cents=5000)
    block(listing, day(1), day(1))
    page = text_of(client.get(f"/listings/{listing.id}"))
    assert "Borrow it" in page and "$3.00 a day" in page and "$15.00 a week" in page
    assert "$50.00" in page and "refundable" in page and "1 to 14 days" in page
    assert "$5.00 a day" in page and "at most $20.00, from the deposit" in page
    assert "Northside" in page
    assert page.count('<span class="day-mark">taken</span>') == 1
    assert "Buy now" not in page and "Sold out" not in page
    assert "For loan only" in page
    assert "Deposits are handed over in person" in page  # the manual provider's rule


def test_the_listing_page_quotes_the_chosen_days_before_any_request(app, make_client):
    listing = lendable(fee_per_day_cents=300, fee_per_week_cents=1500, deposit_cents=5000)
    client = make_client(UserFactory())
    url = f"/listings/{listing.id}?start={day(2).isoformat()}&end={day(10).isoformat()}"
    page = text_of(client.get(url))
    quote = page[page.index('class="quote"') :]
    assert "9 days" in quote
    assert "$21.00" in quote  # one week at 15.00 and two days at 3.00
    assert "$50.00" in quote
    assert "You hand the deposit ($50.00) and the fee ($21.00) to the lender" in quote
    assert page.count("day-chosen") == 9
    assert f'action="/listings/{listing.id}/borrow"' in quote
    assert f'name="start" value="{day(2).isoformat()}"' in quote
    assert 'name="message"' in quote and "Ask to borrow it" in quote


def test_the_listing_page_says_when_chosen_days_are_taken_or_not_allowed(app, client, bookings):
    listing = lendable(min_days=2, max_days=5, fee_per_week_cents=None)
    bookings.book(listing, day(4), day(6))
    page = text_of(
        client.get(f"/listings/{listing.id}?start={day(3).isoformat()}&end={day(4).isoformat()}")
    )
    assert "Not free on all those days: taken " + _range(4, 6) in page
    page = text_of(
        client.get(f"/listings/{listing.id}?start={day(3).isoformat()}&end={day(3).isoformat()}")
    )
    assert "The shortest loan is 2 days." in page
    assert 'class="quote"' not in page
    page = text_of(client.get(f"/listings/{listing.id}?start=tomorrow&end={day(3).isoformat()}"))
    assert "Enter a date like 2026-12-04." in page


def _range(a: int, b: int) -> str:
    from app.listings.availability import say_range

    return say_range(day(a), day(b))


def test_anonymous_visitors_are_asked_to_sign_in_to_borrow(app, client):
    listing = lendable()
    page = text_of(
        client.get(f"/listings/{listing.id}?start={day(1).isoformat()}&end={day(2).isoformat()}")
    )
    assert "Sign in to ask to borrow it" in page


def test_the_lender_sees_a_link_to_the_calendar_instead_of_the_days_form(app, make_client):
    listing = lendable()
    page = text_of(make_client(listing.seller).get(f"/listings/{listing.id}"))
    assert "Your loan terms" in page and "Open your calendar" in page
    assert 'class="quote-form"' not in page


@pytest.mark.parametrize("month", ["2000-01", "2999-05", "garbage"])
def test_the_listing_calendar_stays_between_this_month_and_a_year_ahead(app, client, month):
    listing = lendable()
    response = client.get(f"/listings/{listing.id}?month={month}")
    assert response.status_code == 200
    assert "When it is free" in text_of(response)


def test_a_listing_not_lent_has_no_loan_part(app, client):
    listing = ListingFactory()
    page = text_of(client.get(f"/listings/{listing.id}?start={day(1).isoformat()}"))
    assert "Borrow it" not in page and "When it is free" not in page


# -- the lender's calendar -------------------------------------------------------------------


@pytest.mark.parametrize(("who", "status"), [("anonymous", 302), ("stranger", 403), ("owner", 200)])
def test_only_the_lender_sees_the_calendar(app, make_client, who, status):
    listing = lendable()
    block(listing, day(2), day(3), "Our trip")
    user = {"anonymous": None, "stranger": UserFactory(), "owner": listing.seller}[who]
    response = make_client(user).get(f"/listings/{listing.id}/calendar")
    assert response.status_code == status
    assert ("Our trip" in text_of(response)) is (who == "owner")


@pytest.mark.parametrize(("who", "status"), [("stranger", 403), ("anonymous", 302)])
def test_only_the_lender_adds_or_removes_block_outs(app, make_client, who, status):
    listing = lendable()
    kept = block(listing, day(5), day(6))
    client = make_client(UserFactory() if who == "stranger" else None)
    data = {"starts_on": day(1).isoformat(), "ends_on": day(2).isoformat()}
    assert client.post(f"/listings/{listing.id}/blockouts", data=data).status_code == status
    assert client.post(f"/listings/{listing.id}/blockouts/{kept.id}/delete").status_code == status
    assert db.session.scalars(select(LoanBlockout.id)).all() == [kept.id]


def test_the_calendar_of_a_listing_not_lent_says_how_to_lend_it(app, make_client):
    listing = ListingFactory()
    response = make_client(listing.seller).get(f"/listings/{listing.id}/calendar")
    assert response.status_code == 409
    assert "Offer this listing for loan first" in text_of(response)


def test_the_lender_blocks_out_days_and_removes_them(app, make_client, bookings):
    listing = lendable()
    bookings.book(listing, day(20), day(22))
    client = make_client(listing.seller)
    data = {"starts_on": day(3).isoformat(), "ends_on": day(4).isoformat(), "note": "Camping"}
    response = client.post(f"/listings/{listing.id}/blockouts", data=data)
    assert response.status_code == 303
    page = text_of(client.get(response.headers["Location"]))
    assert "Blocked out " + _range(3, 4) in page
    assert "Camping" in page
    assert '<span class="day-mark">blocked</span>' in page
    assert '<span class="day-mark">booked</span>' in page
    blockout = db.session.scalar(select(LoanBlockout))
    response = client.post(f"/listings/{listing.id}/blockouts/{blockout.id}/delete")
    assert response.status_code == 303
    assert db.session.scalar(select(LoanBlockout)) is None


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (-2, 1, "Pick a day from today on: past days cannot be blocked out."),
        (5, 4, "Pick a last day on or after the first day."),
        (9, 10, "Those days overlap your block-out of"),
        (20, 21, "It is lent on some of those days"),
    ],
)
def test_the_calendar_explains_refused_block_outs(app, make_client, bookings, start, end, message):
    listing = lendable()
    block(listing, day(8), day(9))
    bookings.book(listing, day(21), day(23))
    client = make_client(listing.seller)
    data = {"starts_on": day(start).isoformat(), "ends_on": day(end).isoformat()}
    response = client.post(f"/listings/{listing.id}/blockouts", data=data)
    assert response.status_code == 422
    assert message in text_of(response)
    assert len(db.session.scalars(select(LoanBlockout)).all()) == 1


def test_my_listings_shows_what_is_lent_with_a_calendar_link(app, make_client):
    listing = lendable(fee_per_day_cents=250, fee_per_week_cents=None)
    page = text_of(make_client(listing.seller).get("/my/listings"))
    assert "For loan · $2.50 a day" in page
    assert f"/listings/{listing.id}/calendar" in page
