"""The lending services: asking to borrow, every action of the loan machine by its parties and
the refusals people read, damage claims with photos, the lists of a person's loans and what
waits on them. Money is in test_lending_money.py, time in test_lending_due.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from app.extensions import db
from app.lending import services as lending
from app.lending.models import DamageClaim, Loan, LoanEvent
from app.listings.models import LoanOffer
from app.transactions.events import DomainEvent
from tests.factories import ListingFactory, UserFactory
from tests.integration.lending_support import (
    ask,
    at,
    block_out,
    day,
    fresh,
    lendable,
    on_loan,
    returned,
)
from tests.integration.listing_images import upload


@pytest.fixture
def lender(app):
    return UserFactory(handle="lena")


@pytest.fixture
def borrower(app):
    return UserFactory(handle="bob")


@pytest.fixture
def other(app):
    return UserFactory(handle="carla")


@pytest.fixture
def stranger(app):
    return UserFactory(handle="eve")


@pytest.fixture
def tent(lender):
    return lendable(lender)


def _events(loan_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(DomainEvent.name)
            .where(DomainEvent.subject_kind == "loan", DomainEvent.subject_id == loan_id)
            .order_by(DomainEvent.id)
        )
    )


def _history(loan_id: int) -> list[tuple[str, str, str]]:
    return [
        (e.action, e.from_state, e.to_state)
        for e in db.session.scalars(
            select(LoanEvent).where(LoanEvent.loan_id == loan_id).order_by(LoanEvent.id)
        )
    ]


# -- asking ----------------------------------------------------------------------------------


def test_a_request_copies_the_terms_and_waits_for_the_lender(tent, lender, borrower):
    loan = lending.request_loan(tent, borrower.id, day(10), day(12), "  For a weekend trip.  ")

    assert loan.state == "requested"
    assert (loan.lender_id, loan.borrower_id, loan.title) == (
        lender.id,
        borrower.id,
        "Two-person tent",
    )
    assert (loan.days, loan.fee_cents, loan.deposit_cents) == (3, 1500, 5000)
    assert (loan.late_fee_per_day_cents, loan.late_fee_cap_cents) == (300, 1200)
    assert loan.request_message == "For a weekend trip."
    assert loan.deposit_method == "in_person"  # the manual provider
    assert loan.pickup_area == "Riverside"
    assert len(loan.handover_code) == 6 and loan.handover_code.isdigit()
    assert timedelta(hours=47) < loan.expires_at - loan.created_at <= timedelta(hours=48)
    assert _events(loan.id) == ["loan.requested"]
    # Later changes to the offer never change a loan already asked for.
    db.session.get(LoanOffer, tent).fee_per_day_cents = 900
    db.session.commit()
    assert fresh(loan.id).fee_cents == 1500


def test_a_request_for_tomorrow_expires_at_the_end_of_its_first_day_if_that_is_sooner(
    tent, borrower
):
    loan = lending.request_loan(tent, borrower.id, day(1), day(2), "")
    assert loan.expires_at == at(day(2), 0)


def test_a_weekly_rate_makes_a_week_cheaper(lender, borrower):
    listing = lendable(lender, fee_per_week_cents=2000)
    loan = lending.request_loan(listing, borrower.id, day(3), day(11), "")
    assert (loan.days, loan.fee_cents) == (9, 2000 + 2 * 500)


@pytest.mark.parametrize(
    ("first", "last", "field", "message"),
    [
        (-1, 1, "starts_on", "Pick a first day from today on."),
        (5, 4, "ends_on", "Pick a last day on or after the first day."),
        (5, 19, "ends_on", "The longest loan is 14 days."),
        (400, 401, "starts_on", "Ask at most a year ahead."),
    ],
)
def test_a_request_for_days_that_cannot_be_lent_is_refused_by_field(
    tent, borrower, first, last, field, message
):
    with pytest.raises(ValidationFailed) as refused:
        lending.request_loan(tent, borrower.id, day(first), day(last), "")
    assert refused.value.fields == {field: [message]}
    assert db.session.scalar(select(func.count(Loan.id))) == 0


def test_a_request_needs_dates_and_a_short_enough_message(tent, borrower):
    with pytest.raises(ValidationFailed) as refused:
        lending.request_loan(tent, borrower.id, "2026-12-01", None, "")
    assert set(refused.value.fields) == {"starts_on", "ends_on"}
    with pytest.raises(ValidationFailed) as refused:
        lending.request_loan(tent, borrower.id, day(3), day(4), "x" * 1001)
    assert refused.value.fields == {"message": ["Use at most 1000 characters (this has 1001)."]}


def test_the_minimum_days_are_part_of_the_rule(lender, borrower):
    listing = lendable(lender, min_days=2, max_days=2)
    with pytest.raises(ValidationFailed, match="The shortest loan is 2 days"):
        lending.request_loan(listing, borrower.id, day(3), day(3), "")


def test_nobody_borrows_their_own_thing_or_one_not_offered(tent, lender, borrower):
    with pytest.raises(lending.CannotBorrowOwn):
        ask(tent, lender)
    for_sale_only = ListingFactory(seller=lender)
    with pytest.raises(lending.NotLendable):
        ask(for_sale_only.id, borrower)
    db.session.get(LoanOffer, tent).active = False
    db.session.commit()
    with pytest.raises(lending.NotLendable):
        ask(tent, borrower)
    with pytest.raises(NotFound):
        lending.request_loan(987654, borrower.id, day(3), day(4), "")


def test_blocked_out_and_booked_days_cannot_be_asked_for(tent, borrower, other):
    block_out(tent, day(20), day(22))
    with pytest.raises(lending.DatesTaken) as refused:
        ask(tent, borrower, first=18, days=3)
    assert "not lending it from" in refused.value.message
    booked = on_loan(ask(tent, other, first=5, days=3))
    assert booked.state == "active"
    with pytest.raises(lending.DatesTaken) as refused:
        ask(tent, borrower, first=7, days=2)
    assert refused.value.message.startswith("It is already lent from")
    assert ask(tent, borrower, first=8, days=3).state == "requested"  # the day after is free


def test_asking_twice_for_the_same_days_is_refused(tent, borrower, other):
    ask(tent, borrower, first=10, days=3)
    with pytest.raises(lending.AlreadyRequested):
        ask(tent, borrower, first=11, days=3)
    assert ask(tent, other, first=11, days=3).state == "requested"  # someone else may


# -- answering -------------------------------------------------------------------------------


def test_approving_declines_the_other_requests_for_those_days(
    tent, lender, borrower, other, stranger
):
    first = ask(tent, borrower, first=10, days=3)
    overlapping = ask(tent, other, first=12, days=2)
    later = ask(tent, stranger, first=13, days=2)  # the day after: unaffected

    lending.act(first.id, "approve", lender.id)

    assert fresh(first.id).state == "approved"
    declined = fresh(overlapping.id)
    assert declined.state == "declined"
    assert declined.decline_note == "Those days were lent to someone else."
    assert fresh(later.id).state == "requested"
    assert _history(overlapping.id) == [("decline", "requested", "declined")]


def test_approving_days_blocked_out_after_the_request_is_refused(tent, lender, borrower):
    loan = ask(tent, borrower, first=10, days=3)
    block_out(tent, day(12), day(12))
    with pytest.raises(lending.DatesTaken):
        lending.act(loan.id, "approve", lender.id)
    assert fresh(loan.id).state == "requested"


def test_a_request_past_its_expiry_cannot_be_approved(tent, lender, borrower):
    loan = ask(tent, borrower, first=10, days=3)
    with pytest.raises(lending.RequestExpired):
        lending.act(loan.id, "approve", lender.id, now=loan.expires_at + timedelta(minutes=1))


def test_the_lender_declines_with_a_note_and_the_borrower_withdraws(tent, lender, borrower, other):
    declined = ask(tent, borrower, first=10)
    withdrawn = ask(tent, other, first=10)
    lending.act(declined.id, "decline", lender.id, note="Away that week")
    lending.act(withdrawn.id, "cancel", other.id, note="Found one")
    assert (fresh(declined.id).state, fresh(declined.id).decline_note) == (
        "declined",
        "Away that week",
    )
    assert (fresh(withdrawn.id).state, fresh(withdrawn.id).cancel_note) == (
        "cancelled",
        "Found one",
    )


@pytest.mark.parametrize("who", ["lender", "borrower"])
def test_either_side_cancels_an_approved_loan_before_the_handover(tent, lender, borrower, who):
    loan = ask(tent, borrower)
    lending.act(loan.id, "approve", lender.id)
    lending.act(loan.id, "cancel", {"lender": lender, "borrower": borrower}[who].id)
    assert fresh(loan.id).state == "cancelled"


@pytest.mark.parametrize(
    ("who", "action", "error", "message"),
    [
        ("borrower", "approve", Forbidden, "Only the lender can do that."),
        ("lender", "confirm_return", InvalidTransition,
         "This loan is still only requested, so it cannot be confirmed as returned yet."),
        ("stranger", "approve", NotFound, "We could not find that loan."),
        ("lender", "expire", Forbidden,
         "That step happens automatically; nobody can trigger it by hand."),
        ("lender", "teleport", NotFound, "That is not something you can do with a loan."),
        ("lender", "claim_damage", InvalidTransition,
         "This loan is still only requested, so it cannot be claimed for damage yet."),
    ],
)  # fmt: skip
def test_a_party_takes_only_the_steps_the_machine_allows(
    tent, lender, borrower, stranger, who, action, error, message
):
    loan = ask(tent, borrower)
    people = {"lender": lender, "borrower": borrower, "stranger": stranger}
    with pytest.raises(error) as refused:
        lending.act(loan.id, action, people[who].id)
    assert refused.value.message == message
    assert fresh(loan.id).state == "requested"
    with pytest.raises(NotFound):
        lending.act(123456, "approve", lender.id)


# -- the handover ------------------------------------------------------------------------------


def test_both_confirm_the_handover_and_the_second_confirmation_starts_the_loan(
    tent, lender, borrower
):
    loan = ask(tent, borrower)
    lending.act(loan.id, "approve", lender.id)
    lending.act(loan.id, "confirm_handover", borrower.id)
    waiting = fresh(loan.id)
    assert waiting.state == "approved" and waiting.borrower_handover_at is not None
    assert lending.available_actions(waiting, borrower.id) == ["cancel", "confirm_with_code"]
    with pytest.raises(lending.Conflict, match="already confirmed the handover; now the lender"):
        lending.act(loan.id, "confirm_handover", borrower.id)

    lending.act(loan.id, "confirm_handover", lender.id)

    started = fresh(loan.id)
    assert started.state == "active" and started.handed_over_at is not None
    assert [a for a, _, _ in _history(loan.id)] == [
        "approve",
        "confirm_handover",
        "confirm_handover",
        "start",
    ]


def test_the_borrower_confirms_alone_with_the_lenders_code(tent, lender, borrower):
    loan = ask(tent, borrower)
    lending.act(loan.id, "approve", lender.id)
    with pytest.raises(ValidationFailed) as refused:
        lending.act(loan.id, "confirm_with_code", borrower.id, code=" ")
    assert refused.value.fields == {"code": ["Enter the code the lender shows you."]}
    wrong = "000000" if loan.handover_code != "000000" else "111111"
    with pytest.raises(lending.WrongHandoverCode) as refused:
        lending.act(loan.id, "confirm_with_code", borrower.id, code=wrong)
    assert refused.value.code == "wrong_handover_code" and "code" in refused.value.fields
    assert fresh(loan.id).state == "approved"
    with pytest.raises(Forbidden):
        lending.act(loan.id, "confirm_with_code", lender.id, code=loan.handover_code)

    lending.act(loan.id, "confirm_with_code", borrower.id, code=f" {loan.handover_code[:3]} "
                f"{loan.handover_code[3:]}")  # fmt: skip

    assert fresh(loan.id).state == "active"


# -- the return, late or not -------------------------------------------------------------------


def test_a_return_on_time_costs_nothing_more(tent, borrower):
    loan = returned(ask(tent, borrower), late_days=0)
    assert (loan.state, loan.late_days, loan.late_fee_cents) == ("returned", 0, 0)


def test_a_late_return_records_the_days_and_the_capped_late_fee(tent, borrower, lender):
    loan = returned(ask(tent, borrower), late_days=2)
    assert (loan.late_days, loan.late_fee_cents) == (2, 600)
    very_late = returned(ask(tent, borrower, first=30), late_days=9)
    assert (very_late.late_days, very_late.late_fee_cents) == (9, 1200)  # the cap
    returned_event = db.session.scalar(
        select(DomainEvent).where(DomainEvent.name == "loan.mark_returned").order_by(DomainEvent.id)
    )
    assert returned_event.payload["late_days"] == 2  # notifications can say so


def test_the_late_fee_is_never_more_than_the_deposit(lender, borrower):
    listing = lendable(
        lender, deposit_cents=500, late_fee_per_day_cents=400, late_fee_cap_cents=5000
    )
    loan = returned(ask(listing, borrower), late_days=3)
    assert (loan.late_fee_cap_cents, loan.late_fee_cents) == (500, 500)
    assert "claim_damage" not in lending.available_actions(loan, lender.id)
    with pytest.raises(lending.NothingToClaim):
        lending.claim_damage(loan.id, lender.id, 100, "Scratched", [], now=at(loan.ends_on, 23))


def test_the_lender_confirms_the_return_in_good_condition(tent, lender, borrower):
    loan = returned(ask(tent, borrower))
    lending.act(loan.id, "confirm_return", lender.id)
    done = fresh(loan.id)
    assert done.state == "completed" and done.completed_at is not None
    assert "loan.confirm_return" in _events(loan.id)


# -- damage claims ---------------------------------------------------------------------------


def _claim(loan, lender, amount=2000, description="The pole is bent.", photos=(), hours=2):
    moment = loan.returned_at + timedelta(hours=hours)
    return lending.claim_damage(loan.id, lender.id, amount, description, list(photos), now=moment)


def test_a_claim_with_photos_keeps_them_re_encoded(app, tent, lender, borrower):
    loan = returned(ask(tent, borrower))
    claimed = _claim(loan, lender, photos=[upload(filename="pole.png", fmt="PNG", size=(900, 700))])

    assert claimed.state == "damage_claimed"
    claim = db.session.scalar(select(DamageClaim).where(DamageClaim.loan_id == loan.id))
    assert (claim.amount_cents, claim.description, claim.answer) == (
        2000,
        "The pole is bent.",
        None,
    )
    (photo,) = claim.photos
    assert photo.image_path.startswith(f"claims/{loan.id}/") and photo.image_path.endswith(".jpg")
    stored = app.config["UPLOAD_DIR"] + "/" + photo.image_path
    with open(stored, "rb") as saved:
        assert saved.read(3) == b"\xff\xd8\xff"  # a JPEG made by us, not the PNG uploaded
    assert lending.claim_photo_for(photo.id, borrower.id) is photo
    with pytest.raises(NotFound):
        lending.claim_photo_for(photo.id, UserFactory().id)


def test_a_claim_is_refused_field_by_field(tent, lender, borrower):
    loan = returned(ask(tent, borrower), late_days=1)  # late fee 300: at most 4700 claimable
    with pytest.raises(ValidationFailed) as refused:
        _claim(loan, lender, amount=4701, description=" ", photos=[upload(b"not an image")])
    assert refused.value.fields["amount"] == ["You can claim at most $47.00."]
    assert refused.value.fields["description"] == ["Describe the damage."]
    assert refused.value.fields["photos"] == [
        "photo.jpg is not an image we can read. Use a JPEG, PNG, WebP or GIF."
    ]
    for amount in (0, -5, 12.5, True):
        with pytest.raises(ValidationFailed):
            _claim(loan, lender, amount=amount)
    with pytest.raises(Forbidden):
        _claim(loan, borrower)
    with pytest.raises(ValidationFailed, match="use the claim form"):
        lending.act(loan.id, "claim_damage", lender.id)
    assert fresh(loan.id).state == "returned"
    assert db.session.scalar(select(func.count(DamageClaim.id))) == 0


def test_a_claim_after_the_claim_window_is_refused(tent, lender, borrower):
    loan = returned(ask(tent, borrower))
    with pytest.raises(lending.ClaimWindowClosed):
        _claim(loan, lender, hours=3 * 24 + 1)


@pytest.mark.parametrize(
    ("who", "action", "state", "answer", "awarded"),
    [
        ("borrower", "accept_claim", "completed", "accepted", 2000),
        ("borrower", "dispute_claim", "disputed", "disputed", None),
        ("lender", "withdraw_claim", "completed", "withdrawn", 0),
    ],
)
def test_a_claim_is_accepted_disputed_or_withdrawn(
    tent, lender, borrower, who, action, state, answer, awarded
):
    loan = _claim(returned(ask(tent, borrower)), lender)
    actor = {"lender": lender, "borrower": borrower}[who]
    lending.act(loan.id, action, actor.id, note="It was like that" if who == "borrower" else None)
    claim = db.session.scalar(select(DamageClaim).where(DamageClaim.loan_id == loan.id))
    assert fresh(loan.id).state == state
    assert (claim.answer, claim.awarded_cents) == (answer, awarded)
    if who == "borrower":
        assert claim.answer_note == "It was like that"


def test_a_moderator_resolves_a_disputed_claim(tent, lender, borrower):
    loan = _claim(returned(ask(tent, borrower)), lender)
    with pytest.raises(InvalidTransition):
        lending.resolve_claim(loan.id, 500)
    with pytest.raises(ValidationFailed):  # a dispute states its reason
        lending.act(loan.id, "dispute_claim", borrower.id)
    lending.act(loan.id, "dispute_claim", borrower.id, note="It was like that before.")
    with pytest.raises(ValidationFailed):
        lending.resolve_claim(loan.id, 2001)
    lending.resolve_claim(loan.id, 800, note="Half of it was there before")
    done = fresh(loan.id)
    assert done.state == "resolved"
    assert done.claim.awarded_cents == 800


# -- lists -------------------------------------------------------------------------------------


def test_loans_of_a_person_by_role_and_group(tent, lender, borrower, other):
    requested = ask(tent, borrower, first=30)
    out = on_loan(ask(tent, other, first=2))
    upcoming = ask(tent, borrower, first=10)
    lending.act(upcoming.id, "approve", lender.id)

    assert lending.loans_of(lender.id, "lender").total == 3
    assert [loan.id for loan in lending.loans_of(borrower.id, "borrower").items] == [
        upcoming.id,
        requested.id,
    ]
    assert lending.loans_of(borrower.id, "lender").total == 0
    assert [loan.id for loan in lending.loans_of(lender.id, state_group="on_loan").items] == [
        out.id
    ]
    assert lending.loans_of(other.id, None, state_group="open").total == 1
    assert lending.loans_of(other.id, None, state_group="closed").total == 0
    with pytest.raises(ValidationFailed):
        lending.loans_of(lender.id, "owner")
    with pytest.raises(ValidationFailed):
        lending.loans_of(lender.id, state_group="soon")


def test_what_needs_you_is_what_waits_on_your_action(tent, lender, borrower, other):
    to_answer = ask(tent, other, first=40)
    to_hand_over = ask(tent, borrower, first=10)
    lending.act(to_hand_over.id, "approve", lender.id)

    assert [loan.id for loan in lending.needs_you(lender.id)] == [to_answer.id, to_hand_over.id]
    assert [loan.id for loan in lending.needs_you(borrower.id)] == [to_hand_over.id]
    lending.act(to_hand_over.id, "confirm_handover", borrower.id)
    assert [loan.id for loan in lending.needs_you(borrower.id)] == []

    lending.act(to_hand_over.id, "confirm_handover", lender.id, now=at(day(10)))
    loan = fresh(to_hand_over.id)
    assert lending.needs_you(borrower.id, now=at(loan.ends_on - timedelta(days=1))) == []
    assert [x.id for x in lending.needs_you(borrower.id, now=at(loan.ends_on))] == [loan.id]
    lending.act(loan.id, "mark_returned", borrower.id, now=at(loan.ends_on))
    assert to_hand_over.id in [x.id for x in lending.needs_you(lender.id)]
    assert lending.get_loan_for(loan.id, borrower.id).id == loan.id
    with pytest.raises(NotFound):
        lending.get_loan_for(loan.id, other.id)


def test_booked_loans_hold_their_days_in_the_listings_calendar(tent, lender, borrower, other):
    from app.lending import calendar

    out = on_loan(ask(tent, other, first=2, days=3))
    ask(tent, borrower, first=20, days=2)  # only asked for: the days stay free
    second = lendable(lender, title="Kayak")

    busy = set(db.session.scalars(calendar.listing_ids(day(3), day(3))))
    assert busy == {tent}
    assert set(db.session.scalars(calendar.listing_ids(day(5), day(30)))) == set()
    assert second not in busy

    listings_calendar = pytest.importorskip("app.listings.calendar")  # the listings' side
    assert calendar.register_with_listings()
    ranges = listings_calendar.busy_ranges(tent, day(0), day(30))
    assert [(b.starts_on, b.ends_on, b.reason) for b in ranges] == [
        (out.starts_on, out.ends_on, "booked")
    ]
    assert not listings_calendar.is_free(tent, day(4), day(6))
    assert listings_calendar.is_free(tent, day(20), day(21))
