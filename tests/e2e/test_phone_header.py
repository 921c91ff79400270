"""On a 375 px phone the header is one row of links a finger can hit (44 px), signed in or out."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough password"
TAP = 44


def _header_targets(page: Page) -> list[dict]:
    boxes = []
    for locator in (
        page.locator(".brand"),
        page.locator(".header-nav > a:visible, .account-menu > summary"),
    ):
        for i in range(locator.count()):
            if not locator.nth(i).is_visible():  # a link the phone keeps in the account menu
                continue
            box = locator.nth(i).bounding_box()
            assert box is not None
            boxes.append({"text": locator.nth(i).inner_text().strip(), **box})
    return boxes


def _assert_one_row_of_big_targets(page: Page) -> None:
    boxes = _header_targets(page)
    assert len(boxes) >= 3
    for box in boxes:
        assert box["height"] >= TAP and box["width"] >= TAP, box
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, box
    middles = [box["y"] + box["height"] / 2 for box in boxes]
    assert max(middles) - min(middles) < 4, boxes  # one row
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_phone_header_is_one_row_of_44px_links(browser, live_server):
    page = browser.new_context(viewport={"width": 375, "height": 812}).new_page()
    page.goto(f"{live_server}/about")
    _assert_one_row_of_big_targets(page)

    page.goto(f"{live_server}/signup")
    page.get_by_label("Email address").fill("phoneheader@example.com")
    page.get_by_label("Handle").fill("phone_header_person")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".account-menu summary")).to_have_text("@phone_header_person")
    for path in ("/", "/about", "/listings"):
        page.goto(f"{live_server}{path}")
        _assert_one_row_of_big_targets(page)
    # One search box on the home page; elsewhere it sits under the header row.
    page.goto(f"{live_server}/")
    assert page.locator("input[type=search]").count() == 1
