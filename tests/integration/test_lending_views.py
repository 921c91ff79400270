"""The loan's web pages: asking to borrow from a listing, "My loans", the loan page for each
party in each state, every action as a POST form (and its refusals), the handover code, the
damage claim with photos, messages and feedback. Strangers get a 404, never a hint."""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.form_drafts import SESSION_KEY
from app.lending import services as lending
from app.lending.models import Loan
from app.messaging.models import Message
from app.reviews.models import Feedback
from tests.factories import UserFactory
from tests.integration.lending_support import (
    ask,
    at,
    day,
    fresh,
    lendable,
    on_loan,
    returned,
)
from tests.integration.listing_images import image_bytes


@pytest.fixture
def lender(app):
    return UserFactory(handle="lena")


@pytest.fixture
def borrower(app):
    return UserFactory(handle="bob")


@pytest.fixture
def stranger(app):
    return UserFactory(handle="eve")


@pytest.fixture
def tent(lender):
    return lendable(lender)


@pytest.fixture
def loan(tent, borrower):
    """Bob asks to borrow Lena's tent for three days, ten days from now."""
    return ask(tent, borrower, first=10, days=3, message="For a weekend by the lake.")


@pytest.fixture
def web(make_client, lender, borrower, stranger):
    """A signed-in client per person, by name (None: anonymous)."""
    return {
        "lender": make_client(lender),
        "borrower": make_client(borrower),
        "stranger": make_client(stranger),
        "anonymous": make_client(None),
    }


def page(client, path: str) -> str:
    """The page as its reader sees it (entities decoded)."""
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return html.unescape(response.get_data(as_text=True))


def post(client, path: str, **data):
    return client.post(path, data=data)


def loan_count() -> int:
    return db.session.scalar(select(func.count(Loan.id)))


def draft_errors(client) -> dict:
    """The field errors a failed form left for its page (app/form_drafts.py)."""
    with client.session_transaction() as session:
        return (session.get(SESSION_KEY) or {}).get("errors", {})


# -- asking to borrow --------------------------------------------------------------------------


def test_asking_to_borrow_opens_the_loan_page_for_the_borrower(web, tent, borrower, lender):
    response = post(
        web["borrower"],
        f"/listings/{tent}/borrow",
        start=day(5).isoformat(),
        end=day(7).isoformat(),
        message="Camping by the lake.",
    )

    loan = db.session.scalar(select(Loan))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/loans/{loan.id}")
    assert (loan.state, loan.borrower_id, loan.days) == ("requested", borrower.id, 3)
    shown = page(web["borrower"], f"/loans/{loan.id}")
    assert "Request sent to @lena. Nothing is charged until they approve it." in shown
    assert "Waiting for @lena to approve or decline" in shown
    assert "Camping by the lake." in shown
    assert "Withdraw request" in shown


@pytest.mark.parametrize(
    ("start", "end", "field", "words"),
    [
        ("", "", "start", "Pick the first day."),
        ("tomorrow", "", "start", "Choose a day from the calendar"),
        (-1, 1, "start", "Pick a first day from today on."),
        (6, 5, "end", "Pick a last day on or after the first day."),
        (5, 30, "end", "The longest loan is 14 days."),
    ],
    ids=["empty", "not_a_day", "past", "backwards", "too_long"],
)
def test_a_refused_request_goes_back_to_the_listing_with_the_error_under_its_field(
    web, tent, start, end, field, words
):
    def as_text(value):
        return day(value).isoformat() if isinstance(value, int) else value

    response = post(
        web["borrower"], f"/listings/{tent}/borrow", start=as_text(start), end=as_text(end)
    )

    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith(f"/listings/{tent}?") and location.endswith("#borrow")
    shown = page(web["borrower"], location)
    assert shown.count(words) == 1  # once: under the form's field, or the quote's for its days
    assert 'class="error"' in shown or "borrow-error" in shown
    assert loan_count() == 0


def test_days_taken_meanwhile_are_said_under_the_first_day(web, tent, loan, lender, borrower):
    lending.act(loan.id, "approve", lender.id)
    other = UserFactory()
    client = web["stranger"]
    client.get("/")  # signed in as eve; she asks for days that are booked now
    response = post(
        client,
        f"/listings/{tent}/borrow",
        start=loan.starts_on.isoformat(),
        end=loan.ends_on.isoformat(),
    )
    assert response.status_code == 303
    assert "already lent" in draft_errors(client)["start"][0]
    assert other.id  # nobody else asked
    assert loan_count() == 1


def test_nobody_borrows_their_own_thing(web, tent):
    post(
        web["lender"], f"/listings/{tent}/borrow", start=day(3).isoformat(), end=day(4).isoformat()
    )
    assert draft_errors(web["lender"])["start"] == ["You cannot borrow your own thing."]
    assert loan_count() == 0


def test_asking_to_borrow_needs_an_account(web, tent):
    response = post(web["anonymous"], f"/listings/{tent}/borrow", start="2026-12-01")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# -- who sees what -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 302), ("stranger", 404), ("borrower", 200), ("lender", 200)],
)
def test_only_the_two_parties_see_a_loan(web, loan, who, status):
    response = web[who].get(f"/loans/{loan.id}")
    assert response.status_code == status
    if status == 404:
        assert "bob" not in response.get_data(as_text=True)


@pytest.mark.parametrize(("who", "status"), [("stranger", 404), ("borrower", 403), ("lender", 303)])
def test_only_the_lender_approves(web, loan, who, status):
    response = post(web[who], f"/loans/{loan.id}/approve")
    assert response.status_code == status
    assert fresh(loan.id).state == ("approved" if who == "lender" else "requested")


def test_an_unknown_action_is_a_404(web, loan):
    assert post(web["lender"], f"/loans/{loan.id}/explode").status_code == 404
    assert post(web["lender"], f"/loans/{loan.id}/start").status_code == 404  # system only
    assert fresh(loan.id).state == "requested"


def test_the_handover_code_shows_to_the_lender_only(web, loan, lender):
    lending.act(loan.id, "approve", lender.id)
    code = fresh(loan.id).handover_code
    assert code in page(web["lender"], f"/loans/{loan.id}")
    shown = page(web["borrower"], f"/loans/{loan.id}")
    assert code not in shown
    assert "The lender's handover code" in shown


# -- every step on the web ---------------------------------------------------------------------


def test_a_whole_loan_on_the_web_with_money_in_person(web, loan):
    lender_web, borrower_web = web["lender"], web["borrower"]
    url = f"/loans/{loan.id}"
    assert "Approve or decline @bob's request" in page(lender_web, "/loans?tab=lending")

    assert post(lender_web, f"{url}/approve").status_code == 303
    shown = page(lender_web, url)
    assert "Approved: the days are booked. Agree on the handover in the messages." in shown
    assert "Hand it over on" in shown

    # The lender's handover records the fee and deposit received in person: a ticked box.
    assert post(lender_web, f"{url}/confirm_handover").status_code == 303
    assert fresh(loan.id).lender_handover_at is None
    shown = page(lender_web, url)
    assert "Tick the box to confirm the money changed hands." in shown
    assert "received the fee of $15.00 and the deposit of $50.00 from @bob" in shown
    post(lender_web, f"{url}/confirm_handover", **{"confirm_handover-confirm": "y"})
    assert fresh(loan.id).lender_handover_at is not None
    assert "Waiting for @bob to confirm it too" in page(lender_web, url)
    assert "@lena confirmed the handover. Confirm it too" in page(borrower_web, url)

    post(borrower_web, f"{url}/confirm_handover")
    assert fresh(loan.id).state == "active"
    assert "Bring it back by the end of that day" in page(borrower_web, url)

    post(borrower_web, f"{url}/mark_returned", **{"mark_returned-note": "Left it dry."})
    assert fresh(loan.id).state == "returned"
    shown = page(lender_web, url)
    assert "Returned. Check it: confirm it came back in good condition" in shown
    assert "Left it dry." in shown

    post(lender_web, f"{url}/confirm_return")
    assert fresh(loan.id).state == "returned"  # the deposit given back: a ticked box first
    post(lender_web, f"{url}/confirm_return", **{"confirm_return-confirm": "y"})
    assert fresh(loan.id).state == "completed"
    shown = page(borrower_web, url)
    assert "This loan is complete. Tell others how it went with @lena." in shown
    assert "Deposit given back to you" in shown

    # Both rate each other on the loan page's feedback panel.
    for who, comment in (("borrower", "Tent as described."), ("lender", "Came back clean.")):
        response = post(
            web[who], f"/feedback/loan/{loan.id}", rating="positive", comment=comment, speed="5"
        )
        assert response.status_code == 303
        assert response.headers["Location"].endswith(f"/loans/{loan.id}#feedback")
    shown = page(borrower_web, url)
    assert "Came back clean." in shown and "Tent as described." in shown
    assert db.session.scalar(select(func.count(Feedback.id))) == 2


def test_the_borrower_confirms_the_handover_alone_with_the_code(web, loan, lender):
    lending.act(loan.id, "approve", lender.id)
    url = f"/loans/{loan.id}"

    post(web["borrower"], f"{url}/confirm_with_code", code="000000x")
    assert fresh(loan.id).state == "approved"
    assert "That is not the lender's code" in page(web["borrower"], url)

    post(web["borrower"], f"{url}/confirm_with_code", code=" " + fresh(loan.id).handover_code)
    assert fresh(loan.id).state == "active"
    shown = page(web["borrower"], url)
    assert "Handed over: the loan has started. Enjoy!" in shown
    assert "Handed over (confirmed with the lender's code)" in shown


def test_the_lender_declines_with_a_reason_the_borrower_reads(web, loan):
    post(web["lender"], f"/loans/{loan.id}/decline", **{"decline-note": "Away that weekend."})
    assert fresh(loan.id).state == "declined"
    shown = page(web["borrower"], f"/loans/{loan.id}")
    assert "@lena declined this request. Nothing was charged." in shown
    assert "Away that weekend." in shown


def test_the_borrower_withdraws_a_request(web, loan):
    post(web["borrower"], f"/loans/{loan.id}/cancel")
    assert fresh(loan.id).state == "cancelled"
    assert "Request withdrawn." in page(web["borrower"], f"/loans/{loan.id}")


def test_either_side_cancels_before_the_handover_and_the_page_says_what_is_refunded(
    web, loan, lender
):
    lending.act(loan.id, "approve", lender.id)
    shown = page(web["borrower"], f"/loans/{loan.id}")
    assert "Yes, cancel this loan" in shown
    assert "The borrower gets the fee back in full and the deposit is released." in shown

    post(web["lender"], f"/loans/{loan.id}/cancel", **{"cancel-note": "Tent is torn."})
    assert fresh(loan.id).state == "cancelled"
    assert "This loan was cancelled before the handover" in page(
        web["borrower"], f"/loans/{loan.id}"
    )


def test_a_step_taken_meanwhile_is_explained_not_failed(web, loan, lender):
    lending.act(loan.id, "decline", lender.id)
    response = post(web["lender"], f"/loans/{loan.id}/approve")
    assert response.status_code == 303
    assert "This loan was declined, so it can no longer be approved." in page(
        web["lender"], f"/loans/{loan.id}"
    )


def test_a_too_long_note_comes_back_under_its_field(web, loan):
    post(web["lender"], f"/loans/{loan.id}/decline", **{"decline-note": "x" * 501})
    assert fresh(loan.id).state == "requested"
    shown = page(web["lender"], f"/loans/{loan.id}")
    assert "At most 500 characters." in shown
    assert "x" * 501 in shown


# -- late returns and claims -------------------------------------------------------------------


def test_a_late_return_says_so_on_the_timeline_and_in_the_money(web, loan):
    loan = returned(loan, late_days=2)
    shown = page(web["borrower"], f"/loans/{loan.id}")
    assert "Returned 2 days late" in shown
    assert re.search(r"Late fee\s*</dt>\s*<dd>\$6\.00", shown)


def test_an_overdue_loan_is_flagged_for_both(web, tent, borrower, lender):
    loan = lending.request_loan(tent, borrower.id, day(-6), day(-4), "", now=at(day(-7)))
    lending.act(loan.id, "approve", lender.id, now=at(day(-7), 13))
    for who in (lender, borrower):
        lending.act(loan.id, "confirm_handover", who.id, now=at(day(-6), 9))
    shown = page(web["borrower"], f"/loans/{loan.id}")
    assert 'data-state="active">Overdue<' in shown
    assert "4 days overdue" in shown
    assert "Bring it back to @lena: 4 days late" in page(web["borrower"], "/loans")


def test_the_lender_claims_part_of_the_deposit_with_photos(web, loan, stranger):
    loan = returned(loan, late_days=1)
    url = f"/loans/{loan.id}"
    assert "Up to $47.00: the deposit, less the late fee." in page(web["lender"], url)

    response = web["lender"].post(
        f"{url}/claim_damage",
        data={
            "amount": "20",
            "description": "A pole is bent.",
            "photos": [
                (io.BytesIO(image_bytes()), "pole.jpg"),
                (io.BytesIO(image_bytes()), "tear.jpg"),
            ],
        },
        content_type="multipart/form-data",
    )

    assert response.status_code == 303
    loan = fresh(loan.id)
    assert (loan.state, loan.claim.amount_cents, len(loan.claim.photos)) == (
        "damage_claimed",
        2000,
        2,
    )
    shown = page(web["borrower"], url)
    assert "@lena claims $20.00 of your deposit for damage." in shown
    # The claim is its own card, read before what happens next.
    assert re.search(
        r'class="card loan-claim".*?</section>\s*<section class="card order-next"', shown, re.S
    )
    assert "A pole is bent." in shown
    photo = loan.claim.photos[0]
    photo_url = f"{url}/claim/photos/{photo.id}/thumb"
    assert photo_url in shown
    assert web["borrower"].get(photo_url).mimetype == "image/jpeg"
    assert web["stranger"].get(photo_url).status_code == 404


@pytest.mark.parametrize(
    ("amount", "description", "field", "words"),
    [
        ("48", "Bent pole.", "amount", "You can claim at most $47.00."),
        ("0", "Bent pole.", "amount", "Enter the amount you claim."),
        ("lots", "Bent pole.", "amount", "like 12.50"),
        ("10", "", "description", "Describe the damage."),
    ],
    ids=["over_the_deposit", "zero", "not_money", "no_description"],
)
def test_a_refused_claim_comes_back_under_its_field(web, loan, amount, description, field, words):
    loan = returned(loan, late_days=1)
    post(web["lender"], f"/loans/{loan.id}/claim_damage", amount=amount, description=description)
    assert fresh(loan.id).state == "returned"
    shown = page(web["lender"], f"/loans/{loan.id}")
    assert words in shown
    assert 'class="loan-claim-box" id="claim" open' in shown  # the form opens on its error


def test_a_claim_is_for_the_lender_after_the_return_only(web, loan, lender):
    on_loan(loan)
    post(web["lender"], f"/loans/{loan.id}/claim_damage", amount="10", description="x")
    assert fresh(loan.id).state == "active"
    assert "cannot be claimed for damage yet" in page(web["lender"], f"/loans/{loan.id}")
    response = post(web["stranger"], f"/loans/{loan.id}/claim_damage", amount="1", description="x")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("answer", "who", "state", "words"),
    [
        ("accept_claim", "borrower", "completed", "Claim accepted."),
        ("dispute_claim", "borrower", "disputed", "a moderator decides how the deposit is split"),
        ("withdraw_claim", "lender", "completed", "Claim withdrawn."),
    ],
)
def test_a_claim_is_accepted_disputed_or_withdrawn_on_the_page(
    web, loan, lender, answer, who, state, words
):
    loan = returned(loan)
    lending.claim_damage(
        loan.id, lender.id, 1000, "Scuffed.", [], now=at(loan.ends_on + timedelta(days=1))
    )
    post(web[who], f"/loans/{loan.id}/{answer}", **{f"{answer}-note": "It was like that."})
    assert fresh(loan.id).state == state
    assert words in page(web[who], f"/loans/{loan.id}")


# -- messages ----------------------------------------------------------------------------------


def test_the_two_parties_talk_on_the_loan_page(web, loan):
    url = f"/loans/{loan.id}"
    response = post(web["borrower"], f"{url}/messages", body="Friday at six?")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{url}#messages")
    assert "Friday at six?" in page(web["lender"], url)
    post(web["borrower"], f"{url}/messages", body="   ")
    assert "Write a message." in page(web["borrower"], url)
    assert post(web["stranger"], f"{url}/messages", body="Hi").status_code == 404
    assert db.session.scalar(select(func.count(Message.id))) == 1


# -- My loans ----------------------------------------------------------------------------------


def test_my_loans_has_a_tab_for_each_side_and_what_needs_you(web, tent, loan, lender, borrower):
    drill = lendable(borrower, title="Cordless drill")  # bob lends too
    ask(drill, lender, first=3)

    shown = page(web["borrower"], "/loans")
    assert 'Borrowing <span class="muted">1</span>' in shown
    assert 'Lending <span class="muted">1</span>' in shown
    assert "Two-person tent" in shown
    assert "Approve or decline @lena's request" in shown  # bob's drill, asked for by lena

    lending.act(loan.id, "approve", lender.id)
    shown = page(web["borrower"], "/loans")
    assert "Due next" in shown and "Pick up from @lena" in shown

    lent = page(web["borrower"], "/loans?tab=lending")
    assert "Cordless drill" in lent and "Two-person tent</a>" not in lent


def test_my_loans_shows_past_loans_apart(web, loan, lender):
    lending.act(loan.id, "decline", lender.id)
    assert "You're not borrowing anything" in page(web["borrower"], "/loans")
    past = page(web["borrower"], "/loans?show=past")
    assert "Two-person tent" in past and "Declined" in past


def test_my_loans_pages_through_many_loans(web, tent, borrower):
    for n in range(21):
        ask(tent, borrower, first=2 + 3 * n, days=2)
    first = page(web["borrower"], "/loans")
    assert first.count('class="orders-title"') == 20
    assert 'aria-label="Page 2"' in first
    second = page(web["borrower"], "/loans?page=2")
    assert second.count('class="orders-title"') == 1


def test_my_loans_needs_an_account(web):
    assert web["anonymous"].get("/loans").status_code == 302


def test_a_moderators_decision_shows_on_the_loan_page(web, loan, lender, borrower):
    loan = returned(loan)
    after = at(loan.ends_on + timedelta(days=1))
    lending.claim_damage(loan.id, lender.id, 2000, "Torn.", [], now=after)
    lending.act(loan.id, "dispute_claim", borrower.id, note="It was torn before.", now=after)
    shown = page(web["lender"], f"/loans/{loan.id}")
    assert "Disputed: a moderator decides how the deposit is split." in shown
    assert "“It was torn before.”" in shown
    lending.resolve_claim(loan.id, 500, note="Half the wear was there before.")
    shown = page(web["borrower"], f"/loans/{loan.id}")
    assert "Decided by a moderator:</strong> $5.00 of the claim kept" in shown
    assert "Resolved by a moderator" in shown
    assert "Deposit given back to you" in shown
