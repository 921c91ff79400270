"""A lender offers a tent for loan through the form, blocks out days in its calendar, and a
borrower picks days on the listing page and sees the total before asking; at 1280 and 375 px."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from app.db import utcnow

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough password"
WIDTHS = {"desktop": 1280, "phone": 375}


def _sign_up(page: Page, base: str, handle: str) -> None:
    page.goto(f"{base}/signup")
    page.get_by_label("Email address").fill(f"{handle}@example.com")
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".account-menu summary")).to_have_text(f"@{handle}")


def _shot(page: Page, directory: str, name: str) -> None:
    page.screenshot(path=os.path.join(directory, f"loan-offer-{name}.png"), full_page=True)


def _fits(page: Page, width: int) -> None:
    """Nothing sticks out sideways (no horizontal scrolling on a phone)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("device", list(WIDTHS))
def test_lend_a_tent_block_days_and_see_a_quote(browser, live_server, screenshot_dir, device):
    width = WIDTHS[device]
    viewport = {"width": width, "height": 900}
    lender = browser.new_context(viewport=viewport).new_page()
    borrower = browser.new_context(viewport=viewport).new_page()
    console_errors: list[str] = []
    for page in (lender, borrower):
        page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
    today = utcnow().date()

    # The lender offers a tent for loan only: no price, loan terms instead.
    _sign_up(lender, live_server, f"len{device[0]}")
    lender.goto(f"{live_server}/sell")
    lender.get_by_text("Lend it", exact=True).click()
    expect(lender.get_by_label("Price")).to_be_hidden()  # selling is not chosen
    lender.get_by_label("Title").fill("Four-person tent with footprint")
    lender.get_by_label("Description").fill("Pitches in ten minutes. Dry and clean.")
    lender.get_by_label("Category").select_option(label="Sports & outdoors")
    lender.get_by_label("Condition").select_option(label="Good")
    lender.get_by_text("For a fee", exact=True).click()
    lender.get_by_label("Fee per day", exact=True).fill("4.00")
    lender.get_by_label("Weekly rate").fill("20")
    lender.get_by_label("Refundable deposit").fill("60")
    lender.get_by_label("Shortest loan").fill("2")
    lender.get_by_label("Longest loan").fill("14")
    lender.get_by_label("Late fee per day").fill("5")
    lender.get_by_label("Late fees at most").fill("30")
    lender.get_by_label("Pickup area").fill("Northside, by the library")
    lender.get_by_label("Pickup notes").fill("Evenings after six.")
    _fits(lender, width)
    _shot(lender, screenshot_dir, f"form-{device}")
    lender.get_by_role("button", name="Publish listing").click()
    expect(lender.get_by_role("heading", name="Four-person tent with footprint")).to_be_visible()
    expect(lender.get_by_text("$4.00 a day").first).to_be_visible()
    listing_url = lender.url

    # Its calendar: a block-out in the past is refused, one ahead is kept and shown.
    lender.get_by_role("link", name="Calendar").first.click()
    expect(lender.get_by_role("heading", name="Calendar", exact=True)).to_be_visible()
    lender.get_by_label("First day").fill((today - timedelta(days=1)).isoformat())
    lender.get_by_label("Last day").fill((today + timedelta(days=1)).isoformat())
    lender.get_by_role("button", name="Block out").click()
    expect(lender.get_by_text("past days cannot be blocked out")).to_be_visible()
    start, end = today + timedelta(days=8), today + timedelta(days=10)
    lender.get_by_label("First day").fill(start.isoformat())
    lender.get_by_label("Last day").fill(end.isoformat())
    lender.get_by_label("Note").fill("Our own camping weekend")
    lender.get_by_role("button", name="Block out").click()
    expect(lender.locator(".flash-success")).to_contain_text("Blocked out")
    expect(lender.locator(".blockout-list")).to_contain_text("Our own camping weekend")
    expect(lender.locator(".month-grid .day-blocked").first).to_contain_text("blocked")
    _fits(lender, width)
    _shot(lender, screenshot_dir, f"calendar-{device}")

    # A borrower sees the terms and the free days, picks three days and sees the total.
    _sign_up(borrower, live_server, f"bor{device[0]}")
    borrower.goto(listing_url)
    expect(borrower.get_by_role("heading", name="Borrow it")).to_be_visible()
    expect(borrower.locator("#availability .day-mark").first).to_have_text("taken")
    first, last = today + timedelta(days=3), today + timedelta(days=5)
    borrower.get_by_label("First day").fill(first.isoformat())
    borrower.get_by_label("Last day").fill(last.isoformat())
    borrower.get_by_role("button", name="See the total").click()
    expect(borrower).to_have_url(re.compile(r"start=.*end="))
    quote = borrower.locator(".quote")
    expect(quote).to_contain_text("3 days")
    expect(quote).to_contain_text("$12.00")  # 3 x 4.00
    expect(quote).to_contain_text("$60.00")
    expect(quote).to_contain_text("$5.00 a day, at most $30.00")
    _fits(borrower, width)
    _shot(borrower, screenshot_dir, f"listing-{device}")

    # Days that touch the block-out are refused with the days that are taken.
    borrower.get_by_label("First day").fill((start - timedelta(days=1)).isoformat())
    borrower.get_by_label("Last day").fill(start.isoformat())
    borrower.get_by_role("button", name="Update the total").click()
    expect(borrower.locator(".quote-busy")).to_contain_text("Not free on all those days")
    # Browsing things to borrow on free days finds the tent, its fee on the card.
    borrower.goto(
        f"{live_server}/listings?offer=borrow&available_from={first.isoformat()}"
        f"&available_to={last.isoformat()}"
    )
    path = listing_url.removeprefix(live_server)
    card = borrower.locator(f".listing-card[href='{path}']")
    expect(card).to_contain_text("For loan · $4.00/day")
    _fits(borrower, width)
    _shot(borrower, screenshot_dir, f"browse-{device}")
    borrower.goto(
        f"{live_server}/listings?offer=borrow&available_from={start.isoformat()}"
        f"&available_to={end.isoformat()}"
    )
    expect(borrower.locator(f".listing-card[href='{path}']")).to_have_count(0)

    # The refused block-out answers 422 on purpose; nothing else may fail.
    assert [e for e in console_errors if "422" not in e] == [], console_errors
