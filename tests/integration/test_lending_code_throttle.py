"""The lender's handover code has six digits: wrong guesses at one loan's code are budgeted
(HANDOVER_CODE_RATE_LIMIT), whoever types them, so nobody can walk through the codes."""

from __future__ import annotations

import pytest

from app.accounts.throttle import TooManyGuesses
from app.extensions import db, limiter
from app.lending import services as lending
from tests.conftest import make_test_app
from tests.factories import UserFactory
from tests.integration.lending_support import ask, fresh, lendable


@pytest.fixture
def throttled(tmp_path):
    """A separate app with rate limiting on (the shared test app has it off)."""
    app = make_test_app(
        "sqlite", str(tmp_path), RATELIMIT_ENABLED=True, HANDOVER_CODE_RATE_LIMIT="2 per hour"
    )
    limiter.reset()
    try:
        with app.app_context():
            yield app
    finally:
        limiter.reset()
        limiter.enabled = False  # one limiter object is shared by every app in the process
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_after_the_budget_of_wrong_codes_even_the_right_code_waits(throttled):
    lender, borrower = UserFactory(), UserFactory()
    loan = ask(lendable(lender), borrower, first=0, days=2)
    lending.act(loan.id, "approve", lender.id)
    right = fresh(loan.id).handover_code
    wrong = f"{(int(right) + 1) % 10**6:06d}"

    for _ in range(2):
        with pytest.raises(lending.WrongHandoverCode):
            lending.act(loan.id, "confirm_with_code", borrower.id, code=wrong)
    with pytest.raises(TooManyGuesses) as waited:
        lending.act(loan.id, "confirm_with_code", borrower.id, code=right)

    assert waited.value.status == 429 and waited.value.code == "rate_limited"
    assert "Too many wrong codes" in waited.value.message
    assert fresh(loan.id).state == "approved"


def test_the_budget_is_per_loan_and_a_right_code_within_it_starts_the_loan(throttled):
    lender, borrower = UserFactory(), UserFactory()
    first = ask(lendable(lender), borrower, first=0, days=2)
    second = ask(lendable(lender, title="Camping stove"), borrower, first=0, days=2)
    for loan in (first, second):
        lending.act(loan.id, "approve", lender.id)
    for _ in range(2):
        with pytest.raises(lending.WrongHandoverCode):
            lending.act(first.id, "confirm_with_code", borrower.id, code="000000x")

    code = fresh(second.id).handover_code
    assert lending.act(second.id, "confirm_with_code", borrower.id, code=code).state == "active"
