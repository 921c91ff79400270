"""Retries without double charges: timeouts, provider errors and crashes between the provider's
answer and our commit, injected around the real provider talking to localstripe."""

from __future__ import annotations

import pytest
from click.testing import Result
from sqlalchemy import select

from app.extensions import db
from app.orders import money as order_money
from app.orders import services as orders
from app.payments import ledger, services
from app.payments.models import Payment, PaymentProfile, ProviderOperation
from app.payments.providers import get_provider
from app.payments.providers.base import ProviderUnavailable
from app.payments.providers.faults import SimulatedCrash
from tests.factories import ListingFactory, UserFactory
from tests.integration.support import card_payment_confirmed

pytest_plugins = ("tests.stripe_server",)


@pytest.fixture
def paid_order(faulty):
    order, payment = card_payment_confirmed(3000, provider=faulty.inner.inner, stock=2)
    services.sync_payment(payment.id)
    db.session.refresh(order)
    assert order.state == "paid"
    return order


def payment_of(order) -> Payment:
    return db.session.scalar(select(Payment).where(Payment.subject_id == order.id))


def refunds_at_stripe(order) -> list[int]:
    return sorted(
        r.amount_cents for r in get_provider().list_refunds(payment_of(order).provider_ref)
    )


def flask(app, *args) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def test_timeout_after_refund_is_retried_without_refunding_twice(paid_order, faulty):
    faulty.fail("refund", "timeout_after")

    op = order_money.refund_order(paid_order.id, paid_order.seller_id, 1000)

    assert op.status == "succeeded"
    assert faulty.calls.count("refund") == 1
    assert refunds_at_stripe(paid_order) == [1000]
    assert ledger.verify().ok and services.reconcile().ok


def test_provider_down_leaves_refund_pending_then_the_job_sends_it_once(paid_order, faulty):
    faulty.fail("refund", "unavailable", "unavailable", "unavailable")

    op = order_money.refund_order(paid_order.id, paid_order.seller_id, 1000)

    assert (op.status, op.attempts) == ("pending", 1)
    assert refunds_at_stripe(paid_order) == []
    assert ledger.balance(ledger.REFUNDS_PENDING, "USD") == 1000
    assert ledger.verify().ok  # the escrow already gave the money up; it waits in "pending"

    assert services.run_pending_operations() == 1
    assert services.run_pending_operations() == 0
    assert refunds_at_stripe(paid_order) == [1000]
    assert ledger.balance(ledger.REFUNDS_PENDING, "USD") == 0
    assert ledger.balance(ledger.REFUNDS_PAID, "USD") == 1000


def test_crash_after_refund_is_recovered_by_reconcile_without_a_second_refund(
    stripe_app,
    paid_order,
    faulty,
):
    faulty.fail("refund", "crash_after")
    with pytest.raises(SimulatedCrash):
        order_money.refund_order(paid_order.id, paid_order.seller_id, 1200)
    db.session.rollback()

    op = db.session.scalar(select(ProviderOperation).where(ProviderOperation.kind == "refund"))
    assert op.status == "pending" and op.provider_ref is None
    assert refunds_at_stripe(paid_order) == [1200]  # Stripe refunded; we never heard

    result = flask(stripe_app, "payments", "reconcile")

    assert result.exit_code == 0, result.output
    assert "completed" in result.output
    assert refunds_at_stripe(paid_order) == [1200]
    db.session.expire_all()
    assert db.session.get(ProviderOperation, op.id).status == "succeeded"
    assert ledger.balance(ledger.REFUNDS_PAID, "USD") == 1200
    assert flask(stripe_app, "ledger", "verify").exit_code == 0


def test_crash_after_cancel_refund_inside_transition_keeps_order_and_money_consistent(
    stripe_app,
    paid_order,
    faulty,
):
    faulty.fail("refund", "crash_after")
    orders.transition(paid_order.id, "cancel", paid_order.buyer_id)  # commits; refund is staged
    with pytest.raises(SimulatedCrash):
        services.run_pending_operations()
    db.session.rollback()

    assert services.reconcile().ok
    assert refunds_at_stripe(paid_order) == [3000]
    assert ledger.verify().ok


def test_timeout_on_creating_the_payment_intent_is_retried_with_the_same_key(faulty):
    listing = ListingFactory(price_cents=1500)
    order = orders.place_order(UserFactory().id, listing.id, 1)
    faulty.fail("create_payment", "unavailable", "timeout_after")

    start = order_money.start_order_payment(order.id, order.buyer_id)

    payment = db.session.get(Payment, start.payment_id)
    assert payment.provider_ref and start.client_secret.startswith(payment.provider_ref)
    assert faulty.calls.count("create_payment") == 2  # both carried payment.operation_key


def test_provider_down_when_starting_payment_is_a_clear_error_and_nothing_is_charged(faulty):
    listing = ListingFactory(price_cents=1500)
    order = orders.place_order(UserFactory().id, listing.id, 1)
    faulty.fail("create_payment", "unavailable", "unavailable", "unavailable")

    with pytest.raises(ProviderUnavailable, match="try again"):
        order_money.start_order_payment(order.id, order.buyer_id)
    payment = db.session.scalar(select(Payment))
    assert payment.status == "created" and payment.provider_ref is None
    assert ledger.balance(ledger.ESCROW, "USD") == 0


def test_crash_after_payout_transfer_is_recovered_without_paying_twice(
    paid_order,
    faulty,
):
    seller = paid_order.seller_id
    services.start_payout_onboarding(seller, refresh_url="http://x/r", return_url="http://x/b")
    profile = db.session.scalar(select(PaymentProfile))
    faulty.inner.approve(profile.account_ref)
    services.refresh_payout_account(seller)

    orders.transition(paid_order.id, "ship", seller)
    orders.transition(paid_order.id, "confirm_delivery", paid_order.buyer_id)
    faulty.fail("transfer", "crash_after")
    with pytest.raises(SimulatedCrash):
        services.run_pending_operations()
    db.session.rollback()
    assert len(faulty.inner.transfers) == 1

    report = services.reconcile()

    assert report.ok, report.problems
    assert len(faulty.inner.transfers) == 1
    assert ledger.balance(ledger.PAYABLE, "USD", user_id=seller) == 0
    assert ledger.verify().ok


def test_payment_succeeded_while_we_were_down_is_repaired_by_reconcile(faulty):
    # Paid at the provider; no webhook, no return page.
    order, _payment = card_payment_confirmed(1500, provider=faulty.inner.inner)

    report = services.reconcile()

    assert any("succeeded" in line for line in report.repaired)
    db.session.refresh(order)
    assert order.state == "paid"
    assert ledger.balance(ledger.ESCROW, "USD") == 1500 and ledger.verify().ok


def test_reconcile_reports_a_refund_made_outside_mutual(stripe_app, paid_order):
    get_provider().refund(
        payment_of(paid_order).provider_ref,
        amount_cents=300,
        idempotency_key="dashboard",
        metadata={},
    )

    result = flask(stripe_app, "payments", "reconcile")

    assert result.exit_code == 1
    assert "refunded 300" in result.output
