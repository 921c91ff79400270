"""Card payments against localstripe: the order's money is charged to the platform, held in
escrow, refunded or paid out to the seller, and every step balances in the ledger."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.orders import money as order_money
from app.orders import services as orders
from app.payments import ledger, services
from app.payments.models import Payment, PaymentProfile, ProviderOperation
from app.payments.providers import get_provider
from app.payments.providers.base import PaymentDeclined, ProviderRejected
from tests.factories import ListingFactory, UserFactory

pytest_plugins = ("tests.stripe_server",)


@pytest.fixture
def order(stripe_app):
    listing = ListingFactory(price_cents=2000, quantity=5)
    return orders.place_order(UserFactory().id, listing.id, 2)


def pay(order, card="4242424242424242") -> Payment:
    """The buyer pays with a test card (what the browser's card element does)."""
    start = order_money.start_order_payment(order.id, order.buyer_id)
    payment = db.session.get(Payment, start.payment_id)
    get_provider().pay_with_test_card(payment.provider_ref, card_number=card)
    return services.sync_payment(payment.id)


def test_start_payment_answers_a_client_secret_for_the_full_amount(order):
    start = order_money.start_order_payment(order.id, order.buyer_id)

    assert start.client_secret and start.client_secret.startswith("pi_")
    assert (start.amount_cents, start.currency, start.provider) == (4000, "USD", "stripe")
    remote = get_provider().retrieve_payment(db.session.get(Payment, start.payment_id).provider_ref)
    assert remote.amount_cents == 4000 and remote.metadata["order_id"] == str(order.id)


def test_starting_payment_twice_reuses_the_same_payment_intent(order):
    first = order_money.start_order_payment(order.id, order.buyer_id)
    second = order_money.start_order_payment(order.id, order.buyer_id)

    assert first.payment_id == second.payment_id
    assert first.client_secret == second.client_secret


@pytest.mark.parametrize("who", ["seller", "stranger"])
def test_only_the_buyer_can_start_paying(order, who):
    actor = order.seller_id if who == "seller" else UserFactory().id
    with pytest.raises(Exception) as raised:
        order_money.start_order_payment(order.id, actor)
    assert type(raised.value).__name__ == ("Forbidden" if who == "seller" else "NotFound")


def test_successful_card_payment_marks_order_paid_and_fills_escrow(order):
    payment = pay(order)

    db.session.refresh(order)
    assert payment.status == "succeeded" and payment.captured_cents == 4000
    assert order.state == "paid"
    assert order.events[-1].action == "payment_received" and order.events[-1].actor_id is None
    assert ledger.balance(ledger.ESCROW, "USD") == 4000
    assert ledger.verify().ok


def test_seller_cannot_mark_a_card_order_paid_without_a_payment(order):
    with pytest.raises(order_money.PaymentRequired):
        orders.transition(order.id, "mark_paid", order.seller_id)
    db.session.rollback()
    db.session.refresh(order)
    assert order.state == "pending_payment"


def test_declined_card_leaves_order_unpaid(order):
    start = order_money.start_order_payment(order.id, order.buyer_id)
    payment = db.session.get(Payment, start.payment_id)
    with pytest.raises(PaymentDeclined):
        get_provider().pay_with_test_card(payment.provider_ref, card_number="4000000000000341")
    payment = services.sync_payment(payment.id)

    db.session.refresh(order)
    assert payment.status == "failed" and order.state == "pending_payment"
    assert ledger.balance(ledger.ESCROW, "USD") == 0


def test_cancel_after_card_payment_refunds_at_stripe(order):
    payment = pay(order)
    orders.transition(order.id, "cancel", order.buyer_id)
    services.run_pending_operations()

    remote = get_provider().retrieve_payment(payment.provider_ref)
    refunds = get_provider().list_refunds(payment.provider_ref)
    assert [r.amount_cents for r in refunds] == [4000]
    assert remote.refunded_cents == 4000
    assert ledger.balance(ledger.REFUNDS_PAID, "USD") == 4000
    assert ledger.verify().ok and services.reconcile().ok


def test_partial_refunds_at_stripe_match_the_ledger(order):
    payment = pay(order)
    order_money.refund_order(order.id, order.seller_id, 500)
    order_money.refund_order(order.id, order.seller_id, 700)

    refunds = get_provider().list_refunds(payment.provider_ref)
    assert sorted(r.amount_cents for r in refunds) == [500, 700]
    assert ledger.balance(ledger.ESCROW, "USD") == 2800
    assert ledger.verify().ok and services.reconcile().ok


def test_cancelling_unpaid_order_releases_its_payment_intent(order):
    start = order_money.start_order_payment(order.id, order.buyer_id)
    orders.transition(order.id, "cancel", order.buyer_id)
    services.run_pending_operations()

    payment = db.session.get(Payment, start.payment_id)
    assert payment.status == "canceled"
    assert get_provider().retrieve_payment(payment.provider_ref).status == "canceled"


def test_completion_waits_for_payout_account_then_transfers_minus_fee(order, connect):
    pay(order)
    orders.transition(order.id, "ship", order.seller_id, "tracking 123")
    orders.transition(order.id, "confirm_delivery", order.buyer_id)
    services.run_pending_operations()

    fee = 200 + 30  # 5 % of 40.00 plus 0.30
    op = db.session.scalar(select(ProviderOperation).where(ProviderOperation.kind == "transfer"))
    assert (op.status, op.amount_cents) == ("pending", 4000 - fee)
    assert "set up payouts" in op.last_error
    assert ledger.balance(ledger.PAYABLE, "USD", user_id=order.seller_id) == 4000 - fee
    assert ledger.balance(ledger.PLATFORM_FEES, "USD") == fee

    link = services.start_payout_onboarding(
        order.seller_id, refresh_url="http://x/refresh", return_url="http://x/return"
    )
    assert link.startswith("https://")
    profile = db.session.scalar(select(PaymentProfile))
    connect.approve(profile.account_ref)
    assert services.refresh_payout_account(order.seller_id).payouts_enabled

    assert services.run_pending_operations() == 1
    assert [t["transfer"].amount_cents for t in connect.transfers] == [4000 - fee]
    assert ledger.balance(ledger.PAYABLE, "USD", user_id=order.seller_id) == 0
    assert ledger.balance(ledger.PAYOUTS_PAID, "USD") == 4000 - fee
    assert ledger.verify().ok


def test_localstripe_has_no_connect_so_the_real_call_is_refused(stripe_app):
    with pytest.raises(ProviderRejected):
        get_provider().create_account(email="a@example.com", idempotency_key="k", metadata={})


# -- the provider calls loans and group deals will use -------------------------------------------


def test_deposit_hold_is_captured_or_released(stripe_app):
    provider = get_provider()
    hold = provider.create_payment(
        amount_cents=15000, currency="USD", idempotency_key="loan:1:deposit", capture="manual"
    )
    held = provider.pay_with_test_card(hold.ref)
    assert held.status == "requires_capture" and held.capturable_cents == 15000
    captured = provider.capture_payment(hold.ref, idempotency_key="loan:1:deposit:capture")
    assert captured.status == "succeeded" and captured.captured_cents == 15000

    other = provider.create_payment(
        amount_cents=9000, currency="USD", idempotency_key="loan:2:deposit", capture="manual"
    )
    provider.pay_with_test_card(other.ref)
    released = provider.cancel_payment(other.ref, idempotency_key="loan:2:deposit:release")
    assert released.status == "canceled" and released.captured_cents == 0


def test_saved_card_is_charged_off_session(stripe_app):
    provider = get_provider()
    customer = provider.create_customer(email="m@example.com", idempotency_key="c1", metadata={})
    setup = provider.create_setup(customer_ref=customer, idempotency_key="pledge:1", metadata={})
    assert setup.client_secret and setup.customer_ref == customer
    assert provider.retrieve_setup(setup.ref).status == "requires_payment_method"

    # What the member's browser does with the SetupIntent: a card ends up on the customer.
    method = provider.client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 1, "exp_year": 2035, "cvc": "123"},
        }
    )
    provider.client.v1.payment_methods.attach(method.id, params={"customer": customer})

    charge = provider.charge_saved_card(
        customer_ref=customer,
        payment_method_ref=method.id,
        amount_cents=4200,
        currency="USD",
        idempotency_key="pledge:1:settle",
        metadata={"pledge_id": "1"},
    )
    assert charge.status == "succeeded" and charge.captured_cents == 4200
    assert charge.metadata["operation_key"] == "pledge:1:settle"


def test_without_a_payout_account_the_payout_waits_and_is_never_attempted(order):
    pay(order)
    orders.transition(order.id, "ship", order.seller_id)
    orders.transition(order.id, "confirm_delivery", order.buyer_id)
    services.run_pending_operations()
    services.run_pending_operations()

    op = db.session.scalar(select(ProviderOperation).where(ProviderOperation.kind == "transfer"))
    assert op.status == "pending" and op.attempts == 2
    assert op.last_error == "Waiting for the seller to set up payouts."
    assert services.payout_status(order.seller_id).pending_payout_cents == {"USD": 3770}


def test_a_refused_payout_is_retried_by_command_once_fixed(stripe_app, order, connect):
    pay(order)
    services.start_payout_onboarding(order.seller_id, refresh_url="http://x", return_url="http://x")
    profile = db.session.scalar(select(PaymentProfile))
    connect.approve(profile.account_ref)
    services.refresh_payout_account(order.seller_id)
    connect.transfer = lambda **kwargs: (_ for _ in ()).throw(ProviderRejected("no balance"))
    orders.transition(order.id, "ship", order.seller_id)
    orders.transition(order.id, "confirm_delivery", order.buyer_id)
    services.run_pending_operations()
    op = db.session.scalar(select(ProviderOperation).where(ProviderOperation.kind == "transfer"))
    assert op.status == "failed"
    assert stripe_app.test_cli_runner().invoke(args=["payments", "reconcile"]).exit_code == 1

    del connect.transfer  # the cause is fixed
    result = stripe_app.test_cli_runner().invoke(args=["payments", "retry", op.operation_key])

    assert result.exit_code == 0, result.output
    assert "succeeded" in result.output
    assert len(connect.transfers) == 1
    assert ledger.verify().ok


def test_card_needing_3d_secure_waits_for_the_buyer_to_authenticate(order):
    start = order_money.start_order_payment(order.id, order.buyer_id)
    payment = db.session.get(Payment, start.payment_id)
    remote = get_provider().pay_with_test_card(payment.provider_ref, card_number="4000002760003184")
    assert remote.status == "requires_action"

    payment = services.sync_payment(payment.id)

    db.session.refresh(order)
    assert payment.status == "requires_action" and order.state == "pending_payment"
    again = order_money.start_order_payment(order.id, order.buyer_id)
    assert again.payment_id == payment.id  # the same intent, for Stripe.js to authenticate
