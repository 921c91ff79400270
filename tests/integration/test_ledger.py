"""The double-entry ledger: balanced, append-only, posted once per operation key, and
`flask ledger verify` catches every broken invariant."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, update

from app.extensions import db
from app.orders import services as orders
from app.payments import ledger
from app.payments.models import LedgerAccount, LedgerLine, LedgerTransaction
from tests.factories import ListingFactory, OrderFactory, UserFactory

pytest_plugins = ("tests.stripe_server",)


def move(key: str, amount: int = 1000, user_id: int | None = None) -> LedgerTransaction:
    txn = ledger.post(
        key,
        "test",
        "USD",
        [
            ledger.Leg(ledger.CUSTOMER_FUNDING, -amount),
            ledger.Leg(ledger.PAYABLE if user_id else ledger.PLATFORM_FEES, amount, user_id),
        ],
        description="test movement",
    )
    db.session.commit()
    return txn


def verify_cli(app):
    return app.test_cli_runner().invoke(args=["ledger", "verify"])


def test_posting_moves_money_between_accounts_and_balances(app):
    user = UserFactory()
    move("t1", 1500, user.id)

    assert ledger.balance(ledger.PAYABLE, "USD", user_id=user.id) == 1500
    assert ledger.balance(ledger.CUSTOMER_FUNDING, "USD") == -1500
    account = db.session.scalar(select(LedgerAccount).where(LedgerAccount.user_id == user.id))
    assert account.balance_cents == 1500 and account.code == f"user:{user.id}:payable:USD"
    assert ledger.verify().ok


def test_posting_the_same_operation_twice_posts_once(app):
    user = UserFactory()
    first = move("same-key", 700, user.id)
    second = move("same-key", 700, user.id)

    assert first.id == second.id
    assert ledger.balance(ledger.PAYABLE, "USD", user_id=user.id) == 700


def test_the_database_refuses_a_second_transaction_with_the_same_key(app):
    move("dup")
    db.session.add(
        LedgerTransaction(operation_key="dup", kind="x", currency="USD", description="x")
    )
    with pytest.raises(Exception, match=r"(?i)unique"):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize(
    "legs",
    [
        [ledger.Leg(ledger.ESCROW, 100), ledger.Leg(ledger.CUSTOMER_FUNDING, -99)],
        [ledger.Leg(ledger.ESCROW, 100)],
        [],
        [ledger.Leg(ledger.ESCROW, 1.5), ledger.Leg(ledger.CUSTOMER_FUNDING, -1.5)],
    ],
    ids=["off-by-one", "one-sided", "empty", "float"],
)
def test_unbalanced_or_non_integer_postings_are_refused(app, legs):
    with pytest.raises(ledger.UnbalancedTransaction):
        ledger.post("bad", "test", "USD", legs, description="bad")
    db.session.rollback()
    assert db.session.scalar(select(LedgerTransaction)) is None


def test_lines_and_transactions_are_append_only(app):
    txn = move("t-append")
    line = txn.lines[0]

    line.amount_cents = 5
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()

    db.session.delete(db.session.get(LedgerLine, line.id))
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()


def test_a_mistake_is_corrected_by_a_new_transaction(app):
    user = UserFactory()
    wrong = move("t-wrong", 900, user.id)
    ledger.post(
        "t-wrong:correction",
        "correction",
        "USD",
        [ledger.Leg(ledger.CUSTOMER_FUNDING, 900), ledger.Leg(ledger.PAYABLE, -900, user.id)],
        description="reverses t-wrong",
        corrects_id=wrong.id,
    )
    db.session.commit()

    assert ledger.balance(ledger.PAYABLE, "USD", user_id=user.id) == 0
    assert db.session.scalar(
        select(LedgerTransaction.id).where(LedgerTransaction.corrects_id == wrong.id)
    )
    assert ledger.verify().ok


def test_verify_passes_and_cli_exits_zero_on_a_sound_ledger(app):
    move("ok-1")
    result = verify_cli(app)
    assert result.exit_code == 0
    assert "Ledger OK" in result.output


def test_verify_catches_a_cached_balance_that_disagrees_with_its_lines(app):
    move("t-cache")
    db.session.execute(
        update(LedgerAccount)
        .where(LedgerAccount.kind == ledger.CUSTOMER_FUNDING)
        .values(balance_cents=1)
    )
    db.session.commit()

    result = verify_cli(app)
    assert result.exit_code == 1
    assert "customer_funding:USD says 1 but its lines sum to -1000" in result.output


def test_verify_catches_a_transaction_that_does_not_sum_to_zero(app):
    txn = move("t-sum")
    account_id = txn.lines[0].account_id
    db.session.execute(
        insert(LedgerLine).values(transaction_id=txn.id, account_id=account_id, amount_cents=5)
    )
    db.session.execute(
        update(LedgerAccount)
        .where(LedgerAccount.id == account_id)
        .values(balance_cents=LedgerAccount.balance_cents + 5)
    )
    db.session.commit()

    report = ledger.verify()
    assert not report.ok
    assert report.problems == [f"transaction {txn.id} (t-sum) sums to 5, not 0"]


def test_verify_catches_escrow_held_for_an_order_that_is_no_longer_open(payments_wired):
    listing = ListingFactory(price_cents=1000)
    order = orders.place_order(UserFactory().id, listing.id, 1)
    orders.transition(order.id, "mark_paid", order.seller_id)
    assert ledger.verify().ok
    # Someone closes the order behind the ledger's back.
    db.session.execute(
        update(order.__class__).where(order.__class__.id == order.id).values(state="completed")
    )
    db.session.commit()

    result = verify_cli(payments_wired)
    assert result.exit_code == 1
    assert f"escrow holds 1000 for order {order.id}, but its open paid amount is 0" in result.output


def test_orders_without_ledger_money_do_not_trip_the_escrow_check(app):
    OrderFactory(state="shipped")
    assert ledger.verify().ok


@pytest.fixture
def own_invariants(monkeypatch):
    """The invariant registry for this test only (kinds register theirs at app start)."""
    monkeypatch.setattr(ledger, "_INVARIANTS", dict(ledger._INVARIANTS))


def hold_deposit(loan_id: int, amount: int) -> None:
    ledger.post(
        f"loan:{loan_id}:deposit",
        "deposit_held",
        "USD",
        [ledger.Leg(ledger.CUSTOMER_FUNDING, -amount), ledger.Leg(ledger.DEPOSITS_HELD, amount)],
        description="deposit",
        subject=("loan", loan_id),
    )
    db.session.commit()


def test_orders_register_the_escrow_invariant_at_app_start(app):
    registered = {(inv.account, inv.subject_type) for inv in ledger.invariants()}
    assert (ledger.ESCROW, "order") in registered


def test_verify_checks_each_invariant_a_kind_registers_for_its_holding_account(app, own_invariants):
    expected = {7: 500}
    ledger.register_invariant(
        ledger.DEPOSITS_HELD, "loan", lambda: expected, describe="deposit taken"
    )
    assert ledger.verify().problems == [
        "deposits_held holds 0 for loan 7, but its deposit taken is 500"
    ]

    hold_deposit(7, 500)
    assert ledger.verify().ok

    expected.clear()  # the loan completed behind the ledger's back
    assert ledger.verify().problems == [
        "deposits_held holds 500 for loan 7, but its deposit taken is 0"
    ]


def test_verify_catches_a_holding_account_holding_money_no_registered_kind_accounts_for(
    app, own_invariants
):
    ledger.register_invariant(ledger.DEPOSITS_HELD, "loan", dict, describe="deposit taken")
    ledger.post(
        "stray",
        "stray",
        "USD",
        [ledger.Leg(ledger.CUSTOMER_FUNDING, -300), ledger.Leg(ledger.DEPOSITS_HELD, 300)],
        description="no subject",
    )
    db.session.commit()

    assert ledger.verify().problems == ["deposits_held accounts hold 300 but loan account for 0"]


def test_an_invariant_names_a_system_account(app, own_invariants):
    with pytest.raises(ValueError):
        ledger.register_invariant("payable", "loan", dict, describe="x")


def test_verify_command_names_each_registered_invariant(app):
    result = verify_cli(app)
    assert result.exit_code == 0
    assert "escrow matches the orders' open paid amount" in result.output
