"""A moderator hides a member's listing and club: the owner sees on each page why (the rule, the
reason) and that an edit asks for a re-review; another member gets a 404 that says the listing
was hidden; at 1280 and 375 px."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.accounts.models import User
from app.extensions import db
from app.moderation import services as moderation
from tests.factories import ListingFactory, UserFactory
from tests.integration.deal_support import make_club
from tests.integration.moderation_support import moderator

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough password"
WIDTHS = {"desktop": 1280, "phone": 375}
REASON = "The photos show a different lamp than the one described."


def _sign_up(page: Page, base: str, handle: str) -> None:
    page.goto(f"{base}/signup")
    page.get_by_label("Email address").fill(f"{handle}@example.com")
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".account-menu summary")).to_have_text(f"@{handle}")


def _hide(kind: str, target_id: int, reason: str = REASON) -> None:
    report = moderation.create_report(
        UserFactory().id, kind, target_id, 1, "This is not what it says it is."
    )
    moderation.act(report.case_id, moderator().id, "hide", 1, reason)


def _fits(page: Page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("device", list(WIDTHS))
def test_the_owner_sees_why_their_listing_and_club_are_hidden(
    browser, live_app, live_server, screenshot_dir, device
):
    width = WIDTHS[device]
    viewport = {"width": width, "height": 900}
    owner = browser.new_context(viewport=viewport).new_page()
    other = browser.new_context(viewport=viewport).new_page()
    handle = f"lampmaker{width}"
    _sign_up(owner, live_server, handle)
    _sign_up(other, live_server, f"neighbour{width}")
    with live_app.app_context():
        seller = db.session.scalar(select(User).where(User.handle == handle))
        listing = ListingFactory(
            seller=seller, title="Brass desk lamp", description="Works, with a new cord."
        )
        club, _organizer, _ = make_club(organizer=seller, name="Elm Street bulk buyers")
        listing_id, club_id = listing.id, club.id
        _hide("listing", listing_id)
        _hide("club", club_id, "The club sells memberships, not groceries.")
        db.session.remove()

    owner.goto(f"{live_server}/listings/{listing_id}")
    notice = owner.locator(".moderation-notice")
    expect(notice).to_contain_text("Hidden by a moderator")
    expect(notice).to_contain_text("rule 1 (")
    expect(notice).to_contain_text(REASON)
    expect(notice).to_contain_text("Editing it asks the moderators for a re-review")
    _fits(owner, width)
    owner.screenshot(
        path=os.path.join(screenshot_dir, f"hidden-listing-owner-{device}.png"), full_page=True
    )

    owner.goto(f"{live_server}/my/listings")
    expect(owner.locator(".moderation-notice-compact")).to_contain_text("Hidden by a moderator")
    _fits(owner, width)
    owner.screenshot(
        path=os.path.join(screenshot_dir, f"hidden-my-listings-{device}.png"), full_page=True
    )

    owner.goto(f"{live_server}/clubs/{club_id}")
    expect(owner.locator(".moderation-notice")).to_contain_text("this club broke rule 1")
    _fits(owner, width)
    owner.screenshot(
        path=os.path.join(screenshot_dir, f"hidden-club-owner-{device}.png"), full_page=True
    )

    response = other.goto(f"{live_server}/listings/{listing_id}")
    assert response is not None and response.status == 404
    expect(other.locator("body")).to_contain_text("hidden pending review by a moderator")
    expect(other.locator("body")).not_to_contain_text("Works, with a new cord.")
    other.screenshot(
        path=os.path.join(screenshot_dir, f"hidden-listing-other-{device}.png"), full_page=True
    )
    response = other.goto(f"{live_server}/clubs/{club_id}")
    assert response is not None and response.status == 404
