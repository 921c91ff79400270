"""A loan's damage claim disputed by the borrower (on a phone, with a photo), answered by the
lender, and split by a moderator from the dispute queue; the public log shows the decision with
its amounts and without the evidence."""

from __future__ import annotations

import io
import os
import re

import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.accounts.models import User
from app.extensions import db
from app.lending import services as lending
from tests.e2e.test_loan_journey import _sign_up
from tests.integration.lending_support import ask, at, lendable, returned

pytestmark = pytest.mark.e2e


def _shot(page: Page, directory: str, name: str) -> None:
    page.screenshot(path=os.path.join(directory, f"dispute-{name}.png"), full_page=True)


def _photo(tmp_path) -> str:
    path = tmp_path / "before.png"
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), "#1d4ed8").save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return str(path)


def _claimed_loan(app) -> int:
    """@dlena lent @dbob a tent; it came back and she claims $30.00 of the $50.00 deposit;
    @dmod is a moderator."""
    with app.app_context():
        people = {u.handle: u for u in db.session.scalars(select(User))}
        lender, borrower = people["dlena"], people["dbob"]
        people["dmod"].is_moderator = True
        db.session.commit()
        loan = returned(ask(lendable(lender), borrower, first=0, days=2))
        lending.claim_damage(
            loan.id, lender.id, 3000, "Torn flysheet.", [], now=at(loan.ends_on, 20)
        )
        loan_id = loan.id
        db.session.remove()
    return loan_id


def test_a_claim_disputed_by_the_borrower_is_split_by_a_moderator(
    browser, live_app, live_server, tmp_path, screenshot_dir
):
    borrower = browser.new_context(viewport={"width": 375, "height": 812}).new_page()
    lender = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    mod = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    console_errors: list[str] = []
    for page in (borrower, lender, mod):
        page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
    _sign_up(lender, live_server, "dlena")
    _sign_up(borrower, live_server, "dbob")
    _sign_up(mod, live_server, "dmod")
    loan_id = _claimed_loan(live_app)

    # The borrower, on a phone, disputes the claim with a reason and a photo.
    borrower.goto(f"{live_server}/loans/{loan_id}")
    borrower.get_by_role("link", name="Dispute the claim…").click()
    expect(borrower.get_by_role("heading", name="Open a dispute")).to_be_visible()
    expect(borrower.get_by_text("$30.00")).to_be_visible()
    borrower.get_by_label("What went wrong").fill("The tear was there when I picked it up.")
    borrower.get_by_label("Photos (evidence)").set_input_files(_photo(tmp_path))
    _shot(borrower, screenshot_dir, "1-open-phone")
    borrower.get_by_role("button", name="Open the dispute").click()
    expect(borrower).to_have_url(re.compile(r"/disputes/\d+$"))
    dispute_url = borrower.url
    expect(borrower.locator(".claim-photos img")).to_have_count(1)
    assert borrower.evaluate("document.documentElement.scrollWidth") <= 375
    _shot(borrower, screenshot_dir, "2-opened-phone")

    # The lender answers from the loan page's link.
    lender.goto(f"{live_server}/loans/{loan_id}")
    expect(lender.locator(".badge[data-state=disputed]")).to_be_visible()
    lender.get_by_role("link", name="See the dispute").click()
    lender.get_by_label("Your side of it").fill("It was new; the photo is of another tent.")
    lender.get_by_role("button", name="Send your answer").click()
    expect(lender.get_by_text("It was new; the photo is of another tent.")).to_be_visible()

    # The moderator finds it in the dispute queue and splits the claim.
    mod.goto(f"{live_server}/moderation")
    mod.get_by_role("navigation", name="Moderation").get_by_role("link", name="Disputes").click()
    mod.get_by_role("link", name=re.compile(f"Loan #{loan_id}")).click()
    expect(mod).to_have_url(dispute_url)
    expect(mod.get_by_text("The tear was there when I picked it up.")).to_be_visible()
    mod.get_by_label("Amount to the lender").fill("12")
    mod.get_by_label("Rule").select_option(label="4. Return what you borrow")
    mod.get_by_label("Reason (public, in the moderation log)").fill(
        "Some of the wear predates the loan; the lender keeps part of the claim."
    )
    _shot(mod, screenshot_dir, "3-decide")
    mod.get_by_role("button", name="Decide and move the money").click()
    expect(mod.get_by_text("$12.00").first).to_be_visible()
    expect(mod.locator(".dispute-decision")).to_contain_text("$18.00 back to the borrower")
    _shot(mod, screenshot_dir, "4-decided")

    # Both sides see the loan resolved; the public log shows amounts, not the evidence.
    borrower.goto(f"{live_server}/loans/{loan_id}")
    expect(borrower.locator(".badge[data-state=resolved]")).to_be_visible()
    mod.goto(f"{live_server}/moderation/log")
    entry = mod.locator(".log-row").first
    expect(entry).to_contain_text(f"the dispute about loan #{loan_id}")
    expect(entry).to_contain_text("$12.00 to the lender, $18.00 back to the borrower")
    expect(mod.get_by_text("The tear was there")).to_have_count(0)
    assert not console_errors, console_errors
