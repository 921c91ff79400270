"""A loan's fee disputed after completion: the borrower (on a phone) opens the dispute from the
loan page within the refund window; the lender (on a laptop) sees it on the loan page and
answers it."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.accounts.models import User
from app.extensions import db
from app.lending import services as lending
from tests.e2e.test_loan_journey import _sign_up
from tests.integration.lending_support import ask, at, lendable, returned

pytestmark = pytest.mark.e2e


def _shot(page: Page, directory: str, name: str) -> None:
    page.screenshot(path=os.path.join(directory, f"fee-dispute-{name}.png"), full_page=True)


def _completed_loan(app) -> int:
    """@flena lent @fbob a tent for two days; it came back in good condition."""
    with app.app_context():
        people = {u.handle: u for u in db.session.scalars(select(User))}
        lender, borrower = people["flena"], people["fbob"]
        loan = returned(ask(lendable(lender), borrower, first=0, days=2))
        lending.act(loan.id, "confirm_return", lender.id, now=at(loan.ends_on, 20))
        loan_id = loan.id
        db.session.remove()
    return loan_id


def test_the_borrower_disputes_the_fee_of_a_completed_loan(
    browser, live_app, live_server, screenshot_dir
):
    borrower = browser.new_context(viewport={"width": 375, "height": 812}).new_page()
    lender = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _sign_up(lender, live_server, "flena")
    _sign_up(borrower, live_server, "fbob")
    loan_id = _completed_loan(live_app)

    borrower.goto(f"{live_server}/loans/{loan_id}")
    expect(borrower.get_by_role("link", name="Agree on a refund of the fee")).to_be_visible()
    assert borrower.evaluate("document.documentElement.scrollWidth") <= 375
    _shot(borrower, screenshot_dir, "1-completed-phone")
    borrower.get_by_role("link", name="Dispute the fee…").click()
    borrower.get_by_label("What went wrong").fill("The stove never lit; I cooked on a fire.")
    borrower.get_by_role("button", name="Open the dispute").click()

    lender.goto(f"{live_server}/loans/{loan_id}")
    card = lender.get_by_role("region", name="Fee disputed: $10.00")
    expect(card).to_contain_text("@fbob disputes the fee.")
    expect(lender.locator(".badge[data-state=disputed]").first).to_be_visible()
    _shot(lender, screenshot_dir, "2-disputed-laptop")
    card.get_by_role("link", name="See the dispute").click()
    lender.get_by_label("Your side of it").fill("It lit fine for me the day before.")
    lender.get_by_role("button", name="Send your answer").click()
    expect(lender.get_by_text("It lit fine for me the day before.")).to_be_visible()

    borrower.goto(f"{live_server}/loans/{loan_id}")
    expect(borrower.get_by_role("region", name="Fee disputed: $10.00")).to_be_visible()
    assert borrower.evaluate("document.documentElement.scrollWidth") <= 375
    _shot(borrower, screenshot_dir, "3-disputed-phone")
