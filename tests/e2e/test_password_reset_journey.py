"""A forgotten password in the browser: ask for a link, read the mail (the file backend writes
each message to a folder), follow the link, set a new password, and sign in with it. Also the
confirmation banner of a new account and the confirmation page, at desktop and phone widths."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from email import message_from_string
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

from tests.conftest import make_test_app
from tests.e2e.test_sale_journey import _sign_up

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "violet kettle on the hill"


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """A live server whose mail goes to files in a folder; yields (base URL, that folder)."""
    root = tmp_path_factory.mktemp("reset-e2e")
    mail_dir = root / "mail"
    app = make_test_app(
        "sqlite",
        str(root),
        WTF_CSRF_ENABLED=True,
        MAIL_BACKEND="file",
        MAIL_FILE_PATH=str(mail_dir),
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["SITE_URL"] = base
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base, mail_dir
    finally:
        server.shutdown()


def _mails(mail_dir: Path) -> list:
    """Every message written so far, oldest first (a file may hold several)."""
    messages = []
    for path in sorted(mail_dir.glob("*.log"), key=os.path.getmtime) if mail_dir.exists() else []:
        for chunk in path.read_text().split("-" * 79):
            if chunk.strip():
                messages.append(message_from_string(chunk.strip()))
    return messages


def _wait_for_mail(page: Page, mail_dir: Path, to: str, subject: str, count: int = 1) -> str:
    """The body of the `count`-th mail to `to` with this subject (waits for it to be written)."""
    for _ in range(50):
        found = [m for m in _mails(mail_dir) if m["To"] == to and subject in m["Subject"]]
        if len(found) >= count:
            return found[count - 1].get_payload(decode=True).decode()
        page.wait_for_timeout(100)
    raise AssertionError(f"no mail {subject!r} to {to}")


def _shot(page: Page, directory: str, name: str) -> None:
    page.screenshot(path=os.path.join(directory, f"account-email-{name}.png"), full_page=True)


def _fits(page: Page) -> None:
    """Nothing sticks out sideways (no horizontal scrolling on a phone)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width


@pytest.mark.parametrize("width", [1280, 375], ids=["desktop", "phone"])
def test_a_forgotten_password_is_reset_through_the_mailed_link(
    browser, mail_server, screenshot_dir, width
):
    base, mail_dir = mail_server
    handle = f"rhea{width}"
    email = f"{handle}@example.com"
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    errors: list[str] = []
    # Script and CSP errors; the 422 and 400 answers this journey provokes are expected.
    page.on(
        "console",
        lambda m: (
            m.type == "error"
            and not m.text.startswith("Failed to load resource")
            and errors.append(m.text)
        ),
    )

    # A new account is asked to confirm its address.
    _sign_up(page, base, handle)
    banner = page.locator(".confirm-banner")
    expect(banner).to_contain_text("Please confirm your email address")
    _wait_for_mail(page, mail_dir, email, "Confirm your email address")
    _fits(page)
    _shot(page, screenshot_dir, f"1-banner-{width}")
    page.goto(f"{base}/settings#settings-email")
    expect(page.get_by_role("heading", name="Email address")).to_be_visible()
    _fits(page)
    _shot(page, screenshot_dir, f"2-settings-{width}")
    banner.get_by_role("button", name="Send the link again").click()
    expect(page.locator(".flash-success")).to_contain_text(f"We sent a new link to {email}")
    confirm_mail = _wait_for_mail(page, mail_dir, email, "Confirm your email address", count=2)
    page.goto(re.search(r"http://\S+/confirm-email/\S+", confirm_mail).group(0))
    _fits(page)
    _shot(page, screenshot_dir, f"3-confirm-{width}")
    page.get_by_role("button", name="Confirm this address").click()
    expect(page.locator(".flash-success")).to_contain_text(f"{email} is confirmed")
    expect(page.locator(".confirm-banner")).to_have_count(0)

    # Signed out, the person forgot their password.
    page.locator(".account-menu summary").click()
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.goto(f"{base}/login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
    _fits(page)
    _shot(page, screenshot_dir, f"4-forgot-{width}")
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("status")).to_contain_text("If an account exists for that address")
    _shot(page, screenshot_dir, f"5-sent-{width}")

    body = _wait_for_mail(page, mail_dir, email, "Reset your password")
    link = re.search(r"http://\S+/reset-password/\S+", body).group(0)
    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("Repeat new password").fill("short")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_text("Use at least 10 characters.")).to_be_visible()
    _fits(page)
    _shot(page, screenshot_dir, f"6-reset-{width}")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()
    expect(page.locator(".flash-success")).to_contain_text("Your new password is set")
    expect(page.locator(".account-menu summary")).to_have_text(f"@{handle}")

    # The link is spent; the new password signs in.
    page.goto(link)
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    _fits(page)
    _shot(page, screenshot_dir, f"7-spent-{width}")
    page.locator(".account-menu summary").click()
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.goto(f"{base}/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".account-menu summary")).to_have_text(f"@{handle}")
    assert errors == []
