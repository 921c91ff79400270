"""Settling group deals by card against localstripe: every pledge charged off-session at the
final tier price, once; a settlement that crashes halfway and runs again charges nobody twice
and skips nobody (checked at Stripe and in the ledger); a declined card gets its grace period,
is fixed and paid, or is dropped when the grace is over. The ledger balances and `flask ledger
verify` passes after each step."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.clubs import deals, settlement, states
from app.db import utcnow
from app.errors import DomainError
from app.extensions import db
from app.notifications.models import Notification
from app.payments import ledger
from app.payments import money as payments
from app.payments.models import Payment
from app.payments.providers import get_provider
from app.transactions.events import deliver_due
from tests.factories import UserFactory
from tests.integration.deal_support import (
    assert_ledger_clean,
    fresh,
    make_club,
    open_deal,
    pledges_of,
    settle,
)
from tests.integration.lending_support import save_card

pytest_plugins = ("tests.stripe_server",)

DECLINES = "4000000000000341"  # saves, then declines every charge
PLATFORM_BPS, PLATFORM_FIXED = 500, 30  # stripe_app's platform fee: 5 % + 30 cents


@pytest.fixture
def world(stripe_app, stripe_server):
    stripe_server.flush()  # this test's PaymentIntents only (they are listed below)
    club, organizer, members = make_club(members=8)
    supplier = UserFactory(handle="supplies")
    return club, organizer, members, supplier


def _pledge_all(deal, members, quantities, cards=None):
    for n, (member, quantity) in enumerate(zip(members, quantities, strict=False)):
        save_card(member, (cards or {}).get(n, "4242424242424242"))
        deals.pledge(deal.id, member.id, quantity)


def _stripe_intents(deal_id: int) -> dict[str, list]:
    """{pledge operation key prefix: [PaymentIntents at Stripe]} of this deal's pledges, read
    from localstripe itself (by the operation key every charge carries in its metadata)."""
    pledge_ids = {p.id for p in pledges_of(deal_id)}
    found: dict[str, list] = {}
    client = get_provider().client
    for intent in client.v1.payment_intents.list(params={"limit": 100}).data:
        key = intent.metadata.to_dict().get("operation_key", "") if intent.metadata else ""
        parts = key.split(":")
        if len(parts) == 4 and parts[0] == "pledge" and int(parts[1]) in pledge_ids:
            found.setdefault(int(parts[1]), []).append(intent)
    return found


def _succeeded(pledge_id: int) -> list[Payment]:
    db.session.expire_all()
    return payments.subject_payments(("pledge", pledge_id))


def _notes(user_id: int) -> list[str]:
    deliver_due(utcnow() + timedelta(days=400))
    return list(
        db.session.scalars(
            select(Notification.text)
            .where(Notification.user_id == user_id)
            .order_by(Notification.id)
        )
    )


def _platform_fee(amount: int) -> int:
    return min(amount, (amount * PLATFORM_BPS + 5000) // 10000 + PLATFORM_FIXED)


def test_pledging_by_card_needs_a_saved_card(world):
    club, organizer, members, supplier = world
    deal = open_deal(club, organizer, supplier)
    with pytest.raises(DomainError) as refused:
        deals.pledge(deal.id, members[0].id, 2)
    assert refused.value.code == "saved_card_required"


def test_every_pledge_is_charged_once_at_the_final_tier_price(world):
    club, organizer, members, supplier = world
    deal = open_deal(club, organizer, supplier, organizer_fee_bps=500)
    quantities = [5, 4, 4, 4, 4, 4]  # 25: the 25+ tier, 8.00 a bag for everybody
    _pledge_all(deal, members, quantities)
    assert fresh(deal.id).state == states.TIPPED
    assert not _stripe_intents(deal.id)  # nothing held or charged before the deadline

    settle(deal)
    deal = fresh(deal.id)
    assert deal.state == states.SETTLED and deal.final_unit_price_cents == 800
    pledges = pledges_of(deal.id)
    assert {p.state for p in pledges} == {states.PAID}
    assert [p.amount_cents for p in pledges] == [q * 800 + q * 40 for q in quantities]
    intents = _stripe_intents(deal.id)
    for pledge in pledges:
        assert [(i.amount, i.status) for i in intents[pledge.id]] == [
            (pledge.amount_cents, "succeeded")
        ]
    assert "was charged $42.00" in _notes(members[0].id)[-1]

    amounts = [p.amount_cents for p in pledges]
    platform = sum(_platform_fee(a) for a in amounts)
    fees = sum(p.fee_cents for p in pledges)
    assert ledger.balance(ledger.PLEDGES_HELD, "USD") == 0
    assert ledger.balance(ledger.PAYABLE, "USD", organizer.id) == fees
    assert ledger.balance(ledger.PAYABLE, "USD", supplier.id) == sum(amounts) - fees - platform
    assert ledger.balance(ledger.PLATFORM_FEES, "USD") == platform
    assert_ledger_clean()
    assert settle(deal) == 0  # nothing left to do


@pytest.mark.parametrize("where", ["after_stripe_succeeded", "before_asking_stripe"])
def test_a_settlement_that_crashes_halfway_and_runs_again_charges_each_pledge_once(
    world, monkeypatch, where
):
    club, organizer, members, supplier = world
    deal = open_deal(club, organizer, supplier)
    _pledge_all(deal, members, [2] * 8)  # 16: 9.00 a bag
    crash_at = 4  # the fourth charge dies
    calls = {"n": 0}

    if where == "after_stripe_succeeded":
        real = payments.post_funding

        funded: set[int] = set()

        def dying(payment, **kwargs):
            if payment.id not in funded:  # once per charge (the pledge's hook posts it again)
                funded.add(payment.id)
                if len(funded) == crash_at:
                    raise RuntimeError("the worker died after Stripe charged the card")
            return real(payment, **kwargs)

        monkeypatch.setattr(payments, "post_funding", dying)
    else:
        real = payments._ask_saved_card

        def dying(payment, key, **kwargs):
            calls["n"] += 1
            if calls["n"] == crash_at:
                raise RuntimeError("the worker died before asking Stripe")
            return real(payment, key, **kwargs)

        monkeypatch.setattr(payments, "_ask_saved_card", dying)

    with pytest.raises(RuntimeError):
        settle(deal)
    db.session.rollback()
    pledges = pledges_of(deal.id)
    assert [p.state for p in pledges] == [states.PAID] * 3 + [states.PLEDGED] * 5
    assert fresh(deal.id).state == states.CLOSED
    stripe_before = _stripe_intents(deal.id)
    assert len(stripe_before) == (4 if where == "after_stripe_succeeded" else 3)
    assert_ledger_clean()  # the three paid ones are held for the deal being charged

    monkeypatch.undo()
    settle(deal, after=timedelta(minutes=5))
    pledges = pledges_of(deal.id)
    assert {p.state for p in pledges} == {states.PAID}
    assert fresh(deal.id).state == states.SETTLED
    intents = _stripe_intents(deal.id)
    assert sorted(intents) == [p.id for p in pledges]  # nobody skipped
    for pledge in pledges:
        charged = [i for i in intents[pledge.id] if i.status == "succeeded"]
        assert [i.amount for i in charged] == [1800], pledge.id  # nobody charged twice
        assert len(_succeeded(pledge.id)) == 1
    crashed = pledges[crash_at - 1]
    assert _succeeded(crashed.id)[0].provider_ref == intents[crashed.id][0].id
    assert crashed.charge_attempts == 1
    assert ledger.balance(ledger.CUSTOMER_FUNDING, "USD") == -8 * 1800
    assert_ledger_clean()


def test_a_declined_card_gets_a_grace_period_and_pays_once_fixed(world):
    club, organizer, members, supplier = world
    deal = open_deal(club, organizer, supplier)
    _pledge_all(deal, members, [3, 3, 4], cards={2: DECLINES})
    moment = deal.deadline + timedelta(minutes=1)
    settlement.run(moment)
    late = pledges_of(deal.id)[2]
    assert late.state == states.PAYMENT_DUE and "declined" in late.failure_note
    assert late.grace_until == moment + timedelta(hours=48)
    assert fresh(deal.id).state == states.CLOSED  # waiting for that card
    told = _notes(members[2].id)[-1]
    assert "could not charge your card $36.00" in told and "after that your pledge is dropped" in (
        told
    )
    assert_ledger_clean()  # two pledges' money held while the deal is being charged
    assert ledger.balance(ledger.PLEDGES_HELD, "USD") == 2 * 2700

    settlement.run(moment + timedelta(minutes=10))  # the same card: not asked again so soon
    assert pledges_of(deal.id)[2].charge_attempts == 1

    save_card(members[2])  # fixed at /me/card
    paid = deals.retry_charge(late.id, members[2].id, now=moment + timedelta(hours=5))
    assert paid.state == states.PAID and paid.amount_cents == 4 * 900  # the price fixed then
    deal = fresh(deal.id)
    assert deal.state == states.SETTLED and deal.pledged_quantity == 10
    assert len(_succeeded(late.id)) == 1
    statuses = sorted(i.status for i in _stripe_intents(deal.id)[late.id])
    assert statuses == ["requires_payment_method", "succeeded"]
    assert ledger.balance(ledger.PLEDGES_HELD, "USD") == 0
    assert_ledger_clean()


def test_the_next_run_retries_as_soon_as_the_card_changes(world):
    club, organizer, members, supplier = world
    past = utcnow() - timedelta(hours=2, minutes=1)  # the deadline passed a minute ago
    deal = open_deal(club, organizer, supplier, now=past, deadline=past + timedelta(hours=2))
    save_card(members[0], DECLINES)
    save_card(members[1])
    deals.pledge(deal.id, members[0].id, 5, now=past)
    deals.pledge(deal.id, members[1].id, 5, now=past)
    settlement.run(utcnow())
    assert pledges_of(deal.id)[0].state == states.PAYMENT_DUE
    settlement.run(utcnow())
    assert pledges_of(deal.id)[0].charge_attempts == 1  # the same card, too soon
    save_card(members[0])  # a new card: the profile changed after the last attempt
    settlement.run(utcnow())
    assert pledges_of(deal.id)[0].state == states.PAID
    assert pledges_of(deal.id)[0].charge_attempts == 2
    assert fresh(deal.id).state == states.SETTLED
    assert_ledger_clean()


def test_a_card_not_fixed_within_the_grace_period_is_dropped_at_the_fixed_price(world):
    club, organizer, members, supplier = world
    deal = open_deal(club, organizer, supplier)
    _pledge_all(deal, members, [5, 5, 5, 10], cards={3: DECLINES})  # 25: 8.00 a bag
    moment = deal.deadline + timedelta(minutes=1)
    settlement.run(moment)
    assert fresh(deal.id).final_unit_price_cents == 800
    settlement.run(moment + timedelta(hours=47))
    assert pledges_of(deal.id)[3].state == states.PAYMENT_DUE
    assert pledges_of(deal.id)[3].charge_attempts > 1  # retried on the runs in between

    settlement.run(moment + timedelta(hours=48, minutes=1))
    pledges = pledges_of(deal.id)
    assert pledges[3].state == states.DROPPED and not _succeeded(pledges[3].id)
    deal = fresh(deal.id)
    assert deal.state == states.SETTLED and deal.pledged_quantity == 15
    assert deal.final_unit_price_cents == 800  # the price stays the one fixed at the deadline
    assert [p.amount_cents for p in pledges[:3]] == [4000] * 3
    assert "dropped" in _notes(members[3].id)[-2]
    with pytest.raises(DomainError):
        deals.retry_charge(pledges[3].id, members[3].id)
    assert_ledger_clean()


def test_a_deal_whose_every_pledge_is_dropped_fails(world):
    club, organizer, members, supplier = world
    deal = open_deal(club, organizer, supplier)
    _pledge_all(deal, members, [5, 5], cards={0: DECLINES, 1: DECLINES})
    moment = deal.deadline + timedelta(minutes=1)
    settlement.run(moment)
    settlement.run(moment + timedelta(hours=49))
    assert fresh(deal.id).state == states.FAILED
    assert {p.state for p in pledges_of(deal.id)} == {states.DROPPED}
    assert any("no pledge was paid" in note for note in _notes(organizer.id))
    assert_ledger_clean()


def test_a_payment_that_lands_after_the_pledge_was_dropped_goes_back(world):
    from app.payments.providers.base import ProviderPayment

    club, organizer, members, supplier = world
    deal = open_deal(club, organizer, supplier)
    _pledge_all(deal, members, [6, 6], cards={1: DECLINES})
    moment = deal.deadline + timedelta(minutes=1)
    settlement.run(moment)
    settlement.run(moment + timedelta(hours=49))
    dropped = pledges_of(deal.id)[1]
    assert dropped.state == states.DROPPED
    late = payments.subject_payments(("pledge", dropped.id), status=None)[-1]
    late.status = "processing"  # the bank's answer was slow, and says yes after the grace
    db.session.commit()

    payments.apply_remote_payment(
        late, ProviderPayment(ref="pi_late", status="succeeded", amount_cents=late.amount_cents,
                              currency="usd", captured_cents=late.amount_cents)
    )  # fmt: skip
    db.session.commit()
    assert db.session.get(type(dropped), dropped.id).state == states.DROPPED
    assert late.refunded_cents == late.amount_cents
    assert ledger.balance(ledger.REFUNDS_PENDING, "USD") == late.amount_cents
    assert ledger.balance(ledger.PLEDGES_HELD, "USD") == 0
    assert_ledger_clean()
