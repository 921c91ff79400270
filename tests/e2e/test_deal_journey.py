"""A whole group deal in five browsers: the organizer drafts a deal in her club with price
tiers, the supplier accepts the terms, three members pledge and the deal tips, the deadline
passes and settlement fixes everyone's price at the best tier reached, the organizer records
the payments at pickup, prints the pickup list, marks everything delivered, the members confirm
receipt, and everybody rates everybody.

The club is made in the test's setup through the models (starting a club takes a reputation
the fresh accounts here do not have); everything else happens in the browser, except the clock:
the test moves the deadline into the past and runs the settlement job, as the worker would.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.accounts.models import User
from app.clubs import settlement
from app.clubs.models import ACTIVE, MEMBER, ORGANIZER, Club, ClubMember, GroupDeal, Pledge
from app.db import utcnow
from app.extensions import db

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough password"
MEMBERS = (("bea", 6), ("cyd", 5), ("dan", 4))  # 15 units: the 12+ tier at 8.00


def _sign_up(page: Page, base: str, handle: str) -> None:
    page.goto(f"{base}/signup")
    page.get_by_label("Email address", exact=True).fill(f"{handle}@example.com")
    page.get_by_label("Handle", exact=True).fill(handle)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".account-menu summary")).to_have_text(f"@{handle}")


def _shot(page: Page, directory: str, name: str) -> None:
    page.screenshot(path=os.path.join(directory, f"deal-journey-{name}.png"), full_page=True)


def _make_club(app, organizer: str, members: list[str]) -> int:
    with app.app_context():
        people = {
            user.handle: user
            for user in db.session.scalars(
                select(User).where(User.handle.in_([organizer, *members]))
            )
        }
        now = utcnow()
        club = Club(
            name="Elm Street Pantry",
            description="Neighbours buying staples together.",
            area="Elm Street community hall",
            invite_token=f"e2e-{now.timestamp():.0f}",
            organizer_id=people[organizer].id,
            member_count=1 + len(members),
        )
        db.session.add(club)
        db.session.flush()
        db.session.add(
            ClubMember(
                club_id=club.id,
                user_id=people[organizer].id,
                role=ORGANIZER,
                status=ACTIVE,
                joined_at=now,
            )
        )
        for handle in members:
            db.session.add(
                ClubMember(
                    club_id=club.id,
                    user_id=people[handle].id,
                    role=MEMBER,
                    status=ACTIVE,
                    joined_at=now,
                )
            )
        db.session.commit()
        club_id = club.id
        db.session.remove()
        return club_id


def _deadline_passes(app, deal_id: int) -> None:
    """The test's clock: the deadline moves into the past and the due job runs."""
    with app.app_context():
        deal = db.session.get(GroupDeal, deal_id)
        deal.deadline = utcnow() - timedelta(minutes=1)
        db.session.commit()
        settlement.run()
        db.session.remove()


def _rate_all(page: Page, base: str, deal_id: int) -> int:
    """Leave positive feedback in every open form on the deal page; how many were left."""
    page.goto(f"{base}/deals/{deal_id}")
    left = 0
    while page.locator("form.feedback-form").count():
        form = page.locator("form.feedback-form").first
        form.locator("label.rating-positive").click()
        form.get_by_role("button").last.click()
        expect(page.locator(".flash-success")).to_contain_text("Thank you")
        left += 1
        page.goto(f"{base}/deals/{deal_id}")
    return left


def test_a_group_deal_from_draft_to_rated(browser, live_app, live_server, screenshot_dir):
    base = live_server
    pages: dict[str, Page] = {}
    for handle, width in (("ann", 1280), ("sam", 1280), ("bea", 375), ("cyd", 1280), ("dan", 375)):
        page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
        _sign_up(page, base, handle)
        pages[handle] = page
    club_id = _make_club(live_app, "ann", [handle for handle, _ in MEMBERS])
    ann, sam = pages["ann"], pages["sam"]

    # The organizer drafts the deal; a bad tier is refused with a clear reason first.
    ann.goto(f"{base}/clubs/{club_id}/deals/new")
    ann.get_by_label("Product", exact=True).fill("Organic rolled oats, 1 kg bag")
    ann.get_by_label("Unit", exact=True).fill("bag")
    ann.get_by_label("Supplier", exact=True).fill("@sam")
    ann.get_by_label("Tier 1: from (units)", exact=True).fill("5")
    ann.get_by_label("Tier 1: unit price", exact=True).fill("9.00")
    ann.get_by_label("Tier 2: from (units)", exact=True).fill("12")
    ann.get_by_label("Tier 2: unit price", exact=True).fill("9.50")
    ann.get_by_label("Minimum total to tip", exact=True).fill("5")
    ann.get_by_label("Most per member (optional)", exact=True).fill("10")
    ann.get_by_label("Pledges close (UTC)", exact=True).fill(
        (utcnow() + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")
    )
    ann.get_by_label("Pickup point", exact=True).fill("Elm Street community hall")
    ann.get_by_label("Pickup times", exact=True).fill("Saturday 10:00-12:00")
    ann.get_by_label("Organizer's fee (%)", exact=True).fill("5")
    ann.get_by_role("button", name="Save as draft").click()
    expect(ann.locator(".deal-tier-error")).to_contain_text("must cost less per unit")
    expect(ann.get_by_label("Product", exact=True)).to_have_value("Organic rolled oats, 1 kg bag")
    ann.get_by_label("Tier 2: unit price", exact=True).fill("8.00")
    ann.get_by_label("Tier 3: from (units)", exact=True).fill("25")
    ann.get_by_label("Tier 3: unit price", exact=True).fill("7.00")
    ann.get_by_role("button", name="Save as draft").click()
    expect(ann.locator(".flash-success")).to_contain_text("Draft saved")
    deal_id = int(ann.url.rstrip("/").split("/")[-1])
    _shot(ann, screenshot_dir, "1-draft")
    ann.get_by_role("button", name="Send to the supplier").click()
    expect(ann.locator(".page-head .badge")).to_have_text("Waiting for the supplier")

    # The supplier accepts the terms: pledges open.
    sam.goto(f"{base}/deals")
    expect(sam.locator(".deal-needs-you")).to_contain_text("Accept or decline")
    sam.goto(f"{base}/deals/{deal_id}")
    sam.get_by_role("button", name="Accept the terms").click()
    expect(sam.locator(".page-head .badge")).to_have_text("Open for pledges")

    # Three members pledge; the bar follows, and the deal tips at 5.
    for handle, quantity in MEMBERS:
        page = pages[handle]
        page.goto(f"{base}/deals/{deal_id}")
        expect(page.locator("#pledge")).to_contain_text("You pay only if the deal tips")
        page.get_by_label("How many bags", exact=True).fill(str(quantity))
        page.get_by_role("button", name="Pledge", exact=True).click()
        expect(page.locator(".flash-success")).to_contain_text(f"Pledged: {quantity} bags")
    bea = pages["bea"]
    bea.goto(f"{base}/deals/{deal_id}")
    expect(bea.locator(".page-head .badge")).to_have_text("Tipped")
    expect(bea.locator(".deal-progress-lines")).to_contain_text("15 bags pledged by 3 members")
    expect(bea.locator(".deal-progress-lines")).to_contain_text("Price now: $8.00")
    expect(bea.locator(".deal-progress-lines")).to_contain_text("10 bags more bring")
    # 6 bags at most at 9.00 + 5 % fee = 56.70; at today's 8.00: 50.40
    expect(bea.locator("#pledge")).to_contain_text("$56.70")
    expect(bea.locator("#pledge")).to_contain_text("$50.40")
    assert bea.evaluate("document.documentElement.scrollWidth") <= 375
    _shot(bea, screenshot_dir, "2-tipped-phone")

    # The deadline passes: everybody's price is the best tier reached, 8.00.
    _deadline_passes(live_app, deal_id)
    with live_app.app_context():
        found = db.session.scalars(select(Pledge).where(Pledge.deal_id == deal_id)).all()
        assert {p.unit_price_cents for p in found} == {800}
        assert sorted(p.amount_cents for p in found) == sorted(
            q * 800 + (q * 800 * 500 + 5000) // 10000 for _, q in MEMBERS
        )
        db.session.remove()
    bea.goto(f"{base}/deals/{deal_id}")
    expect(bea.locator("#pledge")).to_contain_text("$50.40")

    # At pickup the organizer records the payments, prints the list, delivers.
    ann.goto(f"{base}/deals/{deal_id}")
    for _ in MEMBERS:
        if ann.get_by_role("button", name="Paid in person").count():
            ann.get_by_role("button", name="Paid in person").first.click()
            expect(ann.locator(".flash-success")).to_contain_text("Payment recorded")
    ann.get_by_role("link", name="Printable pickup list").click()
    expect(ann.locator(".roster-table tbody tr")).to_have_count(3)
    expect(ann.locator(".roster-table tfoot")).to_contain_text("15")
    ann.emulate_media(media="print")
    expect(ann.locator(".site-header")).to_be_hidden()
    _shot(ann, screenshot_dir, "3-pickup-list-print")
    ann.emulate_media(media="screen")
    ann.goto(f"{base}/deals/{deal_id}")
    ann.get_by_role("button", name="Delivered to the pickup point").click()
    expect(ann.locator(".flash-success")).to_contain_text("3 pledges marked as delivered")
    if ann.get_by_role("button", name="Mark as delivered").count():
        ann.get_by_role("button", name="Mark as delivered").first.click()

    # Members confirm receipt; the deal completes.
    for handle, _ in MEMBERS:
        page = pages[handle]
        page.goto(f"{base}/deals/{deal_id}")
        page.get_by_role("button", name="I received it").click()
        expect(page.locator(".flash-success")).to_contain_text("Receipt confirmed")
    ann.goto(f"{base}/deals/{deal_id}")
    expect(ann.locator(".page-head .badge")).to_have_text("Completed")

    # Everybody rates everybody: members rate organizer and supplier; they rate each member
    # and each other.
    assert _rate_all(ann, base, deal_id) == 4
    assert _rate_all(sam, base, deal_id) == 4
    for handle, _ in MEMBERS:
        assert _rate_all(pages[handle], base, deal_id) == 2
    _shot(pages["dan"], screenshot_dir, "4-rated-phone")
