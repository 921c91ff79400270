"""Refunds after an order completed (its money released to the seller): agreed between the
parties or decided by a moderator on the buyer's dispute, within REFUND_WINDOW_DAYS. The money
comes back from what still waits to be paid out to the seller, or else by a transfer reversal,
then the buyer is refunded: balanced in the ledger and carried out once, also across a crash
between the provider call and our commit; with the manual provider and Stripe (localstripe,
Connect played by tests/stripe_server.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.disputes import refunds
from app.disputes import services as disputes
from app.extensions import db
from app.orders import services as orders
from app.orders.models import Order
from app.payments import ledger, operations
from app.payments import services as payment_services
from app.payments.models import Payment, PaymentProfile, ProviderOperation
from app.payments.providers import get_provider
from app.payments.providers.faults import SimulatedCrash
from tests.factories import UserFactory
from tests.integration.lending_support import assert_ledger_clean
from tests.integration.moderation_support import moderator
from tests.integration.support import card_payment_confirmed
from tests.integration.test_disputes_orders import PRICE, paid_order, state

pytest_plugins = ("tests.stripe_server",)

FEE = 200 + 30  # 5 % of 40.00 plus 0.30 (the stripe_app's fee)


def complete(order) -> Order:
    orders.transition(order.id, "ship", order.seller_id)
    orders.transition(order.id, "confirm_delivery", order.buyer_id)
    payment_services.run_pending_operations()
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert order.state == "completed"
    return order


def ops(kind: str) -> list[ProviderOperation]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(ProviderOperation)
            .where(ProviderOperation.kind == kind)
            .order_by(ProviderOperation.id)
        )
    )


def onboard(user_id: int, stand_in) -> None:
    payment_services.start_payout_onboarding(
        user_id, refresh_url="http://x/r", return_url="http://x/b"
    )
    profile = db.session.scalar(select(PaymentProfile).where(PaymentProfile.user_id == user_id))
    stand_in.approve(profile.account_ref)
    payment_services.refresh_payout_account(user_id)


def card_order_completed(stand_in, *, paid_out: bool) -> Order:
    """A card order completed; `paid_out`: the seller's payout account is ready, so the
    transfer was made (else it waits, pending, in the seller's payable)."""
    order, payment = card_payment_confirmed(PRICE, provider=stand_in.inner)
    payment_services.sync_payment(payment.id)
    if paid_out:
        onboard(order.seller_id, stand_in)
    order = complete(order)
    payment_services.run_pending_operations()
    transfer = ops("transfer")[0]
    assert transfer.status == ("succeeded" if paid_out else "pending")
    return order


def refunded_at_stripe() -> list[int]:
    payment = db.session.scalar(select(Payment))
    return sorted(r.amount_cents for r in get_provider().list_refunds(payment.provider_ref))


def test_an_agreed_refund_after_an_in_person_sale_is_handed_back_once(app):
    order = complete(paid_order("manual"))
    assert ops("transfer")[0].status == "succeeded"  # settled in person at completion
    offer = refunds.propose_refund("order", order.id, order.buyer_id, 1500, "A part is missing.")
    done = refunds.respond_to_refund(offer.id, order.seller_id, True)

    assert done.status == "accepted" and state(order) == "resolved"
    assert [(op.amount_cents, op.status) for op in ops("reversal")] == [(1500, "succeeded")]
    assert [(op.amount_cents, op.status) for op in ops("refund")] == [(1500, "succeeded")]
    assert ledger.balance(ledger.REFUNDS_PAID, "USD") == 1500
    assert ledger.balance(ledger.PAYOUTS_PAID, "USD") == PRICE - 1500
    assert ledger.balance(ledger.REFUNDS_PENDING, "USD") == 0
    assert_ledger_clean()
    with pytest.raises(refunds.OfferClosed):
        refunds.respond_to_refund(offer.id, order.seller_id, True)
    assert len(ops("refund")) == 1


def test_a_refund_before_the_payout_was_sent_comes_out_of_the_seller_payable(connect, make_client):
    order = card_order_completed(connect, paid_out=False)
    payable = ledger.balance(ledger.PAYABLE, "USD", user_id=order.seller_id)
    assert payable == PRICE - FEE
    offer = refunds.propose_refund("order", order.id, order.seller_id, 1000, "Sorry, a scratch.")
    refunds.respond_to_refund(offer.id, order.buyer_id, True)

    fee_back = FEE * 1000 // PRICE
    assert ops("reversal") == []  # nothing was sent: the payout shrinks instead
    transfer = ops("transfer")[0]
    assert (transfer.status, transfer.amount_cents) == ("pending", payable - (1000 - fee_back))
    assert ledger.balance(ledger.PAYABLE, "USD", user_id=order.seller_id) == transfer.amount_cents
    assert ledger.balance(ledger.PLATFORM_FEES, "USD") == FEE - fee_back
    assert refunded_at_stripe() == [1000]
    assert ledger.balance(ledger.REFUNDS_PAID, "USD") == 1000
    assert_ledger_clean()
    statement = make_client(db.session.get(User, order.seller_id)).get("/me/statement")
    assert statement.status_code == 200
    assert "Refund after completion" in statement.get_data(as_text=True)

    onboard(order.seller_id, connect)  # the seller is paid what is left, once
    payment_services.run_pending_operations()
    assert [t["transfer"].amount_cents for t in connect.transfers] == [transfer.amount_cents]
    assert ledger.balance(ledger.PAYABLE, "USD", user_id=order.seller_id) == 0
    assert_ledger_clean()


def test_a_full_refund_before_the_payout_cancels_it(connect):
    order = card_order_completed(connect, paid_out=False)
    offer = refunds.propose_refund("order", order.id, order.buyer_id, PRICE, "Never worked.")
    refunds.respond_to_refund(offer.id, order.seller_id, True)

    assert [op.status for op in ops("transfer")] == ["canceled"]
    assert ledger.balance(ledger.PAYABLE, "USD", user_id=order.seller_id) == 0
    assert ledger.balance(ledger.PLATFORM_FEES, "USD") == 0
    assert refunded_at_stripe() == [PRICE]
    onboard(order.seller_id, connect)
    payment_services.run_pending_operations()
    assert connect.transfers == []
    assert_ledger_clean()


def test_a_decision_after_the_payout_reverses_the_transfer_then_refunds(connect, stripe_app):
    order = card_order_completed(connect, paid_out=True)
    mod = moderator()
    dispute = disputes.open_dispute("order", order.id, order.buyer_id, "It stopped working.")
    assert state(order) == "disputed" and dispute.stake_cents == PRICE
    assert_ledger_clean()  # disputed after completion: escrow holds nothing for it

    disputes.decide_dispute(dispute.id, mod.id, 0, 2, "Broken within days: a full refund.")

    sent = connect.transfers[0]["transfer"]
    assert connect.reversed(sent.ref) == PRICE - FEE
    assert refunded_at_stripe() == [PRICE]
    assert state(order) == "resolved"
    for account in (ledger.PLATFORM_FEES, ledger.PAYOUTS_PAID, ledger.REFUNDS_PENDING):
        assert ledger.balance(account, "USD") == 0, account
    assert ledger.balance(ledger.REFUNDS_PAID, "USD") == PRICE
    assert_ledger_clean()
    result = stripe_app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    with pytest.raises(disputes.DisputeDecided):
        disputes.decide_dispute(dispute.id, mod.id, 0, 2, "Broken within days: a full refund.")
    assert len(connect.reversals) == 1 and refunded_at_stripe() == [PRICE]


@pytest.mark.parametrize("crashing", ["reverse_transfer", "refund"])
def test_a_crash_after_the_provider_acted_reverses_and_refunds_once(faulty, stripe_app, crashing):
    stand_in = faulty.inner
    order = card_order_completed(stand_in, paid_out=True)
    mod = moderator()
    dispute = disputes.open_dispute("order", order.id, order.buyer_id, "Half of it is missing.")
    faulty.fail(crashing, "crash_after")

    with pytest.raises(SimulatedCrash):
        disputes.decide_dispute(dispute.id, mod.id, 2000, 2, "Half of it is missing.")
    db.session.rollback()
    assert state(order) == "resolved"  # the decision committed before the provider's part
    crashed = ops("reversal" if crashing == "reverse_transfer" else "refund")[0]
    assert crashed.status == "pending"  # the provider acted; we never recorded it
    with pytest.raises(disputes.DisputeDecided):
        disputes.decide_dispute(dispute.id, mod.id, 2000, 2, "Half of it is missing.")

    operations.run_pending()
    operations.run_pending()

    sent = stand_in.transfers[0]["transfer"]
    fee_back = FEE * 2000 // PRICE
    assert len(stand_in.reversals) == 1
    assert stand_in.reversed(sent.ref) == 2000 - fee_back
    assert refunded_at_stripe() == [2000]
    assert [op.status for op in ops("reversal") + ops("refund")] == ["succeeded", "succeeded"]
    assert ledger.balance(ledger.REFUNDS_PAID, "USD") == 2000
    assert ledger.balance(ledger.PLATFORM_FEES, "USD") == FEE - fee_back
    assert_ledger_clean()
    report = payment_services.reconcile()
    assert report.ok, report.problems


def test_the_refund_waits_for_the_reversal(faulty):
    stand_in = faulty.inner
    order = card_order_completed(stand_in, paid_out=True)
    faulty.fail("reverse_transfer", "unavailable", "unavailable", "unavailable")
    offer = refunds.propose_refund("order", order.id, order.buyer_id, 500, "Late.")
    refunds.respond_to_refund(offer.id, order.seller_id, True)

    assert [op.status for op in ops("reversal")] == ["pending"]
    assert [op.status for op in ops("refund")] == ["pending"]
    assert "come back" in ops("refund")[0].last_error
    assert refunded_at_stripe() == []  # nobody is refunded before the money came back
    assert_ledger_clean()

    operations.run_pending()
    assert refunded_at_stripe() == [500] and ledger.balance(ledger.REFUNDS_PAID, "USD") == 500
    assert_ledger_clean()


def test_after_the_window_nobody_disputes_or_proposes(app, make_client):
    order = complete(paid_order("manual"))
    buyer = db.session.get(User, order.buyer_id)
    assert "dispute" in orders.available_actions(order, buyer.id)
    assert "dispute" not in orders.available_actions(order, order.seller_id)  # buyer only
    assert refunds.can_offer("order", order, order.seller_id)
    late = order.completed_at + timedelta(days=app.config["REFUND_WINDOW_DAYS"], seconds=1)

    with pytest.raises(disputes.WindowClosed):
        disputes.open_dispute("order", order.id, buyer.id, "Too late?", now=late)
    with pytest.raises(disputes.WindowClosed):
        refunds.propose_refund("order", order.id, buyer.id, 100, now=late)
    order.completed_at -= timedelta(days=app.config["REFUND_WINDOW_DAYS"] + 1)
    db.session.commit()
    assert "dispute" not in orders.available_actions(order, buyer.id)
    assert not refunds.can_offer("order", order, buyer.id)
    page = make_client(buyer).get(f"/orders/{order.id}").get_data(as_text=True)
    assert f"/disputes/new/order/{order.id}" not in page
    assert f"/refunds/order/{order.id}" not in page
    assert state(order) == "completed" and ledger.balance(ledger.REFUNDS_PENDING, "USD") == 0


def test_the_seller_cannot_dispute_a_completed_order_and_strangers_see_nothing(app):
    from app.errors import Forbidden, NotFound

    order = complete(paid_order("manual"))
    with pytest.raises(Forbidden):
        disputes.open_dispute("order", order.id, order.seller_id, "Buyer is rude.")
    with pytest.raises(NotFound):
        refunds.propose_refund("order", order.id, UserFactory().id, 100)
    with pytest.raises(NotFound):
        disputes.open_dispute("order", order.id, UserFactory().id, "Hmm.")


def test_the_order_page_and_the_api_offer_both_after_completion(app, make_client, client):
    from tests.integration.api_support import bearer

    order = complete(paid_order("manual"))
    buyer = db.session.get(User, order.buyer_id)
    page = make_client(buyer).get(f"/orders/{order.id}").get_data(as_text=True)
    assert f"/disputes/new/order/{order.id}" in page and f"/refunds/order/{order.id}" in page
    got = client.get(f"/api/v1/orders/{order.id}", headers=bearer(buyer)).json
    assert "dispute" in got["actions"]
    made = client.post(
        "/api/v1/refunds",
        headers=bearer(buyer),
        json={"kind": "order", "subject_id": order.id, "refund_cents": 700},
    )
    assert made.status_code == 201, made.json
    seller = db.session.get(User, order.seller_id)
    answered = client.post(
        f"/api/v1/refunds/{made.json['id']}/answer", headers=bearer(seller), json={"accept": True}
    )
    assert answered.status_code == 200 and answered.json["status"] == "accepted"
    assert state(order) == "resolved" and ledger.balance(ledger.REFUNDS_PAID, "USD") == 700
    assert_ledger_clean()

    other = complete(paid_order("manual"))
    db.session.execute(
        Order.__table__.update()
        .where(Order.id == other.id)
        .values(completed_at=other.completed_at - timedelta(days=61))
    )
    db.session.commit()
    late = client.post(
        "/api/v1/refunds",
        headers=bearer(db.session.get(User, other.buyer_id)),
        json={"kind": "order", "subject_id": other.id, "refund_cents": 700},
    )
    assert (late.status_code, late.json["error"]["code"]) == (409, "refund_window_closed")
