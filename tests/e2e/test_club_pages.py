"""A member who earned the privilege starts a buying club through the form, a neighbour asks to
join, the organizer approves on the members page, they talk in the club's conversation, and a
private club's invite link lets a third person in; at 1280 and 375 px."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.accounts.models import User
from app.extensions import db
from tests.integration.club_support import rated

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
    page.screenshot(path=os.path.join(directory, f"clubs-{name}.png"), full_page=True)


def _fits(page: Page, width: int) -> None:
    """Nothing sticks out sideways (no horizontal scrolling on a phone)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def _earns_privilege(app, handle: str) -> None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.handle == handle))
        rated(user, 6)
        rated(user, 3, role="organizer")
        db.session.remove()


@pytest.mark.parametrize("device", list(WIDTHS))
def test_start_a_club_answer_a_request_and_talk(
    browser, live_app, live_server, screenshot_dir, device
):
    width = WIDTHS[device]
    viewport = {"width": width, "height": 900}
    owner = browser.new_context(viewport=viewport).new_page()
    member = browser.new_context(viewport=viewport).new_page()
    guest = browser.new_context(viewport=viewport).new_page()
    console_errors: list[str] = []
    for page in (owner, member, guest):
        page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
    letter = device[0]

    # Without ratings, the rule is stated instead of the form.
    _sign_up(owner, live_server, f"olga{letter}")
    if device == "phone":  # the header row is full: Clubs is in the account menu
        expect(owner.locator(".header-nav > .nav-clubs")).to_be_hidden()
        owner.locator(".account-menu summary").click()
        owner.get_by_role("link", name="Your clubs").click()
    else:
        owner.get_by_role("link", name="Clubs", exact=True).click()
    expect(owner.get_by_role("heading", name="Buying clubs")).to_be_visible()
    expect(owner.get_by_text("Starting a club takes trust level 2", exact=False)).to_be_visible()
    owner.goto(f"{live_server}/clubs/new")
    expect(owner.get_by_role("heading", name="Not yet")).to_be_visible()

    # With them, the form; a name too short comes back with what was typed.
    _earns_privilege(live_app, f"olga{letter}")
    owner.goto(f"{live_server}/clubs/new")
    owner.get_by_label("Name").fill("Oa")
    owner.get_by_label("Where members meet and pick up (optional)").fill("Old mill, Riverside")
    owner.get_by_text("By approval: an organizer approves each request").click()
    owner.get_by_role("button", name="Start the club").click()
    expect(owner.get_by_text("Give the club a name of at least 3 characters.")).to_be_visible()
    expect(owner.get_by_label("Where members meet and pick up (optional)")).to_have_value(
        "Old mill, Riverside"
    )
    _fits(owner, width)
    _shot(owner, screenshot_dir, f"form-{device}")
    owner.get_by_label("Name").fill(f"Riverside pantry {letter}")
    owner.get_by_label("What the club buys together").fill(
        "Oats, flour and lentils by the sack from the mill, split into family bags."
    )
    owner.get_by_text("By approval: an organizer approves each request").click()
    owner.get_by_role("button", name="Start the club").click()
    expect(owner.get_by_role("heading", name=f"Riverside pantry {letter}")).to_be_visible()
    expect(owner.get_by_text("100.0% positive")).to_be_visible()
    club_url = owner.url

    # A neighbour asks to join with a message.
    _sign_up(member, live_server, f"mia{letter}")
    member.goto(f"{live_server}/clubs")
    member.get_by_role("link", name=f"Riverside pantry {letter}").click()
    _fits(member, width)
    _shot(member, screenshot_dir, f"join-{device}")
    member.get_by_label("Message to the organizers (optional)").fill("I bake a lot of bread!")
    member.get_by_role("button", name="Ask to join").click()
    expect(member.get_by_text("Request sent.")).to_be_visible()
    expect(member.get_by_role("button", name="Withdraw the request")).to_be_visible()
    _fits(member, width)

    # The organizer approves it on the members page.
    owner.goto(club_url)
    _fits(owner, width)
    owner.get_by_role("link", name="Members 1").click()
    expect(owner.get_by_text("“I bake a lot of bread!”")).to_be_visible()
    _fits(owner, width)
    _shot(owner, screenshot_dir, f"requests-{device}")
    owner.get_by_role("button", name="Approve").click()
    expect(owner.get_by_text(f"@mia{letter} is a member now.")).to_be_visible()
    owner.get_by_role("button", name="Make co-organizer").click()
    expect(owner.get_by_text(f"@mia{letter} is a co-organizer now.")).to_be_visible()
    _fits(owner, width)
    _shot(owner, screenshot_dir, f"members-{device}")

    # They talk in the club's conversation.
    member.goto(club_url)
    member.get_by_label("Message").fill("Shall we order rye flour too?")
    member.get_by_role("button", name="Send to the club").click()
    expect(
        member.locator(".message-body", has_text="Shall we order rye flour too?")
    ).to_be_visible()
    owner.goto(club_url)
    expect(owner.locator(".message-body", has_text="Shall we order rye flour too?")).to_be_visible()
    _fits(owner, width)
    _shot(owner, screenshot_dir, f"club-{device}")

    # Made private and invite-only: a stranger cannot see it, the invite link lets them in.
    owner.goto(club_url + "/edit")
    owner.get_by_text("Private: only its members see it").click()
    owner.get_by_text("By invite link only").click()
    owner.get_by_role("button", name="Save").click()
    expect(owner.get_by_text("Club saved.")).to_be_visible()
    invite_url = owner.locator("#invite-url").input_value()
    _sign_up(guest, live_server, f"gus{letter}")
    assert guest.goto(club_url).status == 404
    console_errors.clear()  # the browser reports that 404 itself
    guest.goto(invite_url)
    expect(guest.get_by_text("You are invited to a buying club")).to_be_visible()
    _fits(guest, width)
    _shot(guest, screenshot_dir, f"invite-{device}")
    guest.get_by_role("button", name="Join the club").click()
    expect(guest.get_by_text("Welcome to the club!")).to_be_visible()
    expect(guest.get_by_role("heading", name="Club conversation")).to_be_visible()

    # Browse lists it no more; my clubs does.
    guest.goto(f"{live_server}/clubs")
    _fits(guest, width)
    _shot(guest, screenshot_dir, f"browse-{device}")
    expect(guest.locator("#mine-title")).to_be_visible()
    expect(guest.get_by_role("link", name=f"Riverside pantry {letter}")).to_have_count(1)
    assert not console_errors
