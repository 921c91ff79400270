"""Disputes and agreed refunds between a pledging member and the deal's organizer (goods not
received, not as described): opened from the pledge (report_problem), answered by the
organizer, decided by a moderator who is no party, or a refund they agree on; carried out
through the ledger and the provider once, after the deal's money went to supplier and
organizer (the payouts shrunk, or reversed)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.clubs import deals, states
from app.clubs.models import Pledge
from app.disputes import refunds
from app.disputes import services as disputes
from app.errors import DomainError, Forbidden, NotFound
from app.extensions import db
from app.payments import ledger, operations
from app.payments.models import ProviderOperation
from tests.factories import UserFactory
from tests.integration.deal_support import (
    assert_ledger_clean,
    make_club,
    open_deal,
    pledges_of,
    settle,
)
from tests.integration.moderation_support import moderator


@pytest.fixture
def world(app):
    club, organizer, members = make_club(members=3)
    supplier = UserFactory(handle="supplies")
    deal = open_deal(club, organizer, supplier, organizer_fee_bps=1000)
    for member in members:
        deals.pledge(deal.id, member.id, 4)
    settle(deal)
    for pledge in pledges_of(deal.id):
        deals.pledge_action(pledge.id, "record_payment", organizer.id)
    operations.run_pending()
    return organizer, members, supplier, pledges_of(deal.id)


def pledge_state(pledge_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Pledge, pledge_id).state


def done(kind: str) -> list[int]:
    db.session.expire_all()
    return [
        op.amount_cents
        for op in db.session.scalars(
            select(ProviderOperation)
            .where(ProviderOperation.kind == kind, ProviderOperation.status == "succeeded")
            .order_by(ProviderOperation.id)
        )
    ]


def test_a_member_disputes_the_organizer_answers_and_a_moderator_splits(world):
    organizer, members, supplier, pledges = world
    pledge = pledges[0]
    paid = pledge.amount_cents
    assert paid > 0 and pledge.state == states.PAID
    deals.pledge_action(pledge.id, "report_problem", members[0].id, note="Half was mouldy.")
    dispute = disputes.dispute_about("pledge", pledge.id)
    assert (dispute.respondent_id, dispute.stake_cents) == (organizer.id, paid)
    assert pledge_state(pledge.id) == states.DISPUTED
    disputes.answer_dispute(dispute.id, organizer.id, "Only a few bags were.")
    organizer.is_moderator = True  # a moderator who organized the deal does not decide
    db.session.commit()
    with pytest.raises(disputes.OwnDispute):
        disputes.decide_dispute(dispute.id, organizer.id, 0, 2, "Not mine to decide.")
    mod = moderator()

    disputes.decide_dispute(dispute.id, mod.id, paid // 2, 2, "Half of it was spoiled.")

    assert pledge_state(pledge.id) == states.RESOLVED
    back = paid - paid // 2
    assert sum(done("reversal")) == back  # handed back in person, the supplier's share first
    first = db.session.scalar(select(ProviderOperation).where(ProviderOperation.kind == "reversal"))
    assert first.user_id == supplier.id
    assert done("refund") == [back]
    assert ledger.balance(ledger.REFUNDS_PAID, "USD") == back
    assert_ledger_clean()
    with pytest.raises(disputes.DisputeDecided):
        disputes.decide_dispute(dispute.id, mod.id, 0, 2, "Again.")
    assert done("refund") == [back]


def test_the_member_and_the_organizer_agree_on_a_refund(world):
    organizer, members, supplier, pledges = world
    pledge = pledges[1]
    offer = refunds.propose_refund("pledge", pledge.id, members[1].id, pledge.amount_cents)
    counter = refunds.propose_refund("pledge", pledge.id, organizer.id, 300, "A partial one.")
    with pytest.raises(Forbidden):  # the supplier is no side of a member's refund
        refunds.propose_refund("pledge", pledge.id, supplier.id, 100)
    with pytest.raises(NotFound):  # another member sees nothing of it
        refunds.propose_refund("pledge", pledge.id, members[0].id, 100)
    assert offer.id != counter.id
    refunds.respond_to_refund(counter.id, members[1].id, True)

    assert pledge_state(pledge.id) == states.RESOLVED
    assert done("refund") == [300]
    assert ledger.balance(ledger.REFUNDS_PAID, "USD") == 300
    assert_ledger_clean()


def test_only_the_member_disputes_and_not_before_the_money_moved(app):
    club, organizer, members = make_club(members=2)
    supplier = UserFactory()
    deal = open_deal(club, organizer, supplier)
    pledge = deals.pledge(deal.id, members[0].id, 1)
    with pytest.raises(DomainError) as early:
        deals.pledge_action(pledge.id, "report_problem", members[0].id, note="Where is it?")
    assert early.value.code == "invalid_transition"
    assert disputes.dispute_about("pledge", pledge.id) is None


def test_the_organizer_cannot_open_one_and_the_api_opens_and_lists_it(world, client):
    from app.accounts.models import User
    from tests.integration.api_support import bearer

    organizer, members, _supplier, pledges = world
    pledge = pledges[2]
    with pytest.raises(Forbidden):
        disputes.open_dispute("pledge", pledge.id, organizer.id, "Rude member.")
    made = client.post(
        "/api/v1/disputes",
        headers=bearer(db.session.get(User, members[2].id)),
        data={"kind": "pledge", "subject_id": pledge.id, "reason": "Never arrived."},
    )
    assert made.status_code == 201, made.json
    assert made.json["kind"] == "pledge"
    assert disputes.dispute_about("pledge", pledge.id).respondent_id == organizer.id
    offer = client.post(
        "/api/v1/refunds",
        headers=bearer(db.session.get(User, organizer.id)),
        json={"kind": "pledge", "subject_id": pledge.id, "refund_cents": 100},
    )
    assert (offer.status_code, offer.json["error"]["code"]) == (409, "conflict")
    mod = moderator()
    queue = client.get("/api/v1/disputes?status=waiting", headers=bearer(mod)).json
    assert [d["id"] for d in queue["items"]] == [made.json["id"]]


def test_the_deal_page_links_the_member_and_the_organizer(world, make_client):
    from app.accounts.models import User

    organizer, members, _supplier, pledges = world
    pledge = pledges[0]
    member_page = make_client(db.session.get(User, members[0].id))
    page = member_page.get(f"/deals/{pledge.deal_id}").get_data(as_text=True)
    assert f"/refunds/pledge/{pledge.id}" in page and f"/disputes/new/pledge/{pledge.id}" in page
    organizer_page = make_client(db.session.get(User, organizer.id))
    table = organizer_page.get(f"/deals/{pledge.deal_id}").get_data(as_text=True)
    assert all(f"/refunds/pledge/{p.id}" in table for p in pledges)
    opened = member_page.post(
        f"/disputes/new/pledge/{pledge.id}", data={"reason": "The bags never came."}
    )
    assert opened.status_code == 303
    dispute = disputes.dispute_about("pledge", pledge.id)
    table = organizer_page.get(f"/deals/{pledge.deal_id}").get_data(as_text=True)
    assert f"/disputes/{dispute.id}" in table and f"/refunds/pledge/{pledge.id}" not in table
    mod = make_client(moderator())
    assert f"/disputes/{dispute.id}" in mod.get("/moderation/disputes").get_data(as_text=True)
