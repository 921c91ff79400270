"""Disputes about orders: either side opens one while the money is held (paid or shipped), a
moderator divides what escrow holds (full refund, release to the seller, a split), carried out
once through the ledger and the provider, with both providers; chargebacks on an order."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.accounts.models import User
from app.disputes import services as disputes
from app.disputes.models import Dispute
from app.errors import InvalidTransition
from app.extensions import db
from app.orders import services as orders
from app.payments import ledger, operations
from app.payments import services as payment_services
from app.payments.models import Payment, ProviderOperation
from app.payments.providers import get_provider, set_provider
from app.payments.providers.faults import SimulatedCrash
from app.transactions.events import deliver
from tests.factories import ListingFactory, UserFactory
from tests.integration.lending_support import assert_ledger_clean
from tests.integration.moderation_support import moderator
from tests.integration.support import card_payment_confirmed

pytest_plugins = ("tests.stripe_server",)

PRICE = 4000


@pytest.fixture(params=["manual", "stripe"])
def provider(request, payments_wired):
    if request.param == "stripe":
        request.getfixturevalue("stripe_app")
    else:
        set_provider(payments_wired, None)
    return request.param


def paid_order(provider: str):
    if provider == "stripe":
        order, payment = card_payment_confirmed(PRICE)
        payment_services.sync_payment(payment.id)
    else:
        listing = ListingFactory(price_cents=PRICE, quantity=1)
        order = orders.place_order(UserFactory().id, listing.id, 1)
        orders.transition(order.id, "mark_paid", order.seller_id)
    db.session.expire_all()
    return db.session.get(type(order), order.id)


def state(order) -> str:
    db.session.expire_all()
    return db.session.get(type(order), order.id).state


def paid_out(user_id: int) -> int:
    db.session.expire_all()
    sent = db.session.scalar(
        select(func.coalesce(func.sum(ProviderOperation.amount_cents), 0)).where(
            ProviderOperation.kind == "transfer",
            ProviderOperation.user_id == user_id,
            ProviderOperation.status == "succeeded",
        )
    )
    return ledger.balance(ledger.PAYABLE, "USD", user_id=user_id) + sent


@pytest.mark.parametrize(
    ("awarded", "opener"),
    [(0, "buyer"), (PRICE, "seller"), (1500, "buyer")],
    ids=["full-refund", "release-to-seller", "partial-refund"],
)
def test_an_order_dispute_is_decided_once_and_the_ledger_balances(provider, awarded, opener):
    order = paid_order(provider)
    mod = moderator()
    if provider == "stripe":
        orders.transition(order.id, "ship", order.seller_id)
    who = order.buyer_id if opener == "buyer" else order.seller_id
    dispute = disputes.open_dispute("order", order.id, who, "Not as described.")
    assert state(order) == "disputed" and dispute.stake_cents == PRICE
    assert_ledger_clean()  # escrow still holds it while disputed

    disputes.decide_dispute(dispute.id, mod.id, awarded, 2, "Decided on the photos.")

    assert state(order) == "resolved"
    assert_ledger_clean()
    assert ledger.balance(ledger.ESCROW, "USD") == 0
    fee = 0
    if provider == "stripe" and awarded:
        fee = db.session.scalar(select(Payment)).fee_cents
        assert fee > 0
    assert paid_out(order.seller_id) == awarded - fee
    refunded = ledger.balance(ledger.REFUNDS_PAID, "USD")
    assert refunded == PRICE - awarded
    if provider == "stripe":
        payment = db.session.scalar(select(Payment))
        remote = sorted(r.amount_cents for r in get_provider().list_refunds(payment.provider_ref))
        assert remote == ([PRICE - awarded] if awarded < PRICE else [])
    with pytest.raises(disputes.DisputeDecided):
        disputes.decide_dispute(dispute.id, mod.id, awarded, 2, "Decided on the photos.")
    assert ledger.balance(ledger.REFUNDS_PAID, "USD") == refunded


def test_an_order_cannot_be_disputed_before_payment_or_after_completion(app):
    listing = ListingFactory(price_cents=PRICE, quantity=1)
    order = orders.place_order(UserFactory().id, listing.id, 1)
    with pytest.raises(InvalidTransition, match="cannot be disputed yet"):
        disputes.open_dispute("order", order.id, order.buyer_id, "Where is it?")


def test_a_free_order_offers_no_dispute_and_refuses_one(app):
    listing = ListingFactory(price_cents=0, quantity=1)
    order = orders.place_order(UserFactory().id, listing.id, 1)
    assert state(order) == "paid"  # nothing to pay: straight past payment
    assert "dispute" not in orders.available_actions(order, order.buyer_id)
    with pytest.raises(disputes.NothingAtStake):
        disputes.open_dispute("order", order.id, order.buyer_id, "Never came.")
    assert state(order) == "paid" and disputes.dispute_about("order", order.id) is None


def test_the_order_api_action_opens_a_real_dispute(app):
    order = paid_order("manual")
    orders.transition(order.id, "dispute", order.buyer_id, note="Never arrived.")
    dispute = disputes.dispute_about("order", order.id)
    assert dispute is not None and dispute.reason == "Never arrived."
    assert dispute.respondent_id == order.seller_id


def test_a_refund_crash_after_the_provider_refunded_is_retried_without_refunding_twice(
    stripe_app, faulty
):
    order, payment = card_payment_confirmed(PRICE, provider=faulty.inner.inner)
    payment_services.sync_payment(payment.id)
    mod = moderator()
    dispute = disputes.open_dispute("order", order.id, order.buyer_id, "Broken on arrival.")
    faulty.fail("refund", "crash_after")

    with pytest.raises(SimulatedCrash):
        disputes.decide_dispute(dispute.id, mod.id, 1000, 2, "Mostly broken.")
    db.session.rollback()

    def refunds() -> list[int]:
        return sorted(r.amount_cents for r in get_provider().list_refunds(payment.provider_ref))

    assert refunds() == [PRICE - 1000]  # the provider refunded; we never recorded it
    op = db.session.scalar(select(ProviderOperation).where(ProviderOperation.kind == "refund"))
    assert op.status == "pending"
    with pytest.raises(disputes.DisputeDecided):
        disputes.decide_dispute(dispute.id, mod.id, 1000, 2, "Mostly broken.")

    operations.run_pending()

    assert refunds() == [PRICE - 1000]
    db.session.expire_all()
    assert db.session.get(ProviderOperation, op.id).status == "succeeded"
    assert ledger.balance(ledger.REFUNDS_PAID, "USD") == PRICE - 1000
    assert_ledger_clean()
    result = stripe_app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output


def test_a_chargeback_on_a_paid_order_opens_one_dispute_and_both_sides_hear(stripe_app):
    from app.notifications.models import Notification
    from app.payments.webhooks import handle_event

    order = paid_order("stripe")
    payment = db.session.scalar(select(Payment))
    event = {
        "id": "evt_cb_1",
        "type": "charge.dispute.created",
        "data": {"object": {"id": "dp_order", "amount": PRICE, "reason": "fraudulent",
                            "payment_intent": payment.provider_ref}},
    }  # fmt: skip
    handle_event(event)
    deliver()
    handle_event(event | {"id": "evt_cb_2"})
    deliver()

    assert db.session.scalar(select(func.count(Dispute.id))) == 1
    dispute = db.session.scalar(select(Dispute))
    assert (dispute.source, dispute.opener_role, dispute.respondent_id) == (
        "chargeback",
        "buyer",
        order.seller_id,
    )
    assert state(order) == "disputed"
    told = {
        n.user_id
        for n in db.session.scalars(select(Notification).where(Notification.kind == "dispute"))
    }
    assert told == {order.buyer_id, order.seller_id}


def test_the_order_page_links_to_opening_and_then_to_the_dispute(app, make_client):
    order = paid_order("manual")
    buyer = make_client(db.session.get(User, order.buyer_id))
    page = buyer.get(f"/orders/{order.id}").get_data(as_text=True)
    assert f"/disputes/new/order/{order.id}" in page
    assert f'action="/orders/{order.id}/dispute"' not in page  # no bare button: the form
    opened = buyer.post(f"/disputes/new/order/{order.id}", data={"reason": "It never arrived."})
    assert opened.status_code == 303
    dispute = disputes.dispute_about("order", order.id)
    page = buyer.get(f"/orders/{order.id}").get_data(as_text=True)
    assert f"/disputes/{dispute.id}" in page and "/disputes/new/" not in page
    seller = make_client(db.session.get(User, order.seller_id))
    assert "Send your answer" in seller.get(f"/disputes/{dispute.id}").get_data(as_text=True)
