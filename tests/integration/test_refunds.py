"""Refunds agreed between the parties (app/disputes/refunds.py): either side proposes, the
other accepts, counters or declines; accepted, it is carried out like a moderator's decision,
once, balanced in the ledger, with both providers."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.disputes import refunds
from app.disputes import services as disputes
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.lending import services as lending
from app.payments import ledger
from app.payments.models import Payment
from app.payments.providers import get_provider
from app.transactions.events import deliver
from tests.factories import UserFactory
from tests.integration.lending_support import (
    ask,
    assert_ledger_clean,
    at,
    fresh,
    lendable,
    returned,
)
from tests.integration.test_disputes_orders import PRICE, paid_order, paid_out, provider, state

pytest_plugins = ("tests.stripe_server",)
__all__ = ["provider"]


def test_a_counter_offer_accepted_refunds_once_and_releases_the_rest(provider):
    order = paid_order(provider)
    first = refunds.propose_refund("order", order.id, order.buyer_id, PRICE, "Arrived broken.")
    counter = refunds.propose_refund("order", order.id, order.seller_id, 1000, "Works, scratched.")
    db.session.expire_all()
    assert db.session.get(type(first), first.id).status == "replaced"
    with pytest.raises(refunds.OwnOffer):
        refunds.respond_to_refund(counter.id, order.seller_id, True)
    with pytest.raises(refunds.OfferClosed):
        refunds.respond_to_refund(first.id, order.seller_id, True)

    done = refunds.respond_to_refund(counter.id, order.buyer_id, True)

    assert done.status == "accepted"
    assert state(order) == "resolved"
    assert_ledger_clean()
    assert ledger.balance(ledger.ESCROW, "USD") == 0
    assert ledger.balance(ledger.REFUNDS_PAID, "USD") == 1000
    fee = db.session.scalar(select(Payment)).fee_cents if provider == "stripe" else 0
    assert paid_out(order.seller_id) == PRICE - 1000 - fee
    if provider == "stripe":
        payment = db.session.scalar(select(Payment))
        assert [r.amount_cents for r in get_provider().list_refunds(payment.provider_ref)] == [1000]
    with pytest.raises(refunds.OfferClosed):  # accepting twice moves nothing
        refunds.respond_to_refund(counter.id, order.buyer_id, True)
    assert ledger.balance(ledger.REFUNDS_PAID, "USD") == 1000


def test_a_declined_offer_moves_nothing_and_the_proposer_hears(app):
    order = paid_order("manual")
    offer = refunds.propose_refund("order", order.id, order.buyer_id, 2000)
    refunds.respond_to_refund(offer.id, order.seller_id, False)
    deliver()
    assert state(order) == "paid" and ledger.balance(ledger.REFUNDS_PENDING, "USD") == 0
    from app.notifications.models import Notification

    texts = [
        n.text
        for n in db.session.scalars(
            select(Notification).where(Notification.user_id == order.buyer_id)
        )
    ]
    assert any("declined your refund of $20.00" in t for t in texts)
    # They do not agree: either can open a dispute, and offers stop while it is open.
    disputes.open_dispute("order", order.id, order.buyer_id, "We cannot agree.")
    with pytest.raises(Conflict):
        refunds.propose_refund("order", order.id, order.seller_id, 100)


def test_only_the_parties_propose_and_answer_within_the_stake(app):
    order = paid_order("manual")
    stranger = UserFactory()
    with pytest.raises(NotFound):
        refunds.propose_refund("order", order.id, stranger.id, 100)
    with pytest.raises(ValidationFailed):
        refunds.propose_refund("order", order.id, order.buyer_id, PRICE + 1)
    offer = refunds.propose_refund("order", order.id, order.buyer_id, 100)
    with pytest.raises(NotFound):
        refunds.respond_to_refund(offer.id, stranger.id, True)
    with pytest.raises(refunds.OwnOffer):
        refunds.respond_to_refund(offer.id, order.buyer_id, True)


def test_a_lower_claim_agreed_on_a_loan_keeps_that_part_of_the_deposit(app):
    lender, borrower = UserFactory(), UserFactory()
    loan = returned(ask(lendable(lender), borrower, first=0, days=2))
    lending.claim_damage(loan.id, lender.id, 3000, "Torn.", [], now=at(loan.ends_on, 22))
    offer = refunds.propose_refund("loan", loan.id, borrower.id, 2000, "Only a small tear.")
    refunds.respond_to_refund(offer.id, lender.id, True)
    loan = fresh(loan.id)
    assert loan.state == "completed"
    assert (loan.claim.answer, loan.claim.awarded_cents) == ("agreed", 1000)
    assert_ledger_clean()
    assert ledger.balance(ledger.AUTHORIZED, "USD") == 0  # the rest of the deposit went back


def test_the_pages_propose_counter_and_accept_a_refund(app, make_client):
    from app.accounts.models import User

    order = paid_order("manual")
    buyer = make_client(db.session.get(User, order.buyer_id))
    seller = make_client(db.session.get(User, order.seller_id))
    assert f"/refunds/order/{order.id}" in buyer.get(f"/orders/{order.id}").get_data(as_text=True)
    bad = buyer.post(f"/refunds/order/{order.id}", data={"amount": "999"})
    assert bad.status_code == 303 and refunds.open_offer("order", order.id) is None
    buyer.post(f"/refunds/order/{order.id}", data={"amount": "40", "note": "Broken."})
    page = seller.get(f"/refunds/order/{order.id}").get_data(as_text=True)
    assert "Accept and move the money" in page and "Broken." in page
    seller.post(f"/refunds/order/{order.id}", data={"amount": "15"})  # a counter-offer
    offer = refunds.open_offer("order", order.id)
    assert (offer.refund_cents, offer.proposer_id) == (1500, order.seller_id)
    answered = buyer.post(f"/refunds/offers/{offer.id}/accept")
    assert answered.status_code == 303
    assert state(order) == "resolved"
    assert ledger.balance(ledger.REFUNDS_PAID, "USD") == 1500
    assert_ledger_clean()


def test_the_api_proposes_lists_and_answers_refunds(client, app):
    from app.accounts.models import User
    from tests.integration.api_support import bearer

    order = paid_order("manual")
    buyer, seller = db.session.get(User, order.buyer_id), db.session.get(User, order.seller_id)
    made = client.post(
        "/api/v1/refunds",
        headers=bearer(buyer),
        json={"kind": "order", "subject_id": order.id, "refund_cents": 1200, "note": "Dented"},
    )
    assert made.status_code == 201, made.json
    own = client.post(
        f"/api/v1/refunds/{made.json['id']}/answer", headers=bearer(buyer), json={"accept": True}
    )
    assert (own.status_code, own.json["error"]["code"]) == (403, "own_offer")
    listed = client.get(
        f"/api/v1/refunds?kind=order&subject_id={order.id}", headers=bearer(seller)
    ).json
    assert [o["refund_cents"] for o in listed["items"]] == [1200]
    stranger = client.get(
        f"/api/v1/refunds?kind=order&subject_id={order.id}", headers=bearer(UserFactory())
    )
    assert stranger.status_code == 404
    accepted = client.post(
        f"/api/v1/refunds/{made.json['id']}/answer", headers=bearer(seller), json={"accept": True}
    )
    assert accepted.status_code == 200 and accepted.json["status"] == "accepted"
    again = client.post(
        f"/api/v1/refunds/{made.json['id']}/answer", headers=bearer(seller), json={"accept": True}
    )
    assert (again.status_code, again.json["error"]["code"]) == (409, "offer_closed")
    assert state(order) == "resolved" and ledger.balance(ledger.REFUNDS_PAID, "USD") == 1200
    assert_ledger_clean()
