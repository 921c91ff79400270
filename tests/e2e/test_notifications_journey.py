"""Notifications in the browser: the seller hears of the order under the bell, follows it to the
order and acts; the buyer's bell then shows each step. Works without JavaScript (links, forms)."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_sale_journey import _photo, _sign_up

pytestmark = pytest.mark.e2e


def _shot(page: Page, directory: str, name: str, full_page: bool = True) -> None:
    page.screenshot(path=os.path.join(directory, f"notifications-{name}.png"), full_page=full_page)


def test_the_bell_leads_each_party_to_the_order_that_needs_them(
    browser, live_server, tmp_path, screenshot_dir
):
    seller = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    buyer = browser.new_context(viewport={"width": 375, "height": 812}).new_page()
    console_errors: list[str] = []
    for page in (seller, buyer):
        page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))

    _sign_up(seller, live_server, "nella")
    expect(seller.locator(".bell .bell-count")).to_have_count(0)
    seller.goto(f"{live_server}/sell")
    seller.get_by_label("Title").fill("Enamel teapot, sky blue")
    seller.get_by_label("Description").fill("Holds a litre. A tiny chip on the lid.")
    seller.get_by_label("Category").select_option(label="Home & garden")
    seller.get_by_label("Condition").select_option(label="Good")
    seller.get_by_label("Price").fill("18")
    seller.get_by_label("Quantity").fill("1")
    seller.get_by_label("Photos").set_input_files(_photo(tmp_path))
    seller.get_by_role("button", name="Publish listing").click()
    expect(seller.get_by_role("heading", name="Enamel teapot, sky blue")).to_be_visible()
    listing_url = seller.url

    # The buyer orders.
    _sign_up(buyer, live_server, "nico")
    buyer.goto(listing_url)
    buyer.get_by_role("button", name="Buy now").click()
    expect(buyer).to_have_url(re.compile(r"/orders/\d+$"))
    order_url = buyer.url

    # The seller's bell counts it; the list leads to the order.
    seller.goto(f"{live_server}/")
    bell = seller.get_by_role("link", name="Notifications, 1 unread")
    expect(bell).to_be_visible()
    expect(seller.locator(".bell .bell-count")).to_have_text("1")
    _shot(seller, screenshot_dir, "1-bell-desktop", full_page=False)
    bell.click()
    expect(seller).to_have_url(f"{live_server}/notifications")
    expect(seller.locator(".notification-unread")).to_have_count(1)
    _shot(seller, screenshot_dir, "2-list-desktop")
    seller.get_by_role("link", name=re.compile("@nico ordered “Enamel teapot, sky blue”")).click()
    expect(seller).to_have_url(order_url)
    expect(seller.locator(".bell .bell-count")).to_have_count(0)  # opening it read it
    seller.get_by_label(re.compile(r"I have received .* from @")).check()
    seller.get_by_role("button", name="Mark as paid").click()
    expect(seller.get_by_role("button", name="Mark as shipped")).to_be_visible()
    seller.get_by_role("button", name="Mark as shipped").click()
    expect(seller.get_by_text("Shipped").first).to_be_visible()

    # The buyer's bell shows both steps; the newest leads to the order, to confirm delivery.
    buyer.goto(f"{live_server}/")
    expect(buyer.locator(".bell .bell-count")).to_have_text("2")
    _shot(buyer, screenshot_dir, "3-bell-phone", full_page=False)
    buyer.locator(".bell").click()
    items = buyer.locator(".notification-unread")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("@nella shipped “Enamel teapot, sky blue”")
    expect(items.nth(1)).to_contain_text("@nella confirmed your payment")
    _shot(buyer, screenshot_dir, "4-list-phone")
    buyer.get_by_role("link", name=re.compile("@nella shipped")).click()
    expect(buyer).to_have_url(order_url)
    expect(buyer.get_by_role("button", name="Confirm delivery")).to_be_visible()

    # The other one is marked as read with the button, without opening it.
    buyer.goto(f"{live_server}/notifications")
    expect(buyer.locator(".notification-unread")).to_have_count(1)
    buyer.get_by_role("button", name="Mark all as read").click()
    expect(buyer.get_by_text("Marked 1 notification as read.")).to_be_visible()
    expect(buyer.locator(".notification-unread")).to_have_count(0)
    expect(buyer.locator(".bell .bell-count")).to_have_count(0)

    # Preferences live in settings.
    buyer.goto(f"{live_server}/settings/notifications")
    buyer.get_by_role("group", name="Messages").get_by_label("Also by email").check()
    buyer.get_by_role("button", name="Save").click()
    expect(buyer.get_by_text("Your notification settings are saved.")).to_be_visible()
    expect(
        buyer.get_by_role("group", name="Messages").get_by_label("Also by email")
    ).to_be_checked()
    _shot(buyer, screenshot_dir, "5-preferences-phone")
    assert console_errors == []
