"""Which days a lendable listing is taken (block-outs plus every registered busy source), the
lender's block-outs, the month grids, and the quote for chosen days."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.errors import Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.listings import availability, calendar, pricing
from app.listings.models import Listing, LoanBlockout
from tests.factories import ListingFactory, UserFactory
from tests.integration.loan_offer_support import (
    TERMS,
    block,
    day,
    lend,
    lendable,
)

# -- the seam ----------------------------------------------------------------------------------


def test_busy_ranges_join_block_outs_and_every_source_in_date_order(app, bookings):
    listing, other = lendable(), lendable()
    block(listing, day(10), day(12), "Holiday")
    bookings.book(listing, day(3), day(5))
    bookings.book(other, day(6), day(7))
    found = calendar.busy_ranges(listing.id, day(0), day(30))
    assert found == [
        calendar.Busy(day(3), day(5), calendar.BOOKED),
        calendar.Busy(day(10), day(12), calendar.BLOCKED),
    ]
    assert calendar.busy_ranges(listing.id, day(6), day(9)) == []


def test_a_range_touching_the_window_on_either_end_counts_and_is_not_clipped(app, bookings):
    listing = lendable()
    block(listing, day(1), day(4))
    bookings.book(listing, day(9), day(20))
    assert [b.starts_on for b in calendar.busy_ranges(listing.id, day(4), day(9))] == [
        day(1),
        day(9),
    ]
    assert calendar.is_free(listing.id, day(5), day(8))
    assert not calendar.is_free(listing.id, day(4), day(4))
    assert not calendar.is_free(listing.id, day(9), day(9))


def test_busy_listing_ids_is_one_subquery_over_block_outs_and_sources(app, bookings):
    blocked, booked, free = lendable(), lendable(), lendable()
    block(blocked, day(2), day(2))
    bookings.book(booked, day(4), day(6))
    ids = set(
        db.session.scalars(
            select(Listing.id).where(Listing.id.in_(calendar.busy_listing_ids(day(0), day(10))))
        )
    )
    assert ids == {blocked.id, booked.id}
    ids = set(
        db.session.scalars(
            select(Listing.id).where(Listing.id.in_(calendar.busy_listing_ids(day(3), day(3))))
        )
    )
    assert ids == set()
    assert free.id not in ids


def test_an_unregistered_source_is_forgotten(app):
    listing = lendable()
    calendar.register_busy_source(
        "everything",
        ranges=lambda lid, s, e: [calendar.Busy(s, e, calendar.BOOKED)],
        listing_ids=lambda s, e: select(Listing.id),
    )
    try:
        assert not calendar.is_free(listing.id, day(1), day(2))
        assert "everything" in calendar.busy_sources()
    finally:
        calendar.unregister_busy_source("everything")
    assert calendar.is_free(listing.id, day(1), day(2))


def test_month_grids_mark_each_day_past_free_blocked_or_booked(app, bookings):
    listing = lendable()
    on = date(2027, 3, 10)
    block(listing, date(2027, 3, 14), date(2027, 3, 16))
    bookings.book(listing, date(2027, 3, 16), date(2027, 4, 2))  # overlaps the block-out's last day
    march, april = calendar.months(listing.id, date(2027, 3, 20), 2, on=on)
    assert (march.title, april.title, march.key) == ("March 2027", "April 2027", "2027-03")
    days = {d.on: d for week in march.weeks + april.weeks for d in week if d}
    assert len(days) == 31 + 30
    assert days[date(2027, 3, 9)].status == "past"
    assert days[date(2027, 3, 10)].is_today and days[date(2027, 3, 10)].status == "free"
    assert days[date(2027, 3, 14)].status == "blocked"
    assert days[date(2027, 3, 16)].status == "booked"  # a booking says more than a block-out
    assert days[date(2027, 4, 2)].status == "booked" and days[date(2027, 4, 3)].status == "free"
    assert march.weeks[0][0].on == date(2027, 3, 1)  # a Monday: the first cell
    assert april.weeks[0][:3] == [None, None, None] and april.weeks[0][3].on == date(2027, 4, 1)
    assert all(len(week) == 7 for week in march.weeks + april.weeks)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2027-02", date(2027, 2, 1)), ("2027-13", None), ("x", None), ("", None), ("0-1", None)],
)
def test_a_month_in_the_address_is_read_or_ignored(text, expected):
    default = date(2026, 1, 1)
    assert calendar.parse_month(text, default) == (expected or default)


# -- block-outs --------------------------------------------------------------------------------


def test_the_lender_blocks_out_days_and_removes_them_again(app):
    listing = lendable()
    blockout = availability.add_blockout(listing.id, listing.seller_id, day(3), day(5), "  Trip  ")
    assert (blockout.starts_on, blockout.ends_on, blockout.note) == (day(3), day(5), "Trip")
    assert not calendar.is_free(listing.id, day(5), day(6))
    assert [b.id for b in availability.blockouts_of(listing.id, listing.seller_id)] == [blockout.id]
    availability.remove_blockout(listing.id, blockout.id, listing.seller_id)
    assert calendar.is_free(listing.id, day(0), day(30))


def test_block_outs_already_over_are_not_listed(app):
    listing = lendable()
    block(listing, day(-5), day(-1))
    current = block(listing, day(-1), day(2))
    assert [b.id for b in availability.blockouts_of(listing.id, listing.seller_id)] == [current.id]


@pytest.mark.parametrize(
    ("start", "end", "note", "field", "words"),
    [
        (-1, 2, "", "starts_on", "past days cannot be blocked out"),
        (5, 4, "", "ends_on", "on or after the first day"),
        (5, 731, "", "ends_on", "at most two years ahead"),
        (None, 4, "", "starts_on", "Pick the first day"),
        (1, None, "", "ends_on", "Pick the last day"),
        (1, 2, "x" * 121, "note", "at most 120 characters"),
    ],
)
def test_block_outs_with_unusable_days_are_refused(app, start, end, note, field, words):
    listing = lendable()
    with pytest.raises(ValidationFailed) as caught:
        availability.add_blockout(
            listing.id,
            listing.seller_id,
            None if start is None else day(start),
            None if end is None else day(end),
            note,
        )
    assert words in caught.value.fields[field][0]
    assert db.session.scalar(select(LoanBlockout)) is None


def test_a_block_out_of_today_only_is_fine(app):
    listing = lendable()
    assert availability.add_blockout(listing.id, listing.seller_id, day(0), day(0)).id


def test_overlapping_block_outs_are_refused_and_adjacent_ones_are_fine(app):
    listing = lendable()
    availability.add_blockout(listing.id, listing.seller_id, day(3), day(5))
    with pytest.raises(availability.BlockoutOverlaps) as caught:
        availability.add_blockout(listing.id, listing.seller_id, day(5), day(8))
    assert caught.value.code == "blockout_overlaps" and caught.value.status == 409
    assert "remove it first" in caught.value.message
    availability.add_blockout(listing.id, listing.seller_id, day(6), day(8))
    assert len(db.session.scalars(select(LoanBlockout)).all()) == 2


def test_booked_days_cannot_be_blocked_out(app, bookings):
    listing = lendable()
    bookings.book(listing, day(4), day(6))
    with pytest.raises(availability.DatesBooked) as caught:
        availability.add_blockout(listing.id, listing.seller_id, day(1), day(4))
    assert caught.value.code == "dates_booked"
    assert availability.say_range(day(4), day(6)) in caught.value.message


def test_only_the_owner_blocks_out_or_removes_days(app):
    listing = lendable()
    stranger = UserFactory()
    with pytest.raises(Forbidden):
        availability.add_blockout(listing.id, stranger.id, day(1), day(2))
    blockout = availability.add_blockout(listing.id, listing.seller_id, day(1), day(2))
    with pytest.raises(Forbidden):
        availability.remove_blockout(listing.id, blockout.id, stranger.id)
    with pytest.raises(Forbidden):
        availability.blockouts_of(listing.id, stranger.id)
    assert db.session.get(LoanBlockout, blockout.id) is not None


def test_a_block_out_is_removed_only_through_its_own_listing(app):
    listing, other = lendable(), lendable()
    blockout = availability.add_blockout(listing.id, listing.seller_id, day(1), day(2))
    with pytest.raises(NotFound):
        availability.remove_blockout(other.id, blockout.id, other.seller_id)
    with pytest.raises(NotFound):
        availability.remove_blockout(listing.id, blockout.id + 1000, listing.seller_id)


def test_a_listing_never_offered_for_loan_has_no_calendar(app):
    listing = ListingFactory()
    with pytest.raises(availability.NotForLoan):
        availability.add_blockout(listing.id, listing.seller_id, day(1), day(2))
    with pytest.raises(availability.NotForLoan):
        availability.blockouts_of(listing.id, listing.seller_id)


# -- quotes ------------------------------------------------------------------------------------


def test_a_quote_uses_pricing_and_says_whether_the_days_are_free(app, bookings):
    listing = lendable(fee_per_day_cents=300, fee_per_week_cents=1500, deposit_cents=5000)
    found = availability.quote_loan(listing.id, day(1), day(9))
    assert found.quote == pricing.quote(listing.loan_offer, day(1), day(9))
    assert (found.quote.days, found.quote.fee_cents) == (9, 1500 + 600)
    assert found.is_available and found.currency == "USD"
    bookings.book(listing, day(9), day(11))
    busy = availability.quote_loan(listing.id, day(1), day(9))
    assert not busy.is_available
    assert busy.busy == [calendar.Busy(day(9), day(11), calendar.BOOKED)]


@pytest.mark.parametrize(
    ("start", "end", "field", "words"),
    [
        (-1, 1, "start", "from today on"),
        (366, 367, "start", "at most a year ahead"),
        (3, 2, "end", "on or after the first day"),
        (1, 1, "end", "The shortest loan is 2 days"),
        (1, 7, "end", "The longest loan is 5 days"),
        (None, 3, "start", "Pick the first day"),
    ],
)
def test_a_quote_for_days_the_lender_does_not_lend_is_refused(app, start, end, field, words):
    listing = lendable(min_days=2, max_days=5, fee_per_week_cents=None)
    with pytest.raises(ValidationFailed) as caught:
        availability.quote_loan(listing.id, None if start is None else day(start), day(end))
    assert words in caught.value.fields[field][0]


def test_no_quote_for_a_listing_not_lent_now(app):
    listing = lendable()
    listing.status = "paused"
    db.session.commit()
    with pytest.raises(availability.NotForLoan):
        availability.quote_loan(listing.id, day(1), day(2))
    with pytest.raises(availability.NotForLoan):
        availability.quote_loan(ListingFactory().id, day(1), day(2))


def _plan(deposit=5000, fee=300, in_person=False, ends=2):
    terms = type("T", (), {**TERMS, "deposit_cents": deposit, "fee_per_day_cents": fee})
    quote = pricing.quote(terms, day(1), day(ends))
    return availability.deposit_plan(
        quote, "USD", in_person=in_person, on=day(0), hold_window_days=6, claim_window_days=3
    )


def test_the_deposit_rule_follows_the_provider_and_the_hold_window(app):
    assert _plan(in_person=True).method == "in_person"
    assert "in person" in _plan(in_person=True).rule
    assert _plan(deposit=0).method == "none"
    assert "need a saved card to ask" in _plan(deposit=0).summary
    assert "saved card" not in _plan(deposit=0, fee=0).summary
    assert _plan(ends=3).method == "hold"  # ends day 3, + 3 claim days = day 6: inside
    assert _plan(ends=4).method == "saved_card"  # day 7: outside the 6-day window
    assert "only if a late fee or a damage claim is upheld" in _plan(ends=4).summary
    assert "$50.00 is held on your card" in _plan(ends=2).summary
    assert "hold on your card" in _plan(ends=4).rule and "saved card" in _plan(ends=2).rule


def test_the_quote_reads_the_lending_settings(app):
    app.config.update(LOAN_HOLD_WINDOW_DAYS=30, PAYMENT_PROVIDER="manual")
    listing = lendable()
    assert availability.quote_loan(listing.id, day(1), day(2)).deposit.method == "in_person"
    lend(listing, deposit_cents=0, late_fee_per_day_cents=0, late_fee_cap_cents=None)
    assert availability.quote_loan(listing.id, day(1), day(2)).deposit.method == "none"


def test_say_range_reads_like_a_person_wrote_it():
    assert availability.say_range(date(2026, 12, 4), date(2026, 12, 4)) == "Dec 4, 2026"
    assert availability.say_range(date(2026, 12, 4), date(2026, 12, 9)) == "Dec 4 to Dec 9, 2026"
    assert (
        availability.say_range(date(2026, 12, 30), date(2027, 1, 2))
        == "Dec 30, 2026 to Jan 2, 2027"
    )
