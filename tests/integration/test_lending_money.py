"""A loan's money with both providers: in person (the manual provider: the lender records the
fee and the deposit received at the handover) and by card against localstripe (the fee charged
off-session on approval, the deposit held on the saved card or, for a long loan, charged only
for what is kept). Every movement balances and `flask ledger verify` stays clean after every
step: a return on time, a late fee, a claim and a partial claim, a long loan's off-session
charge, a cancellation's refund, a declined card."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.lending import services as lending
from app.lending.models import Loan
from app.payments import ledger
from app.payments.models import LedgerTransaction, Payment, ProviderOperation
from app.payments.providers import get_provider, set_provider
from app.payments.statement import statement_for
from app.transactions.events import DomainEvent
from tests.factories import UserFactory
from tests.integration.lending_support import (
    ask,
    assert_ledger_clean,
    at,
    fresh,
    lendable,
    on_loan,
    returned,
    save_card,
)

pytest_plugins = ("tests.stripe_server",)

FEE, DEPOSIT = 1000, 5000  # two days at $5.00, a $50.00 deposit
PLATFORM_FEE = 80  # 5% + 30 cents of the $10.00 fee, by card only


@pytest.fixture(params=["manual", "stripe"])
def provider(request, payments_wired):
    """Each provider in turn: 'manual' or 'stripe' (against localstripe)."""
    if request.param == "stripe":
        request.getfixturevalue("stripe_app")
    else:
        set_provider(payments_wired, None)
    return request.param


@pytest.fixture
def stripe(stripe_app):
    return "stripe"


@pytest.fixture
def people(app):
    lender, borrower = UserFactory(handle="lena"), UserFactory(handle="bob")
    return lender, borrower


def _short_loan(provider, people, **terms):
    """Two days from today: its end plus the claim window fall within the hold window."""
    lender, borrower = people
    if provider == "stripe":
        save_card(borrower)
    return ask(lendable(lender, **terms), borrower, first=0, days=2)


def _long_loan(people, **terms):
    """Ten days from now for three days: too far for a card hold."""
    lender, borrower = people
    save_card(borrower)
    return ask(lendable(lender, **terms), borrower, first=10, days=3)


def _payments(loan_id: int) -> dict[str, Payment]:
    db.session.expire_all()
    found = db.session.scalars(
        select(Payment).where(Payment.subject_type == "loan", Payment.subject_id == loan_id)
    )
    return {p.operation_key.rsplit(":", 1)[-1]: p for p in found}


def _balances(currency: str = "USD") -> dict[str, int]:
    db.session.expire_all()
    return {
        "authorized": ledger.balance(ledger.AUTHORIZED, currency),
        "deposits": ledger.balance(ledger.DEPOSITS_HELD, currency),
        "fees": ledger.balance(ledger.PLATFORM_FEES, currency),
        "refunded": ledger.balance(ledger.REFUNDS_PAID, currency),
    }


def _earned(user) -> int:
    """What the lender earned: payable now plus paid out (in person: settled at once)."""
    db.session.expire_all()
    paid_out = db.session.scalar(
        select(func.coalesce(func.sum(ProviderOperation.amount_cents), 0)).where(
            ProviderOperation.kind == "transfer",
            ProviderOperation.user_id == user.id,
            ProviderOperation.status == "succeeded",
        )
    )
    return ledger.balance(ledger.PAYABLE, "USD", user_id=user.id) + paid_out


def _words(user) -> list[tuple[str, int]]:
    return [(e.description, e.amount_cents) for e in reversed(statement_for(user.id).entries)]


def test_a_return_on_time_pays_the_fee_to_the_lender_and_gives_the_deposit_back(provider, people):
    lender, _borrower = people
    loan = _short_loan(provider, people)
    lending.act(loan.id, "approve", lender.id)
    assert_ledger_clean()
    if provider == "stripe":  # secured on approval: the fee charged, the deposit on hold
        made = _payments(loan.id)
        assert (made["fee"].status, made["fee"].captured_cents) == ("succeeded", FEE)
        assert (made["deposit"].status, made["deposit"].amount_cents) == ("authorized", DEPOSIT)
        assert fresh(loan.id).deposit_method == "hold"
        assert _balances() | {"fees": 0} == {
            "authorized": DEPOSIT,
            "deposits": FEE,
            "fees": 0,
            "refunded": 0,
        }
    else:  # nothing moves until the handover
        assert _payments(loan.id) == {} and _balances()["deposits"] == 0
        assert fresh(loan.id).deposit_method == "in_person"

    on_loan(fresh(loan.id))
    assert_ledger_clean()
    assert _balances()["authorized"] == DEPOSIT and _balances()["deposits"] == FEE

    returned(fresh(loan.id))
    lending.act(loan.id, "confirm_return", lender.id)

    assert_ledger_clean()
    fee = PLATFORM_FEE if provider == "stripe" else 0
    assert _balances() == {"authorized": 0, "deposits": 0, "fees": fee, "refunded": 0}
    assert _earned(lender) == FEE - fee
    assert _payments(loan.id)[
        "deposit" if provider == "stripe" else "deposit-in-person"
    ].status == ("canceled")


def test_a_late_return_and_a_partial_claim_are_kept_from_the_deposit(provider, people):
    lender, borrower = people
    loan = returned(_short_loan(provider, people), late_days=1)  # late fee $3.00
    lending.claim_damage(loan.id, lender.id, 2000, "A torn guy line.", [], now=at(loan.ends_on, 22))
    assert_ledger_clean()
    assert _balances()["authorized"] == DEPOSIT  # held while the claim waits for an answer

    lending.act(loan.id, "accept_claim", borrower.id, now=at(loan.ends_on, 23))

    assert fresh(loan.id).state == "completed"
    assert_ledger_clean()
    kept = 300 + 2000
    deposit = next(p for key, p in _payments(loan.id).items() if key.startswith("deposit"))
    assert (deposit.status, deposit.captured_cents, deposit.fee_cents) == ("succeeded", kept, 0)
    fee = PLATFORM_FEE if provider == "stripe" else 0
    assert _balances() == {"authorized": 0, "deposits": 0, "fees": fee, "refunded": 0}
    assert _earned(lender) == FEE - fee + kept  # no platform fee on what the deposit paid
    assert ledger.balance(ledger.CUSTOMER_FUNDING, "USD") == -(FEE + kept)

    if provider == "manual":
        assert _words(borrower) == [
            ("You paid the loan fee in person", -FEE),
            ("You handed over the deposit in person", -DEPOSIT),
            ("Deposit given back in person, $23.00 kept", DEPOSIT - kept),
        ]
        assert _words(lender) == [
            ("Loan fee received in person", FEE),
            ("Deposit received in person", DEPOSIT),
            ("You gave back the deposit in person, keeping $23.00", -(DEPOSIT - kept)),
        ]
    else:
        assert _words(borrower) == [
            ("You paid the loan fee by card", -FEE),
            ("Deposit of $50.00 held on your card (not charged)", 0),
            ("$23.00 kept from your deposit, the rest of the hold released", -kept),
        ]
        assert ("Loan fee, after the $0.80 platform fee", FEE - fee) in _words(lender)
        assert ("Kept from the borrower's deposit (late fee or damage)", kept) in _words(lender)


def test_a_claim_of_the_whole_deposit_less_the_late_fee(provider, people):
    lender, borrower = people
    loan = returned(_short_loan(provider, people), late_days=2)  # late fee $6.00
    lending.claim_damage(loan.id, lender.id, DEPOSIT - 600, "Lost.", [], now=at(loan.ends_on, 23))
    lending.act(loan.id, "accept_claim", borrower.id, now=at(loan.ends_on, 23))
    assert_ledger_clean()
    fee = PLATFORM_FEE if provider == "stripe" else 0
    assert _earned(lender) == FEE - fee + DEPOSIT
    assert ledger.balance(ledger.CUSTOMER_FUNDING, "USD") == -(FEE + DEPOSIT)


def test_a_disputed_claim_keeps_the_deposit_held_until_a_moderator_decides(provider, people):
    lender, borrower = people
    loan = returned(_short_loan(provider, people))
    lending.claim_damage(loan.id, lender.id, 3000, "Broken zip.", [], now=at(loan.ends_on, 22))
    lending.act(loan.id, "dispute_claim", borrower.id, note="It was broken before.")
    assert_ledger_clean()
    assert _balances()["authorized"] == DEPOSIT and _balances()["deposits"] == FEE

    lending.resolve_claim(loan.id, 1200, note="Half and a bit")

    assert fresh(loan.id).state == "resolved"
    assert_ledger_clean()
    fee = PLATFORM_FEE if provider == "stripe" else 0
    assert _earned(lender) == FEE - fee + 1200
    assert _balances()["authorized"] == 0 and _balances()["deposits"] == 0


def test_cancelling_after_approval_gives_back_the_fee_in_full_and_the_deposit(provider, people):
    lender, borrower = people
    loan = _short_loan(provider, people)
    lending.act(loan.id, "approve", lender.id)

    lending.act(loan.id, "cancel", lender.id, note="Sorry, it is broken")

    assert fresh(loan.id).state == "cancelled"
    assert_ledger_clean()
    refunded = FEE if provider == "stripe" else 0  # in person nothing was paid yet
    assert _balances() == {"authorized": 0, "deposits": 0, "fees": 0, "refunded": refunded}
    if provider == "stripe":
        made = _payments(loan.id)
        assert (made["fee"].refunded_cents, made["deposit"].status) == (FEE, "canceled")
        remote = get_provider().retrieve_payment(made["deposit"].provider_ref)
        assert remote.status == "canceled"  # the card hold is released at the provider too
        assert ("Loan fee refunded to your card", FEE) in _words(borrower)


def test_a_free_loan_without_a_deposit_moves_no_money(provider, people):
    lender, _borrower = people
    loan = returned(_short_loan(provider, people, fee_per_day_cents=0, deposit_cents=0))
    lending.act(loan.id, "confirm_return", lender.id)
    assert fresh(loan.id).state == "completed"
    assert _payments(loan.id) == {}
    assert db.session.scalar(select(func.count(LedgerTransaction.id))) == 0


def test_a_long_loan_keeps_the_saved_card_and_charges_what_is_kept_off_session(stripe, people):
    lender, borrower = people
    loan = _long_loan(people)
    lending.act(loan.id, "approve", lender.id)
    assert fresh(loan.id).deposit_method == "saved_card"
    assert set(_payments(loan.id)) == {"fee"}  # no hold: it would not last
    assert _balances()["authorized"] == 0

    loan = returned(fresh(loan.id), late_days=2)  # late fee $6.00
    lending.claim_damage(loan.id, lender.id, 1000, "Scuffed.", [], now=at(loan.ends_on, 22))
    lending.act(loan.id, "accept_claim", borrower.id, now=at(loan.ends_on, 23))

    kept = 600 + 1000
    made = _payments(loan.id)
    assert (made["kept"].status, made["kept"].captured_cents) == ("succeeded", kept)
    assert made["kept"].transferred_cents == kept  # paid to the lender at once, no fee
    assert_ledger_clean()
    assert _earned(lender) == 1500 - 105 + kept  # three days' fee less 5% + 30 cents
    assert ("Charged to your card: kept from the deposit", -kept) in _words(borrower)


def test_a_long_loan_returned_in_good_condition_charges_nothing_more(stripe, people):
    lender, _borrower = people
    loan = returned(on_loan(_long_loan(people)))
    lending.act(loan.id, "confirm_return", lender.id)
    assert set(_payments(loan.id)) == {"fee"}
    assert_ledger_clean()


def test_a_declined_card_on_approval_cancels_the_loan_and_tells_both(stripe, people):
    lender, borrower = people
    save_card(borrower, number="4000000000000341")
    loan = ask(lendable(lender), borrower, first=0, days=2)

    lending.act(loan.id, "approve", lender.id)

    cancelled = fresh(loan.id)
    assert cancelled.state == "cancelled"
    assert cancelled.cancel_note.startswith("The borrower's card was declined")
    names = db.session.scalars(
        select(DomainEvent.name).where(DomainEvent.subject_id == loan.id).order_by(DomainEvent.id)
    ).all()
    assert names[-2:] == ["loan.approve", "loan.payment_failed"]
    assert _payments(loan.id)["fee"].status == "failed"
    assert_ledger_clean()
    assert _balances() == {"authorized": 0, "deposits": 0, "fees": 0, "refunded": 0}


def test_a_kept_charge_the_card_declines_is_recorded_for_both(stripe, people):
    lender, borrower = people
    loan = _long_loan(people, fee_per_day_cents=0)  # nothing to charge on approval
    lending.act(loan.id, "approve", lender.id)
    save_card(borrower, number="4000000000000341")  # the card changed meanwhile
    loan = returned(on_loan(fresh(loan.id)), late_days=1)
    lending.act(loan.id, "confirm_return", lender.id)

    assert _payments(loan.id)["kept"].status == "failed"
    assert (
        db.session.scalar(
            select(func.count(DomainEvent.id)).where(DomainEvent.name == "loan.kept_charge_failed")
        )
        == 1
    )
    assert lending.run_due_jobs(at(loan.ends_on, 23)) == 0  # a declined card is not retried
    assert_ledger_clean()


def test_asking_by_card_needs_a_saved_card_unless_nothing_is_taken(stripe, people):
    lender, borrower = people
    with pytest.raises(lending.SavedCardRequired) as refused:
        ask(lendable(lender), borrower)
    assert refused.value.code == "saved_card_required"
    free = lendable(lender, title="Ladder", fee_per_day_cents=0, deposit_cents=0)
    assert ask(free, borrower).deposit_method == "none"


def test_verify_finds_a_deposit_left_held_on_a_loan_that_is_over(provider, people):
    _lender, _borrower = people
    loan = on_loan(_short_loan(provider, people))
    db.session.execute(Loan.__table__.update().where(Loan.id == loan.id).values(state="completed"))
    db.session.commit()
    problems = ledger.verify().problems
    assert (
        f"holds_authorized holds {DEPOSIT} for loan {loan.id}, "
        "but its deposit held on a card or in person is 0"
    ) in problems
    assert any(p.startswith(f"deposits_held holds {FEE} for loan {loan.id}") for p in problems)
