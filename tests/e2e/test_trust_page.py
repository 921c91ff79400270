"""The trust level page in a browser, at desktop and phone widths: a member signs up, makes
some history, reads their level and what the next one needs, and is refused a price above
their ceiling next to the price field."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.accounts.models import User
from app.db import utcnow
from app.extensions import db
from tests.factories import ListingFactory, OrderFactory

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough password"


def _sign_up(page: Page, base: str, handle: str) -> None:
    page.goto(f"{base}/signup")
    page.get_by_label("Email address").fill(f"{handle}@example.com")
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".account-menu summary")).to_have_text(f"@{handle}")


def _history(app, handle: str) -> None:
    """Three weeks of membership and two completed sales."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.handle == handle))
        user.created_at = utcnow() - timedelta(days=21)
        for _ in range(2):
            OrderFactory(listing=ListingFactory(seller=user, created_at=user.created_at))
        db.session.commit()
        db.session.remove()


def _fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page is {width} px wide"


@pytest.mark.parametrize("width", [1280, 375])
def test_the_trust_page_at_desktop_and_phone_width(
    page: Page, live_server, live_app, screenshot_dir, width
):
    live_app.config["TRUST_GATES_ENABLED"] = True
    page.set_viewport_size({"width": width, "height": 900})
    handle = f"trusty{width}"
    _sign_up(page, live_server, handle)
    _history(live_app, handle)
    page.goto(f"{live_server}/settings")
    page.get_by_role("link", name="Your trust level").click()
    expect(page.get_by_role("heading", name="Level 1: Basic")).to_be_visible()
    expect(page.get_by_role("heading", name="To reach level 2: Member")).to_be_visible()
    expect(page.locator(".trust-missing").first).to_contain_text("Positive ratings received")
    _fits(page)
    page.screenshot(path=os.path.join(screenshot_dir, f"trust-page-{width}.png"), full_page=True)

    page.goto(f"{live_server}/sell")
    page.get_by_label("Title").fill("Walnut dining table, seats six")
    page.get_by_label("Category").select_option(label="Home & garden")
    page.get_by_label("Condition").select_option(label="Good")
    page.get_by_label("Price").fill("1500")
    page.get_by_label("Quantity").fill("1")
    page.get_by_role("button", name="Publish listing").click()
    expect(page.get_by_text("At trust level 1 (Basic) a listing's price")).to_be_visible()
    _fits(page)
    page.screenshot(path=os.path.join(screenshot_dir, f"trust-refused-{width}.png"), full_page=True)
    live_app.config["TRUST_GATES_ENABLED"] = False
