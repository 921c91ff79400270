"""A whole loan, as two people in two browsers: the lender lists a tent for loan, the borrower
asks for three days, the lender approves, both confirm the handover, the borrower brings it back
late, the lender claims part of the deposit, the borrower accepts, and both rate each other."""

from __future__ import annotations

import io
import os
import re
from datetime import timedelta

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from app.db import utcnow
from app.extensions import db
from app.lending.models import Loan

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough password"
TAP = 44


def _sign_up(page: Page, base: str, handle: str) -> None:
    page.goto(f"{base}/signup")
    page.get_by_label("Email address").fill(f"{handle}@example.com")
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".account-menu summary")).to_have_text(f"@{handle}")


def _shot(page: Page, directory: str, name: str) -> None:
    page.screenshot(path=os.path.join(directory, f"loan-journey-{name}.png"), full_page=True)


def _photo(tmp_path) -> str:
    path = tmp_path / "torn.png"
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), "#b45309").save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return str(path)


def _days_pass(app, loan_id: int, days: int) -> None:
    """The test's clock: `days` days pass for the loan (its days move that far into the
    past), as if the borrower kept it that long."""
    with app.app_context():
        loan = db.session.get(Loan, loan_id)
        loan.starts_on -= timedelta(days=days)
        loan.ends_on -= timedelta(days=days)
        loan.handed_over_at -= timedelta(days=days)
        db.session.commit()
        db.session.remove()


def _header_is_one_row(page: Page) -> None:
    """On a phone the header stays one row of 44 px targets; Loans is in the account menu."""
    targets = page.locator(".brand, .header-nav > a:visible, .account-menu > summary")
    boxes = [targets.nth(i).bounding_box() for i in range(targets.count())]
    assert all(box["height"] >= TAP and box["width"] >= TAP for box in boxes), boxes
    middles = {round(box["y"] + box["height"] / 2) for box in boxes}
    assert max(middles) - min(middles) < 4, boxes
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    menu = page.locator(".account-menu > summary")
    menu.click()
    expect(page.locator(".account-menu-items").get_by_role("link", name="Loans")).to_be_visible()
    menu.click()


def test_a_loan_from_listing_to_rated_with_a_late_return_and_a_claim(
    browser, live_app, live_server, tmp_path, screenshot_dir
):
    lender = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    borrower = browser.new_context(viewport={"width": 375, "height": 812}).new_page()
    console_errors: list[str] = []
    for page in (lender, borrower):
        page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
    today = utcnow().date()

    # The lender lists a tent for loan: a fee per day, a deposit, a late fee.
    _sign_up(lender, live_server, "lena")
    lender.goto(f"{live_server}/sell")
    lender.get_by_text("Lend it", exact=True).click()
    lender.get_by_label("Title").fill("Two-person tent")
    lender.get_by_label("Description").fill("Light, pitches in ten minutes. Pegs included.")
    lender.get_by_label("Category").select_option(label="Sports & outdoors")
    lender.get_by_label("Condition").select_option(label="Good")
    lender.get_by_text("For a fee", exact=True).click()
    lender.get_by_label("Fee per day", exact=True).fill("5")
    lender.get_by_label("Refundable deposit").fill("50")
    lender.get_by_label("Late fee per day").fill("3")
    lender.get_by_label("Late fees at most").fill("12")
    lender.get_by_label("Pickup area").fill("Riverside")
    lender.get_by_role("button", name="Publish listing").click()
    expect(lender.get_by_role("heading", name="Two-person tent")).to_be_visible()
    listing_url = lender.url

    # The borrower, on a phone, picks three days from today, sees the total and asks.
    _sign_up(borrower, live_server, "bob")
    _header_is_one_row(borrower)
    borrower.goto(listing_url)
    borrower.get_by_label("First day").fill(today.isoformat())
    borrower.get_by_label("Last day").fill((today + timedelta(days=2)).isoformat())
    borrower.get_by_role("button", name="See the total").click()
    expect(borrower.locator(".quote")).to_contain_text("$15.00")
    borrower.get_by_label("Message to the lender").fill("Camping by the lake. Friday at six?")
    borrower.get_by_role("button", name="Ask to borrow it").click()
    expect(borrower).to_have_url(re.compile(r"/loans/\d+$"))
    loan_url = borrower.url
    loan_id = int(loan_url.rsplit("/", 1)[1])
    expect(borrower.get_by_text("Nothing is charged until they approve it.")).to_be_visible()
    expect(borrower.locator(".badge[data-state=requested]")).to_be_visible()
    _shot(borrower, screenshot_dir, "1-requested-phone")

    # The lender finds it under Loans, in what needs them, and approves it.
    lender.get_by_role("link", name="Loans").click()
    expect(lender.get_by_text("Approve or decline @bob's request")).to_be_visible()
    _shot(lender, screenshot_dir, "2-my-loans")
    lender.get_by_text("Approve or decline @bob's request").click()
    expect(lender.get_by_text("Camping by the lake. Friday at six?")).to_be_visible()
    lender.get_by_role("button", name="Approve request").click()
    expect(lender.locator(".badge[data-state=approved]")).to_be_visible()
    code = lender.locator(".handover-code-value").inner_text()
    assert re.fullmatch(r"\d{6}", code)

    # Both confirm the handover; the lender ticks that fee and deposit changed hands.
    lender.get_by_label(
        "I have handed it over and received the fee of $15.00 and the deposit of $50.00 from @bob."
    ).check()
    lender.get_by_role("button", name="Confirm handover").click()
    expect(lender.get_by_text("Waiting for @bob to confirm it too.").first).to_be_visible()
    _shot(lender, screenshot_dir, "3-handover")
    borrower.goto(loan_url)
    expect(borrower.get_by_text(code)).to_have_count(0)  # the code is the lender's alone
    borrower.get_by_role("button", name="Confirm handover").click()
    expect(borrower.locator(".badge[data-state=active]")).to_be_visible()

    # Four days pass: the tent is two days overdue, and the borrower brings it back.
    _days_pass(live_app, loan_id, 4)
    borrower.goto(loan_url)
    expect(borrower.locator(".badge[data-state=active]")).to_have_text("Overdue")
    expect(borrower.get_by_text("2 days overdue").first).to_be_visible()
    _shot(borrower, screenshot_dir, "4-overdue-phone")
    borrower.get_by_label("Note (optional)").fill("Sorry, the rain kept us another night.")
    borrower.get_by_role("button", name="Mark as returned").click()
    expect(borrower.locator(".badge[data-state=returned]")).to_be_visible()
    expect(borrower.locator(".order-timeline").get_by_text("Returned 2 days late")).to_be_visible()

    # The lender claims part of what is left of the deposit, with a photo.
    lender.goto(loan_url)
    expect(lender.locator(".order-timeline").get_by_text("Returned 2 days late")).to_be_visible()
    lender.get_by_text("Claim for damage…").click()
    expect(lender.get_by_text("Up to $44.00: the deposit, less the late fee.")).to_be_visible()
    lender.get_by_label("Amount you claim").fill("20")
    lender.get_by_label("What is damaged").fill("The flysheet has a 5 cm tear by the door.")
    lender.get_by_label("Photos of the damage").set_input_files(_photo(tmp_path))
    lender.get_by_role("button", name="Send the claim").click()
    expect(lender.locator(".badge[data-state=damage_claimed]")).to_be_visible()
    expect(lender.locator(".claim-photos img")).to_have_count(1)
    _shot(lender, screenshot_dir, "5-claimed")

    # The borrower reads the claim and accepts it: the loan completes.
    borrower.goto(loan_url)
    expect(borrower.get_by_text("@lena claims $20.00 of your deposit for damage.")).to_be_visible()
    expect(borrower.get_by_text("The flysheet has a 5 cm tear by the door.")).to_be_visible()
    _shot(borrower, screenshot_dir, "6-claim-phone")
    borrower.get_by_role("button", name="Accept the claim").click()
    expect(borrower.locator(".badge[data-state=completed]")).to_be_visible()
    money = borrower.locator("#money")
    expect(money).to_contain_text("Late fee")
    expect(money).to_contain_text("$6.00")
    expect(money).to_contain_text("Deposit given back to you")
    expect(money).to_contain_text("$24.00")  # 50 less the late fee (6) and the claim (20)

    # Both rate each other; double-blind until the second rating.
    borrower.locator("input[name=rating][value=neutral]").check()
    borrower.get_by_label("Comment").fill("Good tent, but the claim felt steep.")
    borrower.get_by_role("button", name="Submit feedback").click()
    expect(borrower.get_by_text("hidden", exact=False).first).to_be_visible()
    lender.goto(loan_url)
    expect(lender.get_by_text("Good tent, but the claim felt steep.")).to_have_count(0)
    lender.locator("input[name=rating][value=positive]").check()
    lender.get_by_label("Comment").fill("Late, but honest about it.")
    lender.get_by_role("button", name="Submit feedback").click()
    expect(lender.get_by_text("Good tent, but the claim felt steep.")).to_be_visible()
    borrower.goto(loan_url)
    expect(borrower.get_by_text("Late, but honest about it.")).to_be_visible()
    _shot(borrower, screenshot_dir, "7-rated-phone")
    _shot(lender, screenshot_dir, "8-rated")

    # The lender's profile lists the feedback as a lender.
    borrower.goto(f"{live_server}/u/lena?feedback=lender")
    expect(borrower.get_by_text("Good tent, but the claim felt steep.")).to_be_visible()
    _header_is_one_row(borrower)
    assert console_errors == []
