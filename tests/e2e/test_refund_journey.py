"""An agreed refund in the browser: the buyer (on a phone) proposes a full refund of a paid
order, the seller counters with a partial one, the buyer accepts and the order is settled."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.accounts.models import User
from app.extensions import db
from app.orders import services as orders
from tests.e2e.test_loan_journey import _sign_up
from tests.factories import ListingFactory

pytestmark = pytest.mark.e2e


def _shot(page: Page, directory: str, name: str) -> None:
    page.screenshot(path=os.path.join(directory, f"refund-{name}.png"), full_page=True)


def _paid_order(app) -> int:
    """@rsam sold @rbea a lamp for $40.00, paid in person."""
    with app.app_context():
        people = {u.handle: u for u in db.session.scalars(select(User))}
        seller, buyer = people["rsam"], people["rbea"]
        listing = ListingFactory(seller=seller, title="Desk lamp", price_cents=4000, quantity=1)
        order = orders.place_order(buyer.id, listing.id, 1)
        orders.transition(order.id, "mark_paid", seller.id)
        order_id = order.id
        db.session.remove()
    return order_id


def test_a_buyer_and_seller_agree_on_a_partial_refund(
    browser, live_app, live_server, screenshot_dir
):
    buyer = browser.new_context(viewport={"width": 375, "height": 812}).new_page()
    seller = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _sign_up(seller, live_server, "rsam")
    _sign_up(buyer, live_server, "rbea")
    order_id = _paid_order(live_app)

    buyer.goto(f"{live_server}/orders/{order_id}")
    buyer.get_by_role("link", name="Agree on a refund").click()
    buyer.get_by_label("Amount back to the buyer").fill("40")
    buyer.get_by_label("Why (optional)").fill("The switch does not work.")
    buyer.get_by_role("button", name="Send the offer").click()
    expect(buyer.get_by_text("Waiting for the other side.")).to_be_visible()

    seller.goto(f"{live_server}/refunds/order/{order_id}")
    expect(seller.get_by_text("The switch does not work.")).to_be_visible()
    seller.get_by_label("Amount back to the buyer").fill("15")
    seller.get_by_role("button", name="Send the offer").click()
    _shot(seller, screenshot_dir, "1-countered")

    buyer.reload()
    expect(buyer.locator(".card").filter(has_text="Open offer")).to_contain_text("$15.00")
    assert buyer.evaluate("document.documentElement.scrollWidth") <= 375
    _shot(buyer, screenshot_dir, "2-counter-phone")
    buyer.get_by_role("button", name="Accept and move the money").click()
    expect(buyer.get_by_text("Agreed: the refund is carried out now.")).to_be_visible()
    buyer.goto(f"{live_server}/orders/{order_id}")
    expect(buyer.locator(".badge[data-state=resolved]")).to_be_visible()


def _completed_order(app) -> int:
    """@csam sold @cbea a kettle for $30.00, paid in person, shipped and delivered."""
    from app.payments import services as payment_services

    with app.app_context():
        people = {u.handle: u for u in db.session.scalars(select(User))}
        seller, buyer = people["csam"], people["cbea"]
        listing = ListingFactory(seller=seller, title="Kettle", price_cents=3000, quantity=1)
        order = orders.place_order(buyer.id, listing.id, 1)
        for action, who in (("mark_paid", seller), ("ship", seller), ("confirm_delivery", buyer)):
            orders.transition(order.id, action, who.id)
        payment_services.run_pending_operations()
        order_id = order.id
        db.session.remove()
    return order_id


def test_a_refund_after_completion_is_taken_back_from_the_seller(
    browser, live_app, live_server, screenshot_dir
):
    buyer = browser.new_context(viewport={"width": 375, "height": 812}).new_page()
    seller = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _sign_up(seller, live_server, "csam")
    _sign_up(buyer, live_server, "cbea")
    order_id = _completed_order(live_app)

    buyer.goto(f"{live_server}/orders/{order_id}")
    expect(buyer.get_by_text("a refund is still possible")).to_be_visible()
    expect(buyer.get_by_role("link", name="Open a dispute")).to_be_visible()
    assert buyer.evaluate("document.documentElement.scrollWidth") <= 375
    _shot(buyer, screenshot_dir, "3-completed-phone")
    buyer.get_by_role("link", name="Agree on a refund").click()
    buyer.get_by_label("Amount back to the buyer").fill("12")
    buyer.get_by_label("Why (optional)").fill("The lid broke the week after.")
    buyer.get_by_role("button", name="Send the offer").click()

    seller.goto(f"{live_server}/orders/{order_id}")
    expect(seller.get_by_text("a refund is still possible")).to_be_visible()
    expect(seller.get_by_role("link", name="Open a dispute")).to_have_count(0)  # buyer only
    _shot(seller, screenshot_dir, "4-completed-seller")
    seller.goto(f"{live_server}/refunds/order/{order_id}")
    seller.get_by_role("button", name="Accept and move the money").click()
    expect(seller.get_by_text("Agreed: the refund is carried out now.")).to_be_visible()
    seller.goto(f"{live_server}/orders/{order_id}")
    expect(seller.locator(".badge[data-state=resolved]")).to_be_visible()
    _shot(seller, screenshot_dir, "5-resolved-after-completion")
    with live_app.app_context():
        from app.payments import ledger
        from app.payments.models import Payment, ProviderOperation

        payment = db.session.scalar(select(Payment).where(Payment.subject_id == order_id))
        assert (payment.refunded_cents, payment.transferred_cents) == (1200, 1800)
        done = db.session.scalars(
            select(ProviderOperation.kind).where(
                ProviderOperation.payment_id == payment.id,
                ProviderOperation.kind.in_(("reversal", "refund")),
                ProviderOperation.status == "succeeded",
            )
        ).all()
        assert sorted(done) == ["refund", "reversal"]  # handed back in person, once
        assert ledger.verify().ok
        db.session.remove()
