"""Group deals through their services with the manual provider (the embedded default): drafting
with a supplier, every refusal with its stable code, pledging, changing and withdrawing under
the cap, tipping and untipping, failing and cancelling, the settlement job at the deadline,
paying in person at pickup through the ledger, delivery, receipt, problems, the roster, the
notifications and the conversations, and feedback in every direction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.clubs import deals, settlement, states
from app.clubs.models import PRIVATE, DealEvent, GroupDeal, Pledge
from app.db import utcnow
from app.errors import DomainError, Forbidden, NotFound
from app.extensions import db
from app.messaging import services as messaging
from app.notifications.models import Notification
from app.payments import ledger
from app.payments.models import LedgerTransaction
from app.reviews import services as reviews
from app.transactions.events import deliver_due
from tests.factories import UserFactory
from tests.integration.deal_support import (
    assert_ledger_clean,
    fresh,
    make_club,
    open_deal,
    pledges_of,
    settle,
    terms,
)


@pytest.fixture
def world(app):
    club, organizer, members = make_club(members=12)
    supplier = UserFactory(handle="supplies")
    return club, organizer, members, supplier


def _code(call) -> str:
    with pytest.raises(DomainError) as refused:
        call()
    return refused.value.code


def _notes(user_id: int) -> list[str]:
    deliver_due(utcnow() + timedelta(days=400))
    return list(
        db.session.scalars(
            select(Notification.text)
            .where(Notification.user_id == user_id)
            .order_by(Notification.id)
        )
    )


def _check_totals(deal_id: int) -> None:
    deal = fresh(deal_id)
    counted = [p for p in pledges_of(deal_id) if p.state in states.COUNTED]
    assert deal.pledged_quantity == sum(p.quantity for p in counted)
    assert deal.pledge_count == len(counted)


# -- drafting -----------------------------------------------------------------------------------


def test_an_organizer_drafts_a_deal_the_supplier_accepts_before_pledges_open(world):
    club, organizer, members, supplier = world
    deal = deals.create_deal(club.id, organizer.id, **terms(supplier))
    assert deal.state == states.DRAFT and [t.min_quantity for t in deal.tiers] == [10, 25, 50]
    assert _code(lambda: deals.pledge(deal.id, members[0].id, 1)) == "not_found"  # a draft

    deals.deal_action(deal.id, "propose", organizer.id)
    assert _notes(supplier.id)[-1].startswith("@")
    assert "accept or decline" in _notes(supplier.id)[-1]
    assert _code(lambda: deals.deal_action(deal.id, "accept_terms", organizer.id)) == "forbidden"
    deals.deal_action(deal.id, "decline_terms", supplier.id, note="Too cheap at 50+")
    deal = fresh(deal.id)
    assert deal.state == states.DRAFT and deal.supplier_note == "Too cheap at 50+"
    assert "declined the terms" in _notes(organizer.id)[-1]

    deals.update_deal(deal.id, organizer.id, tiers=[(10, 900), (25, 800), (50, 750)])
    deals.deal_action(deal.id, "propose", organizer.id)
    assert _code(lambda: deals.update_deal(deal.id, organizer.id, title="x")) == (
        "invalid_transition"
    )
    deals.deal_action(deal.id, "accept_terms", supplier.id)
    assert fresh(deal.id).state == states.OPEN
    assert "open for pledges" in _notes(organizer.id)[-1]
    history = db.session.scalars(
        select(DealEvent.action).where(DealEvent.deal_id == deal.id).order_by(DealEvent.id)
    ).all()
    assert history == ["create", "propose", "decline_terms", "propose", "accept_terms"]


def test_only_the_clubs_organizers_draft_deals(world):
    club, _organizer, members, supplier = world
    assert _code(lambda: deals.create_deal(club.id, members[0].id, **terms(supplier))) == (
        "not_an_organizer"
    )
    stranger = UserFactory()
    assert _code(lambda: deals.create_deal(club.id, stranger.id, **terms(supplier))) == (
        "not_a_member"
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tiers": [(20, 900)]}, "tiers"),
        ({"tiers": [(10, 900), (25, 950)]}, "tiers"),
        ({"min_quantity": 0}, "min_quantity"),
        ({"cap_quantity": 5}, "cap_quantity"),
        ({"deadline": utcnow() - timedelta(days=1)}, "deadline"),
        ({"title": "  "}, "title"),
        ({"fulfilment": "drone"}, "fulfilment"),
        ({"pickup_point": ""}, "pickup_point"),
        ({"organizer_fee_bps": 2500}, "organizer_fee_bps"),
        ({"member_limit": True}, "member_limit"),
    ],
)
def test_terms_that_cannot_make_a_deal_are_refused_field_by_field(world, change, field):
    club, organizer, _members, supplier = world
    with pytest.raises(DomainError) as refused:
        deals.create_deal(club.id, organizer.id, **terms(supplier, **change))
    assert refused.value.code == "validation_failed"
    assert field in refused.value.fields


def test_the_organizer_cannot_be_the_supplier(world):
    club, organizer, _members, _supplier = world
    with pytest.raises(DomainError) as refused:
        deals.create_deal(club.id, organizer.id, **terms(organizer))
    assert refused.value.fields == {
        "supplier_id": ["The supplier must be someone other than the organizer."]
    }


def test_a_deal_cannot_be_sent_or_accepted_when_its_deadline_is_too_close(world):
    club, organizer, _members, supplier = world
    now = utcnow()
    deal = deals.create_deal(club.id, organizer.id, now=now, **terms(supplier,
                             deadline=now + timedelta(hours=2)))  # fmt: skip
    later = now + timedelta(hours=1, minutes=30)
    assert _code(lambda: deals.deal_action(deal.id, "propose", organizer.id, now=later)) == (
        "deadline_passed"
    )
    assert fresh(deal.id).state == states.DRAFT


# -- pledging -----------------------------------------------------------------------------------


def test_pledges_keep_the_total_and_tip_and_untip_the_deal(world):
    club, organizer, members, supplier = world
    deal = open_deal(club, organizer, supplier)
    first = deals.pledge(deal.id, members[0].id, 6)
    assert fresh(deal.id).state == states.OPEN
    second = deals.pledge(deal.id, members[1].id, 4)
    assert fresh(deal.id).state == states.TIPPED and fresh(deal.id).pledged_quantity == 10
    assert "tipped" in _notes(members[0].id)[-1]

    deals.change_pledge(first.id, members[0].id, 5)
    assert fresh(deal.id).state == states.OPEN  # 9 < 10
    deals.change_pledge(first.id, members[0].id, 8)
    assert fresh(deal.id).state == states.TIPPED
    deals.withdraw_pledge(second.id, members[1].id, note="Changed my mind")
    assert fresh(deal.id).state == states.OPEN and fresh(deal.id).pledge_count == 1
    renewed = deals.pledge(deal.id, members[1].id, 3)
    assert renewed.id == second.id and renewed.state == states.PLEDGED
    assert fresh(deal.id).state == states.TIPPED
    _check_totals(deal.id)


def test_every_pledging_refusal_has_its_code(world):
    club, organizer, members, supplier = world
    stranger = UserFactory()
    deal = open_deal(
        club, organizer, supplier, cap_quantity=30, member_limit=12, tiers=[(10, 900), (25, 800)]
    )
    deals.pledge(deal.id, members[0].id, 12)
    deals.pledge(deal.id, members[1].id, 12)

    assert _code(lambda: deals.pledge(deal.id, stranger.id, 1)) == "not_a_member"
    assert _code(lambda: deals.pledge(deal.id, organizer.id, 1)) == "own_deal"
    assert _code(lambda: deals.pledge(deal.id, supplier.id, 1)) == "own_deal"
    assert _code(lambda: deals.pledge(deal.id, members[2].id, 13)) == "over_member_limit"
    assert _code(lambda: deals.pledge(deal.id, members[2].id, 0)) == "validation_failed"
    assert _code(lambda: deals.pledge(deal.id, members[0].id, 1)) == "already_pledged"
    with pytest.raises(deals.CapReached) as full:
        deals.pledge(deal.id, members[2].id, 9)
    assert full.value.message == "Only 6 bags left."
    assert _code(lambda: deals.pledge(deal.id, members[2].id, 7)) == "cap_reached"
    deals.pledge(deal.id, members[2].id, 6)
    assert _code(lambda: deals.pledge(deal.id, members[3].id, 1)) == "cap_reached"
    first = pledges_of(deal.id)[0]
    assert _code(lambda: deals.change_pledge(first.id, members[0].id, 13)) == "over_member_limit"
    assert _code(lambda: deals.change_pledge(first.id, members[1].id, 2)) == "not_found"
    late = deal.deadline + timedelta(seconds=1)
    assert _code(lambda: deals.pledge(deal.id, members[3].id, 1, now=late)) == "deadline_passed"
    assert _code(lambda: deals.withdraw_pledge(first.id, members[0].id, now=late)) == (
        "deadline_passed"
    )
    assert _code(lambda: deals.deal_action(deal.id, "cancel", organizer.id, now=late)) == (
        "deadline_passed"
    )
    assert fresh(deal.id).pledged_quantity == 30
    _check_totals(deal.id)

    deals.deal_action(deal.id, "cancel", supplier.id, note="Harvest failed")
    assert _code(lambda: deals.pledge(deal.id, members[4].id, 1)) == "not_pledging"
    assert _code(lambda: deals.change_pledge(first.id, members[0].id, 2)) == ("invalid_transition")
    assert {p.state for p in pledges_of(deal.id)} == {states.RELEASED}
    assert "cancelled" in _notes(members[0].id)[-1]


def test_a_pledge_shows_the_most_it_can_cost_and_the_price_now(world):
    club, organizer, members, supplier = world
    deal = open_deal(club, organizer, supplier, organizer_fee_bps=500)
    deals.pledge(deal.id, members[0].id, 20)
    view = deals.deal_view(fresh(deal.id), members[0].id)
    assert view.price_now_cents == 900 and view.highest_price_cents == 900
    assert view.next_tier.min_quantity == 25 and view.units_to_next == 5
    assert view.most_cost.amount_cents == 20 * 900 + 900  # 5 % fee
    assert view.role == "member" and not view.can_pledge
    deals.pledge(deal.id, members[1].id, 5)
    view = deals.deal_view(fresh(deal.id), members[0].id)
    assert view.price_now_cents == 800 and view.cost_now.amount_cents == 20 * 800 + 800
    stranger_view = deals.deal_view(fresh(deal.id), members[5].id)
    assert stranger_view.can_pledge and stranger_view.why_not is None
    assert "in person at pickup" in " ".join(stranger_view.rules)
    assert deals.deal_view(fresh(deal.id), organizer.id).why_not == deals.OwnDeal.default_message


def test_who_sees_a_deal(world):
    club, organizer, members, supplier = world
    stranger = UserFactory()
    draft = deals.create_deal(club.id, organizer.id, **terms(supplier))
    assert deals.get_deal(draft.id, supplier.id).id == draft.id
    with pytest.raises(NotFound):
        deals.get_deal(draft.id, members[0].id)
    opened = open_deal(club, organizer, supplier)
    assert deals.get_deal(opened.id, stranger.id).id == opened.id  # a public club
    club.visibility = PRIVATE
    db.session.commit()
    with pytest.raises(NotFound):
        deals.get_deal(opened.id, stranger.id)
    assert deals.get_deal(opened.id, members[0].id).id == opened.id


# -- the deadline ---------------------------------------------------------------------------------


def test_a_deal_under_its_minimum_fails_at_the_deadline_and_nobody_pays(world):
    club, organizer, members, supplier = world
    deal = open_deal(club, organizer, supplier)
    for member in members[:3]:
        deals.pledge(deal.id, member.id, 2)
    assert settle(deal) >= 1
    assert fresh(deal.id).state == states.FAILED
    assert {p.state for p in pledges_of(deal.id)} == {states.RELEASED}
    assert "did not reach its minimum" in _notes(members[0].id)[-1]
    assert settle(deal) == 0  # idempotent
    assert db.session.scalar(select(LedgerTransaction.id).limit(1)) is None
    assert_ledger_clean()


def test_a_deadline_that_passed_while_no_worker_ran_settles_on_the_next_run(world):
    club, organizer, members, supplier = world
    deal = open_deal(club, organizer, supplier)
    for member in members[:10]:
        deals.pledge(deal.id, member.id, 1)
    settlement.run(deal.deadline + timedelta(days=3))
    deal = fresh(deal.id)
    assert deal.state == states.SETTLED and deal.final_unit_price_cents == 900


def test_members_are_reminded_once_before_the_deadline(world):
    club, organizer, members, supplier = world
    deal = open_deal(club, organizer, supplier)
    deals.pledge(deal.id, members[0].id, 2)
    assert settlement.remind(deal.deadline - timedelta(hours=30)) == 0
    assert settlement.remind(deal.deadline - timedelta(hours=20)) == 1
    assert settlement.remind(deal.deadline - timedelta(hours=2)) == 0
    assert "closes on" in _notes(members[0].id)[-1]


def test_paid_in_person_at_pickup_through_the_ledger(world):
    """The manual provider: at the deadline every pledge is billed for pickup and the deal
    settles; each payment recorded by the organizer goes through pledges held to what the
    supplier (goods) and the organizer (fee) are owed, settled in person."""
    club, organizer, members, supplier = world
    deal = open_deal(club, organizer, supplier, organizer_fee_bps=500)
    quantities = [5, 5, 5, 5, 6]  # 26: the 25+ tier, 8.00 a bag
    for member, quantity in zip(members, quantities, strict=False):
        deals.pledge(deal.id, member.id, quantity)
    settle(deal)
    deal = fresh(deal.id)
    assert deal.state == states.SETTLED and deal.final_unit_price_cents == 800
    pledges = pledges_of(deal.id)
    assert {p.state for p in pledges} == {states.PAY_AT_PICKUP}
    assert [p.amount_cents for p in pledges] == [q * 800 + q * 40 for q in quantities]
    assert "pay $42.00 in person at pickup" in _notes(members[0].id)[-1]

    for pledge in pledges[:4]:
        deals.pledge_action(pledge.id, "record_payment", organizer.id)
        assert_ledger_clean()
    deals.pledge_action(pledges[4].id, "mark_no_show", supplier.id, note="Never came")
    goods, fees = sum(quantities[:4]) * 800, sum(quantities[:4]) * 40
    assert ledger.balance(ledger.PLEDGES_HELD, "USD") == 0
    kinds = db.session.scalars(select(LedgerTransaction.kind)).all()
    assert kinds.count("pledge_funded") == 4 and kinds.count("pledge_released") == 4
    assert ledger.balance(ledger.PAYOUTS_PAID, "USD") == goods + fees  # settled in person
    assert ledger.balance(ledger.CUSTOMER_FUNDING, "USD") == -(goods + fees)
    assert ledger.balance(ledger.PAYABLE, "USD", supplier.id) == 0
    assert ledger.balance(ledger.PLATFORM_FEES, "USD") == 0  # none on money paid in person
    assert fresh(deal.id).pledged_quantity == 20
    told = _notes(members[4].id)
    assert "did not pay" in told[-2] and "How did it go" in told[-1]  # dropped: rate it too
    assert_ledger_clean()

    rows = deals.roster(deal.id, organizer.id)
    assert [(r.quantity, r.paid, r.collected) for r in rows if r.member.id == members[4].id] == [
        (6, False, False)
    ]
    assert sum(r.amount_cents for r in rows if r.paid) == goods + fees
    with pytest.raises(Forbidden):
        deals.roster(deal.id, members[0].id)


def _settled_in_person(world, count=10):
    club, organizer, members, supplier = world
    deal = open_deal(club, organizer, supplier)
    for member in members[:count]:
        deals.pledge(deal.id, member.id, 1)
    settle(deal)
    for pledge in pledges_of(deal.id):
        deals.pledge_action(pledge.id, "record_payment", organizer.id)
    return fresh(deal.id)


def test_delivered_received_and_completed_then_everybody_rates_each_other(world):
    _club, organizer, members, supplier = world
    deal = _settled_in_person(world)
    first = pledges_of(deal.id)[0]
    assert _code(lambda: deals.pledge_action(first.id, "confirm_receipt", members[1].id)) == (
        "not_found"
    )
    assert deals.deliver_all(deal.id, supplier.id) == 10
    assert fresh(deal.id).state == states.FULFILLED
    assert "Confirm you received" in _notes(members[0].id)[-1]
    pledges = pledges_of(deal.id)
    for pledge in pledges[:-1]:
        deals.pledge_action(pledge.id, "confirm_receipt", pledge.member_id)
    assert fresh(deal.id).state == states.FULFILLED  # one still to confirm
    receipt_days = db.session.get(GroupDeal, deal.id)  # the last one confirms by itself
    later = utcnow() + timedelta(days=8)
    assert settlement.confirm_due(later) == 1
    assert fresh(receipt_days.id).state == states.COMPLETED
    assert_ledger_clean()

    member = members[0]
    pledge = pledges[0]
    assert "How did it go" in _notes(member.id)[-1]
    for author, about in [
        (member.id, organizer.id),
        (member.id, supplier.id),
        (organizer.id, member.id),
        (supplier.id, member.id),
    ]:
        reviews.leave_feedback(pledge.id, author, "positive", "Smooth", kind="pledge", about=about)
    reviews.leave_feedback(deal.id, organizer.id, "positive", kind="deal")
    reviews.leave_feedback(deal.id, supplier.id, "neutral", "Pickup ran late", kind="deal")
    with pytest.raises(DomainError):  # a member is no party to the deal's own feedback
        reviews.leave_feedback(deal.id, member.id, "positive", kind="deal", about=supplier.id)
    with pytest.raises(DomainError):  # members do not rate each other
        reviews.leave_feedback(pledge.id, member.id, "positive", kind="pledge", about=members[1].id)
    received = reviews.received_feedback(supplier.id)
    assert len(received) == 2  # from the member (pledge) and the organizer (deal)


def test_a_problem_goes_to_a_moderator_and_feedback_waits(world):
    _club, organizer, members, supplier = world
    deal = _settled_in_person(world)
    pledge = pledges_of(deal.id)[0]
    deals.pledge_action(pledge.id, "mark_delivered", supplier.id)
    deals.pledge_action(pledge.id, "report_problem", members[0].id, note="Half the oats mouldy")
    assert db.session.get(Pledge, pledge.id).state == states.DISPUTED
    assert "A moderator decides" in _notes(supplier.id)[-1]
    assert "mouldy" in _notes(organizer.id)[-1]
    with pytest.raises(DomainError):
        reviews.leave_feedback(pledge.id, members[0].id, "negative", kind="pledge",
                               about=supplier.id)  # fmt: skip


def test_delivery_waits_for_the_settlement(world):
    club, organizer, members, supplier = world
    deal = open_deal(club, organizer, supplier)
    pledge = deals.pledge(deal.id, members[0].id, 10)
    assert _code(lambda: deals.pledge_action(pledge.id, "mark_delivered", supplier.id)) == (
        "invalid_transition"
    )
    assert _code(lambda: deals.deliver_all(deal.id, supplier.id)) == "invalid_transition"
    assert _code(lambda: deals.pledge_action(pledge.id, "record_payment", organizer.id)) == (
        "invalid_transition"
    )
    assert _code(lambda: deals.pledge_action(pledge.id, "teleport", members[0].id)) == "not_found"
    assert _code(lambda: deals.retry_charge(pledge.id, members[0].id)) == "invalid_transition"


def test_my_deals_and_what_needs_me(world):
    club, organizer, members, supplier = world
    draft = deals.create_deal(club.id, organizer.id, **terms(supplier))
    proposed = deals.create_deal(club.id, organizer.id, **terms(supplier, title="Rice"))
    deals.deal_action(proposed.id, "propose", organizer.id)
    opened = open_deal(club, organizer, supplier, title="Beans")
    deals.pledge(opened.id, members[0].id, 2)

    mine = deals.my_deals(organizer.id)
    assert {d.id for d in mine["organizer"]} == {draft.id, proposed.id, opened.id}
    assert [n.deal.id for n in mine["needs_you"]] == [draft.id]
    theirs = deals.my_deals(supplier.id)
    assert draft.id not in {d.id for d in theirs["supplier"]}
    assert [n.deal.id for n in theirs["needs_you"]] == [proposed.id]
    assert [d.id for d in deals.my_deals(members[0].id)["member"]] == [opened.id]


def test_parties_talk_about_a_pledge_and_a_deal(world):
    club, organizer, members, supplier = world
    deal = open_deal(club, organizer, supplier)
    pledge = deals.pledge(deal.id, members[0].id, 2)
    messaging.send_message("pledge", pledge.id, members[0].id, "Can I pick up on Sunday?")
    messaging.send_message("deal", deal.id, supplier.id, "Delivery on Friday.")
    assert "Can I pick up on Sunday?" in _notes(organizer.id)[-2]
    assert "Can I pick up on Sunday?" in _notes(supplier.id)[-1]
    assert "Delivery on Friday." in _notes(organizer.id)[-1]
    with pytest.raises(NotFound):
        messaging.send_message("pledge", pledge.id, members[1].id, "Hello")
    with pytest.raises(NotFound):
        messaging.send_message("deal", deal.id, members[0].id, "Hello")


def test_flask_ledger_verify_checks_pledges_money_against_their_deals(world, app):
    deal = _settled_in_person(world)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "pledges_held matches the pledges' paid pledge of a deal being charged" in result.output

    pledge = pledges_of(deal.id)[0]
    ledger.post(  # money left in pledges held for a pledge whose deal settled
        "tampered",
        "pledge_funded",
        "USD",
        [ledger.Leg(ledger.CUSTOMER_FUNDING, -100), ledger.Leg(ledger.PLEDGES_HELD, 100)],
        description="left behind",
        subject=("pledge", pledge.id),
    )
    db.session.commit()
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert f"pledges_held holds 100 for pledge {pledge.id}" in result.output


def test_the_due_jobs_settle_deals(world):
    from app.jobs.runner import run_due

    club, organizer, members, supplier = world
    deal = open_deal(club, organizer, supplier)
    for member in members[:10]:
        deals.pledge(deal.id, member.id, 1)
    results = run_due(deal.deadline + timedelta(minutes=1))
    assert results["clubs.deals_due"] >= 1
    assert fresh(deal.id).state == states.SETTLED


def test_the_actions_offered_follow_the_deadline_and_the_settlement(world):
    club, organizer, members, supplier = world
    deal = open_deal(club, organizer, supplier)
    mine = deals.pledge(deal.id, members[0].id, 10)
    assert deals.deal_actions(deal, organizer.id) == ["cancel"]
    assert deals.pledge_actions(mine, members[0].id) == ["change_quantity", "withdraw"]
    assert deals.pledge_actions(mine, supplier.id) == []
    late = deal.deadline + timedelta(seconds=1)
    assert deals.deal_actions(fresh(deal.id), organizer.id, now=late) == []
    assert deals.pledge_actions(mine, members[0].id, now=late) == []
    settle(deal)
    billed = pledges_of(deal.id)[0]
    assert deals.pledge_actions(billed, organizer.id) == ["record_payment", "mark_no_show"]
    deals.pledge_action(billed.id, "record_payment", organizer.id)
    paid = pledges_of(deal.id)[0]
    assert deals.pledge_actions(paid, supplier.id) == ["mark_delivered"]
    assert deals.pledge_actions(paid, members[0].id) == ["report_problem"]


def test_the_timeline_shows_a_member_their_own_pledge_only(world):
    club, organizer, members, supplier = world
    deal = open_deal(club, organizer, supplier)
    deals.pledge(deal.id, members[0].id, 6)
    deals.pledge(deal.id, members[1].id, 6)
    labels = [e.label for e in deals.timeline(fresh(deal.id), members[0].id)]
    assert labels == [
        "Drafted",
        "Sent to the supplier",
        "Terms accepted: open for pledges",
        "Pledged",
        "Tipped: the minimum was reached",
    ]
    assert [e.label for e in deals.timeline(fresh(deal.id), organizer.id)].count("Pledged") == 2


def test_pages_and_the_api_offer_only_what_the_services_allow(world):
    """The buttons and the API's `actions` come from the same rule as the services: no
    "withdraw" once the deadline passed, no "mark delivered" while the deal is still charging."""
    from app.clubs import deal_pages

    club, organizer, members, supplier = world
    deal = open_deal(club, organizer, supplier)
    mine = deals.pledge(deal.id, members[0].id, 10)
    assert deal_pages.pledge_actions(mine, members[0].id) == ["change_quantity", "withdraw"]
    deal = fresh(deal.id)
    deal.deadline = utcnow() - timedelta(seconds=1)  # past, and no settlement has run yet
    db.session.commit()
    assert deal_pages.pledge_actions(mine, members[0].id) == []
    assert deal_pages.deal_actions(deal, organizer.id) == []
    rows = deal_pages.roster_actions(deal, pledges_of(deal.id), organizer.id)
    assert rows == {mine.id: []}
