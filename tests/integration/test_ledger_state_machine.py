"""Hypothesis drives random sequences of orders, card payments, partial refunds,
cancellations, shipping, completion, provider faults and reconciliation against localstripe;
the ledger must always balance and agree with what Stripe did."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from app.errors import DomainError
from app.extensions import db
from app.orders import money as order_money
from app.orders import services as orders
from app.orders.models import Order
from app.payments import ledger, services
from app.payments.models import Payment, PaymentProfile, ProviderOperation
from app.payments.providers.faults import SimulatedCrash
from tests.conftest import wipe
from tests.factories import ListingFactory, UserFactory

pytest_plugins = ("tests.stripe_server",)


# No fault, or one fault on the provider call the step makes.
FAULT = st.sampled_from([None, None, "unavailable", "timeout_after", "crash_after"])


def _provider_agrees(stripe, *, exact: bool) -> None:
    """Stripe's captured and refunded amounts match ours; refunds whose answer we have not
    recorded yet (pending operations) may already be done at Stripe unless `exact`."""
    for payment in db.session.scalars(select(Payment).where(Payment.status == "succeeded")):
        remote = stripe.retrieve_payment(payment.provider_ref)
        assert remote.captured_cents == payment.captured_cents

        def total(status: str, payment_id: int = payment.id) -> int:
            return db.session.scalar(
                select(func.coalesce(func.sum(ProviderOperation.amount_cents), 0)).where(
                    ProviderOperation.payment_id == payment_id,
                    ProviderOperation.kind == "refund",
                    ProviderOperation.status == status,
                )
            )

        done, pending = total("succeeded"), total("pending")
        if exact:
            assert remote.refunded_cents == done == payment.refunded_cents
        else:
            assert done <= remote.refunded_cents <= done + pending
            assert payment.refunded_cents == done + pending


def test_ledger_balances_and_matches_stripe_under_random_operations(stripe_app, faulty):
    app = stripe_app
    stripe = faulty.inner.inner  # the real provider, for checks that must not be faulted

    class Payments(RuleBasedStateMachine):
        orders_bundle = Bundle("orders")
        paid = Bundle("paid")

        @initialize()
        def people(self):
            # Every example starts from empty tables and no queued faults.
            wipe(app)
            faulty.faults.clear()
            faulty.inner.transfers.clear()
            self.buyer = UserFactory()
            self.seller = UserFactory()
            services.start_payout_onboarding(
                self.seller.id, refresh_url="http://x/r", return_url="http://x/b"
            )
            profile = db.session.scalar(
                select(PaymentProfile).where(PaymentProfile.user_id == self.seller.id)
            )
            faulty.inner.approve(profile.account_ref)
            services.refresh_payout_account(self.seller.id)

        def _try(self, call):
            try:
                return call()
            except SimulatedCrash:
                db.session.rollback()  # the process died; the next run picks up from the DB
            except DomainError:
                db.session.rollback()  # refused: the state machine said no, nothing moved
            return None

        @rule(
            target=orders_bundle,
            price=st.integers(min_value=50, max_value=50_000),
            quantity=st.integers(min_value=1, max_value=3),
        )
        def place(self, price, quantity):
            listing = ListingFactory(seller=self.seller, price_cents=price, quantity=quantity)
            return orders.place_order(self.buyer.id, listing.id, quantity).id

        @rule(
            target=paid,
            order_id=orders_bundle,
            declined=st.sampled_from([False, False, False, True]),
        )
        def pay(self, order_id, declined):
            def go():
                start = order_money.start_order_payment(order_id, self.buyer.id)
                payment = db.session.get(Payment, start.payment_id)
                card = "4000000000000341" if declined else "4242424242424242"
                try:
                    stripe.pay_with_test_card(payment.provider_ref, card_number=card)
                finally:
                    services.sync_payment(payment.id)

            self._try(go)
            is_paid = db.session.get(Order, order_id).state == "paid"
            return multiple(order_id) if is_paid else multiple()

        @rule(order_id=paid, share=st.integers(min_value=1, max_value=100), fault=FAULT)
        def refund(self, order_id, share, fault):
            if fault:
                faulty.fail("refund", fault)
            held = order_money.order_money(db.session.get(Order, order_id))["held_cents"]
            amount = max(1, held * share // 100)
            self._try(lambda: order_money.refund_order(order_id, self.seller.id, amount))

        @rule(order_id=st.one_of(orders_bundle, paid), by_buyer=st.booleans(), fault=FAULT)
        def cancel(self, order_id, by_buyer, fault):
            if fault:
                faulty.fail("refund", fault)
            actor = self.buyer.id if by_buyer else self.seller.id
            self._try(lambda: orders.transition(order_id, "cancel", actor))

        @rule(order_id=paid, fault=FAULT)
        def ship_and_confirm(self, order_id, fault):
            if fault:
                faulty.fail("transfer", fault)
            self._try(lambda: orders.transition(order_id, "ship", self.seller.id))
            self._try(lambda: orders.transition(order_id, "confirm_delivery", self.buyer.id))

        @rule()
        def run_jobs(self):
            self._try(services.run_pending_operations)

        @rule()
        def reconcile(self):
            self._try(services.reconcile)

        @invariant()
        def ledger_balances(self):
            db.session.rollback()
            report = ledger.verify()
            assert report.ok, report.problems

        @invariant()
        def stripe_agrees(self):
            _provider_agrees(stripe, exact=False)

        def teardown(self):
            faulty.faults.clear()
            db.session.rollback()
            services.reconcile()
            services.reconcile()
            _provider_agrees(stripe, exact=True)
            assert ledger.verify().ok
            assert (
                db.session.scalar(
                    select(func.count(ProviderOperation.id)).where(
                        ProviderOperation.status != "succeeded"
                    )
                )
                == 0
            )

    run_state_machine_as_test(
        Payments,
        settings=settings(
            max_examples=20,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
