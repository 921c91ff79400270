"""Helpers for the group-deal tests: a club with its organizer and members (rows written
directly: the clubs' own services are another helper's), a supplier, a deal opened for pledges,
and a settlement run at a given moment."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select

from app.clubs import deals, settlement
from app.clubs.models import ACTIVE, MEMBER, ORGANIZER, Club, ClubMember, GroupDeal, Pledge
from app.db import utcnow
from app.extensions import db
from app.payments import ledger
from app.payments.models import LedgerTransaction
from tests.factories import UserFactory

TIERS = [(10, 900), (25, 800), (50, 700)]  # 10+ at 9.00, 25+ at 8.00, 50+ at 7.00


def make_club(organizer=None, members: int = 0, **values) -> tuple[Club, object, list]:
    """A public club run by `organizer` (a new user by default) with `members` members."""
    organizer = organizer or UserFactory()
    now = utcnow()
    club = Club(
        name=values.pop("name", "Oat lovers"),
        invite_token=secrets.token_urlsafe(32),
        organizer_id=organizer.id,
        **values,
    )
    db.session.add(club)
    db.session.flush()
    db.session.add(ClubMember(club_id=club.id, user_id=organizer.id, role=ORGANIZER,
                              status=ACTIVE, joined_at=now))  # fmt: skip
    people = [UserFactory() for _ in range(members)]
    for person in people:
        join(club, person)
    db.session.commit()
    return club, organizer, people


def join(club: Club, person, role: str = MEMBER) -> None:
    db.session.add(ClubMember(club_id=club.id, user_id=person.id, role=role, status=ACTIVE,
                              joined_at=utcnow()))  # fmt: skip
    club.member_count += 1
    db.session.commit()


def terms(supplier, **overrides) -> dict:
    values = dict(
        supplier_id=supplier.id,
        title="Organic oats, 1 kg bag",
        description="Rolled oats from the valley farm.",
        unit="bag",
        currency="USD",
        tiers=list(TIERS),
        min_quantity=10,
        cap_quantity=None,
        member_limit=None,
        deadline=utcnow() + timedelta(days=7),
        fulfilment="pickup",
        pickup_point="The community hall, Elm Street 4",
        pickup_times="Saturday 10-12",
        shipping_cents=0,
        organizer_fee_bps=0,
    )
    values.update(overrides)
    return values


def open_deal(club, organizer, supplier, *, now=None, **overrides) -> GroupDeal:
    """A deal drafted, proposed and accepted: open for pledges."""
    deal = deals.create_deal(club.id, organizer.id, now=now, **terms(supplier, **overrides))
    deals.deal_action(deal.id, "propose", organizer.id, now=now)
    deals.deal_action(deal.id, "accept_terms", supplier.id, now=now)
    return fresh(deal.id)


def fresh(deal_id: int) -> GroupDeal:
    db.session.expire_all()
    return db.session.get(GroupDeal, deal_id)


def pledges_of(deal_id: int) -> list[Pledge]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(Pledge).where(Pledge.deal_id == deal_id).order_by(Pledge.id))
    )


def settle(deal: GroupDeal, after: timedelta = timedelta(minutes=1)) -> int:
    """Run the settlement job just after the deal's deadline."""
    return settlement.run(deal.deadline + after)


def assert_ledger_clean() -> None:
    db.session.expire_all()
    for txn in db.session.scalars(select(LedgerTransaction)):
        assert sum(line.amount_cents for line in txn.lines) == 0, txn.operation_key
    report = ledger.verify()
    assert report.ok, report.problems
