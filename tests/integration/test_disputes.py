"""Disputes (app/disputes) about loans' damage claims: opened by the borrower with a reason and
photos, answered by the lender, decided by a moderator who takes no part, and carried out
through the ledger and the payment provider exactly once, with both providers; also a crash
between the provider's call and our commit, and chargebacks arriving by webhook."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from app.disputes import services as disputes
from app.disputes.models import Dispute
from app.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from app.extensions import db
from app.lending import services as lending
from app.moderation.models import ModerationAction
from app.moderation.services import public_log
from app.notifications.models import Notification
from app.payments import ledger, operations
from app.payments.models import Payment, ProviderOperation
from app.payments.providers import get_provider, set_provider
from app.payments.providers.faults import SimulatedCrash
from app.transactions.events import DomainEvent, deliver
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

pytest_plugins = ("tests.stripe_server",)

FEE, DEPOSIT, CLAIM = 1000, 5000, 3000


@pytest.fixture(params=["manual", "stripe"])
def provider(request, payments_wired):
    if request.param == "stripe":
        request.getfixturevalue("stripe_app")
    else:
        set_provider(payments_wired, None)
    return request.param


@pytest.fixture
def people(app):
    return UserFactory(handle="lena"), UserFactory(handle="bob"), moderator(handle="mod")


def photo(name: str = "scratch.png") -> FileStorage:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(buffer, "PNG")
    buffer.seek(0)
    return FileStorage(stream=buffer, filename=name, content_type="image/png")


def claimed_loan(provider: str, lender, borrower):
    """A two-day loan (fee $10, deposit $50) returned, with a $30 damage claim."""
    if provider == "stripe":
        save_card(borrower)
    loan = returned(ask(lendable(lender), borrower, first=0, days=2))
    lending.claim_damage(loan.id, lender.id, CLAIM, "Torn flysheet.", [], now=at(loan.ends_on, 22))
    return fresh(loan.id)


def disputed_loan(provider, lender, borrower):
    loan = claimed_loan(provider, lender, borrower)
    dispute = disputes.open_dispute(
        "loan", loan.id, borrower.id, "It was torn when I got it.", [photo()]
    )
    return fresh(loan.id), dispute


def earned(user) -> int:
    db.session.expire_all()
    paid_out = db.session.scalar(
        select(func.coalesce(func.sum(ProviderOperation.amount_cents), 0)).where(
            ProviderOperation.kind == "transfer",
            ProviderOperation.user_id == user.id,
            ProviderOperation.status == "succeeded",
        )
    )
    return ledger.balance(ledger.PAYABLE, "USD", user_id=user.id) + paid_out


def test_the_borrower_opens_a_dispute_with_reason_and_photos_and_the_loan_is_disputed(
    provider, people
):
    lender, borrower, _mod = people
    loan, dispute = disputed_loan(provider, lender, borrower)

    assert loan.state == "disputed"
    assert (dispute.status, dispute.stake_cents, dispute.respondent_id) == (
        "open",
        CLAIM,
        lender.id,
    )
    assert dispute.opener_role == "borrower" and len(dispute.photos_of("opener")) == 1
    assert_ledger_clean()
    with pytest.raises(disputes.AlreadyDisputed):
        disputes.open_dispute("loan", loan.id, borrower.id, "Again")


@pytest.mark.parametrize(
    ("awarded", "lender_gets", "borrower_back"),
    [(0, 0, CLAIM), (CLAIM, CLAIM, 0), (1200, 1200, CLAIM - 1200)],
    ids=["full-refund", "release-to-lender", "split"],
)
def test_every_decision_is_carried_out_once_and_the_ledger_balances(
    provider, people, awarded, lender_gets, borrower_back
):
    lender, borrower, mod = people
    loan, dispute = disputed_loan(provider, lender, borrower)
    disputes.answer_dispute(dispute.id, lender.id, "It was new when I lent it.", [photo()])
    before = earned(lender)

    decided = disputes.decide_dispute(dispute.id, mod.id, awarded, 4, "Photos show old wear.")

    assert (decided.status, decided.awarded_cents, decided.refunded_cents) == (
        "decided",
        lender_gets,
        borrower_back,
    )
    loan = fresh(loan.id)
    assert loan.state == "resolved" and loan.claim.awarded_cents == awarded
    assert_ledger_clean()
    assert ledger.balance(ledger.AUTHORIZED, "USD") == 0
    assert ledger.balance(ledger.DEPOSITS_HELD, "USD") == 0
    assert earned(lender) - before == FEE - (80 if provider == "stripe" else 0) + lender_gets
    assert ledger.balance(ledger.CUSTOMER_FUNDING, "USD") == -(FEE + lender_gets)
    if provider == "stripe":
        deposit = db.session.scalar(
            select(Payment).where(Payment.operation_key == f"loan:{loan.id}:deposit")
        )
        remote = get_provider().retrieve_payment(deposit.provider_ref)
        if awarded:
            assert (deposit.captured_cents, remote.status) == (awarded, "succeeded")
        else:
            assert remote.status == "canceled"

    with pytest.raises(disputes.DisputeDecided):  # a second decision changes nothing
        disputes.decide_dispute(dispute.id, mod.id, 0, 4, "Changed my mind.")
    assert earned(lender) - before == FEE - (80 if provider == "stripe" else 0) + lender_gets
    assert_ledger_clean()

    action = db.session.scalar(
        select(ModerationAction).where(ModerationAction.dispute_id.isnot(None))
    )
    assert (action.action, action.target_kind, action.target_id) == ("decide", "loan", loan.id)
    assert action.rule.number == 4 and action.reason == "Photos show old wear."
    logged = public_log().items[0]
    assert logged.id == action.id and "$" in logged.detail and "torn" not in logged.detail


def test_only_parties_open_and_only_the_other_side_answers(app, people):
    lender, borrower, _mod = people
    stranger = UserFactory()
    loan = claimed_loan("manual", lender, borrower)

    with pytest.raises(NotFound):
        disputes.open_dispute("loan", loan.id, stranger.id, "Not mine")
    with pytest.raises(Forbidden):  # the lender cannot dispute their own claim
        disputes.open_dispute("loan", loan.id, lender.id, "Hmm")
    with pytest.raises(ValidationFailed):
        disputes.open_dispute("loan", loan.id, borrower.id, "   ")
    dispute = disputes.open_dispute("loan", loan.id, borrower.id, "Not my fault")

    with pytest.raises(NotFound):
        disputes.get_dispute(dispute.id, stranger.id)
    with pytest.raises(Forbidden):
        disputes.answer_dispute(dispute.id, borrower.id, "Answering myself")
    disputes.answer_dispute(dispute.id, lender.id, "It is.")
    with pytest.raises(disputes.AlreadyAnswered):
        disputes.answer_dispute(dispute.id, lender.id, "Again")


def test_a_loan_not_in_a_claim_cannot_be_disputed(app, people):
    lender, borrower, _mod = people
    loan = ask(lendable(lender), borrower, first=3, days=2)
    with pytest.raises(InvalidTransition, match="cannot be disputed yet"):
        disputes.open_dispute("loan", loan.id, borrower.id, "Too early")


def test_only_moderators_decide_and_never_their_own_transaction(app, people):
    lender, borrower, mod = people
    loan, dispute = disputed_loan("manual", lender, borrower)
    with pytest.raises(disputes.NotAModerator):
        disputes.decide_dispute(dispute.id, lender.id, 0, 4, "I decide for myself")
    lender.is_moderator = True
    db.session.commit()
    with pytest.raises(disputes.OwnDispute):
        disputes.decide_dispute(dispute.id, lender.id, CLAIM, 4, "All mine, thanks")
    with pytest.raises(ValidationFailed):
        disputes.decide_dispute(dispute.id, mod.id, CLAIM + 1, 4, "Too much money")
    assert fresh(loan.id).state == "disputed"
    assert db.session.scalar(select(func.count(ModerationAction.id))) == 0


def test_both_sides_are_told_of_the_dispute_the_answer_and_the_decision(app, people):
    lender, borrower, mod = people
    loan, dispute = disputed_loan("manual", lender, borrower)
    disputes.answer_dispute(dispute.id, lender.id, "It was new.")
    disputes.decide_dispute(dispute.id, mod.id, 1000, 4, "Some of it was there.")
    deliver()

    def texts(user):
        return [
            n.text
            for n in db.session.scalars(select(Notification).where(Notification.user_id == user.id))
        ]

    assert any("disputes your claim" in t for t in texts(lender))
    assert any("answered your dispute" in t for t in texts(borrower))
    for user in (lender, borrower):
        assert any("A moderator decided the claim" in t for t in texts(user))
    decided = db.session.scalar(select(DomainEvent).where(DomainEvent.name == "dispute.decided"))
    assert (decided.subject_kind, decided.subject_id) == ("loan", loan.id)
    assert decided.payload["awarded_cents"] == 1000


def test_a_crash_between_the_provider_call_and_the_commit_moves_the_money_once(
    stripe_app, faulty, people
):
    lender, borrower, mod = people
    save_card(borrower)
    loan = returned(ask(lendable(lender), borrower, first=0, days=2))
    lending.claim_damage(loan.id, lender.id, CLAIM, "Torn.", [], now=at(loan.ends_on, 22))
    dispute = disputes.open_dispute("loan", loan.id, borrower.id, "Not me")
    faulty.fail("capture_payment", "crash_after")

    with pytest.raises(SimulatedCrash):
        disputes.decide_dispute(dispute.id, mod.id, 1200, 4, "Half and a bit.")
    db.session.rollback()

    # The decision committed before the provider heard of it; the capture happened at Stripe
    # but we never recorded it.
    db.session.expire_all()
    assert db.session.get(Dispute, dispute.id).status == "decided"
    op = db.session.scalar(select(ProviderOperation).where(ProviderOperation.kind == "capture"))
    assert op.status == "pending"
    deposit = db.session.scalar(
        select(Payment).where(Payment.operation_key == f"loan:{loan.id}:deposit")
    )
    assert get_provider().retrieve_payment(deposit.provider_ref).status == "succeeded"

    with pytest.raises(disputes.DisputeDecided):  # the retried decision does nothing
        disputes.decide_dispute(dispute.id, mod.id, 1200, 4, "Half and a bit.")
    operations.run_pending()
    operations.run_pending()  # the payout the capture decided

    db.session.expire_all()
    assert faulty.calls.count("capture_payment") == 1
    assert db.session.get(ProviderOperation, op.id).status == "succeeded"
    remote = get_provider().retrieve_payment(deposit.provider_ref)
    assert remote.status == "succeeded"
    assert db.session.get(Payment, deposit.id).captured_cents == 1200
    assert_ledger_clean()
    assert earned(lender) == FEE - 80 + 1200
    result = stripe_app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output


def test_a_chargeback_on_a_loan_fee_flags_the_payment_and_opens_no_claim_dispute(
    stripe_app, people
):
    from app.payments.webhooks import handle_event

    lender, borrower, _mod = people
    loan = claimed_loan("stripe", lender, borrower)
    fee = db.session.scalar(select(Payment).where(Payment.operation_key == f"loan:{loan.id}:fee"))
    handle_event(
        {
            "id": "evt_dispute_1",
            "type": "charge.dispute.created",
            "data": {"object": {"id": "dp_123", "amount": FEE, "payment_intent": fee.provider_ref}},
        }
    )
    deliver()

    # A loan's dispute divides a damage claim, not the fee charged back: a person looks at it.
    assert db.session.scalar(select(func.count(Dispute.id))) == 0
    assert db.session.get(Payment, fee.id).is_disputed
    assert fresh(loan.id).state == "damage_claimed"


# -- through the API and the pages ---------------------------------------------------------


def test_the_api_opens_answers_lists_and_decides_a_dispute(client, people):
    from tests.integration.api_support import bearer

    lender, borrower, mod = people
    loan = claimed_loan("manual", lender, borrower)
    created = client.post(
        "/api/v1/disputes",
        headers=bearer(borrower),
        data={
            "kind": "loan",
            "subject_id": str(loan.id),
            "reason": "Torn before",
            "photos": photo(),
        },
        content_type="multipart/form-data",
    )
    assert created.status_code == 201, created.json
    dispute_id = created.json["id"]
    assert created.json["status"] == "open" and len(created.json["photos"]) == 1
    again = client.post(
        "/api/v1/disputes",
        headers=bearer(borrower),
        data={"kind": "loan", "subject_id": str(loan.id), "reason": "Again"},
    )
    assert (again.status_code, again.json["error"]["code"]) == (409, "already_disputed")
    thumb = created.json["photos"][0]["thumb_url"]
    assert client.get(thumb, headers=bearer(lender)).status_code == 200
    assert client.get(thumb, headers=bearer(UserFactory())).status_code == 404

    answered = client.post(
        f"/api/v1/disputes/{dispute_id}/answer",
        headers=bearer(lender),
        data={"answer": "It was new."},
    )
    assert answered.status_code == 200 and answered.json["status"] == "answered"
    assert client.get("/api/v1/disputes", headers=bearer(borrower)).json["total"] == 1
    assert (
        client.get(f"/api/v1/disputes/{dispute_id}", headers=bearer(UserFactory())).status_code
        == 404
    )

    decision = {"awarded_cents": 1000, "rule": 4, "reason": "Part of it was there before."}
    refused = client.post(
        f"/api/v1/disputes/{dispute_id}/decision", headers=bearer(lender), json=decision
    )
    assert (refused.status_code, refused.json["error"]["code"]) == (403, "not_a_moderator")
    queue = client.get("/api/v1/disputes?status=waiting", headers=bearer(mod)).json
    assert [d["id"] for d in queue["items"]] == [dispute_id]
    decided = client.post(
        f"/api/v1/disputes/{dispute_id}/decision", headers=bearer(mod), json=decision
    )
    assert decided.status_code == 200, decided.json
    assert (decided.json["awarded_cents"], decided.json["refunded_cents"]) == (1000, CLAIM - 1000)
    twice = client.post(
        f"/api/v1/disputes/{dispute_id}/decision", headers=bearer(mod), json=decision
    )
    assert (twice.status_code, twice.json["error"]["code"]) == (409, "dispute_decided")
    log = client.get("/api/v1/moderation/log").json["items"][0]
    assert (
        log["action"] == "decide"
        and log["detail"] == "$10.00 to the lender, $20.00 back to the borrower"
    )
    assert "Torn" not in str(log)
    assert_ledger_clean()


def test_the_pages_take_a_claim_from_dispute_to_decision(make_client, people):
    lender, borrower, mod = people
    loan = claimed_loan("manual", lender, borrower)

    client = make_client(borrower)
    page = client.get(f"/loans/{loan.id}")
    assert f"/disputes/new/loan/{loan.id}" in page.get_data(as_text=True)
    form = client.get(f"/disputes/new/loan/{loan.id}")
    assert form.status_code == 200 and "$30.00" in form.get_data(as_text=True)
    empty = client.post(f"/disputes/new/loan/{loan.id}", data={"reason": ""})
    assert empty.status_code == 303 and empty.location.endswith(f"/disputes/new/loan/{loan.id}")
    opened = client.post(
        f"/disputes/new/loan/{loan.id}",
        data={"reason": "It was torn when I got it.", "photos": photo()},
        content_type="multipart/form-data",
    )
    assert opened.status_code == 303
    dispute = disputes.dispute_about("loan", loan.id)
    assert opened.location.endswith(f"/disputes/{dispute.id}")
    assert "It was torn when I got it." in client.get(f"/disputes/{dispute.id}").get_data(
        as_text=True
    )

    client = make_client(lender)
    shown = client.get(f"/disputes/{dispute.id}")
    assert "Send your answer" in shown.get_data(as_text=True) and "/photos/" in shown.get_data(
        as_text=True
    )
    client.post(f"/disputes/{dispute.id}/answer", data={"answer": "It was new."})
    assert "Decide and move the money" not in client.get(f"/disputes/{dispute.id}").get_data(
        as_text=True
    )
    refused = client.post(
        f"/disputes/{dispute.id}/decide", data={"awarded": "30", "rule": "4", "reason": "Mine!"}
    )
    assert refused.status_code == 303
    assert fresh(loan.id).state == "disputed"

    client = make_client(UserFactory())
    assert client.get(f"/disputes/{dispute.id}").status_code == 404

    client = make_client(mod)
    assert f"/disputes/{dispute.id}" in client.get("/moderation/disputes").get_data(as_text=True)
    page = client.get(f"/disputes/{dispute.id}")
    assert "Decide and move the money" in page.get_data(
        as_text=True
    ) and "It was new." in page.get_data(as_text=True)
    client.post(
        f"/disputes/{dispute.id}/decide",
        data={"awarded": "12.00", "rule": "4", "reason": "Some wear was there before."},
    )
    assert fresh(loan.id).state == "resolved"
    log = client.get("/moderation/log").get_data(as_text=True)
    assert (
        "the dispute about loan #" in log
        and "$12.00 to the lender, $18.00 back to the borrower" in log
    )
    assert "torn when I got it" not in log
    assert_ledger_clean()
