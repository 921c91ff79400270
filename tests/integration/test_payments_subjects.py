"""Payments reach a kind only through what the kind registers: the money rules of its entry in
the kind registry (the hooks a card payment's news goes through), and the statement's words per
ledger transaction kind."""

from __future__ import annotations

import dataclasses

import pytest

from app.extensions import db
from app.payments import ledger, statement, subjects
from app.payments import money as payments
from app.payments.models import Payment
from app.payments.providers.base import ProviderPayment
from app.transactions.registry import MoneyRules, register_kind, unregister_kind
from tests.factories import UserFactory
from tests.lamp_kind import LAMP_KIND


@pytest.fixture
def own_registries(monkeypatch):
    """The registries for this test only (kinds register theirs at app start)."""
    monkeypatch.setattr(statement, "_LABELS", dict(statement._LABELS))
    monkeypatch.setattr(statement, "_PARTY_KINDS", set(statement._PARTY_KINDS))


def card_payment(kind: str, subject_id: int, payer_id: int) -> Payment:
    payment = Payment(
        operation_key=f"{kind}:{subject_id}:charge:1",
        subject_type=kind,
        subject_id=subject_id,
        payer_id=payer_id,
        provider="stripe",
        provider_ref=f"pi_{kind}_{subject_id}",
        amount_cents=2500,
        currency="USD",
        status="processing",
    )
    db.session.add(payment)
    db.session.commit()
    return payment


def succeeded(payment: Payment) -> ProviderPayment:
    return ProviderPayment(
        ref=payment.provider_ref,
        status="succeeded",
        amount_cents=payment.amount_cents,
        currency="USD",
        captured_cents=payment.amount_cents,
    )


def test_a_card_payment_succeeding_reaches_its_kind_through_the_registered_hooks(
    app, own_registries
):
    calls = []
    money = MoneyRules(
        lock=lambda loan_id: calls.append(("lock", loan_id)) or True,
        on_payment_succeeded=lambda p: calls.append(("paid", p.subject_id, p.captured_cents)),
        holding=ledger.DEPOSITS_HELD,
    )
    register_kind(dataclasses.replace(LAMP_KIND, money=money))
    try:
        assert subjects.holding_account("lamp") == ledger.DEPOSITS_HELD
        payment = card_payment("lamp", 41, UserFactory().id)

        payments.apply_remote_payment(payment, succeeded(payment))
    finally:
        unregister_kind("lamp")

    assert calls == [("lock", 41), ("paid", 41, 2500)]
    assert payment.status == "succeeded"
    assert subjects.hooks_for("lamp") is None and subjects.holding_account("lamp") == "escrow"


def test_a_payment_for_a_kind_without_hooks_is_still_recorded(app, own_registries):
    payment = card_payment("club", 3, UserFactory().id)

    payments.apply_remote_payment(payment, succeeded(payment))

    assert payment.status == "succeeded" and payment.captured_cents == 2500


def test_the_statement_words_a_ledger_kind_as_its_registered_label_says(app, own_registries):
    member = UserFactory()
    payment = card_payment("pledge", 9, member.id)
    payment.status, payment.captured_cents = "succeeded", 2500
    ledger.post(
        "pledge:9:collected",
        "pledge_collected",
        "USD",
        [ledger.Leg(ledger.CUSTOMER_FUNDING, -2500), ledger.Leg(ledger.PLEDGES_HELD, 2500)],
        description="system words",
        subject=("pledge", 9),
        payment_id=payment.id,
    )
    db.session.commit()
    assert statement.statement_for(member.id).entries == []  # not the member's account

    statement.register_statement_label(
        "pledge_collected",
        lambda seen: (f"Your pledge, {seen.moved_cents} cents", -seen.moved_cents),
        for_parties=True,
    )
    (entry,) = statement.statement_for(member.id).entries
    assert (entry.kind, entry.description, entry.amount_cents) == (
        "pledge_collected",
        "Your pledge, 2500 cents",
        -2500,
    )
    assert (entry.subject_type, entry.subject_id) == ("pledge", 9)


def test_orders_register_the_words_of_their_money_at_app_start(app):
    assert {"order_funded", "refund_paid"} <= statement._PARTY_KINDS
    assert ("order_released", None) in statement._LABELS
    assert ("payout_paid", None) in statement._LABELS
    assert subjects.hooks_for("order") is not None
