"""The whole sale, as two people in two browsers: list, find, buy, pay, ship, receive, rate."""

from __future__ import annotations

import io
import os
import re

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough password"


def _photo(tmp_path) -> str:
    path = tmp_path / "lamp.png"
    image = Image.new("RGB", (900, 700), "#2f855a")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return str(path)


def _sign_up(page: Page, base: str, handle: str) -> None:
    page.goto(f"{base}/signup")
    page.get_by_label("Email address").fill(f"{handle}@example.com")
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".account-menu summary")).to_have_text(f"@{handle}")


def _shot(page: Page, directory: str, name: str) -> None:
    page.screenshot(path=os.path.join(directory, f"journey-{name}.png"), full_page=True)


def test_a_sale_from_listing_to_revealed_feedback(browser, live_server, tmp_path, screenshot_dir):
    seller = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    buyer = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    console_errors: list[str] = []
    for page in (seller, buyer):
        page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))

    # The seller signs up and lists a lamp with a photo.
    _sign_up(seller, live_server, "sela")
    seller.goto(f"{live_server}/sell")
    seller.get_by_label("Title").fill("Brass reading lamp with linen shade")
    seller.get_by_label("Description").fill("Warm light, works perfectly. Pick-up or post.")
    seller.get_by_label("Category").select_option(label="Home & garden")
    seller.get_by_label("Condition").select_option(label="Good")
    seller.get_by_label("Price").fill("42.50")
    seller.get_by_label("Quantity").fill("1")
    seller.get_by_label("Photos").set_input_files(_photo(tmp_path))
    seller.get_by_role("button", name="Publish listing").click()
    expect(
        seller.get_by_role("heading", name="Brass reading lamp with linen shade")
    ).to_be_visible()
    expect(seller.locator("img[src*='/photos/']").first).to_be_visible()
    _shot(seller, screenshot_dir, "1-listing")

    # The buyer signs up, finds it by searching a word of its description, and buys it.
    _sign_up(buyer, live_server, "buyo")
    buyer.goto(f"{live_server}/listings?q=linen")
    buyer.get_by_role("link", name=re.compile("Brass reading lamp")).first.click()
    expect(buyer.get_by_text("$42.50").first).to_be_visible()
    buyer.get_by_role("button", name="Buy now").click()
    expect(buyer).to_have_url(re.compile(r"/orders/\d+$"))
    order_url = buyer.url
    expect(buyer.get_by_text("Awaiting payment", exact=False).first).to_be_visible()
    _shot(buyer, screenshot_dir, "2-ordered")

    # The seller confirms the payment and ships.
    seller.goto(order_url)
    seller.get_by_label(re.compile(r"I have received \$42\.50 from @buyo")).check()
    seller.get_by_role("button", name="Mark as paid").click()
    expect(seller.get_by_role("button", name="Mark as shipped")).to_be_visible()
    seller.get_by_role("button", name="Mark as shipped").click()
    expect(seller.get_by_text("Shipped").first).to_be_visible()

    # The buyer confirms delivery: the order completes.
    buyer.goto(order_url)
    buyer.get_by_role("button", name="Confirm delivery").click()
    expect(buyer.get_by_text("Completed").first).to_be_visible()

    # The buyer rates first: the feedback stays hidden from the seller.
    buyer.locator("input[name=rating][value=positive]").check()
    buyer.get_by_label("Comment").fill("Lovely lamp, friendly seller.")
    buyer.get_by_role("button", name="Submit feedback").click()
    expect(buyer.get_by_text("hidden", exact=False).first).to_be_visible()
    seller.goto(order_url)
    expect(seller.get_by_text("Lovely lamp, friendly seller.")).to_have_count(0)

    # The seller rates: both ratings appear for both.
    seller.locator("input[name=rating][value=positive]").check()
    seller.get_by_label("Comment").fill("Paid promptly, easy pick-up.")
    seller.get_by_role("button", name="Submit feedback").click()
    expect(seller.get_by_text("Lovely lamp, friendly seller.")).to_be_visible()
    buyer.goto(order_url)
    expect(buyer.get_by_text("Paid promptly, easy pick-up.")).to_be_visible()
    expect(buyer.get_by_text("Lovely lamp, friendly seller.")).to_be_visible()
    _shot(buyer, screenshot_dir, "3-feedback-phone")
    _shot(seller, screenshot_dir, "4-feedback")

    # Signing out is in the account menu, which opens without JavaScript (a <details>).
    buyer.locator(".account-menu summary").click()
    _shot(buyer, screenshot_dir, "5-account-menu-phone")
    buyer.get_by_role("button", name="Sign out").click()
    expect(buyer.get_by_role("link", name="Sign in")).to_be_visible()

    # Anyone can read the seller's public profile and its revealed feedback.
    buyer.goto(f"{live_server}/u/sela")
    expect(buyer.get_by_text("Paid promptly", exact=False)).to_have_count(0)
    expect(buyer.get_by_text("Lovely lamp, friendly seller.")).to_be_visible()
    # Nothing on the way broke the Content-Security-Policy or failed to load.
    assert console_errors == []
