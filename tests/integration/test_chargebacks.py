"""Chargebacks (a card issuer's dispute, by webhook) and disputes of a loan's fee: a chargeback
opens a dispute on an order or a loan; what its decision gives back to the payer is returned by
the card issuer (the ledger's chargebacks returned), never refunded by the provider as well;
what is awarded to the payee is paid as usual, once. A loan's fee may be disputed once the
thing is back, or refunded (agreed or decided) within REFUND_WINDOW_DAYS after completion,
taken back from the lender like an order's (payments.take_back). Both databases; localstripe
(and tests/stripe_server.py's Connect stand-in) where Stripe is involved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.disputes import refunds
from app.disputes import services as disputes
from app.disputes.models import Dispute
from app.errors import InvalidTransition
from app.extensions import db
from app.lending import services as lending
from app.payments import ledger
from app.payments import services as payment_services
from app.payments.models import Payment
from app.payments.providers import set_provider
from app.transactions.events import deliver
from tests.factories import UserFactory
from tests.integration.lending_support import (
    ask,
    assert_ledger_clean,
    at,
    fresh,
    lendable,
    returned,
    save_card,
)
from tests.integration.moderation_support import moderator
from tests.integration.test_disputes_orders import PRICE, paid_order, state
from tests.integration.test_refunds_after_completion import card_order_completed, onboard, ops

pytest_plugins = ("tests.stripe_server",)

FEE = 1000  # a two-day loan's fee (lendable's terms)
STRIPE_FEE_ON_FEE = 80  # 5 % of 10.00 plus 0.30 (the stripe_app's fee)


def charge_back(payment: Payment, ref: str = "dp_1") -> None:
    from app.payments.webhooks import handle_event

    handle_event(
        {
            "id": f"evt_{ref}",
            "type": "charge.dispute.created",
            "data": {
                "object": {
                    "id": ref,
                    "amount": payment.captured_cents,
                    "reason": "fraudulent",
                    "payment_intent": payment.provider_ref,
                }
            },
        }
    )
    deliver()


def notes_of(user_id: int, event_name: str) -> list:
    from app.notifications.models import Notification

    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Notification).where(
                Notification.user_id == user_id, Notification.event_name == event_name
            )
        )
    )


def the_dispute() -> Dispute:
    db.session.expire_all()
    return db.session.scalar(select(Dispute))


def fee_payment(loan_id: int) -> Payment:
    db.session.expire_all()
    return db.session.scalar(
        select(Payment).where(
            Payment.operation_key.in_((f"loan:{loan_id}:fee", f"loan:{loan_id}:in-person"))
        )
    )


@pytest.fixture(params=["manual", "stripe"])
def provider(request, payments_wired):
    if request.param == "stripe":
        request.getfixturevalue("connect")  # localstripe, Connect played in memory
    else:
        set_provider(payments_wired, None)
    return request.param


def returned_loan(provider: str):
    lender, borrower = UserFactory(), UserFactory()
    if provider == "stripe":
        save_card(borrower)
    loan = returned(ask(lendable(lender), borrower, first=0, days=2))
    return fresh(loan.id), lender, borrower


def completed_loan(provider: str):
    loan, lender, borrower = returned_loan(provider)
    lending.act(loan.id, "confirm_return", lender.id, now=at(loan.ends_on, 20))
    payment_services.run_pending_operations()
    loan = fresh(loan.id)
    assert loan.state == "completed"
    return loan, lender, borrower


# -- orders ------------------------------------------------------------------------------------


def test_a_chargeback_dispute_on_a_paid_order_books_the_buyer_part_as_charged_back(
    stripe_app, make_client
):
    order = paid_order("stripe")
    payment = db.session.scalar(select(Payment))
    charge_back(payment)
    dispute = the_dispute()
    assert (dispute.source, dispute.stake_cents) == ("chargeback", PRICE)

    decided = disputes.decide_dispute(dispute.id, moderator().id, 1500, 4, "Half was delivered.")

    assert (decided.awarded_cents, decided.refunded_cents) == (1500, PRICE - 1500)
    assert state(order) == "resolved"
    assert ops("refund") == []  # the card issuer gave it back: no refund on top
    assert ledger.balance(ledger.CHARGEBACKS, "USD") == PRICE - 1500
    assert ledger.balance(ledger.REFUNDS_PENDING, "USD") == 0
    assert ledger.balance(ledger.REFUNDS_PAID, "USD") == 0
    seller = ledger.balance(ledger.PAYABLE, "USD", user_id=order.seller_id)
    assert seller + ledger.balance(ledger.PLATFORM_FEES, "USD") == 1500
    assert db.session.get(Payment, payment.id).refunded_cents == PRICE - 1500
    assert_ledger_clean()
    with pytest.raises(disputes.DisputeDecided):
        disputes.decide_dispute(dispute.id, moderator().id, 0, 4, "Once more, all back.")
    assert ledger.balance(ledger.CHARGEBACKS, "USD") == PRICE - 1500
    assert ops("refund") == []
    from app.accounts.models import User

    buyer = make_client(db.session.get(User, order.buyer_id))
    statement = buyer.get("/me/statement").get_data(as_text=True)
    assert "Returned to you by your card issuer (a chargeback)" in statement
    assert "$25.00" in statement


def test_a_chargeback_after_completion_takes_the_payout_back_without_refunding(connect):
    order = card_order_completed(connect, paid_out=True)
    payment = db.session.scalar(select(Payment))
    charge_back(payment, "dp_after")
    dispute = the_dispute()
    assert state(order) == "disputed" and dispute.source == "chargeback"

    disputes.decide_dispute(dispute.id, moderator().id, 0, 4, "Never delivered.")

    payment_services.run_pending_operations()
    reversals = ops("reversal")
    assert reversals and all(":chargeback:" in op.operation_key for op in reversals)
    assert all(op.status == "succeeded" for op in reversals)
    assert [op.kind for op in ops("refund")] == []
    assert ledger.balance(ledger.CHARGEBACKS, "USD") == PRICE
    assert ledger.balance(ledger.REFUNDS_PENDING, "USD") == 0
    assert ledger.balance(ledger.PLATFORM_FEES, "USD") == 0
    assert_ledger_clean()


# -- loans: chargebacks ------------------------------------------------------------------------


def test_a_chargeback_on_a_returned_loan_opens_a_fee_dispute_decided_once(stripe_app):
    loan, lender, _borrower = returned_loan("stripe")
    fee = fee_payment(loan.id)
    charge_back(fee, "dp_loan")
    charge_back(fee, "dp_loan")  # delivered twice: one dispute

    dispute = the_dispute()
    assert (dispute.source, dispute.stake_cents, dispute.respondent_id) == (
        "chargeback",
        FEE,
        lender.id,
    )
    assert fresh(loan.id).state == "disputed"
    told = [n.text for n in notes_of(lender.id, "loan.dispute_fee")]
    assert len(told) == 1 and "card issuer opened a chargeback on the fee" in told[0]
    disputes.answer_dispute(dispute.id, lender.id, "They had it for two days as agreed.")
    decided = disputes.decide_dispute(dispute.id, moderator().id, 400, 4, "Partly used.")

    assert (decided.awarded_cents, decided.refunded_cents) == (400, FEE - 400)
    loan = fresh(loan.id)
    assert loan.state == "resolved"
    assert ops("refund") == []
    assert ledger.balance(ledger.CHARGEBACKS, "USD") == FEE - 400
    lender_has = ledger.balance(ledger.PAYABLE, "USD", user_id=lender.id)
    assert lender_has + ledger.balance(ledger.PLATFORM_FEES, "USD") == 400
    # The deposit hold went back as with any loan that ends without a claim.
    assert ledger.balance(ledger.AUTHORIZED, "USD") == 0
    assert ledger.balance(ledger.DEPOSITS_HELD, "USD") == 0
    assert_ledger_clean()
    with pytest.raises(disputes.DisputeDecided):
        disputes.decide_dispute(dispute.id, moderator().id, 0, 4, "All back after all.")
    assert ledger.balance(ledger.CHARGEBACKS, "USD") == FEE - 400
    deliver()
    decided_words = [n.text for n in notes_of(lender.id, "loan.resolve")]
    assert decided_words == [f"A moderator decided the dispute about the fee for “{loan.title}”."]


def test_a_chargeback_on_a_completed_loan_takes_the_fee_back_from_the_lender(connect):
    lender, borrower = UserFactory(), UserFactory()
    save_card(borrower)
    onboard(lender.id, connect)
    loan = returned(ask(lendable(lender), borrower, first=0, days=2))
    lending.act(loan.id, "confirm_return", lender.id, now=at(loan.ends_on, 20))
    payment_services.run_pending_operations()
    assert [op.status for op in ops("transfer")] == ["succeeded"]

    charge_back(fee_payment(loan.id), "dp_done")
    dispute = the_dispute()
    assert fresh(loan.id).state == "disputed" and dispute.stake_cents == FEE
    disputes.decide_dispute(dispute.id, moderator().id, 0, 4, "The tent was never usable.")
    payment_services.run_pending_operations()

    assert fresh(loan.id).state == "resolved"
    assert [op.status for op in ops("reversal")] == ["succeeded"]
    assert ops("refund") == []
    assert ledger.balance(ledger.CHARGEBACKS, "USD") == FEE
    assert ledger.balance(ledger.PLATFORM_FEES, "USD") == 0
    assert ledger.balance(ledger.REFUNDS_PENDING, "USD") == 0
    assert_ledger_clean()


def test_a_chargeback_on_a_kept_deposit_part_divides_all_the_borrower_paid(connect):
    """A claim accepted: 1200 of the deposit hold captured and paid to the lender; then the
    borrower's issuer charges that capture back. The stake is the fee and the kept part; all
    back: the kept part is the issuer's (no refund), the fee is refunded by the provider."""
    lender, borrower = UserFactory(), UserFactory()
    save_card(borrower)
    onboard(lender.id, connect)
    loan = returned(ask(lendable(lender), borrower, first=0, days=2))
    lending.claim_damage(loan.id, lender.id, 1200, "Torn.", [], now=at(loan.ends_on, 22))
    lending.act(loan.id, "accept_claim", borrower.id, now=at(loan.ends_on, 23))
    payment_services.run_pending_operations()
    assert fresh(loan.id).state == "completed"
    deposit = db.session.scalar(
        select(Payment).where(Payment.operation_key == f"loan:{loan.id}:deposit")
    )
    assert deposit.captured_cents == 1200

    charge_back(deposit, "dp_kept")
    dispute = the_dispute()
    assert (dispute.source, dispute.stake_cents) == ("chargeback", FEE + 1200)
    disputes.decide_dispute(dispute.id, moderator().id, 0, 4, "The tear was old.")
    payment_services.run_pending_operations()

    assert fresh(loan.id).state == "resolved"
    assert ledger.balance(ledger.CHARGEBACKS, "USD") == 1200
    assert [(op.amount_cents, op.status) for op in ops("refund")] == [(FEE, "succeeded")]
    assert ledger.balance(ledger.REFUNDS_PAID, "USD") == FEE
    assert all(op.status == "succeeded" for op in ops("reversal"))
    assert ledger.balance(ledger.PLATFORM_FEES, "USD") == 0
    assert ledger.balance(ledger.REFUNDS_PENDING, "USD") == 0
    assert_ledger_clean()


def test_a_chargeback_during_a_damage_claim_still_only_flags_the_fee(stripe_app):
    loan, lender, _borrower = returned_loan("stripe")
    lending.claim_damage(loan.id, lender.id, 1000, "Torn.", [], now=at(loan.ends_on, 22))
    charge_back(fee_payment(loan.id), "dp_claim")
    assert the_dispute() is None
    assert fee_payment(loan.id).is_disputed and fresh(loan.id).state == "damage_claimed"


# -- loans: the fee disputed or refunded by the parties --------------------------------------


def test_the_borrower_disputes_the_fee_after_completion_and_it_is_taken_back(provider):
    loan, _lender, borrower = completed_loan(provider)
    lending.act(loan.id, "dispute_fee", borrower.id, note="It leaked from the first night.")
    dispute = the_dispute()
    assert (dispute.source, dispute.stake_cents, fresh(loan.id).state) == (
        "member",
        FEE,
        "disputed",
    )
    deliver()
    told = [n.text for n in notes_of(loan.lender_id, "loan.dispute_fee")]
    assert len(told) == 1 and "disputes the fee" in told[0]

    disputes.decide_dispute(dispute.id, moderator().id, 300, 4, "It leaked; some use.")
    payment_services.run_pending_operations()

    assert fresh(loan.id).state == "resolved"
    refunded = [(op.amount_cents, op.status) for op in ops("refund")]
    assert refunded == [(FEE - 300, "succeeded")]
    assert ledger.balance(ledger.REFUNDS_PAID, "USD") == FEE - 300
    assert ledger.balance(ledger.CHARGEBACKS, "USD") == 0
    assert fee_payment(loan.id).refunded_cents == FEE - 300
    assert_ledger_clean()


def test_an_agreed_fee_refund_after_completion_is_carried_out_once(provider):
    loan, lender, borrower = completed_loan(provider)
    offer = refunds.propose_refund("loan", loan.id, borrower.id, 250, "A pole was bent.")
    done = refunds.respond_to_refund(offer.id, lender.id, True)
    payment_services.run_pending_operations()

    assert done.status == "accepted" and fresh(loan.id).state == "resolved"
    assert [(op.amount_cents, op.status) for op in ops("refund")] == [(250, "succeeded")]
    assert ledger.balance(ledger.REFUNDS_PAID, "USD") == 250
    assert_ledger_clean()
    with pytest.raises(refunds.OfferClosed):
        refunds.respond_to_refund(offer.id, lender.id, True)
    assert len(ops("refund")) == 1


def test_the_fee_can_be_disputed_once_back_but_not_after_the_refund_window(app):
    loan, lender, borrower = returned_loan("manual")
    assert disputes.can_open("loan", loan, borrower.id)
    assert not disputes.can_open("loan", loan, lender.id)  # the borrower disputes the fee
    with pytest.raises(Exception) as refused:
        disputes.open_dispute("loan", loan.id, lender.id, "Mine")
    assert getattr(refused.value, "code", "") in ("forbidden", "invalid_transition")

    loan, lender, borrower = completed_loan("manual")
    late = loan.completed_at + timedelta(days=app.config["REFUND_WINDOW_DAYS"], hours=1)
    with pytest.raises(disputes.WindowClosed):
        disputes.open_dispute("loan", loan.id, borrower.id, "Too late", now=late)
    with pytest.raises((InvalidTransition, disputes.WindowClosed)):
        refunds.propose_refund("loan", loan.id, borrower.id, 100, "late", now=late)
    assert fresh(loan.id).state == "completed"


# -- through the API and the loan page ----------------------------------------------------------


def test_the_api_disputes_a_completed_loan_fee_and_refuses_after_the_window(app, client):
    from tests.integration.api_support import bearer

    loan, lender, borrower = completed_loan("manual")
    listed = client.get(f"/api/v1/loans/{loan.id}", headers=bearer(borrower)).get_json()
    assert "dispute_fee" in listed["actions"]
    assert (
        "dispute_fee"
        not in client.get(f"/api/v1/loans/{loan.id}", headers=bearer(lender)).get_json()["actions"]
    )

    refused = client.post(
        f"/api/v1/loans/{loan.id}/dispute_fee", headers=bearer(lender), json={"note": "x"}
    )
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "forbidden"
    opened = client.post(
        f"/api/v1/loans/{loan.id}/dispute_fee",
        headers=bearer(borrower),
        json={"note": "The stove never lit."},
    )
    assert opened.status_code == 200, opened.get_json()
    assert opened.get_json()["state"] == "disputed"
    assert the_dispute().stake_cents == FEE

    other, _lender2, borrower2 = completed_loan("manual")
    # It completed on its last day (tomorrow's evening): a window that closed before now.
    app.config["REFUND_WINDOW_DAYS"] = -3
    late = client.post(
        f"/api/v1/loans/{other.id}/dispute_fee",
        headers=bearer(borrower2),
        json={"note": "Too late now."},
    )
    assert late.status_code == 409
    assert late.get_json()["error"]["code"] == "refund_window_closed"
    assert fresh(other.id).state == "completed"


def test_the_loan_page_offers_the_fee_dispute_and_shows_a_chargeback(stripe_app, make_client):
    loan, lender, borrower = returned_loan("stripe")
    page = make_client(borrower).get(f"/loans/{loan.id}").get_data(as_text=True)
    assert "Dispute the fee…" in page
    assert "Dispute the fee…" not in make_client(lender).get(f"/loans/{loan.id}").get_data(
        as_text=True
    )

    charge_back(fee_payment(loan.id), "dp_page")
    page = make_client(lender).get(f"/loans/{loan.id}").get_data(as_text=True)
    assert "Fee disputed: $10.00" in page
    assert "card issuer opened a chargeback on the fee" in page
    assert f"/disputes/{the_dispute().id}" in page
    assert "Dispute the fee…" not in make_client(borrower).get(f"/loans/{loan.id}").get_data(
        as_text=True
    )


def test_a_chargeback_during_a_member_dispute_turns_its_refund_into_the_issuer_s(stripe_app):
    order = paid_order("stripe")
    payment = db.session.scalar(select(Payment))
    dispute = disputes.open_dispute("order", order.id, order.buyer_id, "It never came.")
    charge_back(payment, "dp_late")
    assert the_dispute().id == dispute.id  # no second dispute: the member's stands

    disputes.decide_dispute(dispute.id, moderator().id, 0, 4, "Never shipped.")

    assert state(order) == "resolved"
    assert ops("refund") == []
    assert ledger.balance(ledger.CHARGEBACKS, "USD") == PRICE
    assert_ledger_clean()


def test_the_seller_cannot_refund_a_charged_back_payment_by_hand(stripe_app):
    from app.orders import money as order_money

    order = paid_order("stripe")
    payment = db.session.scalar(select(Payment))
    payment.is_disputed = True  # flagged by a chargeback that opened no dispute
    db.session.commit()
    with pytest.raises(order_money.NotRefundable) as refused:
        order_money.refund_order(order.id, order.seller_id, 1000, "Sorry")
    assert refused.value.code == "not_refundable"
    assert ops("refund") == [] and ledger.balance(ledger.CHARGEBACKS, "USD") == 0
    assert_ledger_clean()
