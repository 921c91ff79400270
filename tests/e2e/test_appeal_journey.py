"""Feedback stays honest, in four browsers: a seller reports a buyer's abusive feedback, a
moderator hides it under the harassment rule, the public log shows the action, the author
appeals from their moderation page, and a second moderator (not the first) decides."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Page, expect

from app.extensions import db
from app.reviews.services import leave_feedback
from tests.factories import PASSWORD, ListingFactory, OrderFactory, UserFactory

pytestmark = pytest.mark.e2e

ABUSE = "The seller is a clown and a liar, avoid this idiot at all costs."
STATEMENT = "I was angry that the lamp came late; I should have said only that."


def _people(app) -> dict[str, str]:
    """A seller rated abusively by a buyer on a completed order, and two moderators."""
    with app.app_context():
        seller = UserFactory(handle="lampseller")
        buyer = UserFactory(handle="angrybuyer")
        first = UserFactory(handle="firstmod", is_moderator=True)
        second = UserFactory(handle="secondmod", is_moderator=True)
        order = OrderFactory(listing=ListingFactory(seller=seller, title="Brass desk lamp"),
                             buyer=buyer)  # fmt: skip
        leave_feedback(order.id, buyer.id, "negative", ABUSE)
        leave_feedback(order.id, seller.id, "positive", "Paid at once.")
        handles = {u.handle: u.email for u in (seller, buyer, first, second)}
        db.session.remove()
    return handles


def _sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".account-menu summary")).to_be_visible()


def _fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page is {width} px wide"


def _shot(page: Page, directory: str, name: str) -> None:
    _fits(page)
    page.screenshot(path=os.path.join(directory, f"appeal-{name}.png"), full_page=True)


def test_abusive_feedback_reported_hidden_logged_appealed_and_decided(
    browser, live_app, live_server, screenshot_dir
):
    emails = _people(live_app)
    base = live_server
    wide, narrow = {"width": 1280, "height": 900}, {"width": 375, "height": 812}
    seller = browser.new_context(viewport=wide).new_page()
    first = browser.new_context(viewport=wide).new_page()
    author = browser.new_context(viewport=narrow).new_page()
    second = browser.new_context(viewport=narrow).new_page()
    for page, handle in ((seller, "lampseller"), (first, "firstmod"), (author, "angrybuyer"),
                         (second, "secondmod")):  # fmt: skip
        _sign_in(page, base, emails[handle])

    # The seller reports the feedback on their profile under the harassment rule.
    seller.goto(f"{base}/u/lampseller")
    expect(seller.get_by_text(ABUSE)).to_be_visible()
    seller.get_by_role("link", name="Report this feedback").click()
    seller.get_by_label("Which rule does it break?").select_option(label="8. No harassment")
    seller.get_by_label("What happened").fill(
        "Calls me a clown and a liar; nothing about the lamp."
    )
    seller.get_by_role("button", name="Send the report").click()
    expect(seller.locator(".flash-success")).to_contain_text("A moderator will look at it")

    # The first moderator hides it: only the feedback rules are offered.
    first.goto(f"{base}/moderation?kind=feedback")
    first.get_by_role("link", name="Feedback by @angrybuyer").click()
    rules = first.get_by_label("Rule").locator("option")
    expect(rules).to_have_count(2)
    first.get_by_role("button", name="Claim this case").click()
    first.get_by_label("Action").select_option("hide")
    first.get_by_label("Rule").select_option(label="8. No harassment (abuse, harassment)")
    first.get_by_label("Reason (public, in the moderation log)").fill(
        "Insults the seller instead of describing the sale."
    )
    _shot(first, screenshot_dir, "1-case-1280")
    first.get_by_role("button", name="Record the decision").click()
    expect(first.locator(".flash-success")).to_contain_text("in the moderation log")

    # The public log shows the action; the profile shows the rule in the feedback's place.
    seller.goto(f"{base}/moderation/log")
    expect(seller.locator(".log-row").first).to_contain_text(
        "@firstmod hid feedback by @angrybuyer"
    )
    seller.goto(f"{base}/u/lampseller")
    expect(
        seller.get_by_text("Hidden by a moderator: breaks rule 8, No harassment.")
    ).to_be_visible()
    expect(seller.get_by_text(ABUSE)).to_have_count(0)
    _shot(seller, screenshot_dir, "2-profile-1280")

    # The author appeals from their moderation page, on a phone.
    author.goto(f"{base}/me/moderation")
    expect(author.get_by_text("Hid feedback by @angrybuyer")).to_be_visible()
    author.locator(".appeal-box summary").click()
    author.get_by_label("Why was this action wrong?").fill(STATEMENT)
    _shot(author, screenshot_dir, "3-mine-375")
    author.get_by_role("button", name="Send the appeal").click()
    expect(author.locator(".flash-success")).to_contain_text("Your appeal is sent")
    expect(author.get_by_text("Appeal waiting for a moderator")).to_be_visible()
    expect(author.get_by_role("button", name="Send the appeal")).to_have_count(0)

    # The moderator who hid it cannot decide the appeal.
    first.goto(f"{base}/moderation/appeals")
    first.get_by_role("link", name="Appeal by @angrybuyer").click()
    expect(first.get_by_text("You took this action: another moderator decides")).to_be_visible()
    expect(first.get_by_role("button", name="Record the decision")).to_have_count(0)

    # The second moderator finds it in the queue's Appeals tab and overturns it.
    second.goto(f"{base}/moderation")
    second.get_by_role("link", name="Appeals").click()
    _shot(second, screenshot_dir, "4-queue-375")
    second.get_by_role("link", name="Appeal by @angrybuyer").click()
    expect(second.get_by_text(STATEMENT)).to_be_visible()
    second.get_by_label("Decision").select_option("overturn")
    second.get_by_label("Rule").select_option(label="5. Feedback is about the transaction")
    second.get_by_label("Reason (public, in the moderation log)").fill(
        "Rude, but it says the lamp came late: it is about the sale."
    )
    _shot(second, screenshot_dir, "5-decide-375")
    second.get_by_role("button", name="Record the decision").click()
    expect(second.locator(".flash-success")).to_contain_text("Decided")

    # The log shows the decision, without the statement; the feedback is back.
    seller.goto(f"{base}/moderation/log")
    top = seller.locator(".log-row").first
    expect(top).to_contain_text("@secondmod overturned, on appeal, @firstmod's action")
    expect(seller.get_by_text(STATEMENT)).to_have_count(0)
    _shot(seller, screenshot_dir, "6-log-1280")
    seller.goto(f"{base}/u/lampseller")
    expect(seller.get_by_text(ABUSE)).to_be_visible()

    # The author is told, and sees the outcome on their page.
    author.goto(f"{base}/me/moderation")
    expect(author.get_by_text("Appeal overturned: the action was undone")).to_be_visible()
    _shot(author, screenshot_dir, "7-decided-375")
    author.goto(f"{base}/notifications")
    expect(author.get_by_text("Your appeal against")).to_be_visible()

    # Every new page fits both a desktop and a phone.
    decided = f"{base}/moderation/appeals?status=all"
    for page, url, name in (
        (author, f"{base}/me/moderation", "mine"),
        (second, decided, "queue"),
        (second, f"{base}/moderation/appeals/1", "appeal"),
        (seller, f"{base}/u/lampseller", "profile"),
    ):
        for width in (1280, 375):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(url)
            _shot(page, screenshot_dir, f"8-{name}-{width}")
