"""Demo group deals: in the demo clubs (app/demo_clubs.py), deals sit in every state of the
deal machine (draft, waiting for the supplier, open, tipped, settled, completed, failed,
cancelled), each step taken through the deal services and the settlement job at its own time
in the past, so the timelines, the pledges, the ledger and the notifications agree.

`seed_deals(clubs, users)` is called by the demo after the clubs exist; a club with too few
members for a deal gets some of `users` as members first.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from app.accounts.models import User
from app.clubs import deals as services
from app.clubs import settlement, states
from app.clubs.models import ACTIVE, MEMBER, PICKUP, SHIPPING, Club, ClubMember
from app.db import utcnow
from app.extensions import db


@dataclass(frozen=True)
class Plan:
    state: str
    title: str
    unit: str
    tiers: tuple[tuple[int, int], ...]
    min_quantity: int
    pledged: tuple[int, ...]  # each member's quantity
    starts_days_ago: float
    deadline_days: float  # from its start
    fulfilment: str = PICKUP
    fee_bps: int = 0
    cap: int | None = None
    limit: int | None = None


PLANS = (
    Plan(
        "open",
        "Organic rolled oats, 1 kg bag",
        "bag",
        ((10, 450), (25, 400), (50, 350)),
        10,
        (3, 2, 1),
        2,
        9,
        fee_bps=300,
        limit=10,
    ),
    Plan(
        "tipped",
        "Cold-pressed olive oil, 1 l tin",
        "tin",
        ((6, 1450), (12, 1290), (24, 1150)),
        6,
        (4, 3, 3, 2),
        3,
        8,
        fee_bps=500,
        cap=40,
        limit=8,
    ),
    Plan(
        "settled",
        "Fair-trade coffee beans, 500 g",
        "bag",
        ((8, 1100), (16, 980)),
        8,
        (4, 4, 3, 2, 3),
        12,
        10,
        fee_bps=250,
    ),
    Plan(
        "completed",
        "Local honey, 450 g jar",
        "jar",
        ((10, 800), (20, 700), (30, 620)),
        10,
        (6, 5, 5, 4, 3),
        30,
        10,
    ),
    Plan(
        "failed",
        "Bamboo toothbrushes, pack of 4",
        "pack",
        ((20, 900), (40, 780)),
        20,
        (2, 3, 1),
        25,
        9,
        fulfilment=SHIPPING,
    ),
    Plan("cancelled", "Wool socks, pair", "pair", ((12, 1500), (24, 1300)), 12, (2, 1), 14, 12),
    Plan("proposed", "Basmati rice, 5 kg sack", "sack", ((5, 1800), (10, 1650)), 5, (), 1, 10),
    Plan(
        "draft", "Dishwasher tablets, box of 100", "box", ((10, 1900), (20, 1700)), 10, (), 0.5, 12
    ),
)


def _members(club: Club, users: list[User], rng: random.Random, need: int) -> list[User]:
    """Active members of the club (not its organizer), adding some of `users` when too few."""
    rows = list(
        db.session.scalars(
            select(ClubMember).where(ClubMember.club_id == club.id, ClubMember.status == ACTIVE)
        )
    )
    ids = {row.user_id for row in rows}
    candidates = [user for user in users if user.id not in ids]
    rng.shuffle(candidates)
    now = utcnow()
    while len(ids) - 1 < need and candidates:
        user = candidates.pop()
        place = db.session.scalar(
            select(ClubMember).where(ClubMember.club_id == club.id, ClubMember.user_id == user.id)
        )
        if place is None:
            place = ClubMember(club_id=club.id, user_id=user.id, role=MEMBER)
            db.session.add(place)
        place.status, place.joined_at, place.updated_at = ACTIVE, now - timedelta(days=60), now
        ids.add(user.id)
        club.member_count = len(ids)
    db.session.commit()
    found = [db.session.get(User, user_id) for user_id in ids if user_id != club.organizer_id]
    return sorted(found, key=lambda user: user.id)


def seed_deals(clubs: list[Club], users: list[User], seed: int = 12) -> dict[str, int]:
    """Deals in every state in the demo clubs; returns how many deals and pledges."""
    if not clubs:
        return {"deals": 0, "pledges": 0}
    rng = random.Random(seed)
    made = pledges = 0
    for n, plan in enumerate(PLANS):
        club = clubs[n % len(clubs)]
        members = _members(club, users, rng, len(plan.pledged) + 1)
        supplier = next(
            (user for user in users if user.id != club.organizer_id and user not in members),
            members[-1],
        )
        pledgers = [member for member in members if member.id != supplier.id][: len(plan.pledged)]
        pledges += _play(plan, club, supplier, pledgers)
        made += 1
    return {"deals": made, "pledges": pledges}


def _play(plan: Plan, club: Club, supplier: User, pledgers: list[User]) -> int:
    """One deal taken to its plan's state, each step at its time."""
    start = utcnow() - timedelta(days=plan.starts_days_ago)
    deadline = start + timedelta(days=plan.deadline_days)
    deal = services.create_deal(
        club.id,
        club.organizer_id,
        supplier_id=supplier.id,
        title=plan.title,
        description=f"{plan.title}, bought together by {club.name}.",
        unit=plan.unit,
        currency=None,
        tiers=list(plan.tiers),
        min_quantity=plan.min_quantity,
        cap_quantity=plan.cap,
        member_limit=plan.limit,
        deadline=deadline.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1),
        fulfilment=plan.fulfilment,
        pickup_point=(club.area or "The community hall") if plan.fulfilment == PICKUP else "",
        pickup_times="Saturday 10:00-12:00" if plan.fulfilment == PICKUP else "",
        shipping_cents=450 if plan.fulfilment == SHIPPING else 0,
        organizer_fee_bps=plan.fee_bps,
        now=start,
    )
    if plan.state == states.DRAFT:
        return 0
    services.deal_action(deal.id, "propose", club.organizer_id, now=start + timedelta(minutes=5))
    if plan.state == states.PROPOSED:
        return 0
    at = start + timedelta(hours=2)
    services.deal_action(deal.id, "accept_terms", supplier.id, now=at)
    made = []
    for i, (member, quantity) in enumerate(zip(pledgers, plan.pledged, strict=False)):
        made.append(services.pledge(deal.id, member.id, quantity, now=at + timedelta(hours=3 + i)))
    if plan.state == states.CANCELLED:
        services.deal_action(
            deal.id,
            "cancel",
            club.organizer_id,
            note="The supplier ran out of stock for this season.",
            now=at + timedelta(days=2),
        )
        return len(made)
    if plan.state in (states.OPEN, states.TIPPED):
        return len(made)
    after = deal.deadline + timedelta(minutes=5)
    settlement.run(now=after)
    if plan.state in (states.SETTLED, states.FAILED):
        return len(made)
    # completed: paid at pickup, delivered, received by everyone
    handed = after + timedelta(days=2)
    for pledge in made:
        db.session.refresh(pledge)
        if pledge.state == states.PAY_AT_PICKUP:
            services.pledge_action(pledge.id, "record_payment", club.organizer_id, now=handed)
    services.deliver_all(deal.id, club.organizer_id, now=handed + timedelta(minutes=30))
    db.session.refresh(deal)
    if deal.state == states.SETTLED:
        services.deal_action(
            deal.id, "mark_fulfilled", club.organizer_id, now=handed + timedelta(minutes=31)
        )
    for i, pledge in enumerate(made):
        db.session.refresh(pledge)
        if pledge.state == states.DELIVERED:
            services.pledge_action(
                pledge.id,
                "confirm_receipt",
                pledge.member_id,
                now=handed + timedelta(hours=4 + i),
            )
    return len(made)
